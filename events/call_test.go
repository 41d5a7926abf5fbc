package events_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

func TestAddOneMonth(t *testing.T) {
	seoul := time.FixedZone("KST", 9*3600)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 14, 30, 15, 500, time.UTC) }
	for _, tc := range []struct {
		name     string
		in, want time.Time
	}{
		{"mid-month", day(2026, 3, 15), day(2026, 4, 15)},
		{"Jan 31 to Feb 28", day(2026, 1, 31), day(2026, 2, 28)},
		{"Jan 30 to Feb 28", day(2026, 1, 30), day(2026, 2, 28)},
		{"Jan 29 to Feb 28", day(2027, 1, 29), day(2027, 2, 28)},
		{"Jan 31 to Feb 29 in a leap year", day(2028, 1, 31), day(2028, 2, 29)},
		{"Jan 29 to Feb 29 in a leap year", day(2028, 1, 29), day(2028, 2, 29)},
		{"Feb 29 to Mar 29", day(2028, 2, 29), day(2028, 3, 29)},
		{"Feb 28 to Mar 28, not the month's end", day(2026, 2, 28), day(2026, 3, 28)},
		{"Mar 31 to Apr 30", day(2026, 3, 31), day(2026, 4, 30)},
		{"Aug 31 to Sep 30", day(2026, 8, 31), day(2026, 9, 30)},
		{"Apr 30 to May 30", day(2026, 4, 30), day(2026, 5, 30)},
		{"Dec to Jan of the next year", day(2026, 12, 15), day(2027, 1, 15)},
		{"Dec 31 to Jan 31", day(2026, 12, 31), day(2027, 1, 31)},
		{"2100 is not a leap year", day(2100, 1, 31), day(2100, 2, 28)},
		{"2000 is a leap year", day(2000, 1, 31), day(2000, 2, 29)},
		{"location and wall clock kept", time.Date(2026, 1, 31, 23, 59, 0, 0, seoul), time.Date(2026, 2, 28, 23, 59, 0, 0, seoul)},
	} {
		got := events.AddOneMonth(tc.in)
		if !got.Equal(tc.want) || got.Location() != tc.want.Location() {
			t.Errorf("%s: AddOneMonth(%v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func score(n int) *int { return &n }

func TestReviewTotal(t *testing.T) {
	item := func(weight, s, max int) events.ReviewItem {
		return events.ReviewItem{Criterion: "c", Weight: weight, Score: score(s), Max: max}
	}
	for _, tc := range []struct {
		name  string
		items []events.ReviewItem
		want  float64
	}{
		{"none", nil, 0},
		{"full marks", []events.ReviewItem{item(10, 5, 5), item(90, 10, 10)}, 100},
		{"zero", []events.ReviewItem{item(10, 0, 5), item(90, 0, 10)}, 0},
		{"weighted", []events.ReviewItem{item(20, 4, 5), item(50, 9, 10), item(30, 3, 5)}, 79},
		{"weights need not sum to 100", []events.ReviewItem{item(1, 1, 2), item(3, 1, 1)}, 87.5},
		{"one third rounds down", []events.ReviewItem{item(1, 1, 3)}, 33.3},
		{"two thirds rounds up", []events.ReviewItem{item(1, 2, 3)}, 66.7},
		{"a half rounds away from zero", []events.ReviewItem{item(1, 1, 16)}, 6.3},                          // 6.25
		{"below a half rounds down", []events.ReviewItem{item(1, 1, 8), item(1, 0, 1), item(2, 0, 1)}, 3.1}, // 3.125
		{"a missing score is left out", []events.ReviewItem{item(1, 1, 1), {Criterion: "c", Weight: 5, Max: 5}}, 100},
		{"a zero max is left out", []events.ReviewItem{item(1, 1, 2), {Criterion: "c", Weight: 5, Score: score(0)}}, 50},
	} {
		if got := events.ReviewTotal(tc.items); got != tc.want {
			t.Errorf("%s: ReviewTotal = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestCallReviewedTotal checks Validate against ReviewTotal on data built in
// Go, as the API builds it.
func TestCallReviewedTotal(t *testing.T) {
	items := []events.ReviewItem{
		{Criterion: "greeting", Weight: 1, Score: score(1), Max: 3},
		{Criterion: "closing", Weight: 1, Score: score(2), Max: 3},
	}
	for _, tc := range []struct {
		total float64
		ok    bool
	}{{50, true}, {50.05, true}, {49.95, true}, {50.06, false}, {49.94, false}, {0, false}, {100, false}} {
		d := &events.CallReviewed{ReviewerID: "SUP1", FormID: "F1", Items: items, Total: tc.total}
		err := d.Validate()
		if tc.ok {
			if err != nil || d.Total != 50 {
				t.Errorf("total %v: %v, stored %v", tc.total, err, d.Total)
			}
			continue
		}
		assertInvalid(t, err, "total")
	}
}
