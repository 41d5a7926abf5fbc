package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// samplingStack is a stack whose sampler's built-in plan selects each
// rep's first call, calls of 15 minutes and complaints of the same day, as
// its API serves it (as serve fills Config.BuiltInPlan from its flags).
func samplingStack(t *testing.T) *stack {
	builtIn := projections.SamplingPlan{NewRepCalls: 1, LongCallSec: 900, PerRepWeek: 3, ComplaintDays: 1}
	return newStack(t, stackOptions{newRepCalls: 1, configure: func(c *api.Config) { c.BuiltInPlan = builtIn }})
}

// planBody is a PUT /v1/qa/sampling-plan body.
func planBody(newRep, perWeek, longSec, complaintDays int, note string) map[string]any {
	return map[string]any{"newRepCalls": newRep, "perRepWeek": perWeek, "longCallSec": longSec, "complaintDays": complaintDays, "note": note}
}

// plans returns GET /v1/qa/sampling-plan's current version and every
// version's number, newest first.
func (s *stack) plans(who string) (current map[string]any, versions []float64) {
	s.t.Helper()
	a := s.must(who, "GET", "/v1/qa/sampling-plan", nil, 200)
	for _, v := range a["versions"].([]any) {
		versions = append(versions, v.(map[string]any)["version"].(float64))
	}
	return a["current"].(map[string]any), versions
}

// selectionOf returns the data of the sampler's CallSelectedForReview of
// call id in the log, or nil.
func (s *stack) selectionOf(id string) map[string]any {
	s.t.Helper()
	for _, e := range s.logEvents(0) {
		if e["type"] == "CallSelectedForReview" && e["stream"] == events.CallStream(id) {
			return e["data"].(map[string]any)
		}
	}
	return nil
}

// TestSamplingPlan: before any plan the API serves the built-in plan as
// version 0; supervisors and centre heads publish versions 1, 2, 3 (If-Match
// names the plan version they started from); the sampler judges a call by
// the plan in force when it is recorded and names its version, also after
// a restart.
func TestSamplingPlan(t *testing.T) {
	s := samplingStack(t)
	cur, versions := s.plans("H1")
	if cur["version"] != 0.0 || cur["newRepCalls"] != 1.0 || cur["longCallSec"] != 900.0 || cur["perRepWeek"] != 3.0 ||
		cur["complaintDays"] != 1.0 || len(versions) != 0 {
		t.Fatalf("before any plan: current %v, versions %v; want the built-in plan as version 0", cur, versions)
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := []byte("RIFF-sampling-plan-audio")
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.waitUntil("the built-in plan selects R1's first call", func() bool { return s.selectionOf("K1") != nil })
	if sel := s.selectionOf("K1"); sel["reason"] != "new_rep" || sel["planVersion"] != nil {
		t.Fatalf("K1 selected %v; want new_rep under version 0 (planVersion omitted)", sel)
	}

	a := s.must("S1", "PUT", "/v1/qa/sampling-plan", planBody(0, 2, 600, 3, "신입 규칙 끔"), 201)
	if a["stream"] != events.SamplingSettingsStream || a["version"] != 1.0 || len(a["eventIds"].([]any)) != 1 {
		t.Fatalf("first plan answered %v; want version 1 on %s", a, events.SamplingSettingsStream)
	}
	a = s.must("H1", "PUT", "/v1/qa/sampling-plan", planBody(0, 2, 100, 3, ""), 201, "If-Match", `"1"`)
	if a["version"] != 2.0 {
		t.Fatalf("second plan answered %v, want version 2", a)
	}
	cur, versions = s.plans("U1")
	if cur["version"] != 2.0 || cur["longCallSec"] != 100.0 || cur["publishedBy"] != "H1" || fmt.Sprint(versions) != "[2 1]" {
		t.Fatalf("after two plans: current %v, versions %v", cur, versions)
	}

	// K2 (120 s) is recorded under version 2: a long call by its
	// threshold of 100 s.
	s.must("R1", "POST", "/v1/calls", newCall("K2", "C1", digest, len(audio)), 201)
	s.waitUntil("version 2 selects K2 as a long call", func() bool { return s.selectionOf("K2") != nil })
	if sel := s.selectionOf("K2"); sel["reason"] != "long_call" || sel["planVersion"] != 2.0 {
		t.Fatalf("K2 selected %v; want long_call under version 2", sel)
	}
	s.awaitApplied()
	if sel := s.must("S1", "GET", "/v1/calls/K2", nil, 200)["call"].(map[string]any)["selection"].(map[string]any); sel["planVersion"] != 2.0 {
		t.Errorf("the read side's selection of K2 %v; want planVersion 2", sel)
	}
	plans := map[string]any{}
	for _, it := range s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any) {
		plans[it.(map[string]any)["callId"].(string)] = it.(map[string]any)["planVersion"]
	}
	if plans["K1"] != 0.0 || plans["K2"] != 2.0 {
		t.Errorf("the queue's plan versions %v; want K1 0 (the built-in plan), K2 2", plans)
	}

	// A restart replays the same log: no selection twice, the plans the same.
	s = s.restart()
	s.must("S1", "PUT", "/v1/qa/sampling-plan", planBody(0, 2, 0, 3, ""), 201, "If-Match", `"2"`)
	s.must("R1", "POST", "/v1/calls", newCall("K3", "C1", digest, len(audio)), 201)
	s.awaitApplied()
	if sel := s.selectionOf("K3"); sel != nil {
		t.Fatalf("K3 selected %v under version 3, which turns long calls off", sel)
	}
	n := 0
	for _, e := range s.logEvents(0) {
		if e["type"] == "CallSelectedForReview" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d selections after the restart, want 2 (K1, K2)", n)
	}
	if cur, versions = s.plans("S1"); cur["version"] != 3.0 || fmt.Sprint(versions) != "[3 2 1]" {
		t.Fatalf("after the restart: current %v, versions %v", cur, versions)
	}
}

// TestSamplingPlanRefused: bad bodies, an If-Match that is not the latest
// version and roles that may not publish append nothing; only
// supervisors, centre heads and auditors read the plan.
func TestSamplingPlanRefused(t *testing.T) {
	s := samplingStack(t)
	s.must("S1", "PUT", "/v1/qa/sampling-plan", planBody(5, 3, 900, 1, ""), 201)
	good := planBody(5, 3, 900, 1, "")
	head := s.head()
	for _, c := range []struct {
		name, who string
		body      any
		hdr       []string
		status    int
		field     string
	}{
		{"no newRepCalls", "S1", without(good, "newRepCalls"), nil, 400, "newRepCalls"},
		{"no perRepWeek", "S1", without(good, "perRepWeek"), nil, 400, "perRepWeek"},
		{"no longCallSec", "S1", without(good, "longCallSec"), nil, 400, "longCallSec"},
		{"no complaintDays", "H1", without(good, "complaintDays"), nil, 400, "complaintDays"},
		{"newRepCalls too many", "S1", withField(good, "newRepCalls", 1001), nil, 400, "newRepCalls"},
		{"perRepWeek negative", "S1", withField(good, "perRepWeek", -1), nil, 400, "perRepWeek"},
		{"longCallSec too short", "S1", withField(good, "longCallSec", 59), nil, 400, "longCallSec"},
		{"complaintDays too wide", "S1", withField(good, "complaintDays", 31), nil, 400, "complaintDays"},
		{"not a number", "S1", withField(good, "perRepWeek", "3"), nil, 400, ""},
		{"unknown field", "S1", withField(good, "planVersion", 7), nil, 400, ""},
		{"note too long", "S1", withField(good, "note", strings.Repeat("가", 5000)), nil, 400, "note"},
		{"If-Match not a version", "S1", good, []string{"If-Match", "latest"}, 400, "If-Match"},
		{"If-Match behind", "S1", good, []string{"If-Match", `"0"`}, 409, ""},
		{"If-Match ahead", "H1", good, []string{"If-Match", `"2"`}, 409, ""},
		{"rep", "R1", good, nil, 403, ""},
		{"private banker", "P1", good, nil, 403, ""},
		{"auditor", "U1", good, nil, 403, ""},
		{"admin", "A001", good, nil, 403, ""},
		{"no token", "", good, nil, 401, ""},
	} {
		a := s.req(c.who, "PUT", "/v1/qa/sampling-plan", c.body, c.hdr...)
		if a.status != c.status || (c.field != "" && a.errDetails()["field"] != c.field) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, a.status, a.raw, c.status, c.field)
		}
		if c.status == 409 && !strings.Contains(string(a.raw), "latest version is 1,") {
			t.Errorf("%s: %s does not say the latest version", c.name, a.raw)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("refused publications appended: head %v → %v: %v", head, got, s.appendedSince(head))
	}
	for who, want := range map[string]int{"S1": 200, "H1": 200, "U1": 200, "R1": 403, "P1": 403, "A001": 403} {
		if a := s.req(who, "GET", "/v1/qa/sampling-plan", nil); a.status != want {
			t.Errorf("GET as %s: %d, want %d", who, a.status, want)
		}
	}
}

// TestSamplingPlanRetry: a retry with the same Idempotency-Key gets the
// first answer and appends nothing, even though the plan's latest version
// is now the one it published; the key with another body is a conflict.
func TestSamplingPlanRetry(t *testing.T) {
	s := samplingStack(t)
	key := events.NewID().String()
	first := s.must("S1", "PUT", "/v1/qa/sampling-plan", planBody(2, 3, 900, 1, "a"), 201, "Idempotency-Key", key)
	head := s.head()
	again := s.must("S1", "PUT", "/v1/qa/sampling-plan", planBody(2, 3, 900, 1, "a"), 201, "Idempotency-Key", key)
	if fmt.Sprint(again) != fmt.Sprint(first) || first["version"] != 1.0 {
		t.Fatalf("retry answered %v, first %v", again, first)
	}
	if a := s.req("S1", "PUT", "/v1/qa/sampling-plan", planBody(3, 3, 900, 1, "a"), "Idempotency-Key", key); a.status != 409 {
		t.Fatalf("the key with another body: %d %s, want 409", a.status, a.raw)
	}
	if got := s.head(); got != head {
		t.Fatalf("retries appended: %v", s.appendedSince(head))
	}
}
