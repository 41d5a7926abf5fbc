package api_test

import (
	"fmt"
	"slices"
	"testing"
)

// TestLiveAdvisorAsOfEvent: an event's advisor topic names the customer's
// advisor as of that event, in replayed history as in the live feed; a
// reassignment reaches the advisor it takes the customer from too. Calls
// follow their customer's advisor of the moment.
func TestLiveAdvisorAsOfEvent(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	assign := func(advisor, kind string) float64 {
		return s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": advisor, "kind": kind}, 201)["position"].(float64)
	}
	pos := func(b map[string]any) float64 { return b["position"].(float64) }
	start := pos(s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201))
	toP1 := assign("P1", "private_banker")
	contactA := pos(s.must("P1", "POST", "/v1/customers/C1/contacts", newContact("while with P1"), 201))
	audio := []byte("RIFF call K1")
	callK1 := pos(s.must("R2", "POST", "/v1/calls", newCall("K1", "C1", s.upload("R2", audio), len(audio)), 201))
	toR1 := assign("R1", "call_centre_rep")
	contactB := pos(s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("while with R1"), 201))
	selectK1 := pos(s.must("S1", "POST", "/v1/calls/K1/selection", map[string]any{"reason": "requested"}, 201))

	// Replayed from before the first assignment, while R1 is the advisor.
	replay := []struct {
		advisor string
		want    []float64
	}{
		{"P1", []float64{toP1, contactA, callK1, toR1}},
		{"R1", []float64{toR1, contactB, selectK1}},
	}
	for _, r := range replay {
		l := s.subscribe("S1", []string{"advisor:" + r.advisor}, &start)
		checkFeed(t, s, l, "advisor:"+r.advisor, r.want)
	}

	// Live, after the replay: back to P1.
	head := s.head()
	lP1 := s.subscribe("P1", []string{"advisor:P1"}, &head)
	lR1 := s.subscribe("R1", []string{"advisor:R1"}, &head)
	backToP1 := assign("P1", "private_banker")
	contactC := pos(s.must("P1", "POST", "/v1/customers/C1/contacts", newContact("with P1 again"), 201))
	checkFeed(t, s, lP1, "advisor:P1", []float64{backToP1, contactC})
	checkFeed(t, s, lR1, "advisor:R1", []float64{backToP1})
}

// checkFeed waits until l has received len(want) events, closes it (so
// that anything else sent is received too) and checks it got exactly want,
// each tagged topic.
func checkFeed(t *testing.T, s *stack, l *liveSub, topic string, want []float64) {
	t.Helper()
	s.waitUntil(fmt.Sprintf("%s gets %d events", topic, len(want)), func() bool { return len(l.received()) >= len(want) })
	l.finish(t)
	var got []float64
	for _, m := range l.received() {
		got = append(got, m["position"].(float64))
		if ts := asStringSlice(m["topics"]); !slices.Equal(ts, []string{topic}) {
			t.Errorf("%s: event %v (%v) tagged %v", topic, m["position"], m["type"], ts)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s received positions %v, want %v", topic, got, want)
	}
}
