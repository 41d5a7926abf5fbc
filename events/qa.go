package events

import "time"

// Event types of quality assurance beyond the call stream's review:
// scorecard forms (qaform-<formId>), the sampling plan
// (SamplingSettingsStream), calibration sessions (calibration-<id>), and,
// on the call stream, a review's acknowledgement and disputes.

func init() {
	Register(func() Data { return new(ScorecardFormPublished) })
	Register(func() Data { return new(SamplingPlanPublished) })
	Register(func() Data { return new(ReviewAcknowledged) })
	Register(func() Data { return new(ReviewDisputed) })
	Register(func() Data { return new(DisputeResolved) })
	Register(func() Data { return new(CalibrationOpened) })
	Register(func() Data { return new(CalibrationScored) })
	Register(func() Data { return new(CalibrationClosed) })
}

// Stream categories of quality assurance.
const (
	// CategoryQAForm holds one stream per scorecard form: its versions.
	CategoryQAForm = "qaform"
	// CategoryCalibration holds one stream per calibration session.
	CategoryCalibration = "calibration"
)

// SamplingSettingsStream is the one stream of the QA sampling plan's
// versions (SamplingPlanPublished).
const SamplingSettingsStream = CategorySettings + "-qa-sampling"

// QAFormStream returns "qaform-<id>". It does not check id; see ValidID.
func QAFormStream(id string) string { return CategoryQAForm + "-" + id }

// CalibrationStream returns "calibration-<id>". It does not check id.
func CalibrationStream(id string) string { return CategoryCalibration + "-" + id }

// DisputeResolutions are the values of DisputeResolved.resolution.
var DisputeResolutions = []string{"upheld", "rescored"}

// MaxFormItems bounds a scorecard form (and so a review).
const MaxFormItems = 50

// FormItem is one criterion of a scorecard form. A critical item is
// pass/fail (max 1): a review that scores it 0 fails as a whole (total 0,
// criticalFailed). An item with naAllowed may be marked N/A in a review,
// and then leaves the weighting.
type FormItem struct {
	ItemID    string `json:"itemId"`
	Label     string `json:"label"`
	Weight    int    `json:"weight"` // 1..100
	Max       int    `json:"max"`    // 1..100; 1 for a critical item
	Critical  bool   `json:"critical,omitempty"`
	NAAllowed bool   `json:"naAllowed,omitempty"`
}

// ScorecardFormPublished publishes version of a scorecard form, on
// qaform-<formId>: version n is the stream's n-th event (1 for the first;
// the store numbers a stream's events from 0, so its stream version is
// n−1). Reviews name the form and the version they were scored on; a
// change publishes the next version and never alters a review made on an
// earlier one.
type ScorecardFormPublished struct {
	FormID  string     `json:"formId"`
	Version int        `json:"version"`
	Name    string     `json:"name"`
	Items   []FormItem `json:"items"`
	Note    string     `json:"note,omitempty"` // what changed
}

// EventType returns "ScorecardFormPublished".
func (*ScorecardFormPublished) EventType() string { return "ScorecardFormPublished" }

// Validate checks the catalog rules; errors are Invalid naming the field
// ("items[2].max").
func (d *ScorecardFormPublished) Validate() error {
	c := check{}
	c.id("formId", &d.FormID, true)
	c.nonZero("version", int64(d.Version))
	c.rangeInt("version", int64(d.Version), 1, 1<<30)
	c.line("name", &d.Name, maxName, true)
	c.text("note", &d.Note, maxText, false)
	if len(d.Items) == 0 {
		c.fail("items", "is required (1 to %d entries)", MaxFormItems)
	}
	if len(d.Items) > MaxFormItems {
		c.fail("items", "must have at most %d entries", MaxFormItems)
		return c.errOrNil()
	}
	ids := make([]string, len(d.Items))
	for i := range d.Items {
		it := &d.Items[i]
		at := "items[" + itoa(i) + "]."
		before := c.err
		c.id(at+"itemId", &it.ItemID, true)
		ids[i] = it.ItemID
		if c.err == before {
			c.distinct(at+"itemId", ids, i)
		}
		c.line(at+"label", &it.Label, maxName, true)
		c.itemScale(at, it.Weight, it.Max, it.Critical)
	}
	return c.errOrNil()
}

// SamplingPlanPublished publishes version of the QA sampling plan, on
// SamplingSettingsStream (version n is the stream's n-th event, at stream
// version n−1). The sampler applies to each call the plan in force where
// the call is in the log, and every selection it makes names that plan's
// version (CallSelectedForReview.planVersion); before the first plan it
// applies the server's built-in plan, version 0. A rule set to 0 is off.
type SamplingPlanPublished struct {
	Version       int    `json:"version"`
	NewRepCalls   int    `json:"newRepCalls"`   // the first N calls of every rep (0..1000)
	PerRepWeek    int    `json:"perRepWeek"`    // K random calls per rep per ISO week (0..100)
	LongCallSec   int    `json:"longCallSec"`   // calls at least this long (0, or 60..86400)
	ComplaintDays int    `json:"complaintDays"` // the customer's calls within N−1 days before or after a complaint's day (0..30; 1 = the same day)
	Note          string `json:"note,omitempty"`
}

// EventType returns "SamplingPlanPublished".
func (*SamplingPlanPublished) EventType() string { return "SamplingPlanPublished" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *SamplingPlanPublished) Validate() error {
	c := check{}
	c.nonZero("version", int64(d.Version))
	c.rangeInt("version", int64(d.Version), 1, 1<<30)
	c.rangeInt("newRepCalls", int64(d.NewRepCalls), 0, 1000)
	c.rangeInt("perRepWeek", int64(d.PerRepWeek), 0, 100)
	if d.LongCallSec != 0 {
		c.rangeInt("longCallSec", int64(d.LongCallSec), 60, 86400)
	}
	c.rangeInt("complaintDays", int64(d.ComplaintDays), 0, 30)
	c.text("note", &d.Note, maxText, false)
	return c.errOrNil()
}

// ReviewAcknowledged records, on the call stream, that the rep has read
// evaluation (the 1-based number of the CallReviewed on that stream).
type ReviewAcknowledged struct {
	Evaluation int    `json:"evaluation"`
	RepID      string `json:"repId"`
	Comment    string `json:"comment,omitempty"`
}

// EventType returns "ReviewAcknowledged".
func (*ReviewAcknowledged) EventType() string { return "ReviewAcknowledged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ReviewAcknowledged) Validate() error {
	c := check{}
	c.nonZero("evaluation", int64(d.Evaluation))
	c.rangeInt("evaluation", int64(d.Evaluation), 1, 1000)
	c.id("repId", &d.RepID, true)
	c.text("comment", &d.Comment, maxText, false)
	return c.errOrNil()
}

// ReviewDisputed is the rep's dispute of evaluation, on the call stream,
// within the dispute window after the review (the API checks the window;
// one open dispute per call). disputeId is unique in the log (a ULID).
type ReviewDisputed struct {
	DisputeID  string `json:"disputeId"`
	Evaluation int    `json:"evaluation"`
	RepID      string `json:"repId"`
	Reason     string `json:"reason"`
}

// EventType returns "ReviewDisputed".
func (*ReviewDisputed) EventType() string { return "ReviewDisputed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ReviewDisputed) Validate() error {
	c := check{}
	c.id("disputeId", &d.DisputeID, true)
	c.nonZero("evaluation", int64(d.Evaluation))
	c.rangeInt("evaluation", int64(d.Evaluation), 1, 1000)
	c.id("repId", &d.RepID, true)
	c.text("reason", &d.Reason, maxText, true)
	return c.errOrNil()
}

// DisputeResolved is a supervisor's answer to a dispute, on the call
// stream: upheld keeps the evaluation; rescored names the evaluation that
// supersedes it, a CallReviewed appended in the same append just before
// (with supersedes and disputeId set). The disputed evaluation stays
// readable, as superseded.
type DisputeResolved struct {
	DisputeID  string `json:"disputeId"`
	ResolverID string `json:"resolverId"`
	Resolution string `json:"resolution"`
	Note       string `json:"note"`
	Evaluation int    `json:"evaluation,omitempty"` // rescored: the new evaluation's number
}

// EventType returns "DisputeResolved".
func (*DisputeResolved) EventType() string { return "DisputeResolved" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *DisputeResolved) Validate() error {
	c := check{}
	c.id("disputeId", &d.DisputeID, true)
	c.id("resolverId", &d.ResolverID, true)
	c.enum("resolution", &d.Resolution, DisputeResolutions...)
	c.text("note", &d.Note, maxText, true)
	switch {
	case d.Resolution == "rescored":
		c.nonZero("evaluation", int64(d.Evaluation))
		c.rangeInt("evaluation", int64(d.Evaluation), 2, 1000)
	case d.Evaluation != 0:
		c.fail("evaluation", "must be absent when the dispute is upheld")
	}
	return c.errOrNil()
}

// MaxEvaluators bounds a calibration session's evaluators.
const MaxEvaluators = 20

// CalibrationOpened opens a calibration session on a call, on
// calibration-<sessionId>: every evaluator scores the call on the form's
// version, blind to the others' scores until the session is closed.
type CalibrationOpened struct {
	SessionID   string   `json:"sessionId"`
	CallID      string   `json:"callId"`
	FormID      string   `json:"formId"`
	FormVersion int      `json:"formVersion"`
	OpenerID    string   `json:"openerId"`
	Evaluators  []string `json:"evaluators"` // 2..MaxEvaluators distinct staff ids
	Note        string   `json:"note,omitempty"`
}

// EventType returns "CalibrationOpened".
func (*CalibrationOpened) EventType() string { return "CalibrationOpened" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CalibrationOpened) Validate() error {
	c := check{}
	c.id("sessionId", &d.SessionID, true)
	c.id("callId", &d.CallID, true)
	c.id("formId", &d.FormID, true)
	c.nonZero("formVersion", int64(d.FormVersion))
	c.rangeInt("formVersion", int64(d.FormVersion), 1, 1<<30)
	c.id("openerId", &d.OpenerID, true)
	switch len(d.Evaluators) {
	case 0:
		c.fail("evaluators", "is required (2 to %d staff ids)", MaxEvaluators)
	case 1:
		c.fail("evaluators", "must name at least 2 evaluators")
	}
	c.ids("evaluators", d.Evaluators, MaxEvaluators)
	c.text("note", &d.Note, maxText, false)
	return c.errOrNil()
}

// CalibrationScored is one evaluator's score in an open session (one per
// evaluator): items as a review's, from the session's form version (so
// each names its itemId, which the session's per-item spread goes by),
// with total and criticalFailed computed as a review's.
type CalibrationScored struct {
	SessionID      string       `json:"sessionId"`
	EvaluatorID    string       `json:"evaluatorId"`
	Items          []ReviewItem `json:"items"`
	Total          float64      `json:"total"`
	CriticalFailed bool         `json:"criticalFailed,omitempty"`
}

// EventType returns "CalibrationScored".
func (*CalibrationScored) EventType() string { return "CalibrationScored" }

// Validate checks the catalog rules, the items as CallReviewed's but each
// with its itemId, and sets total and criticalFailed to the server's
// figures.
func (d *CalibrationScored) Validate() error {
	c := check{}
	c.id("sessionId", &d.SessionID, true)
	c.id("evaluatorId", &d.EvaluatorID, true)
	c.reviewItems(d.Items)
	for i := range d.Items[:min(len(d.Items), MaxFormItems)] {
		c.id("items["+itoa(i)+"].itemId", &d.Items[i].ItemID, true)
	}
	if c.err == nil {
		c.total(&d.Total, &d.CriticalFailed, d.Items)
	}
	return c.errOrNil()
}

// CalibrationClosed closes a session: from then on every score, the
// per-item spread and each evaluator's distance from the consensus are
// shown to all.
type CalibrationClosed struct {
	SessionID string `json:"sessionId"`
	CloserID  string `json:"closerId"`
	Note      string `json:"note,omitempty"`
}

// EventType returns "CalibrationClosed".
func (*CalibrationClosed) EventType() string { return "CalibrationClosed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CalibrationClosed) Validate() error {
	c := check{}
	c.id("sessionId", &d.SessionID, true)
	c.id("closerId", &d.CloserID, true)
	c.text("note", &d.Note, maxText, false)
	return c.errOrNil()
}

// DisputeWindow is how long after a review its rep may dispute it, unless
// the server is configured otherwise.
const DisputeWindow = 14 * 24 * time.Hour
