package projections

import (
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// This file holds a call's evaluations and disputes: the fold's rules for
// CallReviewed (numbering, superseding), ReviewAcknowledged, ReviewDisputed
// and DisputeResolved, and the queries over them.

// review folds the call's next evaluation (n = the number of CallReviewed
// on its stream so far + 1) and the coaching points it raises.
func (cs *Calls) review(c *CallView, d *events.CallReviewed, at time.Time) {
	n := len(c.Evaluations) + 1
	// A review that raises no point lists none: [] as the API documents, not null.
	rv := Review{Evaluation: n, ReviewerID: d.ReviewerID, FormID: d.FormID, FormVersion: d.FormVersion, Items: d.Items,
		Total: d.Total, CriticalFailed: d.CriticalFailed, ReviewedAt: at, CoachingPoints: []string{}, Supersedes: d.Supersedes,
		DisputeID: d.DisputeID}
	for _, p := range d.CoachingPoints {
		cs.points[p.PointID] = &CoachingPoint{ID: p.PointID, CallID: c.ID, RepID: c.StaffID, ReviewerID: d.ReviewerID,
			Criterion: p.Criterion, Note: p.Note, AtSec: p.AtSec, ItemID: p.ItemID, Evaluation: n, Status: StatusOpen,
			FollowUpDue: p.FollowUpDue, RaisedAt: at, History: []FollowUpResult{}}
		rv.CoachingPoints = append(rv.CoachingPoints, p.PointID)
	}
	if k := d.Supersedes; k >= 1 && k < n {
		old := &c.Evaluations[k-1]
		old.SupersededAt, old.SupersededBy = &at, n
	}
	c.Evaluations = append(c.Evaluations, rv)
	c.setLatest()
	cs.reviews = append(cs.reviews, ReviewScore{RepID: c.StaffID, At: at, Total: d.Total, CallID: c.ID, Evaluation: n,
		CriticalFailed: d.CriticalFailed})
}

// setLatest points Review at a copy of the latest evaluation. Review is
// replaced, never changed in place, so a CallView copied out shares
// nothing the fold later writes.
func (c *CallView) setLatest() {
	if n := len(c.Evaluations); n > 0 {
		rv := c.Evaluations[n-1]
		c.Review = &rv
	}
}

// acknowledge records the rep's acknowledgement of an evaluation; the
// first one counts (the API refuses a second).
func (c *CallView) acknowledge(d *events.ReviewAcknowledged, at time.Time) {
	if d.Evaluation < 1 || d.Evaluation > len(c.Evaluations) {
		return
	}
	ev := &c.Evaluations[d.Evaluation-1]
	if ev.AcknowledgedAt == nil {
		ev.AcknowledgedAt, ev.AckComment = &at, d.Comment
		c.setLatest()
	}
}

// resolve closes the call's dispute d names; an unknown or already
// resolved dispute is ignored.
func (c *CallView) resolve(d *events.DisputeResolved, at time.Time) {
	for i := range c.Disputes {
		p := &c.Disputes[i]
		if p.ID != d.DisputeID || p.Status != DisputeOpen {
			continue
		}
		p.Status, p.ResolverID, p.ResolvedAt, p.Note, p.NewEvaluation = d.Resolution, d.ResolverID, &at, d.Note, d.Evaluation
		return
	}
}

// openDispute reports whether the call has a dispute not yet resolved.
func (c *CallView) openDispute() bool {
	return slices.ContainsFunc(c.Disputes, func(d Dispute) bool { return d.Status == DisputeOpen })
}

// copyOut returns a copy of the call that shares no slice the fold
// appends to or writes into, with its lists empty rather than nil.
func (c *CallView) copyOut() CallView {
	v := *c
	v.Evaluations = slices.Clone(c.Evaluations)
	v.Disputes = slices.Clone(c.Disputes)
	if v.Evaluations == nil {
		v.Evaluations = []Review{}
	}
	if v.Disputes == nil {
		v.Disputes = []Dispute{}
	}
	return v
}

// Evaluations returns the reviewed calls matching f, the latest
// evaluation newest first (then by call id), each with every evaluation
// and dispute (Queries.Evaluations).
func (cs *Calls) Evaluations(f EvaluationFilter) []CallView {
	out := []CallView{}
	for _, c := range cs.byID {
		if c.Review == nil || f.Rep != "" && c.StaffID != f.Rep || f.Reviewer != "" && c.Review.ReviewerID != f.Reviewer ||
			f.Disputed && !c.openDispute() {
			continue
		}
		out = append(out, c.copyOut())
	}
	slices.SortFunc(out, func(a, b CallView) int {
		if c := b.Review.ReviewedAt.Compare(a.Review.ReviewedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

// Disputes returns the disputes matching f, oldest raised first (then by
// id) (Queries.Disputes).
func (cs *Calls) Disputes(f DisputeFilter) []Dispute {
	out := []Dispute{}
	for id := range cs.disputes {
		d, ok := cs.Dispute(id)
		if !ok || f.Status != "" && d.Status != f.Status || f.Rep != "" && d.RepID != f.Rep {
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Dispute) int {
		if c := a.RaisedAt.Compare(b.RaisedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

// Dispute returns dispute id, or false if no rep raised it.
func (cs *Calls) Dispute(id string) (Dispute, bool) {
	c := cs.byID[cs.disputes[id]]
	if c == nil {
		return Dispute{}, false
	}
	for _, d := range c.Disputes {
		if d.ID == id {
			return d, true
		}
	}
	return Dispute{}, false
}
