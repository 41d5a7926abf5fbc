package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// selectionsOf returns every CallSelectedForReview in the log by call id,
// reasons in log order (a call a supervisor also selected has two).
func (l *samplerLog) selectionsOf() map[string][]string {
	all, err := l.store.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		l.t.Fatal(err)
	}
	out := map[string][]string{}
	for i := range all {
		if all[i].Type != "CallSelectedForReview" {
			continue
		}
		d, err := events.Decode(&all[i])
		if err != nil {
			l.t.Fatal(err)
		}
		_, call := events.StreamID(all[i].Stream)
		out[call] = append(out[call], d.(*events.CallSelectedForReview).Reason)
	}
	return out
}

// TestSamplerComplaintAfterSeveralCalls: a customer with two calls on a day
// logs a complaint afterwards; both calls are selected for the complaint.
// (The two decisions once shared one derived event id, that of the
// complaint, so the store refused the second as an id used in another
// stream.)
func TestSamplerComplaintAfterSeveralCalls(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 3, ComplaintDays: 1}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	l.call("X1", "R1", leadNow.Add(-2*time.Hour))
	l.call("X2", "R1", leadNow.Add(-time.Hour))
	leadAppend(t, l.store, events.CustomerStream("C1"), events.Any,
		&events.ContactLogged{Channel: "phone_inbound", Purpose: "complaint", Summary: "s", OccurredAt: leadNow})
	l.drive(sm, &pos, true)
	got := l.selectionsOf()
	for _, id := range []string{"X1", "X2"} {
		if fmt.Sprint(got[id]) != "[complaint]" {
			t.Errorf("call %s: selections %v, want [complaint]", id, got[id])
		}
	}
	l.restartAppendsNothing(pol)
}

// TestSamplerManualSelectionAfterDraw: a supervisor selects by hand a call
// the week's draw picked, before the sampler's append lands. The draw's
// random sample is still appended, so the rep-week has exactly K random
// samples (it holds 8 eligible calls), live and after a restart.
func TestSamplerManualSelectionAfterDraw(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 3}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	for k := range 8 {
		l.call(fmt.Sprintf("K%d", k), "R1", leadNow.Add(-time.Duration(k+1)*time.Hour))
	}
	l.drive(sm, &pos, true)
	l.clock.Set(leadNow.AddDate(0, 0, 7)) // the next week: week 48 is drawn
	l.call("NEXT", "R1", leadNow.AddDate(0, 0, 7))
	l.drive(sm, &pos, false) // folded, drawn, not yet appended
	drawn := sm.Pending()
	if len(drawn) != pol.PerRepWeek {
		t.Fatalf("drawn %v, want %d calls", drawn, pol.PerRepWeek)
	}
	sup := events.Actor{ID: "S1", Role: "supervisor"}
	ev, err := events.NewEvent(&events.CallSelectedForReview{Reason: "requested", SupervisorID: "S1"}, events.Meta{Actor: sup})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.store.Append(context.Background(), events.CallStream(drawn[0]), events.StreamExists, ev); err != nil {
		t.Fatal(err)
	}
	l.drive(sm, &pos, true)

	count := func() int {
		n := 0
		for _, reasons := range l.selectionsOf() {
			for _, r := range reasons {
				if r == "random_sample" {
					n++
				}
			}
		}
		return n
	}
	if n := count(); n != pol.PerRepWeek {
		t.Fatalf("rep-week with 8 eligible calls has %d random samples, want %d (selections %v)", n, pol.PerRepWeek, l.selectionsOf())
	}
	again := projections.NewSampler(pol, l.store)
	var from events.Position
	l.drive(again, &from, true)
	if n := count(); n != pol.PerRepWeek {
		t.Fatalf("after a restart: %d random samples, want %d", n, pol.PerRepWeek)
	}
}
