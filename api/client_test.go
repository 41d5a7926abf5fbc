package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// answer is an HTTP answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // the JSON object, if the body is one
}

// errCode returns the error code of an error answer.
func (a answer) errCode() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// errDetails returns the error details of an error answer.
func (a answer) errDetails() map[string]any {
	e, _ := a.body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	return d
}

// req sends a request as who: a staff id (or "expired"), "" for no
// Authorization header, or "raw:<header value>". body is nil, a string or
// []byte sent as is, or a value sent as JSON (with Content-Type
// application/json unless hdr sets another). hdr are header name/value
// pairs. A transport error fails the test.
func (s *stack) req(who, method, path string, body any, hdr ...string) answer {
	s.t.Helper()
	a, err := s.send(who, method, path, body, hdr...)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// send is req for goroutines other than the test's: it returns transport
// errors instead of failing the test (an answer that breaks the OpenAPI
// document is still reported with t.Errorf, which any goroutine may call).
func (s *stack) send(who, method, path string, body any, hdr ...string) (answer, error) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if rd != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	switch {
	case who == "":
	case strings.HasPrefix(who, "raw:"):
		r.Header.Set("Authorization", strings.TrimPrefix(who, "raw:"))
	default:
		tok, ok := s.tok[who]
		if !ok {
			return answer{}, fmt.Errorf("no token for %q", who)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.client.Do(r)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	if s.doc != nil {
		s.doc.checkAnswer(s.t, method, r.URL.EscapedPath(), a)
	}
	return a, nil
}

// must sends a request and fails the test unless it is answered want; it
// returns the JSON body.
func (s *stack) must(who, method, path string, body any, want int, hdr ...string) map[string]any {
	s.t.Helper()
	a := s.req(who, method, path, body, hdr...)
	if a.status != want {
		s.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, a.status, a.raw, want)
	}
	return a.body
}

// logEvents returns the whole log (read as the auditor) after position from.
func (s *stack) logEvents(from float64) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	for {
		page := s.must("U1", "GET", fmt.Sprintf("/v1/audit/log?limit=1000&from_position=%d", int64(from)), nil, 200)
		evs := page["events"].([]any)
		for _, e := range evs {
			out = append(out, e.(map[string]any))
		}
		if len(evs) < 1000 {
			return out
		}
		from = out[len(out)-1]["position"].(float64)
	}
}

// head returns the position of the last event in the log.
func (s *stack) head() float64 {
	s.t.Helper()
	evs := s.logEvents(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1]["position"].(float64)
}

// appendedSince returns the events appended after position from (the
// first 10).
func (s *stack) appendedSince(from float64) []any {
	s.t.Helper()
	return s.must("U1", "GET", fmt.Sprintf("/v1/audit/log?limit=10&from_position=%d", int64(from)), nil, 200)["events"].([]any)
}

// streamVersion returns a stream's current version (0 if it has no events).
func (s *stack) streamVersion(stream string) float64 {
	s.t.Helper()
	a := s.req("U1", "GET", "/v1/audit/streams/"+stream+"?limit=1000", nil)
	if a.status == 404 {
		return 0
	}
	evs := a.body["events"].([]any)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].(map[string]any)["version"].(float64)
}

// upload stores audio as who and returns its digest.
func (s *stack) upload(who string, audio []byte) string {
	s.t.Helper()
	digest := sha256hex(audio)
	res := s.must(who, "PUT", "/v1/recordings", audio, 201, "Content-Type", "audio/wav", "X-Content-SHA256", digest)
	if res["sha256"] != digest || res["bytes"] != float64(len(audio)) {
		s.t.Fatalf("upload answered %v, want %s and %d bytes", res, digest, len(audio))
	}
	return digest
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Request bodies. Their times are pinned to eventstest.Epoch, the default
// stack clock's start: a contact an hour before, a call a minute before.

func newCustomer(id string) map[string]any {
	return map[string]any{"customerId": id, "name": "김민준 " + id, "birthDate": "1970-05-01", "phone": "010-1234-5678",
		"email": "minjun@example.com", "address": "서울특별시 강남구 테헤란로 1", "branchId": "B001",
		"source": map[string]any{"system": "core", "ref": "X-" + id}}
}

func newContact(summary string) map[string]any {
	return map[string]any{"channel": "phone_outbound", "purpose": "advice", "summary": summary,
		"occurredAt": eventstest.Epoch.Add(-time.Hour).Format(time.RFC3339), "durationSec": 300}
}

func newCall(id, customer, digest string, size int) map[string]any {
	return map[string]any{"callId": id, "customerId": customer, "direction": "outbound",
		"startedAt": eventstest.Epoch.Add(-time.Minute).Format(time.RFC3339), "durationSec": 120,
		"recording": map[string]any{"sha256": digest, "contentType": "audio/wav", "bytes": size}}
}

func newReview(points ...string) map[string]any {
	var cps []map[string]any
	for i, p := range points {
		cps = append(cps, map[string]any{"criterion": p, "note": p + ": 다음 통화에서 개선", "atSec": 83 + i})
	}
	return map[string]any{"formId": "F1",
		"items": []map[string]any{{"itemId": "greeting", "score": 3},
			{"itemId": "needs", "score": 4, "comment": "좋음"}, {"itemId": "disclosure", "score": 1},
			{"itemId": "closing", "na": true}},
		"coachingPoints": cps}
}

// stdForm is the body that publishes the tests' scorecard form F1 (PUT
// /v1/qa/forms/F1 as S1, before the first review): greeting (weight 1, of
// 5), needs (3, of 5), disclosure (critical: 2, pass or fail) and closing
// (1, of 5, may be N/A). newReview scores it 3, 4, pass, N/A: a total of
// (1×3/5 + 3×4/5 + 2×1) / 6 × 100 = 83.3.
func stdForm() map[string]any {
	return map[string]any{"name": "표준 평가표",
		"items": []map[string]any{
			{"itemId": "greeting", "label": "인사", "weight": 1, "max": 5},
			{"itemId": "needs", "label": "니즈 파악", "weight": 3, "max": 5},
			{"itemId": "disclosure", "label": "필수 고지", "weight": 2, "max": 1, "critical": true},
			{"itemId": "closing", "label": "마무리", "weight": 1, "max": 5, "naAllowed": true}}}
}

// publishForm publishes stdForm as F1 (version 1 on a fresh stack).
func (s *stack) publishForm() { s.must("S1", "PUT", "/v1/qa/forms/F1", stdForm(), 201) }

// withField returns a copy of b with k set to v.
func withField(b map[string]any, k string, v any) map[string]any {
	c := maps.Clone(b)
	c[k] = v
	return c
}

// without returns a copy of b without k.
func without(b map[string]any, k string) map[string]any {
	c := maps.Clone(b)
	delete(c, k)
	return c
}
