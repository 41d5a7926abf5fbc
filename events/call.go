package events

import (
	"math"
	"time"
)

// Event types of the call-<callId> stream.

func init() {
	Register(func() Data { return new(CallRecorded) })
	Register(func() Data { return new(CallSelectedForReview) })
	Register(func() Data { return new(CallReviewed) })
	Register(func() Data { return new(CoachingAcknowledged) })
	Register(func() Data { return new(CoachingFollowedUp) })
}

// Recording identifies a call's audio in the content-addressed blob store.
type Recording struct {
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType"`
	Bytes       int64  `json:"bytes"`
}

// CallRecorded is the first event of a call stream. The audio lives in the
// content-addressed blob store; the event holds its digest. A recorded call
// lasts at least one second (round up), so durationSec 0 reads as missing.
type CallRecorded struct {
	CallID      string    `json:"callId"`
	CustomerID  string    `json:"customerId"`
	StaffID     string    `json:"staffId"`
	Direction   string    `json:"direction"`
	StartedAt   time.Time `json:"startedAt"`
	DurationSec int       `json:"durationSec"`
	Recording   Recording `json:"recording"`
}

// EventType returns "CallRecorded".
func (*CallRecorded) EventType() string { return "CallRecorded" }

// Occurred returns when the call started.
func (d *CallRecorded) Occurred() time.Time { return d.StartedAt }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CallRecorded) Validate() error {
	c := check{}
	c.id("callId", &d.CallID, true)
	c.id("customerId", &d.CustomerID, true)
	c.id("staffId", &d.StaffID, true)
	c.enum("direction", &d.Direction, CallDirections...)
	c.time("startedAt", &d.StartedAt, true)
	c.nonZero("durationSec", int64(d.DurationSec))
	c.rangeInt("durationSec", int64(d.DurationSec), 1, 86400)
	c.hex64("recording.sha256", &d.Recording.SHA256, true)
	c.audioType("recording.contentType", &d.Recording.ContentType)
	c.nonZero("recording.bytes", d.Recording.Bytes)
	c.rangeInt("recording.bytes", d.Recording.Bytes, 1, maxRecordingBytes)
	return c.errOrNil()
}

// CallSelectedForReview records why a call is reviewed.
// A selection by the sampler names the sampling plan version that chose
// it (0: the server's built-in plan, before any SamplingPlanPublished); a
// supervisor's own request names none.
type CallSelectedForReview struct {
	Reason       string `json:"reason"`
	SupervisorID string `json:"supervisorId,omitempty"`
	PlanVersion  int    `json:"planVersion,omitempty"`
}

// EventType returns "CallSelectedForReview".
func (*CallSelectedForReview) EventType() string { return "CallSelectedForReview" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CallSelectedForReview) Validate() error {
	c := check{}
	c.enum("reason", &d.Reason, SelectionReasons...)
	c.id("supervisorId", &d.SupervisorID, false)
	c.rangeInt("planVersion", int64(d.PlanVersion), 0, 1<<30)
	return c.errOrNil()
}

// ReviewItem is one scored criterion of a review: score out of max,
// counted with weight in the total. A review on a published form copies
// itemId, criterion (the item's label), weight, max and critical from the
// form's version; na marks an item the form lets be N/A (score absent),
// which leaves the weighting. Reviews from before forms were versioned
// have no itemId.
type ReviewItem struct {
	ItemID    string `json:"itemId,omitempty"`
	Criterion string `json:"criterion"`
	Weight    int    `json:"weight"` // 1..100
	Score     *int   `json:"score"`  // 0..max; a pointer, so that a missing score is not read as 0
	Max       int    `json:"max"`    // 1..100
	Critical  bool   `json:"critical,omitempty"`
	NA        bool   `json:"na,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// CoachingPointRaised is a coaching point raised in a review. Its id is
// unique in the log (the API uses a ULID); CoachingAcknowledged and
// CoachingFollowedUp refer to it. followUpDue is the review time plus one
// calendar month (AddOneMonth).
// atSec is the second of the recording the point is about (follow-ups
// play from there), itemId the form item it is about; both optional.
type CoachingPointRaised struct {
	PointID     string    `json:"pointId"`
	Criterion   string    `json:"criterion"`
	Note        string    `json:"note"`
	FollowUpDue time.Time `json:"followUpDue"`
	AtSec       *int      `json:"atSec,omitempty"`
	ItemID      string    `json:"itemId,omitempty"`
}

// CallReviewed is a supervisor's scored review with its coaching points.
// The n-th CallReviewed of a call stream is the call's evaluation n; one
// with supersedes (the number of the evaluation it replaces, the latest)
// is a re-score, which leaves the earlier evaluation readable as
// superseded; disputeId names the dispute whose resolution re-scored it.
// formVersion is the version of the published form the items were scored
// on (0 only in reviews from before forms were versioned).
type CallReviewed struct {
	ReviewerID     string                `json:"reviewerId"`
	FormID         string                `json:"formId"`
	FormVersion    int                   `json:"formVersion,omitempty"`
	Items          []ReviewItem          `json:"items"`
	Total          float64               `json:"total"`
	CriticalFailed bool                  `json:"criticalFailed,omitempty"`
	CoachingPoints []CoachingPointRaised `json:"coachingPoints,omitempty"`
	Supersedes     int                   `json:"supersedes,omitempty"`
	DisputeID      string                `json:"disputeId,omitempty"`
}

// EventType returns "CallReviewed".
func (*CallReviewed) EventType() string { return "CallReviewed" }

// Validate checks the catalog rules, including that total is within 0.05 of
// ReviewTotal(items) and that criticalFailed claims no failure the items do
// not have, and then sets total and criticalFailed to the server's figures
// (a critical item scored 0 sets criticalFailed even when the client left
// it out). Errors are Invalid naming the field ("items[1].score").
func (d *CallReviewed) Validate() error {
	c := check{}
	c.id("reviewerId", &d.ReviewerID, true)
	c.id("formId", &d.FormID, true)
	c.rangeInt("formVersion", int64(d.FormVersion), 0, 1<<30)
	c.rangeInt("supersedes", int64(d.Supersedes), 0, 1000)
	c.id("disputeId", &d.DisputeID, false)
	if d.DisputeID != "" && d.Supersedes == 0 {
		c.fail("supersedes", "is required with disputeId (a re-score names the evaluation it replaces)")
	}
	c.reviewItems(d.Items)
	if c.err == nil {
		c.total(&d.Total, &d.CriticalFailed, d.Items)
	}
	if len(d.CoachingPoints) > 20 {
		c.fail("coachingPoints", "must have at most 20 entries")
		return c.errOrNil()
	}
	seen := map[string]bool{}
	items := map[string]bool{}
	for _, it := range d.Items {
		items[it.ItemID] = it.ItemID != ""
	}
	for i := range d.CoachingPoints {
		p := &d.CoachingPoints[i]
		at := "coachingPoints[" + itoa(i) + "]."
		c.id(at+"pointId", &p.PointID, true)
		if seen[p.PointID] {
			c.fail(at+"pointId", "appears twice")
		}
		seen[p.PointID] = true
		c.line(at+"criterion", &p.Criterion, maxName, true)
		c.text(at+"note", &p.Note, maxText, true)
		c.time(at+"followUpDue", &p.FollowUpDue, true)
		if p.AtSec != nil {
			c.rangeInt(at+"atSec", int64(*p.AtSec), 0, 86400)
		}
		c.id(at+"itemId", &p.ItemID, false)
		if p.ItemID != "" && !items[p.ItemID] {
			c.fail(at+"itemId", "must be the itemId of one of the review's items")
		}
	}
	return c.errOrNil()
}

// reviewItems checks the items of a review or a calibration score.
func (c *check) reviewItems(items []ReviewItem) {
	if len(items) == 0 {
		c.fail("items", "is required (1 to %d entries)", MaxFormItems)
	}
	if len(items) > MaxFormItems {
		c.fail("items", "must have at most %d entries", MaxFormItems)
		return
	}
	ids := make([]string, len(items))
	for i := range items {
		it := &items[i]
		at := "items[" + itoa(i) + "]."
		before := c.err
		c.id(at+"itemId", &it.ItemID, false)
		if ids[i] = it.ItemID; c.err == before && it.ItemID != "" {
			c.distinct(at+"itemId", ids, i)
		}
		c.line(at+"criterion", &it.Criterion, maxName, true)
		c.itemScale(at, it.Weight, it.Max, it.Critical)
		switch {
		case it.NA && it.Score != nil:
			c.fail(at+"score", "must be absent when the item is N/A")
		case !it.NA:
			c.present(at+"score", it.Score != nil)
			if it.Score != nil {
				c.rangeInt(at+"score", int64(*it.Score), 0, int64(it.Max))
			}
		}
		c.text(at+"comment", &it.Comment, maxText, false)
	}
}

// itemScale checks the weight, max and critical flag of the item of a
// form or a review at field prefix at.
func (c *check) itemScale(at string, weight, max int, critical bool) {
	c.nonZero(at+"weight", int64(weight))
	c.rangeInt(at+"weight", int64(weight), 1, 100)
	c.nonZero(at+"max", int64(max))
	c.rangeInt(at+"max", int64(max), 1, 100)
	if critical && max != 1 {
		c.fail(at+"max", "must be 1 for a critical item (pass or fail)")
	}
}

// total checks a client's total and criticalFailed against the server's
// figures and sets them to those.
func (c *check) total(total *float64, failed *bool, items []ReviewItem) {
	// The tolerance absorbs a client's own float rounding; what is
	// stored is always the server's figure, so totals compare exactly.
	want := ReviewTotal(items)
	if math.Abs(*total-want) > 0.05+1e-9 {
		c.fail("total", "must be the weighted score of the items, %.1f", want)
		return
	}
	if *failed && !CriticalFailed(items) {
		c.fail("criticalFailed", "must be false: no critical item scored 0")
		return
	}
	*total, *failed = want, CriticalFailed(items)
}

// CriticalFailed reports whether a critical item of items scored 0.
func CriticalFailed(items []ReviewItem) bool {
	for _, it := range items {
		if it.Critical && !it.NA && it.Score != nil && *it.Score == 0 {
			return true
		}
	}
	return false
}

// ReviewTotal returns the weighted score of a review in 0..100, rounded to
// one decimal: sum(weight × score/max) / sum(weight) × 100. Items marked
// N/A, without a score or with max ≤ 0 are left out; no items score 0, and
// so does a review whose critical item scored 0 (CriticalFailed).
func ReviewTotal(items []ReviewItem) float64 {
	if CriticalFailed(items) {
		return 0
	}
	var sum, weights float64
	for _, it := range items {
		if it.Max <= 0 || it.Score == nil || it.NA {
			continue
		}
		sum += float64(it.Weight) * float64(*it.Score) / float64(it.Max)
		weights += float64(it.Weight)
	}
	if weights == 0 {
		return 0
	}
	return math.Round(sum/weights*1000) / 10
}

// AddOneMonth returns t plus one calendar month, clamped to the end of the
// month: Jan 31 → Feb 28 (29 in leap years). Coaching points are due then.
func AddOneMonth(t time.Time) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// CoachingAcknowledged records that the rep has seen a coaching point.
type CoachingAcknowledged struct {
	PointID string `json:"pointId"`
	StaffID string `json:"staffId"`
	Comment string `json:"comment,omitempty"`
}

// EventType returns "CoachingAcknowledged".
func (*CoachingAcknowledged) EventType() string { return "CoachingAcknowledged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CoachingAcknowledged) Validate() error {
	c := check{}
	c.id("pointId", &d.PointID, true)
	c.id("staffId", &d.StaffID, true)
	c.text("comment", &d.Comment, maxText, false)
	return c.errOrNil()
}

// CoachingFollowedUp is the centre head's check one month later;
// not_improved re-opens the point with a new due date.
type CoachingFollowedUp struct {
	PointID         string    `json:"pointId"`
	CheckerID       string    `json:"checkerId"`
	Outcome         string    `json:"outcome"`
	Note            string    `json:"note,omitempty"`
	NextFollowUpDue time.Time `json:"nextFollowUpDue,omitzero"`
}

// EventType returns "CoachingFollowedUp".
func (*CoachingFollowedUp) EventType() string { return "CoachingFollowedUp" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CoachingFollowedUp) Validate() error {
	c := check{}
	c.id("pointId", &d.PointID, true)
	c.id("checkerId", &d.CheckerID, true)
	c.enum("outcome", &d.Outcome, FollowUpOutcomes...)
	c.text("note", &d.Note, maxText, false)
	if d.Outcome == "not_improved" {
		c.time("nextFollowUpDue", &d.NextFollowUpDue, true)
	} else if !d.NextFollowUpDue.IsZero() {
		c.fail("nextFollowUpDue", "must be absent when the outcome is improved")
	}
	return c.errOrNil()
}
