package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCalibrationBlindLive: while a session is open, the live feed's qa
// topic — which every supervisor and centre head may read, evaluators
// among them — tells who scored, never what: CalibrationScored carries no
// items, total or criticalFailed there. The log topic (auditors') carries
// the event as stored, as the audit routes do.
func TestCalibrationBlindLive(t *testing.T) {
	s := calibrationStack(t)
	zero := 0.0
	qa := s.subscribe("S1", []string{"qa"}, &zero)
	log := s.subscribe("U1", []string{"log"}, &zero)
	id := s.must("S1", "POST", "/v1/qa/calibrations",
		map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S2", "S1"}}, 201)["sessionId"].(string)
	s.must("S2", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 1, -1), 201)
	scored := func(l *liveSub) map[string]any {
		for _, m := range l.received() {
			if m["type"] == "CalibrationScored" {
				return m
			}
		}
		return nil
	}
	s.waitUntil("the qa topic delivers the score", func() bool { return scored(qa) != nil })
	s.waitUntil("the log topic delivers the score", func() bool { return scored(log) != nil })
	b, _ := json.Marshal(scored(qa)["data"])
	if raw := string(b); strings.Contains(raw, "total") || strings.Contains(raw, "items") || strings.Contains(raw, "greeting") ||
		!strings.Contains(raw, `"evaluatorId":"S2"`) || !strings.Contains(raw, `"sessionId":"`+id+`"`) {
		t.Errorf("the qa topic shows S2's score of an open session to S1: %s", raw)
	}
	if b, _ := json.Marshal(scored(log)["data"]); !strings.Contains(string(b), `"total":100`) {
		t.Errorf("the log topic lost the score as stored: %s", b)
	}
}

// TestCallOfAnotherRep: GET /v1/calls/{id} shows a call's evaluations,
// disputes (the rep's reason) and coaching points: to supervisors, centre
// heads, auditors and the call's own rep; another rep or private banker
// is answered 404, as the console's call page answers them.
func TestCallOfAnotherRep(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1")
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)
	for _, who := range []string{"R1", "S1", "H1", "U1"} {
		s.must(who, "GET", "/v1/calls/K1", nil, 200)
	}
	for _, who := range []string{"R2", "P1"} {
		if a := s.req(who, "GET", "/v1/calls/K1", nil); a.status != 404 || a.errCode() != "not_found" || strings.Contains(string(a.raw), "다시") {
			t.Errorf("%s read R1's call: %d %s", who, a.status, a.raw)
		}
	}
}
