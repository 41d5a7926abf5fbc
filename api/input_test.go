package api_test

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// inputFixture is the state the bad-input and retry tests write against:
// customers C1 (R1's) and C8, form F1, calls K1, K3 and K4 by R1 reviewed
// on it (K1 with two coaching points, K3 disputed), a spare token of R2's.
type inputFixture struct {
	digest  string
	size    int
	points  []string
	dispute string // K3's open dispute
	token   string // a token id of R2's
}

func setupInputs(t *testing.T, s *stack) inputFixture {
	t.Helper()
	var f inputFixture
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C8"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	audio := bytes.Repeat([]byte("RIFFdata"), 64)
	f.digest, f.size = s.upload("R1", audio), len(audio)
	for _, id := range []string{"K1", "K3", "K4"} {
		s.must("R1", "POST", "/v1/calls", newCall(id, "C1", f.digest, f.size), 201)
	}
	s.waitUntil("the sampler selects K1, K3 and K4", func() bool {
		return len(s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 3
	})
	s.publishForm()
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting", "closing"), 201)
	s.must("S1", "POST", "/v1/calls/K3/reviews", newReview(), 201)
	s.must("S1", "POST", "/v1/calls/K4/reviews", newReview(), 201)
	f.dispute = s.must("R1", "POST", "/v1/calls/K3/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)["disputeId"].(string)
	for _, p := range s.must("R1", "GET", "/v1/coaching", nil, 200)["items"].([]any) {
		f.points = append(f.points, p.(map[string]any)["id"].(string))
	}
	f.token = s.must("A001", "POST", "/v1/staff/R2/tokens", nil, 201)["tokenId"].(string)
	return f
}

// writeEndpoint is one write with a valid request and what to break in it.
type writeEndpoint struct {
	name          string
	who           string
	method        string
	path          string         // with valid ids
	badIDPath     string         // an invalid id in the path; "" if none
	unknownPath   string         // an unknown entity in the path (404); "" if none
	body          map[string]any // a valid body (nil: the endpoint reads none)
	required      string         // a required field to leave out; "" if none
	wrongType     map[string]any // fields set to the wrong JSON type
	stream        string         // the stream If-Match is checked against ("" for creations)
	duplicateBody map[string]any // for creations: a body of an existing entity (409)
	extra         []badInput     // endpoint-specific bad inputs
}

// badInput is one bad request and its answer.
type badInput struct {
	name   string
	path   string
	body   any
	hdr    []string
	status int
	code   string
}

func writeEndpoints(f inputFixture) []writeEndpoint {
	call := newCall("K2", "C1", f.digest, f.size)
	correction := withField(newReview("needs"), "supersedes", 1)
	return []writeEndpoint{
		{name: "register customer", who: "R1", method: "POST", path: "/v1/customers", body: newCustomer("C9"),
			required: "name", wrongType: map[string]any{"name": 5}, duplicateBody: newCustomer("C1"),
			extra: []badInput{
				{name: "bad id in body", body: newCustomer("C 9"), status: 400, code: "invalid"},
				{name: "bad birth date", body: withField(newCustomer("C9"), "birthDate", "1970-13-01"), status: 400, code: "invalid"},
				{name: "source system not in lower case", body: withField(newCustomer("C9"), "source", map[string]any{"system": "Core"}), status: 400, code: "invalid"},
			}},
		{name: "profile", who: "R1", method: "POST", path: "/v1/customers/C1/profile", badIDPath: "/v1/customers/C%201/profile",
			unknownPath: "/v1/customers/NOPE/profile", stream: "customer-C1",
			body:     map[string]any{"changes": map[string]any{"phone": "010-5555-0000"}, "source": "phone_inbound"},
			required: "source", wrongType: map[string]any{"changes": "phone"},
			extra: []badInput{{name: "not a profile field", body: map[string]any{"changes": map[string]any{"salary": "1"}, "source": "branch"}, status: 400, code: "invalid"}}},
		{name: "verification", who: "P1", method: "POST", path: "/v1/customers/C1/verifications", badIDPath: "/v1/customers/-C1/verifications",
			unknownPath: "/v1/customers/NOPE/verifications", stream: "customer-C1",
			body: map[string]any{"channel": "branch"}, required: "channel", wrongType: map[string]any{"fields": 5}},
		{name: "consent", who: "R1", method: "POST", path: "/v1/customers/C1/consents", badIDPath: "/v1/customers/C%2A1/consents",
			unknownPath: "/v1/customers/NOPE/consents", stream: "customer-C1",
			body: map[string]any{"channel": "sms", "purpose": "marketing", "granted": false}, required: "granted", wrongType: map[string]any{"granted": "no"}},
		{name: "life event", who: "R1", method: "POST", path: "/v1/customers/C1/life-events", badIDPath: "/v1/customers/C%201/life-events",
			unknownPath: "/v1/customers/NOPE/life-events", stream: "customer-C1",
			body: map[string]any{"kind": "birth", "expectedOn": "2027-02-01"}, required: "kind", wrongType: map[string]any{"note": 1}},
		{name: "contact", who: "R1", method: "POST", path: "/v1/customers/C1/contacts", badIDPath: "/v1/customers/C%201/contacts",
			unknownPath: "/v1/customers/NOPE/contacts", stream: "customer-C1",
			body: newContact("만기 안내"), required: "occurredAt", wrongType: map[string]any{"durationSec": "long"},
			extra: []badInput{
				{name: "bad enum", body: withField(newContact("x"), "purpose", "gossip"), status: 400, code: "invalid"},
				{name: "invalid UTF-8", body: []byte("{\"channel\":\"sms\",\"purpose\":\"advice\",\"occurredAt\":\"2026-11-20T01:00:00Z\",\"summary\":\"\xff\xfe\"}"), status: 400, code: "invalid"},
				{name: "trailing data", body: `{"channel":"sms","purpose":"advice","occurredAt":"2026-11-20T01:00:00Z"} {}`, status: 400, code: "invalid"},
				{name: "empty body", body: "", status: 400, code: "invalid"},
			}},
		{name: "pitch", who: "P1", method: "POST", path: "/v1/customers/C1/pitches", badIDPath: "/v1/customers/C%201/pitches",
			unknownPath: "/v1/customers/NOPE/pitches", stream: "customer-C1",
			body: map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "accepted"}, required: "product", wrongType: map[string]any{"outcome": 1},
			extra: []badInput{{name: "bad enum", body: map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "maybe"}, status: 400, code: "invalid"}}},
		{name: "request", who: "R1", method: "POST", path: "/v1/customers/C1/requests", badIDPath: "/v1/customers/C%201/requests",
			unknownPath: "/v1/customers/NOPE/requests", stream: "customer-C1",
			body: map[string]any{"text": "ATM 늘려주세요", "category": "atm"}, required: "text", wrongType: map[string]any{"text": []string{"a"}}},
		{name: "assignment", who: "S1", method: "POST", path: "/v1/customers/C1/assignment", badIDPath: "/v1/customers/C%201/assignment",
			unknownPath: "/v1/customers/NOPE/assignment", stream: "customer-C1",
			body: map[string]any{"advisorId": "P1", "kind": "private_banker"}, required: "kind", wrongType: map[string]any{"advisorId": 1},
			extra: []badInput{{name: "advisor is a supervisor", body: map[string]any{"advisorId": "S1", "kind": "private_banker"}, status: 400, code: "invalid"}}},
		{name: "erasure", who: "A001", method: "POST", path: "/v1/customers/C8/erasure", badIDPath: "/v1/customers/C%208/erasure",
			unknownPath: "/v1/customers/NOPE/erasure", stream: "customer-C8",
			body: map[string]any{"reason": "customer request", "requestedBy": "customer"}, required: "reason", wrongType: map[string]any{"reason": 1}},
		{name: "call", who: "R1", method: "POST", path: "/v1/calls", body: call, required: "callId",
			wrongType: map[string]any{"durationSec": "2m"}, duplicateBody: newCall("K1", "C1", f.digest, f.size),
			extra: []badInput{
				{name: "unknown customer", body: newCall("K2", "NOPE", f.digest, f.size), status: 400, code: "invalid"},
				{name: "recording not uploaded", body: newCall("K2", "C1", strings.Repeat("0", 64), f.size), status: 400, code: "invalid"},
				{name: "wrong recording size", body: newCall("K2", "C1", f.digest, f.size+1), status: 400, code: "invalid"},
			}},
		{name: "selection", who: "S1", method: "POST", path: "/v1/calls/K1/selection", badIDPath: "/v1/calls/K%201/selection",
			unknownPath: "/v1/calls/NOPE/selection", stream: "call-K1",
			body: map[string]any{"reason": "requested"}, wrongType: map[string]any{"reason": 1},
			extra: []badInput{{name: "bad reason", body: map[string]any{"reason": "whim"}, status: 400, code: "invalid"}}},
		{name: "review", who: "S1", method: "POST", path: "/v1/calls/K1/reviews", badIDPath: "/v1/calls/K%201/reviews",
			unknownPath: "/v1/calls/NOPE/reviews", stream: "call-K1",
			body: correction, required: "formId", wrongType: map[string]any{"items": "all good"},
			extra: []badInput{
				{name: "score above max", body: withField(correction, "items", scores("greeting", 9)), status: 400, code: "invalid"},
				{name: "not superseding", body: without(correction, "supersedes"), status: 400, code: "invalid"},
			}},
		{name: "evaluation acknowledgement", who: "R1", method: "POST", path: "/v1/calls/K4/evaluations/1/acknowledgement",
			badIDPath: "/v1/calls/K%204/evaluations/1/acknowledgement", unknownPath: "/v1/calls/K4/evaluations/2/acknowledgement",
			stream: "call-K4", body: map[string]any{"comment": "확인"}, wrongType: map[string]any{"comment": true},
			extra: []badInput{{name: "not an evaluation number", path: "/v1/calls/K4/evaluations/x/acknowledgement", body: map[string]any{}, status: 400, code: "invalid"}}},
		{name: "dispute", who: "R1", method: "POST", path: "/v1/calls/K4/evaluations/1/dispute",
			badIDPath: "/v1/calls/K%204/evaluations/1/dispute", unknownPath: "/v1/calls/NOPE/evaluations/1/dispute", stream: "call-K4",
			body: map[string]any{"reason": "고지는 했습니다"}, required: "reason", wrongType: map[string]any{"reason": 1},
			extra: []badInput{{name: "a disputed call", path: "/v1/calls/K3/evaluations/1/dispute", body: map[string]any{"reason": "또"}, status: 400, code: "invalid"}}},
		{name: "resolution", who: "S1", method: "POST", path: "/v1/qa/disputes/" + f.dispute + "/resolution",
			badIDPath: "/v1/qa/disputes/D%201/resolution", unknownPath: "/v1/qa/disputes/NOPE/resolution", stream: "call-K3",
			body: map[string]any{"resolution": "upheld", "note": "유지"}, required: "note", wrongType: map[string]any{"note": 1},
			extra: []badInput{
				{name: "bad resolution", body: map[string]any{"resolution": "withdrawn", "note": "n"}, status: 400, code: "invalid"},
				{name: "upheld with items", body: map[string]any{"resolution": "upheld", "note": "n", "items": scores()}, status: 400, code: "invalid"},
				{name: "rescored without items", body: map[string]any{"resolution": "rescored", "note": "n"}, status: 400, code: "invalid"},
			}},
		{name: "acknowledgement", who: "R1", method: "POST", path: "/v1/coaching/" + f.points[0] + "/acknowledgement",
			badIDPath: "/v1/coaching/P%201/acknowledgement", unknownPath: "/v1/coaching/NOPE/acknowledgement", stream: "call-K1",
			body: map[string]any{"comment": "네"}, wrongType: map[string]any{"comment": 1}},
		{name: "follow-up", who: "H1", method: "POST", path: "/v1/coaching/" + f.points[1] + "/follow-up",
			badIDPath: "/v1/coaching/P%201/follow-up", unknownPath: "/v1/coaching/NOPE/follow-up", stream: "call-K1",
			body: map[string]any{"outcome": "not_improved", "note": "아직"}, required: "outcome", wrongType: map[string]any{"outcome": true},
			extra: []badInput{{name: "bad outcome", body: map[string]any{"outcome": "better"}, status: 400, code: "invalid"}}},
		{name: "staff", who: "A001", method: "POST", path: "/v1/staff", body: map[string]any{"staffId": "N1", "name": "New One", "role": "rep"},
			required: "role", wrongType: map[string]any{"name": 1}, duplicateBody: map[string]any{"staffId": "R1", "name": "Again", "role": "rep"},
			extra: []badInput{{name: "bad role", body: map[string]any{"staffId": "N1", "name": "New One", "role": "king"}, status: 400, code: "invalid"}}},
		{name: "token", who: "A001", method: "POST", path: "/v1/staff/R2/tokens", badIDPath: "/v1/staff/R%202/tokens",
			unknownPath: "/v1/staff/NOPE/tokens", stream: "staff-R2",
			body: map[string]any{"ttlHours": 1}, wrongType: map[string]any{"ttlHours": "1h"},
			extra: []badInput{{name: "ttl out of range", body: map[string]any{"ttlHours": 0}, status: 400, code: "invalid"}}},
		{name: "revocation", who: "A001", method: "DELETE", path: "/v1/staff/R2/tokens/" + f.token, badIDPath: "/v1/staff/R2/tokens/T%201",
			unknownPath: "/v1/staff/R2/tokens/NOPE", stream: "staff-R2",
			extra: []badInput{{name: "another member's token", path: "/v1/staff/R1/tokens/" + f.token, status: 404, code: "not_found"}}},
	}
}

// cases expands an endpoint into its bad inputs.
func (w writeEndpoint) cases(s *stack) []badInput {
	var out []badInput
	if w.body != nil {
		out = append(out,
			badInput{name: "malformed JSON", body: `{"a":`, status: 400, code: "invalid"},
			badInput{name: "unknown field", body: withField(w.body, "mood", "happy"), status: 400, code: "invalid"},
			badInput{name: "oversized body", body: map[string]any{"x": strings.Repeat("가", 30<<10)}, status: 413, code: "too_large"},
			badInput{name: "bad Content-Type", body: w.body, hdr: []string{"Content-Type", "text/plain"}, status: 400, code: "invalid"},
		)
		wrong := maps.Clone(w.body)
		maps.Copy(wrong, w.wrongType)
		out = append(out, badInput{name: "wrong type", body: wrong, status: 400, code: "invalid"})
		if w.required != "" {
			out = append(out, badInput{name: "missing " + w.required, body: without(w.body, w.required), status: 400, code: "invalid"})
		}
	}
	out = append(out, badInput{name: "invalid Idempotency-Key", body: w.body, hdr: []string{"Idempotency-Key", "not-a-ulid"}, status: 400, code: "invalid"})
	out = append(out, badInput{name: "malformed If-Match", body: w.body, hdr: []string{"If-Match", "latest"}, status: 400, code: "invalid"})
	if w.badIDPath != "" {
		out = append(out, badInput{name: "bad path id", path: w.badIDPath, body: w.body, status: 400, code: "invalid"})
	}
	if w.unknownPath != "" {
		out = append(out, badInput{name: "unknown entity", path: w.unknownPath, body: w.body, status: 404, code: "not_found"})
	}
	if w.stream != "" {
		v := s.streamVersion(w.stream)
		out = append(out, badInput{name: "wrong If-Match", body: w.body, hdr: []string{"If-Match", fmt.Sprintf(`"%d"`, int(v)+5)}, status: 409, code: "conflict"})
	}
	if w.duplicateBody != nil {
		out = append(out, badInput{name: "already exists", body: w.duplicateBody, status: 409, code: "conflict"})
	}
	return append(out, w.extra...)
}

// TestBadInputs: every write refuses each kind of bad input with the
// right status and code, and appends nothing; the same requests made
// valid then succeed.
func TestBadInputs(t *testing.T) {
	s := newStack(t, stackOptions{})
	f := setupInputs(t, s)
	head := s.head()
	for _, w := range writeEndpoints(f) {
		for _, c := range w.cases(s) {
			path := c.path
			if path == "" {
				path = w.path
			}
			a := s.req(w.who, w.method, path, c.body, c.hdr...)
			if a.status != c.status || a.errCode() != c.code {
				t.Errorf("%s, %s: %d %.300s, want %d %s", w.name, c.name, a.status, a.raw, c.status, c.code)
			}
			if c.code == "conflict" {
				d := a.errDetails()
				stream := w.stream
				if stream == "" {
					stream = streamOfCreation(w.path, c.body)
				}
				if want := s.streamVersion(stream); d["stream"] != stream || d["actualVersion"] != want {
					t.Errorf("%s, %s: details %v, want stream %s at version %v", w.name, c.name, d, stream, want)
				}
			}
			if evs := s.appendedSince(head); len(evs) != 0 {
				t.Fatalf("%s, %s appended %v", w.name, c.name, evs)
			}
		}
	}

	// Recordings: a bad upload stores nothing.
	audio := []byte("RIFF-not-stored")
	for _, c := range []struct {
		name string
		hdr  []string
		body []byte
	}{
		{"not audio", []string{"Content-Type", "application/json"}, audio},
		{"no Content-Type", []string{"Content-Type", ""}, audio},
		{"digest mismatch", []string{"Content-Type", "audio/wav", "X-Content-SHA256", strings.Repeat("a", 64)}, audio},
		{"malformed digest", []string{"Content-Type", "audio/wav", "X-Content-SHA256", "abc"}, audio},
		{"empty", []string{"Content-Type", "audio/wav"}, []byte{}},
	} {
		a := s.req("R1", "PUT", "/v1/recordings", c.body, c.hdr...)
		if a.status != 400 || a.errCode() != "invalid" {
			t.Errorf("upload, %s: %d %s", c.name, a.status, a.raw)
		}
	}
	if a := s.req("R1", "GET", "/v1/recordings/"+sha256hex(audio), nil); a.status != 404 {
		t.Fatalf("a refused upload was stored: %d", a.status)
	}
	if a := s.req("R1", "GET", "/v1/recordings/not-a-digest", nil); a.status != 400 {
		t.Fatalf("a malformed digest: %d", a.status)
	}

	// The valid requests go through (the failures above were the breakage).
	for _, w := range writeEndpoints(f) {
		if w.body == nil {
			s.must(w.who, w.method, w.path, nil, 201)
			continue
		}
		s.must(w.who, w.method, w.path, w.body, 201)
	}
	if v := s.must("U1", "GET", "/v1/audit/verify", nil, 200); v["ok"] != true {
		t.Fatalf("verify: %v", v)
	}
}

func streamOfCreation(path string, body any) string {
	b := body.(map[string]any)
	switch path {
	case "/v1/customers":
		return events.CustomerStream(b["customerId"].(string))
	case "/v1/calls":
		return events.CallStream(b["callId"].(string))
	case "/v1/staff":
		return events.StaffStream(b["staffId"].(string))
	}
	return ""
}
