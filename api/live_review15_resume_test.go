package api_test

import (
	"testing"
)

// TestLiveResumeWhileAppending: a client that keeps up gets every event of
// its topic once and in order while appends go on during its replay, and
// again after it reconnects from the last position it received: where the
// replay hands over to the live feed nothing is lost or sent twice.
func TestLiveResumeWhileAppending(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	from := reg["position"].(float64)
	s.appendContacts("C1", 100) // a backlog to replay

	var got []float64
	take := func(l *liveSub) {
		l.finish(t)
		for _, m := range l.received() {
			got = append(got, m["position"].(float64))
		}
	}
	first := s.subscribe("R1", []string{"customer:C1"}, &from)
	for range 20 { // while the replay runs
		s.appendContacts("C1", 5)
	}
	s.waitUntil("the first connection gets the backlog and some of what followed", func() bool { return len(first.received()) > 100 })
	take(first)

	last := got[len(got)-1]
	second := s.subscribe("R1", []string{"customer:C1"}, &last)
	for range 20 {
		s.appendContacts("C1", 5)
	}
	want := s.streamPositions("C1", from)
	s.waitUntil("the second connection gets the rest", func() bool { return len(got)+len(second.received()) >= len(want) })
	take(second)

	checkPrefix(t, got, want)
	if len(got) != len(want) {
		t.Fatalf("%d events over both connections, the stream has %d after the registration", len(got), len(want))
	}
}
