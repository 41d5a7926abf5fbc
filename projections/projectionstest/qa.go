package projectionstest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The subtests of quality assurance: scorecard forms, sampling plans,
// evaluations with their superseding, acknowledgements and disputes, and
// calibration sessions with their figures and report.

// formItems is the suite's scorecard: greeting and accuracy scored out of
// 5, disclosure a critical pass/fail, empathy out of 5 and N/A allowed.
var formItems = []events.FormItem{
	{ItemID: "greet", Label: "Greeting", Weight: 1, Max: 5},
	{ItemID: "accuracy", Label: "Accuracy", Weight: 3, Max: 5},
	{ItemID: "disclosure", Label: "Disclosure read", Weight: 1, Max: 1, Critical: true},
	{ItemID: "empathy", Label: "Empathy", Weight: 1, Max: 5, NAAllowed: true},
}

// publishForm appends the next version of form id with items.
func publishForm(f *fixture, id string, version int, name string, items []events.FormItem, note string) {
	f.add(events.QAFormStream(id), &events.ScorecardFormPublished{FormID: id, Version: version, Name: name, Items: items, Note: note})
}

// scored returns formItems scored with scores in form order; -1 marks an
// item N/A.
func scored(scores ...int) []events.ReviewItem { return ScoreItems(formItems, scores...) }

// ScoreItems returns the review items of form's items scored with scores,
// in form order (criterion the item's label); a score of -1 marks the item
// N/A.
func ScoreItems(form []events.FormItem, scores ...int) []events.ReviewItem {
	out := make([]events.ReviewItem, len(form))
	for i, it := range form {
		out[i] = events.ReviewItem{ItemID: it.ItemID, Criterion: it.Label, Weight: it.Weight, Max: it.Max, Critical: it.Critical}
		if scores[i] < 0 {
			out[i].NA = true
		} else {
			out[i].Score = ptr(scores[i])
		}
	}
	return out
}

// formReview returns a review of scores on form F1's version.
func formReview(reviewer string, version int, scores []int, points ...events.CoachingPointRaised) *events.CallReviewed {
	items := scored(scores...)
	return &events.CallReviewed{ReviewerID: reviewer, FormID: "F1", FormVersion: version, Items: items,
		Total: events.ReviewTotal(items), CriticalFailed: events.CriticalFailed(items), CoachingPoints: points}
}

// testQAForms expects every version of two forms, the latest of each, and
// the sampling plan's versions newest first.
func testQAForms(t *testing.T, f *fixture) {
	ctx := t.Context()
	rs := f.sync()
	forms, err := rs.ScorecardForms(ctx)
	ok(t, "ScorecardForms, none published", err)
	same(t, "ScorecardForms, none published", forms, []projections.ScorecardForm{})
	plans, err := rs.SamplingPlans(ctx)
	ok(t, "SamplingPlans, none published", err)
	same(t, "SamplingPlans, none published", plans, []projections.SamplingPlan{})

	v2Items := append(formItems[:3:3], events.FormItem{ItemID: "close", Label: "Closing", Weight: 2, Max: 3})
	f.as("S01", "supervisor").at(hours(1))
	publishForm(f, "F2", 1, "Complaints", formItems[:2], "")
	f.at(hours(2))
	publishForm(f, "F1", 1, "Outbound calls", formItems, "")
	f.as("H01", "centre_head").at(hours(3))
	publishForm(f, "F1", 2, "Outbound calls", v2Items, "empathy replaced by closing")
	f.as("S01", "supervisor").at(hours(4)).add(events.SamplingSettingsStream, &events.SamplingPlanPublished{Version: 1,
		NewRepCalls: 20, PerRepWeek: 3, LongCallSec: 900, ComplaintDays: 1})
	f.as("H01", "centre_head").at(hours(5)).add(events.SamplingSettingsStream, &events.SamplingPlanPublished{Version: 2,
		NewRepCalls: 10, PerRepWeek: 5, ComplaintDays: 3, Note: "more random calls"})
	rs = f.sync()

	f1v1 := projections.ScorecardForm{ID: "F1", Version: 1, Name: "Outbound calls", Items: formItems, PublishedAt: hours(2),
		PublishedBy: "S01", Latest: 2}
	f1v2 := projections.ScorecardForm{ID: "F1", Version: 2, Name: "Outbound calls", Items: v2Items,
		Note: "empathy replaced by closing", PublishedAt: hours(3), PublishedBy: "H01", Latest: 2}
	f2 := projections.ScorecardForm{ID: "F2", Version: 1, Name: "Complaints", Items: formItems[:2], PublishedAt: hours(1),
		PublishedBy: "S01", Latest: 1}
	forms, err = rs.ScorecardForms(ctx)
	ok(t, "ScorecardForms", err)
	same(t, "ScorecardForms (the latest of each, by id)", forms, []projections.ScorecardForm{f1v2, f2})
	for _, tc := range []struct {
		id      string
		version int
		want    projections.ScorecardForm
	}{{"F1", 0, f1v2}, {"F1", 1, f1v1}, {"F1", 2, f1v2}, {"F2", 0, f2}, {"F2", 1, f2}} {
		got, err := rs.ScorecardForm(ctx, tc.id, tc.version)
		ok(t, "ScorecardForm", err)
		same(t, "ScorecardForm("+tc.id+", "+itoa(tc.version)+")", got, tc.want)
	}
	for _, tc := range []struct {
		id      string
		version int
	}{{"F1", 3}, {"F1", -1}, {"F2", 2}, {"F9", 0}, {"", 0}} {
		_, err := rs.ScorecardForm(ctx, tc.id, tc.version)
		if events.ErrorCode(err) != events.NotFound {
			t.Errorf("ScorecardForm(%q, %d): %v, want NotFound", tc.id, tc.version, err)
		}
	}

	plans, err = rs.SamplingPlans(ctx)
	ok(t, "SamplingPlans", err)
	same(t, "SamplingPlans (newest first)", plans, []projections.SamplingPlan{
		{Version: 2, NewRepCalls: 10, PerRepWeek: 5, ComplaintDays: 3, Note: "more random calls", PublishedAt: hours(5), PublishedBy: "H01"},
		{Version: 1, NewRepCalls: 20, PerRepWeek: 3, LongCallSec: 900, ComplaintDays: 1, PublishedAt: hours(4), PublishedBy: "S01"},
	})
}

// testEvaluations follows calls through reviews on a form, an
// acknowledgement, disputes upheld, re-scored and open, and a review in
// the old shape (no form version, no item ids), and expects the calls,
// every filter of Evaluations and Disputes, the coaching points' moments
// and the QA report on each call's latest evaluation.
func testEvaluations(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.as("S01", "supervisor").at(T0)
	publishForm(f, "F1", 1, "Outbound calls", formItems, "")
	recordCall(f, "E1", "C1", "R01", T0.Add(-time.Hour), 300)
	recordCall(f, "E2", "C2", "R02", T0.Add(-time.Hour), 300)
	recordCall(f, "E3", "C3", "R01", T0.Add(-time.Hour), 300)
	recordCall(f, "E4", "C4", "R02", T0.Add(-time.Hour), 300)
	recordCall(f, "E5", "C5", "R01", T0.Add(-time.Hour), 300) // never reviewed
	e1, e2, e3, e4 := events.CallStream("E1"), events.CallStream("E2"), events.CallStream("E3"), events.CallStream("E4")

	// E1: a failed critical item with a point at 01:23 on accuracy,
	// acknowledged, disputed and re-scored a month later.
	due1 := events.AddOneMonth(hours(1))
	f.at(hours(1)).add(e1, formReview("S01", 1, []int{4, 2, 0, 3},
		events.CoachingPointRaised{PointID: "EP1", Criterion: "Accuracy", Note: "quote today's rate", FollowUpDue: due1,
			AtSec: ptr(83), ItemID: "accuracy"}))
	f.sync() // the store catches up on the first review and follows the rest live
	f.as("R01", "rep").at(hours(2)).add(e1, &events.ReviewAcknowledged{Evaluation: 1, RepID: "R01", Comment: "understood"})
	f.at(hours(3)).add(e1, &events.ReviewAcknowledged{Evaluation: 1, RepID: "R01", Comment: "again"}) // the first counts
	f.add(e1, &events.ReviewAcknowledged{Evaluation: 7, RepID: "R01"})                                // no such evaluation: ignored
	f.at(hours(4)).add(e1, &events.ReviewDisputed{DisputeID: "D1", Evaluation: 1, RepID: "R01", Reason: "the disclosure was read at 04:10"})
	rescoredAt := T0.AddDate(0, 1, 0)
	rescore := formReview("S02", 1, []int{4, 2, 1, 3})
	rescore.Supersedes, rescore.DisputeID = 1, "D1"
	f.as("S02", "supervisor").at(rescoredAt).add(e1, rescore)
	f.add(e1, &events.DisputeResolved{DisputeID: "D1", ResolverID: "S02", Resolution: "rescored", Note: "it was read", Evaluation: 2})
	f.add(e1, &events.DisputeResolved{DisputeID: "D1", ResolverID: "S03", Resolution: "upheld", Note: "late"}) // resolved already

	// E2: disputed, still open. E3: disputed and upheld. E4: the old shape.
	f.as("S02", "supervisor").at(hours(5)).add(e2, formReview("S02", 1, []int{5, 5, 1, -1}))
	f.as("S01", "supervisor").at(hours(6)).add(e3, formReview("S01", 1, []int{3, 3, 1, 5}))
	f.as("R02", "rep").at(hours(7)).add(e2, &events.ReviewDisputed{DisputeID: "D2", Evaluation: 1, RepID: "R02", Reason: "the customer hung up"})
	f.as("R01", "rep").at(hours(8)).add(e3, &events.ReviewDisputed{DisputeID: "D3", Evaluation: 1, RepID: "R01", Reason: "too harsh"})
	f.as("S01", "supervisor").at(hours(9)).add(e3, &events.DisputeResolved{DisputeID: "D3", ResolverID: "S01", Resolution: "upheld", Note: "the score stands"})
	f.add(events.CallStream("E9"), &events.ReviewDisputed{DisputeID: "D9", Evaluation: 1, RepID: "R01", Reason: "no such call"}) // ignored
	f.at(hours(10)).add(e4, review("S01", 3))
	rs := f.sync()

	ev1 := projections.Review{Evaluation: 1, ReviewerID: "S01", FormID: "F1", FormVersion: 1, Items: scored(4, 2, 0, 3),
		Total: 0, CriticalFailed: true, ReviewedAt: hours(1), CoachingPoints: []string{"EP1"},
		SupersededAt: &rescoredAt, SupersededBy: 2, AcknowledgedAt: ptr(hours(2)), AckComment: "understood"}
	ev2 := projections.Review{Evaluation: 2, ReviewerID: "S02", FormID: "F1", FormVersion: 1, Items: scored(4, 2, 1, 3),
		Total: events.ReviewTotal(scored(4, 2, 1, 3)), ReviewedAt: rescoredAt, CoachingPoints: []string{}, Supersedes: 1, DisputeID: "D1"}
	if ev2.Total != 60 {
		t.Fatalf("the re-score's total is %v; the suite expects 60", ev2.Total)
	}
	d1 := projections.Dispute{ID: "D1", CallID: "E1", Evaluation: 1, RepID: "R01", Reason: "the disclosure was read at 04:10",
		RaisedAt: hours(4), Status: projections.DisputeRescored, ResolverID: "S02", ResolvedAt: &rescoredAt, Note: "it was read",
		NewEvaluation: 2}
	call := func(id, customer, rep string, version uint64, ds []projections.Dispute, evs ...projections.Review) projections.CallView {
		v := projections.CallView{ID: id, CustomerID: customer, StaffID: rep, Direction: "outbound", StartedAt: T0.Add(-time.Hour),
			DurationSec: 300, Recording: recording(len(id) + 300), Evaluations: evs, Disputes: ds, Version: version}
		if len(evs) > 0 {
			v.Review = &evs[len(evs)-1]
		}
		return v
	}
	c1 := call("E1", "C1", "R01", 8, []projections.Dispute{d1}, ev1, ev2)
	got, err := rs.Call(ctx, "E1")
	ok(t, "Call(E1)", err)
	same(t, "Call(E1), re-scored after a dispute", got, c1)

	ev := func(reviewer string, at time.Time, scores ...int) projections.Review {
		items := scored(scores...)
		return projections.Review{Evaluation: 1, ReviewerID: reviewer, FormID: "F1", FormVersion: 1, Items: items,
			Total: events.ReviewTotal(items), ReviewedAt: at, CoachingPoints: []string{}}
	}
	d2 := projections.Dispute{ID: "D2", CallID: "E2", Evaluation: 1, RepID: "R02", Reason: "the customer hung up", RaisedAt: hours(7),
		Status: projections.DisputeOpen}
	d3 := projections.Dispute{ID: "D3", CallID: "E3", Evaluation: 1, RepID: "R01", Reason: "too harsh", RaisedAt: hours(8),
		Status: projections.DisputeUpheld, ResolverID: "S01", ResolvedAt: ptr(hours(9)), Note: "the score stands"}
	c2 := call("E2", "C2", "R02", 2, []projections.Dispute{d2}, ev("S02", hours(5), 5, 5, 1, -1))
	c3 := call("E3", "C3", "R01", 3, []projections.Dispute{d3}, ev("S01", hours(6), 3, 3, 1, 5))
	old := review("S01", 3)
	c4 := call("E4", "C4", "R02", 1, []projections.Dispute{}, projections.Review{Evaluation: 1, ReviewerID: "S01", FormID: "F1",
		Items: old.Items, Total: old.Total, ReviewedAt: hours(10), CoachingPoints: []string{}})
	got, err = rs.Call(ctx, "E5")
	ok(t, "Call(E5)", err)
	same(t, "Call(E5), never reviewed", got, call("E5", "C5", "R01", 0, []projections.Dispute{}, []projections.Review{}...))

	for _, tc := range []struct {
		f    projections.EvaluationFilter
		want []projections.CallView
	}{
		{projections.EvaluationFilter{}, []projections.CallView{c1, c4, c3, c2}}, // the latest evaluation newest first
		{projections.EvaluationFilter{Rep: "R01"}, []projections.CallView{c1, c3}},
		{projections.EvaluationFilter{Rep: "R02"}, []projections.CallView{c4, c2}},
		{projections.EvaluationFilter{Reviewer: "S01"}, []projections.CallView{c4, c3}}, // E1's latest is S02's
		{projections.EvaluationFilter{Reviewer: "S02"}, []projections.CallView{c1, c2}},
		{projections.EvaluationFilter{Disputed: true}, []projections.CallView{c2}}, // open disputes only
		{projections.EvaluationFilter{Rep: "R01", Disputed: true}, []projections.CallView{}},
		{projections.EvaluationFilter{Rep: "R09"}, []projections.CallView{}},
	} {
		got, err := rs.Evaluations(ctx, tc.f)
		ok(t, "Evaluations", err)
		same(t, "Evaluations(rep="+tc.f.Rep+" reviewer="+tc.f.Reviewer+" disputed="+boolString(tc.f.Disputed)+")", got, tc.want)
	}

	for _, tc := range []struct {
		f    projections.DisputeFilter
		want []projections.Dispute
	}{
		{projections.DisputeFilter{}, []projections.Dispute{d1, d2, d3}}, // oldest raised first
		{projections.DisputeFilter{Status: projections.DisputeOpen}, []projections.Dispute{d2}},
		{projections.DisputeFilter{Status: projections.DisputeUpheld}, []projections.Dispute{d3}},
		{projections.DisputeFilter{Status: projections.DisputeRescored}, []projections.Dispute{d1}},
		{projections.DisputeFilter{Rep: "R01"}, []projections.Dispute{d1, d3}},
		{projections.DisputeFilter{Rep: "R02", Status: projections.DisputeUpheld}, []projections.Dispute{}},
	} {
		got, err := rs.Disputes(ctx, tc.f)
		ok(t, "Disputes", err)
		same(t, "Disputes(status="+tc.f.Status+" rep="+tc.f.Rep+")", got, tc.want)
	}
	for id, want := range map[string]projections.Dispute{"D1": d1, "D2": d2, "D3": d3} {
		got, err := rs.Dispute(ctx, id)
		ok(t, "Dispute("+id+")", err)
		same(t, "Dispute("+id+")", got, want)
	}
	for _, id := range []string{"D9", "nope", ""} {
		if _, err := rs.Dispute(ctx, id); events.ErrorCode(err) != events.NotFound {
			t.Errorf("Dispute(%q): %v, want NotFound", id, err)
		}
	}

	p, err := rs.CoachingPoint(ctx, "EP1", hours(2))
	ok(t, "CoachingPoint(EP1)", err)
	same(t, "CoachingPoint(EP1), pinned to 01:23", p, projections.CoachingPoint{ID: "EP1", CallID: "E1", RepID: "R01",
		ReviewerID: "S01", Criterion: "Accuracy", Note: "quote today's rate", AtSec: ptr(83), ItemID: "accuracy", Evaluation: 1,
		Status: projections.StatusOpen, FollowUpDue: due1, RaisedAt: hours(1), History: []projections.FollowUpResult{}})

	// E1 counts once, with its April re-score (60) but in March, the month
	// it was first scored in: a re-score corrects a month, it does not
	// move the call to another.
	r, err := rs.Report(ctx, "qa", hours(11))
	ok(t, "Report(qa)", err)
	same(t, "Report(qa), each call's latest evaluation", r, []projections.QAScore{
		{RepID: "R01", Month: "2030-03", Reviews: 2, Average: round1((c3.Review.Total + 60) / 2), Min: 60, Max: c3.Review.Total},
		{RepID: "R02", Month: "2030-03", Reviews: 2, Average: 80, Min: 60, Max: 100},
	})

	// A critical item failed in the latest evaluation is counted.
	f.as("S01", "supervisor").at(hours(12)).add(events.CallStream("E5"), formReview("S01", 1, []int{5, 5, 0, 5}))
	rs = f.sync()
	r, err = rs.Report(ctx, "qa", hours(12))
	ok(t, "Report(qa)", err)
	same(t, "Report(qa), one critical item failed", r, []projections.QAScore{
		{RepID: "R01", Month: "2030-03", Reviews: 3, Average: round1((c3.Review.Total + 60) / 3), Min: 0, Max: c3.Review.Total, CriticalFailed: 1},
		{RepID: "R02", Month: "2030-03", Reviews: 2, Average: 80, Min: 60, Max: 100},
	})

	// Months are KST: E6, reviewed at 23:59 KST on 31 March, counts in
	// March; E7, reviewed at 08:30 KST on 1 April (23:30 UTC on 31 March),
	// in April.
	recordCall(f, "E6", "C6", "R02", lastMarchKST.Add(-time.Hour), 300)
	recordCall(f, "E7", "C7", "R02", firstAprilKST.Add(-time.Hour), 300)
	e6, e7 := formReview("S01", 1, []int{5, 4, 1, 5}), formReview("S01", 1, []int{4, 4, 1, 4})
	f.as("S01", "supervisor").at(lastMarchKST).add(events.CallStream("E6"), e6)
	f.at(firstAprilKST).add(events.CallStream("E7"), e7)
	rs = f.sync()
	r, err = rs.Report(ctx, "qa", firstAprilKST)
	ok(t, "Report(qa)", err)
	same(t, "Report(qa), KST months", r, []projections.QAScore{
		{RepID: "R01", Month: "2030-03", Reviews: 3, Average: round1((c3.Review.Total + 60) / 3), Min: 0, Max: c3.Review.Total, CriticalFailed: 1},
		{RepID: "R02", Month: "2030-03", Reviews: 3, Average: round1((160 + e6.Total) / 3), Min: 60, Max: 100},
		{RepID: "R02", Month: "2030-04", Reviews: 1, Average: e7.Total, Min: e7.Total, Max: e7.Total},
	})
}

// testCalibration opens sessions for three and two evaluators, scores
// them blind (scores from outside the session or repeated are ignored)
// and closes them, and expects the sessions while open and once closed
// (consensus, distances, per-item spread), every filter, and the
// calibration report.
func testCalibration(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.as("S01", "supervisor").at(T0)
	publishForm(f, "F1", 1, "Outbound calls", formItems, "")
	recordCall(f, "K1", "C1", "R01", T0.Add(-time.Hour), 300)
	cs1 := events.CalibrationStream("CS1")
	f.at(hours(1)).add(cs1, &events.CalibrationOpened{SessionID: "CS1", CallID: "K1", FormID: "F1", FormVersion: 1,
		OpenerID: "S01", Evaluators: []string{"S01", "S02", "H01"}, Note: "Monday calibration"})
	rs := f.sync()
	open := projections.CalibrationSession{ID: "CS1", CallID: "K1", FormID: "F1", FormVersion: 1, OpenerID: "S01",
		OpenedAt: hours(1), Note: "Monday calibration", Evaluators: []string{"S01", "S02", "H01"}, Scored: []string{},
		Status: projections.CalibrationOpen, Scores: []projections.CalibrationScore{}, Items: []projections.ItemSpread{}, Version: 0}
	got, err := rs.Calibration(ctx, "CS1")
	ok(t, "Calibration(CS1)", err)
	same(t, "Calibration(CS1), just opened", got, open)

	score := func(stream, evaluator string, at time.Time, scores ...int) projections.CalibrationScore {
		items := scored(scores...)
		d := &events.CalibrationScored{SessionID: stream[len("calibration-"):], EvaluatorID: evaluator, Items: items,
			Total: events.ReviewTotal(items), CriticalFailed: events.CriticalFailed(items)}
		f.as(evaluator, "supervisor").at(at).add(stream, d)
		return projections.CalibrationScore{EvaluatorID: evaluator, Items: items, Total: d.Total, CriticalFailed: d.CriticalFailed, ScoredAt: at}
	}
	s02 := score(cs1, "S02", hours(2), 4, 3, 1, 5) // 76.7
	score(cs1, "S09", hours(2), 5, 5, 1, 5)        // not an evaluator: ignored
	score(cs1, "S02", hours(2), 0, 0, 0, 0)        // scored already: ignored
	rs = f.sync()
	open.Scored, open.Scores, open.Version = []string{"S02"}, []projections.CalibrationScore{s02}, 3
	got, err = rs.Calibration(ctx, "CS1")
	ok(t, "Calibration(CS1)", err)
	same(t, "Calibration(CS1), open, one score", got, open)

	s01 := score(cs1, "S01", hours(3), 5, 5, 1, 4)  // 96.7
	h01 := score(cs1, "H01", hours(4), 3, 2, 0, -1) // disclosure failed: 0
	f.as("S01", "supervisor").at(hours(5)).add(cs1, &events.CalibrationClosed{SessionID: "CS1", CloserID: "S01", Note: "talk about the disclosure"})
	f.add(cs1, &events.CalibrationClosed{SessionID: "CS1", CloserID: "H01"}) // closed already: only the version moves
	score(cs1, "H01", hours(6), 5, 5, 1, 5)                                  // closed: ignored
	rs = f.sync()
	if s02.Total != 76.7 || s01.Total != 96.7 || h01.Total != 0 || !h01.CriticalFailed {
		t.Fatalf("totals %v %v %v (failed %v); the suite expects 76.7 96.7 0 (failed)", s02.Total, s01.Total, h01.Total, h01.CriticalFailed)
	}
	// Consensus (76.7 + 96.7 + 0) / 3 = 57.8; distances 18.9, 38.9, 57.8.
	s02.Distance, s01.Distance, h01.Distance = 18.9, 38.9, 57.8
	closedAt := hours(5)
	closed := open
	closed.Scored = []string{"S02", "S01", "H01"}
	closed.Scores = []projections.CalibrationScore{s02, s01, h01}
	closed.Status, closed.ClosedAt, closed.CloserID, closed.CloseNote = projections.CalibrationClosed, &closedAt, "S01", "talk about the disclosure"
	closed.Consensus, closed.Version = 57.8, 8
	closed.Items = []projections.ItemSpread{
		{ItemID: "greet", Label: "Greeting", Scores: []float64{80, 100, 60}, Mean: 80, Min: 60, Max: 100, Spread: 40},
		{ItemID: "accuracy", Label: "Accuracy", Scores: []float64{60, 100, 40}, Mean: 66.7, Min: 40, Max: 100, Spread: 60},
		{ItemID: "disclosure", Label: "Disclosure read", Scores: []float64{100, 100, 0}, Mean: 66.7, Min: 0, Max: 100, Spread: 100},
		{ItemID: "empathy", Label: "Empathy", Scores: []float64{100, 80, -1}, Mean: 90, Min: 80, Max: 100, Spread: 20},
	}
	got, err = rs.Calibration(ctx, "CS1")
	ok(t, "Calibration(CS1)", err)
	same(t, "Calibration(CS1), closed", got, closed)

	// April: CS3 (S01 100, S02 90: distances 5) and CS4 (S01 100, H01 96:
	// distances 2; S02 never scored), closed; CS2 stays open. CS5, opened
	// and scored in March (S01 100, S02 90), closes in April: it counts in
	// April, the month it closed.
	april := T0.AddDate(0, 1, 0)
	session := func(id string, at time.Time, evaluators ...string) string {
		s := events.CalibrationStream(id)
		f.as("H01", "centre_head").at(at).add(s, &events.CalibrationOpened{SessionID: id, CallID: "K1", FormID: "F1", FormVersion: 1,
			OpenerID: "H01", Evaluators: evaluators})
		return s
	}
	cs2 := session("CS2", hours(7), "S01", "S02")
	score(cs2, "S01", hours(8), 5, 5, 1, 5)
	cs5 := session("CS5", hours(9), "S01", "S02")
	score(cs5, "S01", hours(9), 5, 5, 1, 5)
	score(cs5, "S02", hours(10), 5, 5, 1, 2)
	cs3 := session("CS3", april, "S01", "S02")
	score(cs3, "S01", april, 5, 5, 1, 5)
	score(cs3, "S02", april, 5, 5, 1, 2)
	f.as("H01", "centre_head").add(cs3, &events.CalibrationClosed{SessionID: "CS3", CloserID: "H01"})
	cs4 := session("CS4", april, "S01", "H01", "S02")
	score(cs4, "S01", april.Add(time.Hour), 5, 5, 1, 5)
	score(cs4, "H01", april.Add(time.Hour), 4, 5, 1, -1)
	f.as("H01", "centre_head").at(april.Add(2*time.Hour)).add(cs4, &events.CalibrationClosed{SessionID: "CS4", CloserID: "H01"})
	f.at(april.Add(3*time.Hour)).add(cs5, &events.CalibrationClosed{SessionID: "CS5", CloserID: "H01"})
	rs = f.sync()

	ids := func(ss []projections.CalibrationSession) []string {
		out := []string{}
		for _, s := range ss {
			out = append(out, s.ID+" "+s.Status+" consensus="+ftoa(s.Consensus))
		}
		return out
	}
	for _, tc := range []struct {
		f    projections.CalibrationFilter
		want []string
	}{
		{projections.CalibrationFilter{}, []string{"CS3 closed consensus=95", "CS4 closed consensus=98", "CS5 closed consensus=95",
			"CS2 open consensus=0", "CS1 closed consensus=57.8"}},
		{projections.CalibrationFilter{Status: projections.CalibrationOpen}, []string{"CS2 open consensus=0"}},
		{projections.CalibrationFilter{Status: projections.CalibrationClosed, Evaluator: "H01"}, []string{"CS4 closed consensus=98", "CS1 closed consensus=57.8"}},
		{projections.CalibrationFilter{Evaluator: "S02"}, []string{"CS3 closed consensus=95", "CS4 closed consensus=98", "CS5 closed consensus=95",
			"CS2 open consensus=0", "CS1 closed consensus=57.8"}},
		{projections.CalibrationFilter{Evaluator: "S09"}, []string{}},
	} {
		got, err := rs.Calibrations(ctx, tc.f)
		ok(t, "Calibrations", err)
		same(t, "Calibrations(status="+tc.f.Status+" evaluator="+tc.f.Evaluator+")", ids(got), tc.want)
	}
	all, err := rs.Calibrations(ctx, projections.CalibrationFilter{})
	ok(t, "Calibrations", err)
	if len(all) == 5 {
		same(t, "Calibrations()[4], the whole session", all[4], closed)
	}

	// CS6 (S01 100, H01 96: distances 2), opened and scored on 31 March,
	// closes at 08:30 KST on 1 April (23:30 UTC on 31 March): it counts in
	// April, the KST month it closed.
	cs6 := session("CS6", lastMarchKST, "S01", "H01")
	score(cs6, "S01", lastMarchKST, 5, 5, 1, 5)
	score(cs6, "H01", lastMarchKST, 4, 5, 1, -1)
	f.as("H01", "centre_head").at(firstAprilKST).add(cs6, &events.CalibrationClosed{SessionID: "CS6", CloserID: "H01"})
	rs = f.sync()
	s6, err := rs.Calibration(ctx, "CS6")
	ok(t, "Calibration(CS6)", err)
	if s6.Consensus != 98 || len(s6.Scores) != 2 || s6.Scores[0].Distance != 2 || s6.Scores[1].Distance != 2 {
		t.Fatalf("CS6: consensus %v, scores %+v; the suite expects 98 and distances 2", s6.Consensus, s6.Scores)
	}

	r, err := rs.Report(ctx, "calibration", april)
	ok(t, "Report(calibration)", err)
	same(t, "Report(calibration)", r, []projections.CalibrationDistance{
		{EvaluatorID: "H01", Month: "2030-03", Sessions: 1, MeanDistance: 57.8},
		{EvaluatorID: "H01", Month: "2030-04", Sessions: 2, MeanDistance: 2},
		{EvaluatorID: "S01", Month: "2030-03", Sessions: 1, MeanDistance: 38.9},
		{EvaluatorID: "S01", Month: "2030-04", Sessions: 4, MeanDistance: 3.5}, // (5 + 2 + 5 + 2) / 4
		{EvaluatorID: "S02", Month: "2030-03", Sessions: 1, MeanDistance: 18.9},
		{EvaluatorID: "S02", Month: "2030-04", Sessions: 2, MeanDistance: 5},
	})
}

// testQANotFound expects NotFound and empty answers from a store whose log
// has no quality assurance events.
func testQANotFound(t *testing.T, f *fixture) {
	rs := f.sync()
	ctx := t.Context()
	for what, err := range map[string]error{
		"Dispute":       second(rs.Dispute(ctx, "nope")),
		"ScorecardForm": second(rs.ScorecardForm(ctx, "nope", 0)),
		"Calibration":   second(rs.Calibration(ctx, "nope")),
	} {
		if events.ErrorCode(err) != events.NotFound {
			t.Errorf("%s: %v, want NotFound", what, err)
		}
	}
	evs, err := rs.Evaluations(ctx, projections.EvaluationFilter{})
	ok(t, "Evaluations", err)
	same(t, "Evaluations, none", evs, []projections.CallView{})
	ds, err := rs.Disputes(ctx, projections.DisputeFilter{})
	ok(t, "Disputes", err)
	same(t, "Disputes, none", ds, []projections.Dispute{})
	css, err := rs.Calibrations(ctx, projections.CalibrationFilter{})
	ok(t, "Calibrations", err)
	same(t, "Calibrations, none", css, []projections.CalibrationSession{})
	r, err := rs.Report(ctx, "calibration", T0)
	ok(t, "Report(calibration)", err)
	same(t, "Report(calibration), none", r, []projections.CalibrationDistance{})
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func round1(x float64) float64 { return math.Round(x*10) / 10 }

func boolString(b bool) string { return strconv.FormatBool(b) }

// generateQA appends, through add, the quality assurance a generated bank
// may lack: two versions of a form, a sampling plan, a call reviewed,
// acknowledged, disputed and re-scored, another disputed and still open,
// and calibrations closed and open.
func generateQA(add func(string, ...events.Data), end time.Time) {
	add(events.QAFormStream("GF1"),
		&events.ScorecardFormPublished{FormID: "GF1", Version: 1, Name: "Generated form", Items: formItems},
		&events.ScorecardFormPublished{FormID: "GF1", Version: 2, Name: "Generated form", Items: formItems[:3], Note: "no empathy"})
	add(events.SamplingSettingsStream, &events.SamplingPlanPublished{Version: 1, NewRepCalls: 5, PerRepWeek: 2, ComplaintDays: 2})
	first := formReview("S901", 1, []int{4, 2, 0, -1}, events.CoachingPointRaised{PointID: "GP1", Criterion: "Disclosure read",
		Note: "read it", FollowUpDue: events.AddOneMonth(end), AtSec: ptr(30), ItemID: "disclosure"})
	first.FormID = "GF1"
	second := formReview("S902", 1, []int{4, 2, 1, -1})
	second.FormID, second.Supersedes, second.DisputeID = "GF1", 1, "GD1"
	rec := func(id string) *events.CallRecorded {
		return &events.CallRecorded{CallID: id, CustomerID: "C0000004", StaffID: "R002", Direction: "outbound",
			StartedAt: end.Add(-2 * time.Hour), DurationSec: 120, Recording: events.Recording{SHA256: hash(10), ContentType: "audio/wav", Bytes: 10}}
	}
	add(events.CallStream("KX2"), rec("KX2"), first,
		&events.ReviewAcknowledged{Evaluation: 1, RepID: "R002", Comment: "seen"},
		&events.ReviewDisputed{DisputeID: "GD1", Evaluation: 1, RepID: "R002", Reason: "it was read"},
		second, &events.DisputeResolved{DisputeID: "GD1", ResolverID: "S902", Resolution: "rescored", Note: "right", Evaluation: 2})
	third := formReview("S901", 1, []int{5, 5, 1, 5})
	third.FormID = "GF1"
	add(events.CallStream("KX3"), rec("KX3"), third, &events.ReviewDisputed{DisputeID: "GD2", Evaluation: 1, RepID: "R002", Reason: "why"})
	for i, id := range []string{"GC1", "GC2"} {
		ds := []events.Data{&events.CalibrationOpened{SessionID: id, CallID: "KX2", FormID: "GF1", FormVersion: 1, OpenerID: "S901",
			Evaluators: []string{"S901", "S902", "S903"}}}
		for j, ev := range []string{"S901", "S902", "S903"}[:2+i] {
			items := scored(5-j, 4, 1, j-1)
			ds = append(ds, &events.CalibrationScored{SessionID: id, EvaluatorID: ev, Items: items, Total: events.ReviewTotal(items)})
		}
		if i == 0 {
			ds = append(ds, &events.CalibrationClosed{SessionID: id, CloserID: "S901"})
		}
		add(events.CalibrationStream(id), ds...)
	}
}

// qaAnswers adds, through put, the answers of the quality assurance
// queries: evaluations and disputes under a set of filters, every dispute,
// form version and session x names (and unknown ones), every list.
func qaAnswers(ctx context.Context, q projections.Queries, x IDs, put func(string, any, error)) {
	unknown := []string{"nope", ""}
	filters := []projections.EvaluationFilter{{}, {Disputed: true}}
	for _, id := range append(slices.Clone(x.advisors), "R002") {
		filters = append(filters, projections.EvaluationFilter{Rep: id})
	}
	for _, id := range x.supervisors {
		filters = append(filters, projections.EvaluationFilter{Reviewer: id})
	}
	for _, f := range filters {
		v, err := q.Evaluations(ctx, f)
		put(fmt.Sprintf("evaluations %+v", f), v, err)
	}
	for _, f := range []projections.DisputeFilter{{}, {Status: projections.DisputeOpen}, {Status: projections.DisputeRescored},
		{Status: projections.DisputeUpheld}, {Rep: "R002"}, {Rep: "R000", Status: projections.DisputeOpen}} {
		v, err := q.Disputes(ctx, f)
		put(fmt.Sprintf("disputes %+v", f), v, err)
	}
	for _, id := range append(slices.Clone(x.disputes), unknown...) {
		v, err := q.Dispute(ctx, id)
		put("dispute "+id, v, err)
	}
	forms, err := q.ScorecardForms(ctx)
	put("forms", forms, err)
	for _, id := range append(slices.Clone(x.forms), unknown...) {
		for v := range 4 {
			f, err := q.ScorecardForm(ctx, id, v)
			put(fmt.Sprintf("form %s v%d", id, v), f, err)
		}
	}
	plans, err := q.SamplingPlans(ctx)
	put("plans", plans, err)
	for _, id := range append(slices.Clone(x.sessions), unknown...) {
		v, err := q.Calibration(ctx, id)
		put("calibration "+id, v, err)
	}
	cfs := []projections.CalibrationFilter{{}, {Status: projections.CalibrationOpen}, {Status: projections.CalibrationClosed}}
	for _, id := range x.supervisors {
		cfs = append(cfs, projections.CalibrationFilter{Evaluator: id})
	}
	for _, f := range cfs {
		v, err := q.Calibrations(ctx, f)
		put(fmt.Sprintf("calibrations %+v", f), v, err)
	}
}
