package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// The serve tests boot the real `dangol serve` (startServer) on
// 127.0.0.1:0 over a t.TempDir(), create staff the way an operator does
// (the first admin with `dangol staff add`, everyone else through the API),
// and talk to it over real HTTP and WebSocket connections. Every answer is
// also checked against the OpenAPI document the server serves: its status
// must be documented for the operation and its JSON body must match the
// documented schema.

// hang bounds every wait; it only detects hangs.
const hang = 30 * time.Second

// serveStaff are the staff the tests create through the API, by id.
var serveStaff = []struct{ id, name, role string }{
	{"R1", "Rep One", "rep"}, {"P1", "Banker One", "private_banker"}, {"S1", "Supervisor One", "supervisor"},
	{"H1", "Head One", "centre_head"}, {"U1", "Auditor One", "auditor"}, {"R2", "Rep Two", "rep"},
}

// stack is a running server with a bearer token per staff id.
type stack struct {
	t      *testing.T
	dir    string
	srv    *server
	base   string
	tok    map[string]string // staff id (and "expired") → bearer token
	tokIDs map[string]string // staff id → token id
	doc    *apiDoc
	client *http.Client
}

type stackOptions struct {
	newRepCalls int // QA sampler: first calls of each rep selected (default 1000: every call)
}

// bootStack creates a data dir with the first admin (A001) and a rep whose
// token has already expired (X1), starts the server and registers
// serveStaff through the API, each with a token.
func bootStack(t *testing.T, opt stackOptions) *stack {
	t.Helper()
	dir := t.TempDir()
	tok := map[string]string{"A001": staffAdd(t, dir, "A001", "Admin", "admin")}
	tok["expired"] = staffAdd(t, dir, "X1", "Expired Rep", "rep", "--token-ttl", "1ms")
	s := startStack(t, dir, tok, opt)
	for _, m := range serveStaff {
		s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": m.id, "name": m.name, "role": m.role, "branchIds": []string{"B001"}}, 201)
		res := s.must("A001", "POST", "/v1/staff/"+m.id+"/tokens", nil, 201)
		s.tok[m.id] = res["token"].(string)
		s.tokIDs[m.id] = res["tokenId"].(string)
	}
	return s
}

// staffAdd runs `dangol staff add` and returns the token, the last line of
// its standard output.
func staffAdd(t *testing.T, dir, id, name, role string, extra ...string) string {
	t.Helper()
	var out bytes.Buffer
	args := append([]string{"staff", "add", "--data", dir, "--id", id, "--name", name, "--role", role}, extra...)
	if err := run(context.Background(), args, envFor(t, dir), &out, io.Discard); err != nil {
		t.Fatalf("dangol staff add %s: %v", id, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// startStack starts the server on dir and waits until its read models have
// caught up with the log; it is stopped at the end of the test.
func startStack(t *testing.T, dir string, tok map[string]string, opt stackOptions) *stack {
	t.Helper()
	if opt.newRepCalls == 0 {
		opt.newRepCalls = 1000
	}
	cfg := serveConfig{addr: "127.0.0.1:0", logLevel: "error", shutdownTimeout: 5 * time.Second, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = dir
	withBackend(t, &cfg)
	cfg.sampler.newRepCalls, cfg.sampler.longCallSec, cfg.sampler.perRepWeek = opt.newRepCalls, 900, 3
	srv, err := startServer(context.Background(), cfg, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The client's own transport, so that its idle connections can be
	// closed before the server stops: a connection the pool opened but
	// never used would hold up the server's graceful shutdown for 5s.
	client := &http.Client{Timeout: hang, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.stop()
	})
	select {
	case <-srv.runner.CaughtUp():
	case <-time.After(hang):
		t.Fatal("hang: the read models did not catch up")
	}
	s := &stack{t: t, dir: dir, srv: srv, base: "http://" + srv.addr, tok: tok, tokIDs: map[string]string{}, client: client}
	s.doc = s.loadDoc()
	return s
}

// stop stops the server and waits for it.
func (s *stack) stop() {
	s.t.Helper()
	s.client.CloseIdleConnections()
	if err := s.srv.stop(); err != nil {
		s.t.Fatalf("stop: %v", err)
	}
}

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
// errors instead of failing the test.
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

// appendedSince returns the events appended after position from.
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

// waitUntil polls cond until it holds; it fails the test after hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("hang: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// upload stores audio as who and returns its digest.
func (s *stack) upload(who string, audio []byte) string {
	s.t.Helper()
	sum := sha256.Sum256(audio)
	digest := hex.EncodeToString(sum[:])
	res := s.must(who, "PUT", "/v1/recordings", audio, 201, "Content-Type", "audio/wav", "X-Content-SHA256", digest)
	if res["sha256"] != digest || res["bytes"] != float64(len(audio)) {
		s.t.Fatalf("upload answered %v, want %s and %d bytes", res, digest, len(audio))
	}
	return digest
}

// Request bodies.

func newCustomer(id string) map[string]any {
	return map[string]any{"customerId": id, "name": "김민준 " + id, "birthDate": "1970-05-01", "phone": "010-1234-5678",
		"email": "minjun@example.com", "address": "서울특별시 강남구 테헤란로 1", "branchId": "B001",
		"source": map[string]any{"system": "core", "ref": "X-" + id}}
}

func newContact(summary string) map[string]any {
	return map[string]any{"channel": "phone_outbound", "purpose": "advice", "summary": summary,
		"occurredAt": now().Add(-time.Hour).Format(time.RFC3339), "durationSec": 300}
}

func newCall(id, customer, digest string, size int) map[string]any {
	return map[string]any{"callId": id, "customerId": customer, "direction": "outbound",
		"startedAt": now().Add(-time.Minute).Format(time.RFC3339), "durationSec": 120,
		"recording": map[string]any{"sha256": digest, "contentType": "audio/wav", "bytes": size}}
}

func newReview(points ...string) map[string]any {
	var cps []map[string]any
	for _, p := range points {
		cps = append(cps, map[string]any{"criterion": p, "note": p + ": 다음 통화에서 개선"})
	}
	return map[string]any{"formId": "F1",
		"items": []map[string]any{{"criterion": "greeting", "weight": 1, "score": 3, "max": 5},
			{"criterion": "needs", "weight": 3, "score": 4, "max": 5, "comment": "좋음"}},
		"coachingPoints": cps}
}

// apiDoc is the served OpenAPI document, used to check answers.
type apiDoc struct {
	raw       map[string]any
	templates []pathTemplate
}

type pathTemplate struct {
	path string
	re   *regexp.Regexp
}

func (s *stack) loadDoc() *apiDoc {
	s.t.Helper()
	a := s.req("", "GET", "/v1/openapi.json", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" || a.body["openapi"] != "3.0.3" {
		s.t.Fatalf("GET /v1/openapi.json without a token: %d %.200s", a.status, a.raw)
	}
	d := &apiDoc{raw: a.body}
	param := regexp.MustCompile(`\\\{[A-Za-z0-9_]+\\\}`)
	for p := range a.body["paths"].(map[string]any) {
		d.templates = append(d.templates, pathTemplate{p, regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")})
	}
	return d
}

// operations returns "METHOD /template" of every documented operation.
func (d *apiDoc) operations() []string {
	var out []string
	for p, ops := range d.raw["paths"].(map[string]any) {
		for m := range ops.(map[string]any) {
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// template returns the documented path template a concrete path matches.
func (d *apiDoc) template(path string) string {
	best := ""
	for _, tp := range d.templates {
		if tp.re.MatchString(path) && len(strings.ReplaceAll(tp.path, "{", "")) > len(best) {
			best = tp.path
		}
	}
	return best
}

func (d *apiDoc) resolve(ref string) map[string]any {
	var cur any = d.raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = cur.(map[string]any)[part]
	}
	return cur.(map[string]any)
}

// checkAnswer checks that the answer's status is documented for the
// operation and that a JSON body matches the documented schema.
func (d *apiDoc) checkAnswer(t *testing.T, method, path string, a answer) {
	t.Helper()
	tmpl := d.template(path)
	if tmpl == "" {
		if a.status != 404 || a.errCode() != "not_found" {
			t.Errorf("%s %s: undocumented path answered %d %s", method, path, a.status, a.raw)
		}
		return
	}
	op, _ := d.raw["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return // a method the path does not serve: the mux answers
	}
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(a.status)].(map[string]any)
	if !ok {
		t.Errorf("%s %s answered %d, which is not documented for %s %s: %.300q", method, path, a.status, method, tmpl, a.raw)
		return
	}
	if r, ok := resp["$ref"].(string); ok {
		resp = d.resolve(r)
	}
	content, _ := resp["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if js == nil || a.status == 101 {
		return
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: %d answered with Content-Type %q, documented application/json", method, path, a.status, ct)
		return
	}
	var v any
	if err := json.Unmarshal(a.raw, &v); err != nil {
		t.Errorf("%s %s: %d body is not JSON: %v", method, path, a.status, err)
		return
	}
	var errs []string
	d.validate(js["schema"].(map[string]any), v, "body", &errs)
	for _, e := range errs {
		t.Errorf("%s %s: %d answer does not match the documented schema: %s", method, path, a.status, e)
	}
}

// validate checks v against an OpenAPI 3.0 schema. Objects with declared
// properties and no additionalProperties are treated as closed, so an
// undocumented field in an answer is reported.
func (d *apiDoc) validate(schema map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	if v == nil && schema["nullable"] == true {
		return
	}
	if r, ok := schema["$ref"].(string); ok {
		d.validate(d.resolve(r), v, at, errs)
		return
	}
	for _, sub := range asAnySlice(schema["allOf"]) {
		d.validate(sub.(map[string]any), v, at, errs)
	}
	if one := asAnySlice(schema["oneOf"]); len(one) > 0 {
		n := 0
		for _, sub := range one {
			var e []string
			d.validate(sub.(map[string]any), v, at, &e)
			if len(e) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of the oneOf schemas, want exactly 1", n)
		}
	}
	typ, _ := schema["type"].(string)
	if typ == "" {
		return
	}
	if v == nil {
		fail("null, but the schema is %s and not nullable", typ)
		return
	}
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return
		}
		for _, r := range asAnySlice(schema["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("required property %q missing", r)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, x := range m {
			if p, ok := props[k].(map[string]any); ok {
				d.validate(p, x, at+"."+k, errs)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not allowed", k)
				}
			case map[string]any:
				d.validate(ap, x, at+"."+k, errs)
			case nil:
				if len(props) > 0 {
					fail("property %q is not documented", k)
				}
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range l {
				d.validate(items, x, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("want a string, got %T %v", v, v)
			return
		}
		if en := asAnySlice(schema["enum"]); len(en) > 0 && !slices.Contains(en, any(str)) {
			fail("%q is not one of %v", str, en)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		switch schema["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				fail("%q is not a date", str)
			}
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok {
			fail("want a number, got %T", v)
			return
		}
		if typ == "integer" && f != float64(int64(f)) {
			fail("%v is not an integer", f)
		}
		if lo, ok := schema["minimum"].(float64); ok && f < lo {
			fail("%v is below the minimum %v", f, lo)
		}
		if hi, ok := schema["maximum"].(float64); ok && f > hi {
			fail("%v is above the maximum %v", f, hi)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	}
}

func asAnySlice(v any) []any { s, _ := v.([]any); return s }

// TestServeOpenAPIWithoutAuth: the document is served without a token and
// lists the operations with the bearer scheme.
func TestServeOpenAPIWithoutAuth(t *testing.T) {
	s := bootStack(t, stackOptions{})
	ops := s.doc.operations()
	if len(ops) < 30 || !slices.Contains(ops, "GET /v1/live") || !slices.Contains(ops, "POST /v1/calls/{id}/reviews") {
		t.Fatalf("operations %v", ops)
	}
	a := s.req("raw:Bearer nonsense", "GET", "/v1/openapi.json", nil)
	if a.status != 200 {
		t.Fatalf("a bad token on the public document: %d", a.status)
	}
}

// TestServeEndpoints walks every endpoint's happy path as users would.
func TestServeEndpoints(t *testing.T) {
	s := bootStack(t, stackOptions{newRepCalls: 1})
	start := now()

	// Customers: registration by each registrar role, assignment by each manager role.
	reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	if reg["stream"] != "customer-C1" || reg["version"] != float64(0) || len(reg["eventIds"].([]any)) != 1 {
		t.Fatalf("register: %v", reg)
	}
	s.must("P1", "POST", "/v1/customers", newCustomer("C2"), 201)
	s.must("A001", "POST", "/v1/customers", newCustomer("C3"), 201)
	for i := 4; i <= 7; i++ {
		s.must("R1", "POST", "/v1/customers", newCustomer(fmt.Sprintf("C%d", i)), 201)
	}
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("H1", "POST", "/v1/customers/C2/assignment", map[string]any{"advisorId": "P1", "kind": "private_banker", "branchId": "B001"}, 201)
	s.must("A001", "POST", "/v1/customers/C3/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)

	// Every customer write, checking the answer and its headers.
	today := now().Format(time.DateOnly)
	soon := now().AddDate(0, 0, 20).Format(time.DateOnly)
	version := 1.0
	for _, w := range []struct {
		who, path string
		body      map[string]any
	}{
		{"R1", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"phone": "010-9999-0000"}, "source": "phone_inbound", "reason": "이사"}},
		{"R1", "/v1/customers/C1/verifications", map[string]any{"channel": "phone_inbound", "fields": []string{"name", "address"}}},
		{"P1", "/v1/customers/C1/consents", map[string]any{"channel": "sms", "purpose": "marketing", "granted": true}},
		{"R1", "/v1/customers/C1/life-events", map[string]any{"kind": "child_wedding", "expectedOn": soon, "note": "딸 결혼"}},
		{"R1", "/v1/customers/C1/contacts", newContact("적금 만기 안내")},
		{"P1", "/v1/customers/C1/pitches", map[string]any{"product": "LOAN01", "channel": "phone_outbound", "outcome": "considering", "followUpOn": today, "reason": "결혼 자금"}},
		{"R1", "/v1/customers/C1/requests", map[string]any{"text": "모바일 앱 글씨 크게", "category": "mobile"}},
	} {
		a := s.req(w.who, "POST", w.path, w.body)
		version++
		if a.status != 201 || a.body["stream"] != "customer-C1" || a.body["version"] != version ||
			a.header.Get("ETag") != fmt.Sprintf(`"%d"`, int(version)) || a.header.Get("Location") != "/v1/audit/streams/customer-C1" {
			t.Fatalf("POST %s: %d %v %v", w.path, a.status, a.header, a.body)
		}
	}

	// The 360 view, its ETag and conditional GET.
	v := s.req("R1", "GET", "/v1/customers/C1", nil)
	if v.status != 200 || v.header.Get("ETag") != `"8"` {
		t.Fatalf("GET customer: %d %v", v.status, v.header)
	}
	c := v.body
	if c["name"] != "김민준 C1" || c["phone"] != "010-9999-0000" || c["email"] != "minjun@example.com" || c["version"] != 8.0 ||
		c["doNotContact"] != false || c["advisor"].(map[string]any)["id"] != "R1" || c["stale"] != false {
		t.Fatalf("customer view %v", c)
	}
	if len(c["upcomingLifeEvents"].([]any)) != 1 || len(c["openRequests"].([]any)) != 1 || len(c["lastPitchPerProduct"].([]any)) != 1 ||
		c["openRequests"].([]any)[0].(map[string]any)["text"] != "모바일 앱 글씨 크게" {
		t.Fatalf("customer view %v", c)
	}
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", `"8"`); a.status != 304 || len(a.raw) != 0 {
		t.Fatalf("If-None-Match current: %d %q", a.status, a.raw)
	}
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", `"7"`); a.status != 200 {
		t.Fatalf("If-None-Match stale: %d", a.status)
	}

	// As it stood: at a position, and at a time.
	stream := s.must("U1", "GET", "/v1/audit/streams/customer-C1", nil, 200)["events"].([]any)
	if len(stream) != 9 {
		t.Fatalf("customer stream has %d events", len(stream))
	}
	first := stream[0].(map[string]any)
	old := s.must("S1", "GET", fmt.Sprintf("/v1/customers/C1?at_position=%v", first["position"]), nil, 200)
	if old["version"] != 0.0 || old["phone"] != "010-1234-5678" || old["name"] != "김민준 C1" || old["advisor"] != nil {
		t.Fatalf("at_position view %v", old)
	}
	second := stream[1].(map[string]any) // the assignment
	asOf := s.must("H1", "GET", "/v1/customers/C1?as_of="+url.QueryEscape(second["recordedAt"].(string)), nil, 200)
	if asOf["version"] != 1.0 || asOf["phone"] != "010-1234-5678" || asOf["advisor"].(map[string]any)["id"] != "R1" {
		t.Fatalf("as_of view %v", asOf)
	}

	// Timeline paging: newest first, every version once.
	for i := range 5 {
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprintf("통화 %d", i)), 201)
	}
	var versions []float64
	next := ""
	for page := 0; ; page++ {
		q := "/v1/customers/C1/timeline?limit=4"
		if next != "" {
			q += "&" + next
		}
		tl := s.must("P1", "GET", q, nil, 200)
		for _, it := range tl["items"].([]any) {
			item := it.(map[string]any)
			versions = append(versions, item["version"].(float64))
			if item["type"] == "CustomerRegistered" && item["data"].(map[string]any)["name"] != "김민준 C1" {
				t.Fatalf("timeline does not open personal fields: %v", item)
			}
		}
		n, ok := tl["next"].(string)
		if !ok || page > 10 {
			break
		}
		next = n
	}
	if fmt.Sprint(versions) != "[13 12 11 10 9 8 7 6 5 4 3 2 1 0]" {
		t.Fatalf("timeline pages gave versions %v", versions)
	}

	// Customer list paging with a cursor, and the filters.
	var ids []string
	cursor := ""
	for page := 0; page < 10; page++ {
		l := s.must("S1", "GET", "/v1/customers?limit=3&cursor="+url.QueryEscape(cursor), nil, 200)
		for _, it := range l["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		if cursor = l["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[C1 C2 C3 C4 C5 C6 C7]" {
		t.Fatalf("customer pages %v", ids)
	}
	if l := s.must("H1", "GET", "/v1/customers?advisor=R1", nil, 200)["items"].([]any); len(l) != 2 ||
		l[0].(map[string]any)["id"] != "C1" || l[1].(map[string]any)["id"] != "C3" {
		t.Fatalf("advisor=R1: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?tier=vip", nil, 200)["items"].([]any); len(l) != 0 {
		t.Fatalf("tier=vip: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?stale=true", nil, 200)["items"].([]any); len(l) != 0 {
		t.Fatalf("stale=true: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?stale=false&limit=1000", nil, 200)["items"].([]any); len(l) != 7 {
		t.Fatalf("stale=false: %v", l)
	}

	// Worklists: the rep's own; a supervisor's view of it; a rep may not read another's.
	wl := s.must("R1", "GET", "/v1/worklist", nil, 200)
	items := wl["items"].([]any)
	if wl["advisor"] != "R1" || len(items) != 2 || items[0].(map[string]any)["customerId"] != "C1" {
		t.Fatalf("worklist %v", wl)
	}
	reasons := fmt.Sprint(items[0].(map[string]any)["reasons"])
	if !strings.Contains(reasons, "life_event_soon") || !strings.Contains(reasons, "pitch_follow_up_due") ||
		fmt.Sprint(items[1].(map[string]any)["reasons"]) != "[no_recent_contact]" {
		t.Fatalf("worklist reasons %v", items)
	}
	if sv := s.must("S1", "GET", "/v1/worklist?advisor=R1", nil, 200); fmt.Sprint(sv["items"]) != fmt.Sprint(items) {
		t.Fatalf("supervisor's view of R1's worklist %v, want %v", sv, items)
	}
	if a := s.req("R2", "GET", "/v1/worklist?advisor=R1", nil); a.status != 403 || a.errCode() != "forbidden" {
		t.Fatalf("a rep read another's worklist: %d %s", a.status, a.raw)
	}

	// Recordings: upload with a checked digest, Range download, conditional GET.
	audio := make([]byte, 4096)
	for i := range audio {
		audio[i] = byte(i * 7)
	}
	digest := s.upload("R1", audio)
	again := s.must("P1", "PUT", "/v1/recordings", audio, 201, "Content-Type", "audio/wav") // no digest header: still fine
	if again["sha256"] != digest {
		t.Fatalf("re-upload %v", again)
	}
	full := s.req("H1", "GET", "/v1/recordings/"+digest, nil)
	if full.status != 200 || !bytes.Equal(full.raw, audio) {
		t.Fatalf("download: %d, %d bytes", full.status, len(full.raw))
	}
	part := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=1000-1099")
	if part.status != 206 || !bytes.Equal(part.raw, audio[1000:1100]) || part.header.Get("Content-Range") != "bytes 1000-1099/4096" {
		t.Fatalf("range: %d %v, %d bytes", part.status, part.header, len(part.raw))
	}
	if a := s.req("R1", "GET", "/v1/recordings/"+digest, nil, "If-None-Match", `"`+digest+`"`); a.status != 304 {
		t.Fatalf("conditional download: %d", a.status)
	}

	// Calls: the sampler selects each rep's first call; a supervisor selects another.
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("R1", "POST", "/v1/calls", newCall("K2", "C3", digest, len(audio)), 201)
	s.must("P1", "POST", "/v1/calls", newCall("K3", "C2", digest, len(audio)), 201)
	waitUntil(t, "the sampler selects K1 and K3", func() bool {
		return len(s.must("H1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 2
	})
	k2 := s.must("R1", "GET", "/v1/calls/K2", nil, 200)
	if k2["call"].(map[string]any)["staffId"] != "R1" || k2["call"].(map[string]any)["selection"] != nil {
		t.Fatalf("call K2 %v", k2)
	}
	s.must("S1", "POST", "/v1/calls/K2/selection", map[string]any{"reason": "requested"}, 201)
	mine := s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
	all := s.must("U1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
	other := s.must("H1", "GET", "/v1/qa/queue?supervisor=S9", nil, 200)["items"].([]any)
	if len(all) != 3 || len(mine) != 3 || len(other) != 2 {
		t.Fatalf("queues: S1 %v, all %v, S9 %v", mine, all, other)
	}
	reasonOf := map[string]string{}
	for _, it := range all {
		reasonOf[it.(map[string]any)["callId"].(string)] = it.(map[string]any)["reason"].(string)
	}
	if fmt.Sprint(reasonOf) != "map[K1:new_rep K2:requested K3:new_rep]" {
		t.Fatalf("selection reasons %v", reasonOf)
	}

	// Review, acknowledgement, follow-up.
	rev := s.must("S1", "POST", "/v1/calls/K2/reviews", newReview("greeting", "closing"), 201)
	if rev["stream"] != "call-K2" {
		t.Fatalf("review %v", rev)
	}
	k2 = s.must("R1", "GET", "/v1/calls/K2", nil, 200)
	review := k2["call"].(map[string]any)["review"].(map[string]any)
	pts := k2["coachingPoints"].([]any)
	if review["total"] != 75.0 || review["reviewerId"] != "S1" || len(pts) != 2 {
		t.Fatalf("reviewed call %v", k2)
	}
	if q := s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any); len(q) != 2 {
		t.Fatalf("a reviewed call stays queued: %v", q)
	}
	p0, p1 := pts[0].(map[string]any)["id"].(string), pts[1].(map[string]any)["id"].(string)
	s.must("R1", "POST", "/v1/coaching/"+p0+"/acknowledgement", map[string]any{"comment": "네, 알겠습니다"}, 201)
	s.must("R1", "POST", "/v1/coaching/"+p1+"/acknowledgement", map[string]any{}, 201)
	s.must("H1", "POST", "/v1/coaching/"+p0+"/follow-up", map[string]any{"outcome": "improved", "note": "좋아짐"}, 201)

	// Coaching with each filter.
	count := func(who, q string) int {
		return len(s.must(who, "GET", "/v1/coaching"+q, nil, 200)["items"].([]any))
	}
	due := events.AddOneMonth(start).AddDate(0, 0, 1).Format(time.DateOnly)
	for _, f := range []struct {
		who, q string
		n      int
	}{
		{"R1", "", 2}, {"R2", "", 0}, {"S1", "?rep=R1", 2}, {"S1", "?rep=R2", 0},
		{"H1", "?status=improved", 1}, {"H1", "?status=acknowledged", 1}, {"H1", "?status=open", 0},
		{"U1", "?due_before=" + due, 2}, {"U1", "?due_before=" + start.Format(time.DateOnly), 0},
		{"U1", "?checker=H1", 1}, {"U1", "?rep=R1&status=acknowledged&due_before=" + due, 1},
	} {
		if n := count(f.who, f.q); n != f.n {
			t.Errorf("GET /v1/coaching%s as %s: %d points, want %d", f.q, f.who, n, f.n)
		}
	}
	if a := s.req("R1", "GET", "/v1/coaching?rep=R2", nil); a.status != 403 {
		t.Fatalf("a rep read another rep's coaching: %d", a.status)
	}

	// Every report.
	for _, name := range []string{"tiers", "pitches", "qa", "coaching", "freshness", "requests"} {
		r := s.must("H1", "GET", "/v1/reports/"+name, nil, 200)
		if r["report"] != name || r["data"] == nil {
			t.Fatalf("report %s: %v", name, r)
		}
	}
	if r := s.must("S1", "GET", "/v1/reports/coaching", nil, 200)["data"].(map[string]any); r["points"] != 2.0 || r["improved"] != 1.0 {
		t.Fatalf("coaching report %v", r)
	}
	if r := s.must("U1", "GET", "/v1/reports/tiers", nil, 200)["data"].(map[string]any); r["customers"] != 7.0 {
		t.Fatalf("tiers report %v", r)
	}
	if a := s.req("H1", "GET", "/v1/reports/nonsense", nil); a.status != 404 {
		t.Fatalf("unknown report: %d", a.status)
	}

	// Staff and tokens: a new member, a second token, its revocation.
	s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": "R3", "name": "Rep Three", "role": "rep"}, 201)
	tok := s.must("A001", "POST", "/v1/staff/R3/tokens", map[string]any{"ttlHours": 2}, 201)
	exp, _ := time.Parse(time.RFC3339, tok["expiresAt"].(string))
	if d := exp.Sub(now()); d < time.Hour || d > 2*time.Hour {
		t.Fatalf("token expires at %v", exp)
	}
	s.tok["R3"] = tok["token"].(string)
	s.must("R3", "GET", "/v1/worklist", nil, 200)
	rv := s.must("A001", "DELETE", "/v1/staff/R3/tokens/"+tok["tokenId"].(string), nil, 201)
	if rv["stream"] != "staff-R3" {
		t.Fatalf("revoke %v", rv)
	}
	if a := s.req("R3", "GET", "/v1/worklist", nil); a.status != 401 || a.errCode() != "unauthenticated" {
		t.Fatalf("a revoked token: %d %s", a.status, a.raw)
	}

	// Erasure: the view keeps its shape, personal fields read as erased.
	s.must("A001", "POST", "/v1/customers/C7/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	if e := s.must("R1", "GET", "/v1/customers/C7", nil, 200); e["name"] != "[erased]" || e["erased"] != true {
		t.Fatalf("erased view %v", e)
	}

	// Audit: a stream page by page, the log page by page, verification.
	st := s.must("U1", "GET", "/v1/audit/streams/customer-C1?from_version=3&limit=5", nil, 200)
	evs := st["events"].([]any)
	if len(evs) != 5 || evs[0].(map[string]any)["version"] != 3.0 || st["nextFromVersion"] != 8.0 {
		t.Fatalf("stream page %v", st)
	}
	for _, e := range evs {
		if h := e.(map[string]any)["hash"].(string); len(h) != 64 {
			t.Fatalf("event without hash: %v", e)
		}
	}
	logAll := s.logEvents(0)
	var paged []float64
	from := "0"
	for {
		page := s.must("U1", "GET", "/v1/audit/log?limit=7&from_position="+from, nil, 200)
		for _, e := range page["events"].([]any) {
			paged = append(paged, e.(map[string]any)["position"].(float64))
		}
		nf, ok := page["nextFromPosition"]
		if !ok {
			break
		}
		from = fmt.Sprint(nf)
	}
	if len(paged) != len(logAll) {
		t.Fatalf("log pages gave %d events, the log has %d", len(paged), len(logAll))
	}
	for i, p := range paged {
		if p != float64(i+1) {
			t.Fatalf("log positions %v", paged)
		}
	}
	ver := s.must("U1", "GET", "/v1/audit/verify", nil, 200)
	if ver["ok"] != true || ver["checked"] != float64(len(logAll)) || ver["head"] != float64(len(logAll)) || ver["firstBad"] != nil {
		t.Fatalf("verify %v (log has %d events)", ver, len(logAll))
	}
}

// TestServeRestart: what was written reads back the same after a restart
// on the same directory, personal fields decrypted again.
func TestServeRestart(t *testing.T) {
	s := bootStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"address": "부산광역시 해운대구 1"}, "source": "branch"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("재시작 전 통화"), 201)
	digest := s.upload("R1", []byte("RIFF....WAVEfmt audio"))
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, 21), 201)
	waitUntil(t, "the sampler selects K1", func() bool {
		return len(s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 1
	})
	before := s.req("R1", "GET", "/v1/customers/C1", nil)
	timeline := s.must("R1", "GET", "/v1/customers/C1/timeline", nil, 200)
	call := s.must("S1", "GET", "/v1/calls/K1", nil, 200)
	head := s.head()
	s.stop()

	s2 := startStack(t, s.dir, s.tok, stackOptions{})
	after := s2.req("R1", "GET", "/v1/customers/C1", nil)
	if after.status != 200 || !bytes.Equal(after.raw, before.raw) || after.header.Get("ETag") != before.header.Get("ETag") {
		t.Fatalf("after restart:\n%s\nbefore:\n%s", after.raw, before.raw)
	}
	if after.body["address"] != "부산광역시 해운대구 1" || after.body["name"] != "김민준 C1" {
		t.Fatalf("personal fields after restart: %v", after.body)
	}
	if tl := s2.must("R1", "GET", "/v1/customers/C1/timeline", nil, 200); fmt.Sprint(tl) != fmt.Sprint(timeline) {
		t.Fatalf("timeline after restart %v, before %v", tl, timeline)
	}
	if c := s2.must("S1", "GET", "/v1/calls/K1", nil, 200); fmt.Sprint(c) != fmt.Sprint(call) {
		t.Fatalf("call after restart %v, before %v", c, call)
	}
	if h := s2.head(); h != head {
		t.Fatalf("log head %v after restart, %v before (the sampler must not select again)", h, head)
	}
	if rec := s2.req("U1", "GET", "/v1/recordings/"+digest, nil); rec.status != 200 || string(rec.raw) != "RIFF....WAVEfmt audio" {
		t.Fatalf("recording after restart: %d %q", rec.status, rec.raw)
	}
	if v := s2.must("U1", "GET", "/v1/audit/verify", nil, 200); v["ok"] != true {
		t.Fatalf("verify after restart %v", v)
	}
	// Writes go on at the next version.
	if r := s2.must("P1", "POST", "/v1/customers/C1/contacts", newContact("재시작 후"), 201); r["version"] != 4.0 {
		t.Fatalf("write after restart %v", r)
	}
}
