package projections

import (
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Calls is the read model of recorded calls, their review, the supervisors'
// QA queue and the coaching points raised in reviews.
type Calls struct {
	byID     map[string]*CallView
	points   map[string]*CoachingPoint
	queue    map[string]struct{} // call ids selected and not yet reviewed
	disputes map[string]string   // dispute id → call id
	reviews  []ReviewScore       // every review, in log order, for the QA report
	followUp []FollowUpResult    // every follow-up check, in log order
}

// CallView is a recorded call with its selection, review and coaching points.
type CallView struct {
	ID          string           `json:"id"`
	CustomerID  string           `json:"customerId"`
	StaffID     string           `json:"staffId"`
	Direction   string           `json:"direction"`
	StartedAt   time.Time        `json:"startedAt"`
	DurationSec int              `json:"durationSec"`
	Recording   events.Recording `json:"recording"`
	Selection   *Selection       `json:"selection,omitempty"`
	// Review is the latest evaluation (what reports use); Evaluations
	// holds every one, superseded ones included, oldest first.
	Review      *Review   `json:"review,omitempty"`
	Evaluations []Review  `json:"evaluations"`
	Disputes    []Dispute `json:"disputes"`
	Version     uint64    `json:"version"`
}

// Selection says why and when a call was selected for review.
//
// PlanVersion is the sampling plan version that chose the call (0: the
// server's built-in plan); absent for a supervisor's own request.
type Selection struct {
	Reason       string    `json:"reason"`
	SupervisorID string    `json:"supervisorId,omitempty"`
	PlanVersion  *int      `json:"planVersion,omitempty"`
	SelectedAt   time.Time `json:"selectedAt"`
	By           string    `json:"by"`
}

// Review is a supervisor's scored review of a call: one evaluation.
type Review struct {
	Evaluation     int                 `json:"evaluation"` // 1-based, in log order
	ReviewerID     string              `json:"reviewerId"`
	FormID         string              `json:"formId"`
	FormVersion    int                 `json:"formVersion,omitempty"`
	Items          []events.ReviewItem `json:"items"`
	Total          float64             `json:"total"`
	CriticalFailed bool                `json:"criticalFailed"`
	ReviewedAt     time.Time           `json:"reviewedAt"`
	CoachingPoints []string            `json:"coachingPointIds"`
	Supersedes     int                 `json:"supersedes,omitempty"`
	DisputeID      string              `json:"disputeId,omitempty"`
	// SupersededAt is when a later evaluation replaced this one.
	SupersededAt   *time.Time `json:"supersededAt,omitempty"`
	SupersededBy   int        `json:"supersededBy,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
	AckComment     string     `json:"ackComment,omitempty"`
}

// Coaching point statuses.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusImproved     = "improved"
	StatusNotImproved  = "not_improved"
)

// CoachingPoint is one point raised in a review, followed up monthly.
type CoachingPoint struct {
	ID           string           `json:"id"`
	CallID       string           `json:"callId"`
	RepID        string           `json:"repId"`
	ReviewerID   string           `json:"reviewerId"`
	Criterion    string           `json:"criterion"`
	Note         string           `json:"note"`
	AtSec        *int             `json:"atSec,omitempty"`
	ItemID       string           `json:"itemId,omitempty"`
	Evaluation   int              `json:"evaluation,omitempty"` // the evaluation that raised it
	Status       string           `json:"status"`
	FollowUpDue  time.Time        `json:"followUpDue"`
	Overdue      bool             `json:"overdue"`
	RaisedAt     time.Time        `json:"raisedAt"`
	Acknowledged *time.Time       `json:"acknowledgedAt,omitempty"`
	History      []FollowUpResult `json:"followUps"`
}

// FollowUpResult is one centre head's check of a coaching point.
type FollowUpResult struct {
	PointID   string    `json:"pointId"`
	RepID     string    `json:"-"`
	CheckerID string    `json:"checkerId"`
	Outcome   string    `json:"outcome"`
	Note      string    `json:"note,omitempty"`
	At        time.Time `json:"at"`
	NextDue   time.Time `json:"nextFollowUpDue,omitzero"`
}

// ReviewScore is one review's total, for the QA report.
type ReviewScore struct {
	RepID string
	At    time.Time
	Total float64
	// CallID and Evaluation let the report use each call's latest
	// evaluation only; CriticalFailed counts failed reviews.
	CallID         string `json:",omitempty"`
	Evaluation     int    `json:",omitempty"`
	CriticalFailed bool   `json:",omitempty"`
}

// NewCalls returns an empty calls read model.
func NewCalls() *Calls {
	return &Calls{byID: map[string]*CallView{}, points: map[string]*CoachingPoint{}, queue: map[string]struct{}{},
		disputes: map[string]string{}}
}

// Name returns "calls".
func (*Calls) Name() string { return "calls" }

// Apply folds the events of call streams.
func (cs *Calls) Apply(e Event) {
	cat, id := e.StreamID()
	if cat != "call" {
		return
	}
	if d, ok := e.Data.(*events.CallRecorded); ok {
		id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
		cs.byID[id] = &CallView{ID: id, CustomerID: d.CustomerID, StaffID: d.StaffID, Direction: d.Direction,
			StartedAt: d.StartedAt, DurationSec: d.DurationSec, Recording: d.Recording, Version: e.Version}
		return
	}
	c := cs.byID[id]
	if c == nil {
		return
	}
	c.Version = e.Version
	switch d := e.Data.(type) {
	case *events.CallSelectedForReview:
		if c.Selection == nil {
			c.Selection = &Selection{Reason: d.Reason, SupervisorID: d.SupervisorID, SelectedAt: e.RecordedAt,
				By: strings.Clone(e.Actor.ID)}
			if d.Reason != "requested" {
				v := d.PlanVersion
				c.Selection.PlanVersion = &v
			}
			if c.Review == nil {
				cs.queue[c.ID] = struct{}{}
			}
		}
	case *events.CallReviewed:
		cs.review(c, d, e.RecordedAt)
		delete(cs.queue, id)
	case *events.ReviewAcknowledged:
		c.acknowledge(d, e.RecordedAt)
	case *events.ReviewDisputed:
		if _, dup := cs.disputes[d.DisputeID]; !dup {
			cs.disputes[d.DisputeID] = c.ID
			c.Disputes = append(c.Disputes, Dispute{ID: d.DisputeID, CallID: c.ID, Evaluation: d.Evaluation, RepID: d.RepID,
				Reason: d.Reason, RaisedAt: e.RecordedAt, Status: DisputeOpen})
		}
	case *events.DisputeResolved:
		c.resolve(d, e.RecordedAt)
	case *events.CoachingAcknowledged:
		if p := cs.points[d.PointID]; p != nil {
			at := e.RecordedAt
			p.Acknowledged = &at
			if p.Status == StatusOpen {
				p.Status = StatusAcknowledged
			}
		}
	case *events.CoachingFollowedUp:
		if p := cs.points[d.PointID]; p != nil {
			r := FollowUpResult{PointID: p.ID, RepID: p.RepID, CheckerID: d.CheckerID, Outcome: d.Outcome, Note: d.Note,
				At: e.RecordedAt, NextDue: d.NextFollowUpDue}
			p.History = append(p.History, r)
			p.Status = d.Outcome
			if d.Outcome == StatusNotImproved {
				p.FollowUpDue = d.NextFollowUpDue
			}
			cs.followUp = append(cs.followUp, r)
		}
	}
}

// Call returns the call with id, or false.
func (cs *Calls) Call(id string) (CallView, bool) {
	c := cs.byID[id]
	if c == nil {
		return CallView{}, false
	}
	return c.copyOut(), true
}

// Point returns the coaching point with id, with overdue computed at now.
func (cs *Calls) Point(id string, now time.Time) (CoachingPoint, bool) {
	p := cs.points[id]
	if p == nil {
		return CoachingPoint{}, false
	}
	return p.at(now), true
}

// at returns a copy with the overdue flag computed: a point that still
// awaits its check (open, acknowledged or not_improved) is overdue once its
// due time has passed.
func (p *CoachingPoint) at(now time.Time) CoachingPoint {
	q := *p
	q.History = slices.Clone(p.History)
	q.Overdue = p.Status != StatusImproved && now.After(p.FollowUpDue)
	return q
}

// QueueItem is a call awaiting review.
type QueueItem struct {
	CallID       string    `json:"callId"`
	StaffID      string    `json:"staffId"`
	CustomerID   string    `json:"customerId"`
	Reason       string    `json:"reason"`
	SupervisorID string    `json:"supervisorId,omitempty"`
	PlanVersion  *int      `json:"planVersion,omitempty"` // as Selection's
	SelectedAt   time.Time `json:"selectedAt"`
	StartedAt    time.Time `json:"startedAt"`
	DurationSec  int       `json:"durationSec"`
}

// Queue returns the calls selected and not yet reviewed, oldest selection
// first; with supervisor set, those assigned to that supervisor or to nobody.
func (cs *Calls) Queue(supervisor string) []QueueItem {
	out := []QueueItem{}
	for id := range cs.queue {
		c := cs.byID[id]
		s := c.Selection
		if supervisor != "" && s.SupervisorID != "" && s.SupervisorID != supervisor {
			continue
		}
		out = append(out, QueueItem{CallID: id, StaffID: c.StaffID, CustomerID: c.CustomerID, Reason: s.Reason, PlanVersion: s.PlanVersion,
			SupervisorID: s.SupervisorID, SelectedAt: s.SelectedAt, StartedAt: c.StartedAt, DurationSec: c.DurationSec})
	}
	slices.SortFunc(out, func(a, b QueueItem) int {
		if c := a.SelectedAt.Compare(b.SelectedAt); c != 0 {
			return c
		}
		if a.CallID < b.CallID {
			return -1
		}
		return 1
	})
	return out
}

// CoachingFilter selects coaching points.
type CoachingFilter struct {
	Rep       string
	Checker   string // points whose last check was by this centre head
	Status    string
	DueBefore time.Time
}

// Coaching returns the points matching f with overdue flags at now,
// earliest due first.
func (cs *Calls) Coaching(f CoachingFilter, now time.Time) []CoachingPoint {
	out := []CoachingPoint{}
	for _, p := range cs.points {
		if f.Rep != "" && p.RepID != f.Rep || f.Status != "" && p.Status != f.Status ||
			!f.DueBefore.IsZero() && !p.FollowUpDue.Before(f.DueBefore) {
			continue
		}
		if f.Checker != "" && (len(p.History) == 0 || p.History[len(p.History)-1].CheckerID != f.Checker) {
			continue
		}
		out = append(out, p.at(now))
	}
	slices.SortFunc(out, func(a, b CoachingPoint) int {
		if c := a.FollowUpDue.Compare(b.FollowUpDue); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}
