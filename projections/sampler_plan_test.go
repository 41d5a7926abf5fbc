package projections_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// publish appends the next version of the sampling plan (version n is
// the stream's n-th event, at stream version n−1).
func (l *samplerLog) publish(p events.SamplingPlanPublished) {
	l.t.Helper()
	exp := events.NoStream
	if l.plans > 0 {
		exp = events.Exact(uint64(l.plans - 1))
	}
	l.plans++
	p.Version = l.plans
	leadAppend(l.t, l.store, events.SamplingSettingsStream, exp, &p)
}

// callOf records a call of rep with customer that started at started and
// lasted sec seconds.
func (l *samplerLog) callOf(id, rep, customer string, started time.Time, sec int) {
	l.t.Helper()
	l.week[id] = ""
	leadAppend(l.t, l.store, events.CallStream(id), events.NoStream, &events.CallRecorded{CallID: id, CustomerID: customer,
		StaffID: rep, Direction: "outbound", StartedAt: started, DurationSec: sec,
		Recording: events.Recording{SHA256: fmt.Sprintf("%064x", len(l.week)), ContentType: "audio/wav", Bytes: 1}})
}

// complaint logs a complaint contact of customer that occurred at at.
func (l *samplerLog) complaint(customer string, at time.Time) {
	l.t.Helper()
	leadAppend(l.t, l.store, events.CustomerStream(customer), events.Any,
		&events.ContactLogged{Channel: "phone_inbound", Purpose: "complaint", Summary: "s", OccurredAt: at})
}

// chosen returns the sampler's selections in the log by call id, as
// "reason@planVersion"; a call selected twice by the sampler fails.
func (l *samplerLog) chosen() map[string]string {
	l.t.Helper()
	all, err := l.store.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		l.t.Fatal(err)
	}
	out := map[string]string{}
	for i := range all {
		if all[i].Type != "CallSelectedForReview" || all[i].Actor != events.System("sampler") {
			continue
		}
		d, err := events.Decode(&all[i])
		if err != nil {
			l.t.Fatal(err)
		}
		_, call := events.StreamID(all[i].Stream)
		if _, twice := out[call]; twice {
			l.t.Fatalf("call %s selected twice by the sampler", call)
		}
		sel := d.(*events.CallSelectedForReview)
		out[call] = fmt.Sprintf("%s@%d", sel.Reason, sel.PlanVersion)
	}
	return out
}

// replayed folds the log without any selection into a fresh sampler, as
// a replay into an empty store would, and returns what it decides, as
// chosen does.
func (l *samplerLog) replayed(pol projections.SamplerPolicy) map[string]string {
	l.t.Helper()
	all, err := l.store.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		l.t.Fatal(err)
	}
	sm := projections.NewSampler(pol, nil)
	for i := range all {
		if all[i].Type == "CallSelectedForReview" {
			continue
		}
		d, err := events.Decode(&all[i])
		if err != nil {
			l.t.Fatal(err)
		}
		sm.Apply(projections.Event{Envelope: &all[i], Data: d})
	}
	out := map[string]string{}
	for _, dec := range sm.Due(1 << 20) {
		_, call := events.StreamID(dec.Stream)
		sel := dec.Data.(*events.CallSelectedForReview)
		out[call] = fmt.Sprintf("%s@%d", sel.Reason, sel.PlanVersion)
	}
	return out
}

// expectChosen compares the log's selections with want, and a replay's
// decisions with the log's.
func (l *samplerLog) expectChosen(pol projections.SamplerPolicy, want map[string]string) {
	l.t.Helper()
	got := l.chosen()
	if !maps.Equal(got, want) {
		l.t.Errorf("selections %v\nwant       %v", got, want)
	}
	if again := l.replayed(pol); !maps.Equal(again, got) {
		l.t.Errorf("a replay decides %v\nthe log has %v", again, got)
	}
}

// TestSamplerPlanVersions: each call is judged by the plan in force where
// its CallRecorded is in the log (the built-in plan, version 0, before any
// was published), and its selection names that plan's version. A replay
// of the same log decides the same selections with the same versions.
func TestSamplerPlanVersions(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 1, LongCallSec: 900, PerRepWeek: 0, ComplaintDays: 1}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	at := leadNow.Add(-time.Hour)
	l.callOf("A1", "R1", "C1", at, 60)  // built-in: the rep's first call
	l.callOf("A2", "R1", "C1", at, 60)  // built-in: nothing
	l.callOf("A3", "R1", "C1", at, 950) // built-in: long
	l.publish(events.SamplingPlanPublished{NewRepCalls: 3, LongCallSec: 0})
	l.callOf("A4", "R1", "C1", at, 60)  // v1: the rep's 4th call, not among the first 3
	l.callOf("B1", "R2", "C1", at, 60)  // v1: R2's first
	l.callOf("B2", "R2", "C1", at, 950) // v1: R2's second: new_rep (long calls are off)
	l.publish(events.SamplingPlanPublished{NewRepCalls: 0, LongCallSec: 120})
	l.callOf("B3", "R2", "C1", at, 120) // v2: long (at the threshold)
	l.callOf("B4", "R2", "C1", at, 119) // v2: nothing
	l.drive(sm, &pos, true)
	l.expectChosen(pol, map[string]string{"A1": "new_rep@0", "A3": "long_call@0", "B1": "new_rep@1", "B2": "new_rep@1", "B3": "long_call@2"})

	l.restartAppendsNothing(pol)
}

// TestSamplerPlanAtDraw: the weekly random draw takes K and the version
// from the plan in force when the week is drawn, not when its calls were
// recorded; a call recorded after the draw tops the rep-week up to the K of
// its own plan.
func TestSamplerPlanAtDraw(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 3, ComplaintDays: 1}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	for k := range 8 {
		l.callOf(fmt.Sprintf("K%d", k), "R1", "C1", leadNow.Add(-time.Duration(k+1)*time.Hour), 60)
	}
	l.publish(events.SamplingPlanPublished{PerRepWeek: 1, LongCallSec: 900})
	l.drive(sm, &pos, true)
	if got := l.chosen(); len(got) != 0 {
		t.Fatalf("drawn before the week ended: %v", got)
	}
	l.clock.Set(leadNow.AddDate(0, 0, 7)) // the next week: week 48 is drawn under v1
	l.callOf("NEXT", "R1", "C1", leadNow.AddDate(0, 0, 7), 60)
	l.drive(sm, &pos, true)
	got := l.chosen()
	if len(got) != 1 {
		t.Fatalf("week 48 drawn under a plan of K=1: %v", got)
	}
	for id, sel := range got {
		if sel != "random_sample@1" {
			t.Fatalf("call %s: %s, want random_sample@1", id, sel)
		}
	}
	want := maps.Clone(got)
	// v2 raises K to 2: the first late call of week 48 tops it up, the
	// second finds it full.
	l.publish(events.SamplingPlanPublished{PerRepWeek: 2, LongCallSec: 900})
	l.callOf("LATE1", "R1", "C1", leadNow.Add(-20*time.Hour), 60)
	l.callOf("LATE2", "R1", "C1", leadNow.Add(-21*time.Hour), 60)
	l.drive(sm, &pos, true)
	want["LATE1"] = "random_sample@2"
	l.expectChosen(pol, want)
}

// TestSamplerComplaintDays: with complaintDays N a complaint selects the
// customer's calls within N−1 days before or after the complaint's day
// (Korea Standard Time), whether the call or the complaint comes first in
// the log, by the plan in force for the call; 0 turns the rule off.
func TestSamplerComplaintDays(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, kst) // the complaint's day
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 0, ComplaintDays: 1, Location: kst}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	l.callOf("SAME0", "R1", "C1", day.Add(-11*time.Hour), 60) // built-in N=1: the same day, 00:00 KST
	l.callOf("NEXT0", "R1", "C1", day.AddDate(0, 0, 1), 60)   // built-in N=1: the next day
	l.publish(events.SamplingPlanPublished{ComplaintDays: 3})
	l.callOf("M2", "R1", "C1", day.AddDate(0, 0, -2), 60)                    // 2 days before: in
	l.callOf("M3", "R1", "C1", day.AddDate(0, 0, -2).Add(-13*time.Hour), 60) // 23:00 KST, 3 days before: out
	l.callOf("P2", "R1", "C1", day.AddDate(0, 0, 2).Add(11*time.Hour), 60)   // 23:00 KST, 2 days after: in
	l.callOf("OTHER", "R1", "C2", day, 60)                                   // another customer
	l.complaint("C1", day)
	l.callOf("P1", "R1", "C1", day.AddDate(0, 0, 1), 60) // after the complaint, a day after: in
	l.callOf("P3", "R1", "C1", day.AddDate(0, 0, 3), 60) // 3 days after: out
	l.publish(events.SamplingPlanPublished{ComplaintDays: 0})
	l.callOf("OFF", "R1", "C1", day, 60) // the rule is off
	l.drive(sm, &pos, true)
	l.expectChosen(pol, map[string]string{"SAME0": "complaint@0", "M2": "complaint@1", "P2": "complaint@1", "P1": "complaint@1"})
}

// TestSamplerPlanEventsCount: a plan publication is an event of the log like
// any other for the draw: a week ends when the log's recordedAt reaches the
// next week, whichever event does.
func TestSamplerPlanEventsCount(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 2, ComplaintDays: 1}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	for k := range 4 {
		l.callOf(fmt.Sprintf("K%d", k), "R1", "C1", leadNow.Add(-time.Duration(k+1)*time.Hour), 60)
	}
	l.clock.Set(leadNow.AddDate(0, 0, 7))
	// The plan's own event reaches week 49: week 48 is drawn under the
	// plan in force before it, the built-in plan.
	l.publish(events.SamplingPlanPublished{PerRepWeek: 1})
	l.drive(sm, &pos, true)
	n := 0
	for _, sel := range l.chosen() {
		if sel != "random_sample@0" {
			t.Fatalf("selection %s, want random_sample@0", sel)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("week 48 drawn with %d calls, want 2 (the built-in plan's K)", n)
	}
	l.expectChosen(pol, l.chosen())
}
