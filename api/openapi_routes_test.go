package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOpenAPIMatchesServedRoutes checks the document against the running
// mux: every documented operation is served (an unauthenticated call is
// answered 401, not 404 or 405), every write documents its body, and an
// undocumented path is 404.
func TestOpenAPIMatchesServedRoutes(t *testing.T) {
	s := New(Config{})
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if rec.Code != 200 {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" || len(doc.Paths) < 25 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	ops := 0
	for path, methods := range doc.Paths {
		if path == "/v1/openapi.json" {
			continue
		}
		concrete := strings.NewReplacer("{id}", "C1", "{pointId}", "P1", "{sha256}", strings.Repeat("a", 64),
			"{name}", "tiers", "{stream}", "customer-C1", "{tokenId}", "T1").Replace(path)
		for method, op := range methods {
			ops++
			m := strings.ToUpper(method)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(m, concrete, strings.NewReader("{}")))
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s is documented but answered %d without a token, want 401", m, path, rec.Code)
			}
			if (m == "POST") && op["requestBody"] == nil && !strings.HasSuffix(path, "/tokens") {
				t.Errorf("%s %s documents no request body", m, path)
			}
		}
	}
	if ops != len(s.routesList) {
		t.Errorf("document has %d operations, server registered %d routes", ops, len(s.routesList))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/not-a-route", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("undocumented path answered %d", rec.Code)
	}
}
