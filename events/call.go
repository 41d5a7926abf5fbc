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

// CallRecorded is the first event of a call stream.
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
	c.rangeInt("durationSec", int64(d.DurationSec), 1, 86400)
	c.hex64("recording.sha256", &d.Recording.SHA256, true)
	c.required("recording.contentType", &d.Recording.ContentType, 100)
	c.rangeInt("recording.bytes", d.Recording.Bytes, 1, 1<<34)
	return c.errOrNil()
}

// CallSelectedForReview records why a call is reviewed.
type CallSelectedForReview struct {
	Reason       string `json:"reason"`
	SupervisorID string `json:"supervisorId,omitempty"`
}

// EventType returns "CallSelectedForReview".
func (*CallSelectedForReview) EventType() string { return "CallSelectedForReview" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CallSelectedForReview) Validate() error {
	c := check{}
	c.enum("reason", &d.Reason, SelectionReasons...)
	c.id("supervisorId", &d.SupervisorID, false)
	return c.errOrNil()
}

// ReviewItem is one scored criterion of a review form.
type ReviewItem struct {
	Criterion string `json:"criterion"`
	Weight    int    `json:"weight"`
	Score     *int   `json:"score"`
	Max       int    `json:"max"`
	Comment   string `json:"comment,omitempty"`
}

// CoachingPointRaised is a coaching point raised in a review.
type CoachingPointRaised struct {
	PointID     string    `json:"pointId"`
	Criterion   string    `json:"criterion"`
	Note        string    `json:"note"`
	FollowUpDue time.Time `json:"followUpDue"`
}

// CallReviewed is a supervisor's scored review with its coaching points.
type CallReviewed struct {
	ReviewerID     string                `json:"reviewerId"`
	FormID         string                `json:"formId"`
	Items          []ReviewItem          `json:"items"`
	Total          float64               `json:"total"`
	CoachingPoints []CoachingPointRaised `json:"coachingPoints,omitempty"`
}

// EventType returns "CallReviewed".
func (*CallReviewed) EventType() string { return "CallReviewed" }

// Validate checks the catalog rules, including that total is
// ReviewTotal(items); errors are Invalid naming the field.
func (d *CallReviewed) Validate() error {
	c := check{}
	c.id("reviewerId", &d.ReviewerID, true)
	c.id("formId", &d.FormID, true)
	if len(d.Items) == 0 || len(d.Items) > 50 {
		c.fail("items", "must have 1 to 50 entries")
	}
	for i := range d.Items {
		it := &d.Items[i]
		at := "items[" + itoa(i) + "]."
		c.required(at+"criterion", &it.Criterion, 200)
		c.rangeInt(at+"weight", int64(it.Weight), 1, 100)
		c.rangeInt(at+"max", int64(it.Max), 1, 100)
		c.present(at+"score", it.Score != nil)
		if it.Score != nil {
			c.rangeInt(at+"score", int64(*it.Score), 0, int64(it.Max))
		}
		c.optional(at+"comment", &it.Comment, 2000)
	}
	if c.err == nil && math.Abs(d.Total-ReviewTotal(d.Items)) > 0.05 {
		c.fail("total", "must be the weighted score of the items, %.1f", ReviewTotal(d.Items))
	}
	if len(d.CoachingPoints) > 20 {
		c.fail("coachingPoints", "must have at most 20 entries")
	}
	seen := map[string]bool{}
	for i := range d.CoachingPoints {
		p := &d.CoachingPoints[i]
		at := "coachingPoints[" + itoa(i) + "]."
		c.id(at+"pointId", &p.PointID, true)
		if seen[p.PointID] {
			c.fail(at+"pointId", "appears twice")
		}
		seen[p.PointID] = true
		c.required(at+"criterion", &p.Criterion, 200)
		c.required(at+"note", &p.Note, 2000)
		c.time(at+"followUpDue", &p.FollowUpDue, true)
	}
	return c.errOrNil()
}

// ReviewTotal is the weighted score of a review in 0..100, to one decimal:
// sum(weight × score/max) / sum(weight) × 100.
func ReviewTotal(items []ReviewItem) float64 {
	var sum, weights float64
	for _, it := range items {
		if it.Max <= 0 || it.Score == nil {
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
	c.optional("comment", &d.Comment, 2000)
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
	c.optional("note", &d.Note, 2000)
	if d.Outcome == "not_improved" {
		c.time("nextFollowUpDue", &d.NextFollowUpDue, true)
	} else if !d.NextFollowUpDue.IsZero() {
		c.fail("nextFollowUpDue", "must be absent when the outcome is improved")
	}
	return c.errOrNil()
}
