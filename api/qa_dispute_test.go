package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// reviewedAt returns when evaluation n of call id was reviewed, as the
// read side has it.
func (s *stack) reviewedAt(id string, n int) time.Time {
	s.t.Helper()
	ev := s.callView("S1", id)["evaluations"].([]any)[n-1].(map[string]any)
	at, err := time.Parse(time.RFC3339Nano, ev["reviewedAt"].(string))
	if err != nil {
		s.t.Fatal(err)
	}
	return at
}

// TestEvaluationAcknowledgement: only the call's rep acknowledges an
// evaluation that exists, once; a retry gets the first answer.
func TestEvaluationAcknowledgement(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1")
	s.publishForm()
	ack := "/v1/calls/K1/evaluations/1/acknowledgement"
	s.refuse("R1", "POST", ack, map[string]any{}, 404, "not_found") // not reviewed yet
	s.refuse("R2", "POST", ack, map[string]any{}, 403, "forbidden") // not R2's call, reviewed or not
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview(), 201)
	for _, who := range []string{"P1", "R2"} {
		s.refuse(who, "POST", ack, map[string]any{}, 403, "forbidden") // not their call
	}
	for _, who := range []string{"S1", "H1", "U1", "A001"} {
		s.refuse(who, "POST", ack, map[string]any{}, 403, "forbidden") // not a rep
	}
	for _, c := range []struct {
		path   string
		body   any
		status int
		code   string
	}{
		{"/v1/calls/K1/evaluations/2/acknowledgement", map[string]any{}, 404, "not_found"},
		{"/v1/calls/NOPE/evaluations/1/acknowledgement", map[string]any{}, 404, "not_found"},
		{"/v1/calls/K1/evaluations/0/acknowledgement", map[string]any{}, 400, "invalid"},
		{"/v1/calls/K1/evaluations/01/acknowledgement", map[string]any{}, 400, "invalid"},
		{"/v1/calls/K1/evaluations/one/acknowledgement", map[string]any{}, 400, "invalid"},
		{ack, map[string]any{"comment": 5}, 400, "invalid"},
		{ack, map[string]any{"comment": "네", "mood": "ok"}, 400, "invalid"},
		{ack, map[string]any{"comment": string(bytes.Repeat([]byte("가"), 2001))}, 400, "invalid"},
	} {
		s.refuse("R1", "POST", c.path, c.body, c.status, c.code)
	}
	key := events.NewID().String()
	first := s.req("R1", "POST", ack, map[string]any{"comment": "확인했습니다"}, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("acknowledgement: %d %s", first.status, first.raw)
	}
	if again := s.req("R1", "POST", ack, map[string]any{"comment": "확인했습니다"}, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("retry: %d %s, first %s", again.status, again.raw, first.raw)
	}
	s.refuse("R1", "POST", ack, map[string]any{"comment": "또"}, 400, "invalid")
	ev := s.callView("R1", "K1")["evaluations"].([]any)[0].(map[string]any)
	if ev["acknowledgedAt"] == nil || ev["ackComment"] != "확인했습니다" {
		t.Fatalf("acknowledged evaluation %v", ev)
	}
}

// TestDisputeWindow: the rep may dispute the latest evaluation until
// exactly DisputeWindow after its review, by the server's clock, and not
// an instant later; one open dispute per call, and no correction while it
// is open.
func TestDisputeWindow(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{noReactors: true, now: clock.Now})
	s.qaCalls("K1", "K2", "K3")
	s.publishForm()
	for _, id := range []string{"K1", "K2", "K3"} {
		s.must("S1", "POST", "/v1/calls/"+id+"/reviews", newReview("greeting"), 201)
	}
	s.must("S1", "POST", "/v1/calls/K3/reviews", withField(newReview(), "supersedes", 1), 201)
	reason := map[string]any{"reason": "고지는 통화 초반에 했습니다 (00:12)"}

	// Not the latest, not the rep's, no reason.
	s.refuse("R1", "POST", "/v1/calls/K3/evaluations/1/dispute", reason, 400, "invalid")
	for _, who := range []string{"P1", "R2"} {
		s.refuse(who, "POST", "/v1/calls/K1/evaluations/1/dispute", reason, 403, "forbidden")
	}
	for _, who := range []string{"S1", "H1", "U1", "A001"} {
		s.refuse(who, "POST", "/v1/calls/K1/evaluations/1/dispute", reason, 403, "forbidden")
	}
	s.refuse("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{}, 400, "invalid")
	s.refuse("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "  "}, 400, "invalid")
	s.refuse("R1", "POST", "/v1/calls/K1/evaluations/2/dispute", reason, 404, "not_found")

	// The window's last instant.
	reviewed := s.reviewedAt("K1", 1)
	clock.Set(reviewed.Add(events.DisputeWindow))
	key := events.NewID().String()
	first := s.req("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", reason, "Idempotency-Key", key)
	id, _ := first.body["disputeId"].(string)
	if first.status != 201 || !events.ValidID(id) || first.body["stream"] != "call-K1" {
		t.Fatalf("a dispute at the window's end: %d %s", first.status, first.raw)
	}
	again := s.req("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", reason, "Idempotency-Key", key)
	if again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("retry: %d %s, first %s", again.status, again.raw, first.raw)
	}
	// One open dispute per call; no correction while it is open.
	s.refuse("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", reason, 400, "invalid")
	s.refuse("S1", "POST", "/v1/calls/K1/reviews", withField(newReview(), "supersedes", 1), 400, "invalid")
	// An instant after the window.
	clock.Set(s.reviewedAt("K2", 1).Add(events.DisputeWindow + time.Nanosecond))
	a := s.refuse("R1", "POST", "/v1/calls/K2/evaluations/1/dispute", reason, 400, "invalid")
	if a.errDetails()["field"] != "n" {
		t.Errorf("a late dispute: %s", a.raw)
	}

	d := s.callView("R1", "K1")["disputes"].([]any)
	if len(d) != 1 {
		t.Fatalf("disputes %v", d)
	}
	if dm := d[0].(map[string]any); dm["id"] != id || dm["status"] != "open" || dm["evaluation"] != 1.0 || dm["repId"] != "R1" ||
		dm["reason"] != reason["reason"] {
		t.Errorf("dispute %v", dm)
	}
}

// TestDisputeWindowConfigured: the server's DisputeWindow replaces the
// default.
func TestDisputeWindowConfigured(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{noReactors: true, now: clock.Now, configure: func(c *api.Config) { c.DisputeWindow = 48 * time.Hour }})
	s.qaCalls("K1", "K2")
	s.publishForm()
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview(), 201)
	s.must("S1", "POST", "/v1/calls/K2/reviews", newReview(), 201)
	clock.Set(s.reviewedAt("K1", 1).Add(48 * time.Hour))
	s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "r"}, 201)
	clock.Set(s.reviewedAt("K2", 1).Add(48*time.Hour + time.Nanosecond))
	s.refuse("R1", "POST", "/v1/calls/K2/evaluations/1/dispute", map[string]any{"reason": "r"}, 400, "invalid")
}

// disputed reviews call id, has R1 dispute it, and returns the dispute's id.
func (s *stack) disputed(id string) string {
	s.t.Helper()
	s.must("S1", "POST", "/v1/calls/"+id+"/reviews", newReview("greeting"), 201)
	return s.must("R1", "POST", "/v1/calls/"+id+"/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)["disputeId"].(string)
}

// TestDisputeUpheld: a supervisor upholds a dispute, once; a retry gets
// the first answer; bad resolutions append nothing.
func TestDisputeUpheld(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1")
	s.publishForm()
	id := s.disputed("K1")
	path := "/v1/qa/disputes/" + id + "/resolution"
	upheld := map[string]any{"resolution": "upheld", "note": "고지가 늦었습니다 (01:23)"}
	for _, who := range []string{"R1", "P1", "H1", "U1", "A001"} {
		s.refuse(who, "POST", path, upheld, 403, "forbidden")
	}
	for _, c := range []struct {
		name  string
		path  string
		body  map[string]any
		code  string
		field string
	}{
		{"unknown dispute", "/v1/qa/disputes/NOPE/resolution", upheld, "not_found", ""},
		{"bad dispute id", "/v1/qa/disputes/N%20P/resolution", upheld, "invalid", "id"},
		{"no resolution", path, without(upheld, "resolution"), "invalid", "resolution"},
		{"not a resolution", path, withField(upheld, "resolution", "withdrawn"), "invalid", "resolution"},
		{"no note", path, without(upheld, "note"), "invalid", "note"},
		{"upheld with items", path, withField(upheld, "items", scores()), "invalid", "items"},
		{"upheld with points", path, withField(upheld, "coachingPoints", []map[string]any{{"note": "n", "criterion": "c"}}), "invalid", "coachingPoints"},
		{"unknown field", path, withField(upheld, "evaluation", 2), "invalid", "evaluation"},
	} {
		status := map[string]int{"invalid": 400, "not_found": 404}[c.code]
		a := s.refuse("S1", "POST", c.path, c.body, status, c.code)
		if f := a.errDetails()["field"]; c.field != "" && f != c.field {
			t.Errorf("%s: field %v, want %s", c.name, f, c.field)
		}
	}
	key := events.NewID().String()
	first := s.req("S1", "POST", path, upheld, "Idempotency-Key", key)
	if first.status != 201 || len(first.body["eventIds"].([]any)) != 1 || first.body["eventIds"].([]any)[0] != key {
		t.Fatalf("upheld: %d %s", first.status, first.raw)
	}
	if again := s.req("S1", "POST", path, upheld, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("retry: %d %s, first %s", again.status, again.raw, first.raw)
	}
	s.refuse("S1", "POST", path, upheld, 400, "invalid")
	s.refuse("S1", "POST", path, withField(upheld, "note", "다른 답"), 409, "conflict", "Idempotency-Key", key) // the key of another request
	c := s.callView("R1", "K1")
	d := c["disputes"].([]any)[0].(map[string]any)
	if d["status"] != "upheld" || d["resolverId"] != "S1" || d["note"] != upheld["note"] || d["resolvedAt"] == nil {
		t.Errorf("upheld dispute %v", d)
	}
	if evs := c["evaluations"].([]any); len(evs) != 1 || evs[0].(map[string]any)["supersededBy"] != nil {
		t.Errorf("an upheld evaluation changed: %v", evs)
	}
}

// TestDisputeRescored: a re-score appends the new evaluation and the
// resolution in one append; the disputed evaluation stays readable, as
// superseded; the re-score is on the disputed evaluation's form version.
func TestDisputeRescored(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1")
	s.publishForm()
	id := s.disputed("K1")
	// A version 2 published since: the re-score stays on version 1.
	v2 := stdForm()
	v2["items"] = []map[string]any{{"itemId": "greeting", "label": "인사", "weight": 1, "max": 5}}
	s.must("H1", "PUT", "/v1/qa/forms/F1", v2, 201)
	path := "/v1/qa/disputes/" + id + "/resolution"
	rescored := map[string]any{"resolution": "rescored", "note": "고지 확인, 재채점", "items": scores("needs", 5),
		"coachingPoints": []map[string]any{{"note": "초반 고지 좋음", "itemId": "disclosure", "atSec": 12}}}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no items", without(rescored, "items"), "items"},
		{"items of version 2", withField(rescored, "items", []map[string]any{{"itemId": "greeting", "score": 5}}), "items"},
		{"score above max", withField(rescored, "items", scores("needs", 6)), "items[1].score"},
		{"a second past the call", withField(rescored, "coachingPoints", []map[string]any{{"note": "n", "criterion": "c", "atSec": 121}}), "coachingPoints[0].atSec"},
		{"no note", without(rescored, "note"), "note"},
	} {
		a := s.refuse("S1", "POST", path, c.body, 400, "invalid")
		if f := a.errDetails()["field"]; f != c.field {
			t.Errorf("%s: field %v, want %s (%s)", c.name, f, c.field, a.raw)
		}
	}
	s.refuse("S1", "POST", path, rescored, 409, "conflict", "If-Match", `"1"`)

	head := s.head()
	key := events.NewID().String()
	first := s.req("S1", "POST", path, rescored, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("rescored: %d %s", first.status, first.raw)
	}
	evs := s.logEvents(head)
	if len(evs) != 2 || evs[0]["type"] != "CallReviewed" || evs[1]["type"] != "DisputeResolved" || evs[1]["id"] != key {
		t.Fatalf("the re-score appended %v", evs)
	}
	ids := first.body["eventIds"].([]any)
	if len(ids) != 2 || ids[0] != evs[0]["id"] || ids[1] != key || first.body["version"] != evs[1]["version"] {
		t.Errorf("answer %s, appended %v", first.raw, evs)
	}
	review, resolved := evs[0]["data"].(map[string]any), evs[1]["data"].(map[string]any)
	if review["supersedes"] != 1.0 || review["disputeId"] != id || review["formVersion"] != 1.0 || review["total"] != 93.3 ||
		review["reviewerId"] != "S1" {
		t.Errorf("the new evaluation %v", review)
	}
	if resolved["resolution"] != "rescored" || resolved["evaluation"] != 2.0 || resolved["disputeId"] != id {
		t.Errorf("the resolution %v", resolved)
	}
	if again := s.req("S1", "POST", path, rescored, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("retry: %d %s, first %s", again.status, again.raw, first.raw)
	}
	s.refuse("S1", "POST", path, rescored, 400, "invalid")

	c := s.callView("R1", "K1")
	list := c["evaluations"].([]any)
	if len(list) != 2 {
		t.Fatalf("evaluations %v", list)
	}
	old, cur := list[0].(map[string]any), list[1].(map[string]any)
	if old["total"] != 83.3 || old["supersededBy"] != 2.0 || old["supersededAt"] == nil {
		t.Errorf("the disputed evaluation %v", old)
	}
	if cur["disputeId"] != id || cur["supersedes"] != 1.0 || c["review"].(map[string]any)["evaluation"] != 2.0 {
		t.Errorf("the re-score %v (review %v)", cur, c["review"])
	}
	if d := c["disputes"].([]any)[0].(map[string]any); d["status"] != "rescored" || d["newEvaluation"] != 2.0 {
		t.Errorf("dispute %v", d)
	}
	// The call's coaching points are those of every evaluation: the
	// point at 01:23 of the disputed one is still to be followed up.
	var at []float64
	for _, p := range s.must("R1", "GET", "/v1/calls/K1", nil, 200)["coachingPoints"].([]any) {
		at = append(at, p.(map[string]any)["atSec"].(float64))
	}
	if !slices.Equal(at, []float64{83, 12}) {
		t.Errorf("the call's coaching points are at %v s, want [83 12] (evaluation 1's, then 2's)", at)
	}
	// The re-score may itself be disputed, within its own window.
	s.must("R1", "POST", "/v1/calls/K1/evaluations/2/dispute", map[string]any{"reason": "아직도"}, 201)
	s.refuse("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "처음 것"}, 400, "invalid")
}

// TestQAListings: GET /v1/qa/evaluations and /v1/qa/disputes with their
// filters; reps and private bankers see only their own.
func TestQAListings(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1", "K2", "K3")
	s.publishForm()
	s.must("P1", "POST", "/v1/customers", newCustomer("C2"), 201)
	audio := []byte("RIFF-pb-call")
	s.must("P1", "POST", "/v1/calls", newCall("K4", "C2", s.upload("P1", audio), len(audio)), 201)
	s.must("S1", "POST", "/v1/calls/K4/reviews", newReview(), 201)
	open := s.disputed("K1")
	upheld := s.disputed("K2")
	s.must("S1", "POST", "/v1/qa/disputes/"+upheld+"/resolution", map[string]any{"resolution": "upheld", "note": "유지"}, 201)

	calls := func(who, q string) string {
		var ids []string
		for _, c := range s.must(who, "GET", "/v1/qa/evaluations"+q, nil, 200)["items"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		return fmt.Sprint(ids)
	}
	disputes := func(who, q string) string {
		var ids []string
		for _, d := range s.must(who, "GET", "/v1/qa/disputes"+q, nil, 200)["items"].([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		return fmt.Sprint(ids)
	}
	for _, c := range []struct{ who, q, want string }{
		{"S1", "", "[K2 K1 K4]"}, // latest evaluation newest first
		{"H1", "?rep=R1", "[K2 K1]"},
		{"U1", "?disputed=true", "[K1]"},
		{"S1", "?disputed=false", "[K2 K1 K4]"},
		{"S1", "?reviewer=S1&rep=P1", "[K4]"},
		{"S1", "?reviewer=S9", "[]"},
		{"R1", "", "[K2 K1]"},
		{"R1", "?rep=R1&disputed=true", "[K1]"},
		{"P1", "", "[K4]"},
		{"R2", "", "[]"},
	} {
		if got := calls(c.who, c.q); got != c.want {
			t.Errorf("GET /v1/qa/evaluations%s as %s: %s, want %s", c.q, c.who, got, c.want)
		}
	}
	for _, c := range []struct{ who, q, want string }{
		{"S1", "", fmt.Sprint([]string{open, upheld})},
		{"H1", "?status=open", fmt.Sprint([]string{open})},
		{"U1", "?status=upheld&rep=R1", fmt.Sprint([]string{upheld})},
		{"S1", "?status=rescored", "[]"},
		{"R1", "", fmt.Sprint([]string{open, upheld})},
		{"P1", "", "[]"},
		{"R2", "?status=open", "[]"},
	} {
		if got := disputes(c.who, c.q); got != c.want {
			t.Errorf("GET /v1/qa/disputes%s as %s: %s, want %s", c.q, c.who, got, c.want)
		}
	}
	for _, c := range []struct {
		who, path string
		status    int
	}{
		{"R1", "/v1/qa/evaluations?rep=R2", 403},
		{"P1", "/v1/qa/disputes?rep=R1", 403},
		{"S1", "/v1/qa/evaluations?disputed=yes", 400},
		{"S1", "/v1/qa/evaluations?reviewer=S%201", 400},
		{"S1", "/v1/qa/evaluations?rep=R%201", 400},
		{"S1", "/v1/qa/disputes?status=closed", 400},
		{"A001", "/v1/qa/disputes", 403},
		{"A001", "/v1/qa/evaluations", 403},
	} {
		if a := s.req(c.who, "GET", c.path, nil); a.status != c.status {
			t.Errorf("GET %s as %s: %d %s, want %d", c.path, c.who, a.status, a.raw, c.status)
		}
	}
}
