package console

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// TestServerTiming: a rendered page tells its server time in the
// Server-Timing header (what `dangol bench console` reads), in
// milliseconds with two decimals; an asset, which is not rendered, does not.
func TestServerTiming(t *testing.T) {
	c := New(Config{Secret: make([]byte, 32)})
	h := c.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/no-such-page", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("GET /no-such-page: status %d, want 404", rec.Code)
	}
	if got := rec.Header().Get("Server-Timing"); !regexp.MustCompile(`^app;dur=\d+\.\d\d$`).MatchString(got) {
		t.Fatalf("Server-Timing %q, want app;dur=<ms with two decimals>", got)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/"+c.version+"/app.css", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET app.css: status %d", rec.Code)
	}
	if got := rec.Header().Get("Server-Timing"); got != "" {
		t.Fatalf("an asset has Server-Timing %q", got)
	}
}
