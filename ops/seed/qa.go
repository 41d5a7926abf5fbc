package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// Quality assurance as the bank runs it: one scorecard form, QA-2026, in
// two versions (the second, a month before the end, adds a closing that
// may be N/A); reviews on the version in force when they were made, with
// a critical disclosure item and coaching points at a second of the call;
// the rep's acknowledgements, disputes upheld, re-scored and still open,
// a supervisor's correction; and a calibration session of three
// evaluators on one reviewed call, closed.

// formID is the seed's scorecard form.
const formID = "QA-2026"

// formV1 and formV2 are its versions' items.
var (
	formV1 = []events.FormItem{
		{ItemID: "greeting", Label: "첫인사", Weight: 1, Max: 5},
		{ItemID: "needs_analysis", Label: "니즈 파악", Weight: 2, Max: 5},
		{ItemID: "disclosure", Label: "필수 고지", Weight: 2, Max: 1, Critical: true},
	}
	formV2 = append(slices.Clone(formV1), events.FormItem{ItemID: "closing", Label: "마무리", Weight: 1, Max: 5, NAAllowed: true})
)

// formV2At is when version 2 was published: a month before the end.
func (g *gen) formV2At() time.Time { return g.cfg.End.AddDate(0, -1, 0) }

// forms publishes the form's two versions, by the first supervisor.
func (g *gen) forms(ctx context.Context) error {
	s := &stream{rng: g.rng("form", 0)}
	by := events.Actor{ID: "S00", Role: "supervisor"}
	s.add(&events.ScorecardFormPublished{FormID: formID, Version: 1, Name: "통화 품질 평가표", Items: formV1},
		g.cfg.End.AddDate(0, -g.cfg.Months-1, 0), by, nil)
	s.add(&events.ScorecardFormPublished{FormID: formID, Version: 2, Name: "통화 품질 평가표", Items: formV2,
		Note: "마무리 항목 추가 (해당 없음 허용)"}, g.formV2At(), by, nil)
	return g.flush(ctx, events.QAFormStream(formID), events.NoStream, s)
}

// formAt returns the version of the form in force at t and its items.
func (g *gen) formAt(t time.Time) (int, []events.FormItem) {
	if t.Before(g.formV2At()) {
		return 1, formV1
	}
	return 2, formV2
}

// scores scores items with r: mostly well, the critical disclosure
// missed one time in twenty, an item that allows N/A N/A one time in three.
func scores(r *rand.Rand, items []events.FormItem) []events.ReviewItem {
	out := make([]events.ReviewItem, len(items))
	for i, it := range items {
		out[i] = events.ReviewItem{ItemID: it.ItemID, Criterion: it.Label, Weight: it.Weight, Max: it.Max, Critical: it.Critical}
		switch {
		case it.Critical:
			out[i].Score = ptr(min(1, r.IntN(20)))
		case it.NAAllowed && r.IntN(3) == 0:
			out[i].NA = true
		default:
			out[i].Score = ptr(max(1, it.Max-r.IntN(4)))
		}
	}
	return out
}

// reviewOf is a review by sup at t of a call of dur seconds, on the form
// version in force then; point, if not "", is its coaching point's id.
func (g *gen) reviewOf(r *rand.Rand, sup string, t time.Time, dur int, point string) *events.CallReviewed {
	version, form := g.formAt(t)
	items := scores(r, form)
	d := &events.CallReviewed{ReviewerID: sup, FormID: formID, FormVersion: version, Items: items,
		Total: events.ReviewTotal(items), CriticalFailed: events.CriticalFailed(items)}
	if point != "" {
		d.CoachingPoints = []events.CoachingPointRaised{{PointID: point, Criterion: form[1].Label, Note: "고객 니즈 질문 보강",
			FollowUpDue: events.AddOneMonth(t), AtSec: ptr(r.IntN(dur)), ItemID: form[1].ItemID}}
	}
	return d
}

// afterReview adds what may follow a call's first review at reviewed,
// picked with r: the rep's acknowledgement, or a dispute upheld, re-scored
// or still open, or the supervisor's own correction. Nothing happens at or
// after end.
func (g *gen) afterReview(es *entries, r *rand.Rand, callID string, dur int, reviewed time.Time, rep, sup events.Actor) {
	end := g.cfg.End
	disputed, resolved := reviewed.AddDate(0, 0, 3), reviewed.AddDate(0, 0, 5)
	dispute := &events.ReviewDisputed{DisputeID: "DP" + callID, Evaluation: 1, RepID: rep.ID, Reason: "필수 고지는 통화 초반에 안내했습니다"}
	switch k := r.IntN(10); {
	case k == 0 && resolved.Before(end):
		es.add(dispute, disputed, rep, nil)
		es.add(&events.DisputeResolved{DisputeID: dispute.DisputeID, ResolverID: sup.ID, Resolution: "upheld",
			Note: "녹취 확인 결과 평가 유지"}, resolved, sup, nil)
	case k == 1 && resolved.Before(end):
		es.add(dispute, disputed, rep, nil)
		again := g.reviewOf(r, sup.ID, resolved, dur, "")
		again.Supersedes, again.DisputeID = 1, dispute.DisputeID
		es.add(again, resolved, sup, nil)
		es.add(&events.DisputeResolved{DisputeID: dispute.DisputeID, ResolverID: sup.ID, Resolution: "rescored",
			Note: "녹취 02:10에 고지 확인, 재평가", Evaluation: 2}, resolved, sup, nil)
		if ack := resolved.AddDate(0, 0, 1); ack.Before(end) {
			es.add(&events.ReviewAcknowledged{Evaluation: 2, RepID: rep.ID}, ack, rep, nil)
		}
	case k == 2 && disputed.Before(end):
		es.add(dispute, disputed, rep, nil)
	case k == 3 && disputed.Before(end):
		again := g.reviewOf(r, sup.ID, disputed, dur, "")
		again.Supersedes = 1
		es.add(again, disputed, sup, nil)
	default:
		if ack := reviewed.AddDate(0, 0, 1); ack.Before(end) {
			es.add(&events.ReviewAcknowledged{Evaluation: 1, RepID: rep.ID, Comment: "확인했습니다"}, ack, rep, nil)
		}
	}
}

// reviewed notes callID as a reviewed call a calibration may be held on.
func (g *gen) reviewed(callID string) {
	g.mu.Lock()
	g.reviewedCalls = append(g.reviewedCalls, callID)
	g.mu.Unlock()
}

// calibration holds a session on the first reviewed call (by id, so that
// the same config holds it on the same call): the first two supervisors
// and the centre head score it blind a week before the end on the form
// version then in force, and the centre head closes it.
func (g *gen) calibration(ctx context.Context) error {
	if len(g.reviewedCalls) == 0 {
		return nil
	}
	callID := slices.Min(g.reviewedCalls)
	r := g.rng("calibration", 0)
	opened := g.cfg.End.AddDate(0, 0, -7)
	version, form := g.formAt(opened)
	head := events.Actor{ID: "X0", Role: "centre_head"}
	id := "CAL-" + opened.Format("2006-01")
	evaluators := []events.Actor{{ID: "S00", Role: "supervisor"}, {ID: "S01", Role: "supervisor"}, head}
	s := &stream{rng: r}
	s.add(&events.CalibrationOpened{SessionID: id, CallID: callID, FormID: formID, FormVersion: version, OpenerID: head.ID,
		Evaluators: []string{"S00", "S01", "X0"}, Note: fmt.Sprintf("%s 월간 보정", opened.Format("2006-01"))}, opened, head, nil)
	for i, ev := range evaluators {
		items := scores(r, form)
		s.add(&events.CalibrationScored{SessionID: id, EvaluatorID: ev.ID, Items: items, Total: events.ReviewTotal(items),
			CriticalFailed: events.CriticalFailed(items)}, opened.Add(time.Duration(i+1)*time.Hour), ev, nil)
	}
	s.add(&events.CalibrationClosed{SessionID: id, CloserID: head.ID, Note: "니즈 파악 기준 차이 논의"}, opened.AddDate(0, 0, 1), head, nil)
	return g.flush(ctx, events.CalibrationStream(id), events.NoStream, s)
}
