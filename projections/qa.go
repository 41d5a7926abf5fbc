package projections

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// QA is the read model of quality assurance's settings and sessions:
// scorecard forms and their versions, the sampling plan's versions and
// calibration sessions. It is small (a centre has a few forms, a plan
// version a week at most, a few sessions a week), so the PostgreSQL read
// store keeps it as one aggregate row (its JSON, MarshalJSON and
// RestoreQA). Reviews, acknowledgements and disputes live on the call
// (Calls), since they are events of the call stream.
type QA struct {
	forms        map[string][]ScorecardForm // form id → versions, version 1 first
	plans        []SamplingPlan             // version 1 first
	calibrations map[string]*CalibrationSession
	order        []string // calibration session ids in log order
}

// ScorecardForm is one published version of a scorecard form.
type ScorecardForm struct {
	ID          string            `json:"id"`
	Version     int               `json:"version"`
	Name        string            `json:"name"`
	Items       []events.FormItem `json:"items"`
	Note        string            `json:"note,omitempty"`
	PublishedAt time.Time         `json:"publishedAt"`
	PublishedBy string            `json:"publishedBy"`
	Latest      int               `json:"latestVersion"` // the form's latest version when read
}

// SamplingPlan is one published version of the QA sampling plan.
type SamplingPlan struct {
	Version       int       `json:"version"`
	NewRepCalls   int       `json:"newRepCalls"`
	PerRepWeek    int       `json:"perRepWeek"`
	LongCallSec   int       `json:"longCallSec"`
	ComplaintDays int       `json:"complaintDays"`
	Note          string    `json:"note,omitempty"`
	PublishedAt   time.Time `json:"publishedAt"`
	PublishedBy   string    `json:"publishedBy"`
}

// Calibration session statuses.
const (
	CalibrationOpen   = "open"
	CalibrationClosed = "closed"
)

// CalibrationSession is a calibration on one call. While it is open,
// Scores holds every score the log has (the API shows a caller only their
// own, and Scored says who has scored); Items, Consensus and each score's
// Distance are computed once it is closed.
type CalibrationSession struct {
	ID          string             `json:"id"`
	CallID      string             `json:"callId"`
	FormID      string             `json:"formId"`
	FormVersion int                `json:"formVersion"`
	OpenerID    string             `json:"openerId"`
	OpenedAt    time.Time          `json:"openedAt"`
	Note        string             `json:"note,omitempty"`
	Evaluators  []string           `json:"evaluators"`
	Scored      []string           `json:"scored"` // evaluators who have scored, in the order they did
	Status      string             `json:"status"`
	ClosedAt    *time.Time         `json:"closedAt,omitempty"`
	CloserID    string             `json:"closerId,omitempty"`
	CloseNote   string             `json:"closeNote,omitempty"`
	Scores      []CalibrationScore `json:"scores"`
	// Consensus is the mean of the evaluators' totals (closed sessions).
	Consensus float64 `json:"consensus"`
	// Items is the per-item spread (closed sessions), in form order.
	Items []ItemSpread `json:"items"`
	// Version is the session stream's version.
	Version uint64 `json:"version"`
}

// CalibrationScore is one evaluator's score in a session.
type CalibrationScore struct {
	EvaluatorID    string              `json:"evaluatorId"`
	Items          []events.ReviewItem `json:"items"`
	Total          float64             `json:"total"`
	CriticalFailed bool                `json:"criticalFailed,omitempty"`
	ScoredAt       time.Time           `json:"scoredAt"`
	// Distance is |Total − the session's Consensus| (closed sessions).
	Distance float64 `json:"distance"`
}

// ItemSpread is how far evaluators' scores of one item lie apart, each
// score as a percentage of the item's max (N/A scores left out).
type ItemSpread struct {
	ItemID string    `json:"itemId"`
	Label  string    `json:"label"`
	Scores []float64 `json:"scores"` // in the order of the session's Scores; -1 for N/A
	Mean   float64   `json:"mean"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Spread float64   `json:"spread"` // Max − Min
}

// CalibrationFilter selects calibration sessions; zero fields match all.
type CalibrationFilter struct {
	Evaluator string // sessions naming this evaluator
	Status    string // CalibrationOpen or CalibrationClosed
}

// CalibrationDistance is one evaluator's mean distance from the consensus
// over the sessions closed in a calendar month (UTC): the calibration report.
type CalibrationDistance struct {
	EvaluatorID  string  `json:"evaluatorId"`
	Month        string  `json:"month"`
	Sessions     int     `json:"sessions"`
	MeanDistance float64 `json:"meanDistance"`
}

// Dispute statuses (DisputeResolutions once resolved).
const (
	DisputeOpen     = "open"
	DisputeUpheld   = "upheld"
	DisputeRescored = "rescored"
)

// Dispute is a rep's dispute of one evaluation of a call.
type Dispute struct {
	ID         string     `json:"id"`
	CallID     string     `json:"callId"`
	Evaluation int        `json:"evaluation"`
	RepID      string     `json:"repId"`
	Reason     string     `json:"reason"`
	RaisedAt   time.Time  `json:"raisedAt"`
	Status     string     `json:"status"`
	ResolverID string     `json:"resolverId,omitempty"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
	Note       string     `json:"note,omitempty"`
	// NewEvaluation is the evaluation that superseded the disputed one
	// (rescored).
	NewEvaluation int `json:"newEvaluation,omitempty"`
}

// DisputeFilter selects disputes; zero fields match all.
type DisputeFilter struct {
	Status string // DisputeOpen, DisputeUpheld or DisputeRescored
	Rep    string
}

// EvaluationFilter selects reviewed calls; zero fields match all.
type EvaluationFilter struct {
	Rep      string // the call's rep
	Reviewer string // the latest evaluation's reviewer
	Disputed bool   // only calls with an open dispute
}

// NewQA returns an empty QA read model.
func NewQA() *QA {
	return &QA{forms: map[string][]ScorecardForm{}, calibrations: map[string]*CalibrationSession{}}
}

// Name returns "qa".
func (*QA) Name() string { return "qa" }

// Apply folds scorecard forms, sampling plans and calibration sessions.
func (q *QA) Apply(e Event) {
	switch d := e.Data.(type) {
	case *events.ScorecardFormPublished:
		q.publishForm(d, e)
	case *events.SamplingPlanPublished:
		q.plans = append(q.plans, SamplingPlan{Version: d.Version, NewRepCalls: d.NewRepCalls, PerRepWeek: d.PerRepWeek,
			LongCallSec: d.LongCallSec, ComplaintDays: d.ComplaintDays, Note: d.Note, PublishedAt: e.RecordedAt,
			PublishedBy: strings.Clone(e.Actor.ID)}) // the actor id shares a read buffer
	case *events.CalibrationOpened:
		if q.calibrations[d.SessionID] != nil {
			return
		}
		q.calibrations[d.SessionID] = &CalibrationSession{ID: d.SessionID, CallID: d.CallID, FormID: d.FormID,
			FormVersion: d.FormVersion, OpenerID: d.OpenerID, OpenedAt: e.RecordedAt, Note: d.Note, Evaluators: d.Evaluators,
			Scored: []string{}, Status: CalibrationOpen, Scores: []CalibrationScore{}, Items: []ItemSpread{}, Version: e.Version}
		q.order = append(q.order, d.SessionID)
	case *events.CalibrationScored:
		if s := q.calibrations[d.SessionID]; s != nil {
			s.Version = e.Version
			s.score(d, e.RecordedAt)
		}
	case *events.CalibrationClosed:
		if s := q.calibrations[d.SessionID]; s != nil {
			s.Version = e.Version
			if s.Status == CalibrationOpen {
				at := e.RecordedAt
				s.Status, s.ClosedAt, s.CloserID, s.CloseNote = CalibrationClosed, &at, d.CloserID, d.Note
				s.close(q.form(s.FormID, s.FormVersion))
			}
		}
	}
}

// publishForm folds one version of a form. Versions arrive in order
// (version n is the n-th event of the form's stream); a repeated or
// skipped version is ignored.
func (q *QA) publishForm(d *events.ScorecardFormPublished, e Event) {
	vs := q.forms[d.FormID]
	if d.Version != len(vs)+1 {
		return
	}
	q.forms[d.FormID] = append(vs, ScorecardForm{ID: d.FormID, Version: d.Version, Name: d.Name, Items: d.Items, Note: d.Note,
		PublishedAt: e.RecordedAt, PublishedBy: strings.Clone(e.Actor.ID)})
}

// form returns version of form id (0: the latest), or nil.
func (q *QA) form(id string, version int) *ScorecardForm {
	vs := q.forms[id]
	if version == 0 {
		version = len(vs)
	}
	if version < 1 || version > len(vs) {
		return nil
	}
	return &vs[version-1]
}

// Form returns version of form id (0: its latest), with Latest set, or
// false if the form or that version was never published.
func (q *QA) Form(id string, version int) (ScorecardForm, bool) {
	f := q.form(id, version)
	if f == nil {
		return ScorecardForm{}, false
	}
	out := *f
	out.Latest = len(q.forms[id])
	return out, true
}

// Forms returns the latest version of every form, by id.
func (q *QA) Forms() []ScorecardForm {
	out := make([]ScorecardForm, 0, len(q.forms))
	for id := range q.forms {
		f, _ := q.Form(id, 0)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b ScorecardForm) int { return cmpString(a.ID, b.ID) })
	return out
}

// Plans returns every published version of the sampling plan, newest
// first; empty before the first.
func (q *QA) Plans() []SamplingPlan {
	out := slices.Clone(q.plans)
	slices.Reverse(out)
	if out == nil {
		out = []SamplingPlan{}
	}
	return out
}

// Calibration returns session id with every score, or false if it was
// never opened.
func (q *QA) Calibration(id string) (CalibrationSession, bool) {
	s := q.calibrations[id]
	if s == nil {
		return CalibrationSession{}, false
	}
	return s.copyOut(), true
}

// Calibrations returns the sessions matching f, newest opened first (then
// by id).
func (q *QA) Calibrations(f CalibrationFilter) []CalibrationSession {
	out := []CalibrationSession{}
	for _, id := range q.order {
		s := q.calibrations[id]
		if f.Status != "" && s.Status != f.Status || f.Evaluator != "" && !slices.Contains(s.Evaluators, f.Evaluator) {
			continue
		}
		out = append(out, s.copyOut())
	}
	slices.SortStableFunc(out, func(a, b CalibrationSession) int {
		if c := b.OpenedAt.Compare(a.OpenedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

// copyOut returns a copy that shares no slice the fold appends to.
func (s *CalibrationSession) copyOut() CalibrationSession {
	v := *s
	v.Evaluators, v.Scored, v.Scores = slices.Clone(s.Evaluators), slices.Clone(s.Scored), slices.Clone(s.Scores)
	v.Items = slices.Clone(s.Items)
	return v
}

// qaState is the JSON form of the QA read model.
type qaState struct {
	Forms        []ScorecardForm      `json:"forms"`        // by id, then version
	Plans        []SamplingPlan       `json:"plans"`        // version 1 first
	Calibrations []CalibrationSession `json:"calibrations"` // in log order
}

// MarshalJSON encodes the read model whole, for a read store that keeps it
// as one aggregate (RestoreQA decodes it). Equal states encode to equal
// bytes.
func (q *QA) MarshalJSON() ([]byte, error) {
	s := qaState{Forms: []ScorecardForm{}, Plans: q.plans, Calibrations: make([]CalibrationSession, 0, len(q.order))}
	ids := slices.Sorted(maps.Keys(q.forms))
	for _, id := range ids {
		s.Forms = append(s.Forms, q.forms[id]...)
	}
	if s.Plans == nil {
		s.Plans = []SamplingPlan{}
	}
	for _, id := range q.order {
		s.Calibrations = append(s.Calibrations, *q.calibrations[id])
	}
	return json.Marshal(s)
}

// RestoreQA returns the QA read model MarshalJSON encoded. It errs on what
// MarshalJSON never writes: other JSON, a missing list (forms, plans,
// calibrations; null included), a form or session without an id, a form's
// versions out of order, a session twice or with a status other than open
// or closed.
func RestoreQA(b []byte) (*QA, error) {
	var s qaState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("qa state: %w", err)
	}
	if s.Forms == nil || s.Plans == nil || s.Calibrations == nil {
		return nil, fmt.Errorf("qa state: forms, plans and calibrations are required")
	}
	q := NewQA()
	for _, f := range s.Forms {
		if f.ID == "" || f.Version != len(q.forms[f.ID])+1 {
			return nil, fmt.Errorf("qa state: form %q version %d out of order", f.ID, f.Version)
		}
		f.Latest = 0
		q.forms[f.ID] = append(q.forms[f.ID], f)
	}
	q.plans = s.Plans
	for i := range s.Calibrations {
		c := &s.Calibrations[i]
		switch {
		case c.ID == "" || q.calibrations[c.ID] != nil:
			return nil, fmt.Errorf("qa state: calibration session %q without an id or twice", c.ID)
		case c.Status != CalibrationOpen && c.Status != CalibrationClosed:
			return nil, fmt.Errorf("qa state: calibration session %s has status %q", c.ID, c.Status)
		}
		q.calibrations[c.ID] = c
		q.order = append(q.order, c.ID)
	}
	return q, nil
}
