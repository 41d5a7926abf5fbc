package projectionstest

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The reports' months and weeks are Korea Standard Time (+09:00): these
// instants are all Sunday 31 March 2030 in UTC, but lastMarchKST is 23:59
// KST that day (March, ISO week 13) and firstAprilKST and mondayKST are
// Monday 1 April KST, 08:30 and 05:00 (April, ISO week 14).
var (
	lastMarchKST  = time.Date(2030, 3, 31, 14, 59, 0, 0, time.UTC)
	firstAprilKST = time.Date(2030, 3, 31, 23, 30, 0, 0, time.UTC)
	mondayKST     = time.Date(2030, 3, 31, 20, 0, 0, 0, time.UTC)
)

func recordCall(f *fixture, id, customer, staff string, started time.Time, dur int) events.AppendResult {
	return f.add(events.CallStream(id), &events.CallRecorded{CallID: id, CustomerID: customer, StaffID: staff, Direction: "outbound",
		StartedAt: started, DurationSec: dur, Recording: recording(len(id) + dur)})
}

// review returns a review of one item scored score of 5, raising points.
func review(reviewer string, score int, points ...events.CoachingPointRaised) *events.CallReviewed {
	items := []events.ReviewItem{{Criterion: "accuracy", Weight: 1, Score: ptr(score), Max: 5}}
	return &events.CallReviewed{ReviewerID: reviewer, FormID: "F1", Items: items, Total: events.ReviewTotal(items), CoachingPoints: points}
}

// testCall expects a call with its first selection (a second one changes
// nothing but the version) and its review.
func testCall(t *testing.T, f *fixture) {
	k1 := events.CallStream("K1")
	f.as("R01", "rep").at(T0)
	recordCall(f, "K1", "C1", "R01", T0.Add(-10*time.Minute), 600)
	recordCall(f, "K2", "C1", "R02", T0.Add(-5*time.Minute), 30)
	rs := f.sync()
	v, err := rs.Call(t.Context(), "K2")
	ok(t, "Call(K2)", err)
	same(t, "Call(K2), neither selected nor reviewed", v, projections.CallView{ID: "K2", CustomerID: "C1", StaffID: "R02",
		Direction: "outbound", StartedAt: T0.Add(-5 * time.Minute), DurationSec: 30, Recording: recording(32),
		Evaluations: []projections.Review{}, Disputes: []projections.Dispute{}})

	f.as("S01", "supervisor").at(hours(1)).add(k1, &events.CallSelectedForReview{Reason: "requested", SupervisorID: "S01"})
	f.as("S02", "supervisor").at(hours(2)).add(k1, &events.CallSelectedForReview{Reason: "complaint"})
	items := []events.ReviewItem{{Criterion: "greeting", Weight: 1, Score: ptr(4), Max: 5},
		{Criterion: "accuracy", Weight: 3, Score: ptr(2), Max: 5, Comment: "quoted last month's rate"}}
	due := events.AddOneMonth(hours(3))
	last := f.as("S01", "supervisor").at(hours(3)).add(k1, &events.CallReviewed{ReviewerID: "S01", FormID: "F1", Items: items,
		Total: events.ReviewTotal(items), CoachingPoints: []events.CoachingPointRaised{
			{PointID: "P1", Criterion: "accuracy", Note: "check the rate sheet", FollowUpDue: due},
			{PointID: "P2", Criterion: "greeting", Note: "say the bank's name", FollowUpDue: due}}})
	rs = f.sync()
	v, err = rs.Call(t.Context(), "K1")
	ok(t, "Call(K1)", err)
	k1Review := projections.Review{Evaluation: 1, ReviewerID: "S01", FormID: "F1", Items: items, Total: events.ReviewTotal(items),
		ReviewedAt: hours(3), CoachingPoints: []string{"P1", "P2"}}
	same(t, "Call(K1), selected twice and reviewed", v, projections.CallView{ID: "K1", CustomerID: "C1", StaffID: "R01",
		Direction: "outbound", StartedAt: T0.Add(-10 * time.Minute), DurationSec: 600, Recording: recording(602),
		Selection: &projections.Selection{Reason: "requested", SupervisorID: "S01", SelectedAt: hours(1), By: "S01"},
		Review:    &k1Review, Evaluations: []projections.Review{k1Review}, Disputes: []projections.Dispute{},
		Version: last.Version})
	if v.Version != 3 {
		t.Errorf("Call(K1).Version = %d after four events, want 3", v.Version)
	}

	// A review that raises no point has an empty list of them, not none.
	f.at(hours(4)).add(events.CallStream("K2"), review("S01", 5))
	rs = f.sync()
	v, err = rs.Call(t.Context(), "K2")
	ok(t, "Call(K2)", err)
	items = review("S01", 5).Items
	same(t, "Call(K2), reviewed without coaching points", v.Review, &projections.Review{Evaluation: 1, ReviewerID: "S01", FormID: "F1",
		Items: items, Total: 100, ReviewedAt: hours(4), CoachingPoints: []string{}})
}

// testQAQueue expects the calls selected and not reviewed, oldest
// selection first (ties by call id), for every supervisor.
func testQAQueue(t *testing.T, f *fixture) {
	f.as("R01", "rep").at(T0)
	for _, id := range []string{"Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"} {
		staff := "R01"
		if id == "Q3" || id == "Q4" {
			staff = "R02"
		}
		recordCall(f, id, "C"+id, staff, T0.Add(-time.Hour), 60)
	}
	// The sampler's selections name the plan version that chose them
	// (here the call's number: Q3 by plan 3); a request names none.
	sel := func(call, reason, supervisor string, at time.Time) {
		d := &events.CallSelectedForReview{Reason: reason, SupervisorID: supervisor}
		if reason != "requested" {
			d.PlanVersion = int(call[1] - '0')
		}
		f.at(at).add(events.CallStream(call), d)
	}
	f.as("system:sampler", "")
	sel("Q4", "long_call", "S02", T0.Add(30*time.Minute))
	sel("Q1", "requested", "S01", hours(1))
	f.as("S01", "supervisor").at(hours(1)).add(events.CallStream("Q7"), review("S01", 3)) // reviewed before it was selected
	f.sync()
	f.as("system:sampler", "")
	sel("Q3", "complaint", "S02", hours(2))
	sel("Q2", "random_sample", "", hours(2))
	sel("Q5", "new_rep", "S01", hours(3))
	f.as("S01", "supervisor").at(hours(4)).add(events.CallStream("Q5"), review("S01", 4))
	f.as("system:sampler", "")
	sel("Q7", "requested", "", hours(5))
	rs := f.sync()

	item := func(call, staff, reason, supervisor string, selected time.Time) projections.QueueItem {
		it := projections.QueueItem{CallID: call, StaffID: staff, CustomerID: "C" + call, Reason: reason, SupervisorID: supervisor,
			SelectedAt: selected, StartedAt: T0.Add(-time.Hour), DurationSec: 60}
		if reason != "requested" {
			v := int(call[1] - '0')
			it.PlanVersion = &v
		}
		return it
	}
	q4 := item("Q4", "R02", "long_call", "S02", T0.Add(30*time.Minute))
	q1 := item("Q1", "R01", "requested", "S01", hours(1))
	q2 := item("Q2", "R01", "random_sample", "", hours(2))
	q3 := item("Q3", "R02", "complaint", "S02", hours(2))
	for sup, want := range map[string][]projections.QueueItem{
		"":    {q4, q1, q2, q3},
		"S01": {q1, q2},
		"S02": {q4, q2, q3},
		"S09": {q2},
	} {
		got, err := rs.QAQueue(t.Context(), sup)
		ok(t, "QAQueue("+sup+")", err)
		same(t, "QAQueue("+sup+")", got, want)
	}
}

// testCoaching follows three coaching points through acknowledgement and
// follow-up checks and expects every filter, the order (earliest due
// first) and the overdue flags at two clocks; due times and filters are
// compared to the nanosecond.
func testCoaching(t *testing.T, f *fixture) {
	f.as("R01", "rep").at(T0)
	recordCall(f, "KA", "C1", "R01", T0.Add(-time.Hour), 100)
	recordCall(f, "KB", "C2", "R02", T0.Add(-time.Hour), 200)
	dueA1 := events.AddOneMonth(T0) // 2030-04-04T09:00
	dueA2 := T0.AddDate(0, 0, 15)
	f.as("S01", "supervisor").add(events.CallStream("KA"), review("S01", 2,
		events.CoachingPointRaised{PointID: "PA1", Criterion: "accuracy", Note: "check the rate sheet", FollowUpDue: dueA1},
		events.CoachingPointRaised{PointID: "PA2", Criterion: "empathy", Note: "let the customer finish", FollowUpDue: dueA2}))
	f.as("S02", "supervisor").at(hours(1)).add(events.CallStream("KB"), review("S02", 1,
		events.CoachingPointRaised{PointID: "PB1", Criterion: "compliance", Note: "read the disclosure", FollowUpDue: T0.AddDate(0, 0, 20)}))
	f.sync()
	f.as("R01", "rep").at(hours(2)).add(events.CallStream("KA"), &events.CoachingAcknowledged{PointID: "PA1", StaffID: "R01", Comment: "will do"})
	f.add(events.CallStream("KA"), &events.CoachingAcknowledged{PointID: "PX", StaffID: "R01"}) // no such point: ignored
	checkA2 := T0.AddDate(0, 0, 16)
	f.as("H01", "centre_head").at(checkA2).add(events.CallStream("KA"), &events.CoachingFollowedUp{PointID: "PA2", CheckerID: "H01", Outcome: "improved"})
	checkB1 := T0.AddDate(0, 0, 21)
	nextB1 := T0.AddDate(0, 0, 50).Add(700 * time.Nanosecond) // finer than a microsecond
	f.as("H02", "centre_head").at(checkB1).add(events.CallStream("KB"), &events.CoachingFollowedUp{PointID: "PB1", CheckerID: "H02",
		Outcome: "not_improved", Note: "still skips it", NextFollowUpDue: nextB1})
	rs := f.sync()

	ackAt := hours(2)
	pa1 := projections.CoachingPoint{ID: "PA1", CallID: "KA", RepID: "R01", ReviewerID: "S01", Criterion: "accuracy", Note: "check the rate sheet",
		Evaluation: 1, Status: projections.StatusAcknowledged, FollowUpDue: dueA1, RaisedAt: T0, Acknowledged: &ackAt, History: []projections.FollowUpResult{}}
	pa2 := projections.CoachingPoint{ID: "PA2", CallID: "KA", RepID: "R01", ReviewerID: "S01", Criterion: "empathy", Note: "let the customer finish",
		Evaluation: 1, Status: projections.StatusImproved, FollowUpDue: dueA2, RaisedAt: T0,
		History: []projections.FollowUpResult{{PointID: "PA2", CheckerID: "H01", Outcome: "improved", At: checkA2}}}
	pb1 := projections.CoachingPoint{ID: "PB1", CallID: "KB", RepID: "R02", ReviewerID: "S02", Criterion: "compliance", Note: "read the disclosure",
		Evaluation: 1, Status: projections.StatusNotImproved, FollowUpDue: nextB1, RaisedAt: hours(1),
		History: []projections.FollowUpResult{{PointID: "PB1", CheckerID: "H02", Outcome: "not_improved", Note: "still skips it", At: checkB1, NextDue: nextB1}}}
	now := T0.AddDate(0, 0, 35) // PA1 is overdue; PA2 is done; PB1's next check is not due
	overdue := func(p projections.CoachingPoint) projections.CoachingPoint { p.Overdue = true; return p }
	for _, tc := range []struct {
		f    projections.CoachingFilter
		want []projections.CoachingPoint
	}{
		{projections.CoachingFilter{}, []projections.CoachingPoint{pa2, overdue(pa1), pb1}},
		{projections.CoachingFilter{Rep: "R01"}, []projections.CoachingPoint{pa2, overdue(pa1)}},
		{projections.CoachingFilter{Rep: "R02"}, []projections.CoachingPoint{pb1}},
		{projections.CoachingFilter{Rep: "R09"}, []projections.CoachingPoint{}},
		{projections.CoachingFilter{Status: projections.StatusImproved}, []projections.CoachingPoint{pa2}},
		{projections.CoachingFilter{Status: projections.StatusAcknowledged}, []projections.CoachingPoint{overdue(pa1)}},
		{projections.CoachingFilter{Status: projections.StatusOpen}, []projections.CoachingPoint{}},
		{projections.CoachingFilter{Status: projections.StatusNotImproved, Rep: "R02"}, []projections.CoachingPoint{pb1}},
		{projections.CoachingFilter{Status: projections.StatusNotImproved, Rep: "R01"}, []projections.CoachingPoint{}},
		{projections.CoachingFilter{Checker: "H01"}, []projections.CoachingPoint{pa2}},
		{projections.CoachingFilter{Checker: "H02", Rep: "R02"}, []projections.CoachingPoint{pb1}},
		{projections.CoachingFilter{Checker: "H09"}, []projections.CoachingPoint{}},
		{projections.CoachingFilter{DueBefore: dueA1}, []projections.CoachingPoint{pa2}}, // strictly before
		{projections.CoachingFilter{DueBefore: dueA1.Add(time.Nanosecond)}, []projections.CoachingPoint{pa2, overdue(pa1)}},
		{projections.CoachingFilter{DueBefore: nextB1.Add(-100 * time.Nanosecond)}, []projections.CoachingPoint{pa2, overdue(pa1)}},
		{projections.CoachingFilter{DueBefore: nextB1.Add(100 * time.Nanosecond)}, []projections.CoachingPoint{pa2, overdue(pa1), pb1}},
	} {
		got, err := rs.Coaching(t.Context(), tc.f, now)
		ok(t, "Coaching", err)
		same(t, "Coaching("+describeCoaching(tc.f)+")", got, tc.want)
	}
	for _, tc := range []struct {
		id   string
		now  time.Time
		want projections.CoachingPoint
	}{
		{"PA1", now, overdue(pa1)},
		{"PA1", dueA1, pa1}, // due, not yet overdue
		{"PA2", now, pa2},
		{"PB1", now, pb1},
		{"PB1", nextB1.Add(time.Nanosecond), overdue(pb1)},
	} {
		got, err := rs.CoachingPoint(t.Context(), tc.id, tc.now)
		ok(t, "CoachingPoint("+tc.id+")", err)
		same(t, "CoachingPoint("+tc.id+") at "+tc.now.Format(time.RFC3339Nano), got, tc.want)
	}
}

func describeCoaching(f projections.CoachingFilter) string {
	due := ""
	if !f.DueBefore.IsZero() {
		due = f.DueBefore.Format(time.RFC3339Nano)
	}
	return "rep=" + f.Rep + " status=" + f.Status + " checker=" + f.Checker + " dueBefore=" + due
}
