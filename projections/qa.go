package projections

import (
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
