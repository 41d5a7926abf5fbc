package events_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// The rules of events/qa.go and of the review's new fields (call.go) that
// the catalog tables cannot state: the stream names, the totals with N/A
// and critical items, what Validate computes, the dispute window.

func TestQAStreams(t *testing.T) {
	for _, tc := range []struct {
		stream, category, id string
	}{
		{events.QAFormStream("QA-2026"), "qaform", "QA-2026"},
		{events.CalibrationStream("01JDQ8Z6M3V9K2X7R4T5Y6W8N3"), "calibration", "01JDQ8Z6M3V9K2X7R4T5Y6W8N3"},
		{events.SamplingSettingsStream, "settings", "qa-sampling"},
	} {
		if !events.ValidStream(tc.stream) {
			t.Errorf("%q is not a valid stream name", tc.stream)
		}
		if c, id := events.StreamID(tc.stream); c != tc.category || id != tc.id {
			t.Errorf("StreamID(%q) = %q, %q; want %q, %q", tc.stream, c, id, tc.category, tc.id)
		}
	}
	if events.SamplingSettingsStream == events.SignInSettingsStream {
		t.Error("the sampling plan shares the sign-in policy's stream")
	}
}

// item returns a review item scored s of max, weighted w.
func item(id string, w, s, max int) events.ReviewItem {
	return events.ReviewItem{ItemID: id, Criterion: id, Weight: w, Score: score(s), Max: max}
}

func na(id string, w, max int) events.ReviewItem {
	return events.ReviewItem{ItemID: id, Criterion: id, Weight: w, Max: max, NA: true}
}

func critical(id string, w, s int) events.ReviewItem {
	it := item(id, w, s, 1)
	it.Critical = true
	return it
}

func TestReviewTotalNAAndCritical(t *testing.T) {
	for _, tc := range []struct {
		name   string
		items  []events.ReviewItem
		want   float64
		failed bool
	}{
		{"N/A leaves the weighting", []events.ReviewItem{item("a", 1, 1, 2), na("b", 3, 5)}, 50, false},
		{"an N/A item's stray score is left out", []events.ReviewItem{item("a", 1, 1, 1),
			{ItemID: "b", Criterion: "b", Weight: 9, Score: score(0), Max: 5, NA: true}}, 100, false},
		{"only N/A scores 0", []events.ReviewItem{na("a", 1, 5), na("b", 1, 5)}, 0, false},
		{"a passed critical item counts as full marks", []events.ReviewItem{item("a", 1, 0, 2), critical("c", 1, 1)}, 50, false},
		{"a failed critical item fails the review", []events.ReviewItem{item("a", 9, 5, 5), critical("c", 1, 0)}, 0, true},
		{"a failed critical item among N/A", []events.ReviewItem{na("a", 1, 5), critical("c", 1, 0)}, 0, true},
		{"a critical item marked N/A does not fail it", []events.ReviewItem{item("a", 1, 1, 1),
			{ItemID: "c", Criterion: "c", Weight: 1, Max: 1, Critical: true, NA: true}}, 100, false},
		{"a critical item marked N/A does not fail it, even with a stray 0", []events.ReviewItem{item("a", 1, 1, 1),
			{ItemID: "c", Criterion: "c", Weight: 1, Score: score(0), Max: 1, Critical: true, NA: true}}, 100, false},
		{"a critical item without a score does not fail it", []events.ReviewItem{item("a", 1, 1, 1),
			{ItemID: "c", Criterion: "c", Weight: 1, Max: 1, Critical: true}}, 100, false},
		{"a zero on an item that is not critical", []events.ReviewItem{item("a", 1, 0, 1), critical("c", 1, 1)}, 50, false},
	} {
		if got := events.ReviewTotal(tc.items); got != tc.want {
			t.Errorf("%s: ReviewTotal = %v, want %v", tc.name, got, tc.want)
		}
		if got := events.CriticalFailed(tc.items); got != tc.failed {
			t.Errorf("%s: CriticalFailed = %v, want %v", tc.name, got, tc.failed)
		}
	}
}

// TestCallReviewedCriticalFailed: Validate stores the server's
// criticalFailed whatever the client said, except a claim of failure
// that no item supports, which is refused.
func TestCallReviewedCriticalFailed(t *testing.T) {
	failing := []events.ReviewItem{item("a", 1, 1, 1), critical("c", 1, 0)}
	passing := []events.ReviewItem{item("a", 1, 1, 1), critical("c", 1, 1)}
	for _, tc := range []struct {
		name   string
		items  []events.ReviewItem
		total  float64
		failed bool
		field  string // "" if valid
		want   bool
	}{
		{"failed, and said so", failing, 0, true, "", true},
		{"failed, not said: set", failing, 0, false, "", true},
		{"failed, with the total of the items", failing, 100, false, "total", false},
		{"passed", passing, 100, false, "", false},
		{"passed, said failed", passing, 100, true, "criticalFailed", false},
	} {
		for _, d := range []interface {
			events.Data
			result() (float64, bool)
		}{
			&reviewed{events.CallReviewed{ReviewerID: "SUP1", FormID: "F1", FormVersion: 1, Items: clone(tc.items), Total: tc.total, CriticalFailed: tc.failed}},
			&scored{events.CalibrationScored{SessionID: "S1", EvaluatorID: "SUP1", Items: clone(tc.items), Total: tc.total, CriticalFailed: tc.failed}},
		} {
			err := d.Validate()
			if tc.field != "" {
				assertInvalid(t, err, tc.field)
				continue
			}
			if err != nil {
				t.Errorf("%s (%T): %v", tc.name, d, err)
				continue
			}
			if total, failed := d.result(); total != tc.total || failed != tc.want {
				t.Errorf("%s (%T): stored total %v, criticalFailed %v; want %v, %v", tc.name, d, total, failed, tc.total, tc.want)
			}
		}
	}
}

type reviewed struct{ events.CallReviewed }

func (r *reviewed) result() (float64, bool) { return r.Total, r.CriticalFailed }

type scored struct{ events.CalibrationScored }

func (s *scored) result() (float64, bool) { return s.Total, s.CriticalFailed }

func clone(items []events.ReviewItem) []events.ReviewItem {
	return append([]events.ReviewItem(nil), items...)
}

// TestCallReviewedPointItems: a coaching point's itemId names one of the
// review's items; a review from before forms were versioned has none to
// name.
func TestCallReviewedPointItems(t *testing.T) {
	due := time.Date(2026, 12, 25, 9, 0, 0, 0, time.UTC)
	at := 0
	for _, tc := range []struct {
		name   string
		items  []events.ReviewItem
		itemID string
		ok     bool
	}{
		{"an item of the review", []events.ReviewItem{item("greeting", 1, 1, 1), item("closing", 1, 1, 1)}, "closing", true},
		{"no item named", []events.ReviewItem{item("greeting", 1, 1, 1)}, "", true},
		{"another item", []events.ReviewItem{item("greeting", 1, 1, 1)}, "closing", false},
		{"items without ids", []events.ReviewItem{{Criterion: "closing", Weight: 1, Score: score(1), Max: 1}}, "closing", false},
		{"trimmed before compared", []events.ReviewItem{item("closing", 1, 1, 1)}, " closing ", true},
	} {
		d := &events.CallReviewed{ReviewerID: "SUP1", FormID: "F1", Items: tc.items, Total: 100,
			CoachingPoints: []events.CoachingPointRaised{{PointID: "P1", Criterion: "closing", Note: "n", FollowUpDue: due, AtSec: &at, ItemID: tc.itemID}}}
		err := d.Validate()
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		assertInvalid(t, err, "coachingPoints[0].itemId")
	}
}

// TestFormItemsMatchReviewItems: a form's item and the review item scored
// on it carry the same rules (weight, max, critical max 1), so a review
// made from a valid form by the API always validates.
func TestFormItemsMatchReviewItems(t *testing.T) {
	form := &events.ScorecardFormPublished{FormID: "F1", Version: 1, Name: "Form", Items: []events.FormItem{
		{ItemID: "a", Label: "A", Weight: 100, Max: 100},
		{ItemID: "b", Label: "B", Weight: 1, Max: 1, Critical: true, NAAllowed: true},
	}}
	if err := form.Validate(); err != nil {
		t.Fatal(err)
	}
	var items []events.ReviewItem
	for _, f := range form.Items {
		items = append(items, events.ReviewItem{ItemID: f.ItemID, Criterion: f.Label, Weight: f.Weight, Max: f.Max,
			Critical: f.Critical, Score: score(f.Max)})
	}
	d := &events.CallReviewed{ReviewerID: "SUP1", FormID: form.FormID, FormVersion: form.Version, Items: items, Total: 100}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDisputeWindow(t *testing.T) {
	reviewed := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	if got := reviewed.Add(events.DisputeWindow); !got.Equal(time.Date(2026, 12, 14, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("a review of %v may be disputed until %v, want two weeks later", reviewed, got)
	}
}

// TestCalibrationScoredItemIDs: a calibration score is always made on a
// published form version, whose items have ids, and the session's
// per-item spread finds each score by its item id; an item without one
// (which only reviews from before forms were versioned may have) is
// refused rather than read as N/A.
func TestCalibrationScoredItemIDs(t *testing.T) {
	d := &events.CalibrationScored{SessionID: "S1", EvaluatorID: "SUP1", Total: 100, Items: []events.ReviewItem{
		item("greeting", 1, 1, 1), {Criterion: "closing", Weight: 1, Score: score(1), Max: 1}}}
	assertInvalid(t, d.Validate(), "items[1].itemId")
	d.Items[1].ItemID = "closing"
	if err := d.Validate(); err != nil {
		t.Errorf("with item ids: %v", err)
	}
}
