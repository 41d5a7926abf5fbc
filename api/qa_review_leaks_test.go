package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
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

// TestLiveOthersQA: a rep subscribed to a customer, or to the advisor
// topic of a customer they advise, receives the recording of another
// rep's call of that customer but none of its QA: the review's scores
// and coaching, the other rep's dispute and its reason.
func TestLiveOthersQA(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1")
	zero := 0.0
	r2 := s.subscribe("R2", []string{"customer:C1"}, &zero)
	p1 := s.subscribe("P1", []string{"customer:C1"}, &zero)
	own := s.subscribe("R1", []string{"customer:C1"}, &zero)
	audio := []byte("RIFF-qa-call-K2")
	s.must("P1", "POST", "/v1/calls", newCall("K2", "C1", s.upload("P1", audio), len(audio)), 201) // P1's call of R1's customer
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.must("S1", "POST", "/v1/calls/K2/reviews", newReview("greeting"), 201)
	s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("마지막"), 201)
	types := func(l *liveSub) (out []string) {
		for _, m := range l.received() {
			out = append(out, m["stream"].(string)+" "+m["type"].(string))
		}
		return out
	}
	for _, l := range []*liveSub{r2, p1, own} {
		s.waitUntil(l.who+" receives the last contact", func() bool {
			return slices.ContainsFunc(types(l), func(ty string) bool { return strings.HasSuffix(ty, "ContactLogged") })
		})
	}
	for l, want := range map[*liveSub]string{
		r2:  "[call-K1 CallRecorded call-K2 CallRecorded]",
		p1:  "[call-K1 CallRecorded call-K2 CallRecorded call-K2 CallReviewed]",
		own: "[call-K1 CallRecorded call-K2 CallRecorded call-K1 CallReviewed call-K1 ReviewDisputed]",
	} {
		var calls []string
		for _, ty := range types(l) {
			if strings.HasPrefix(ty, "call-") {
				calls = append(calls, ty)
			}
		}
		if got := fmt.Sprint(calls); got != want {
			t.Errorf("%s on customer:C1 received %s, want %s", l.who, got, want)
		}
	}
}
