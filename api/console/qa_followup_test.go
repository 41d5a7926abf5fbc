package console

import (
	"reflect"
	"testing"
	"time"

	"github.com/dangol/dangol/projections"
)

// TestKSTWeek: the follow-ups' week is the KST week, Monday 00:00 to the
// next Monday 00:00, whatever the UTC date: Sunday 23:59 KST is still the
// week that began six days before, Monday 00:00 KST (Sunday 15:00 UTC)
// begins the next.
func TestKSTWeek(t *testing.T) {
	mon := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, kst) }
	for _, c := range []struct {
		at    time.Time
		start time.Time
	}{
		{time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), mon(2026, 11, 23)},    // Wednesday
		{time.Date(2026, 11, 29, 14, 59, 59, 0, time.UTC), mon(2026, 11, 23)}, // Sunday 23:59:59 KST
		{time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC), mon(2026, 11, 30)},   // Monday 00:00 KST, Sunday in UTC
		{time.Date(2026, 12, 30, 20, 0, 0, 0, time.UTC), mon(2026, 12, 28)},   // Thursday 05:00 KST, across the year's end
		{time.Date(2027, 1, 3, 10, 0, 0, 0, time.UTC), mon(2026, 12, 28)},     // Sunday 19:00 KST
	} {
		start, end := kstWeek(c.at)
		if !start.Equal(c.start) || !end.Equal(c.start.AddDate(0, 0, 7)) {
			t.Errorf("kstWeek(%v) = %v .. %v, want %v .. %v", c.at, start, end, c.start, c.start.AddDate(0, 0, 7))
		}
	}
}

// TestMonthlyRatesKST: the team page counts a check in its KST month, as
// the reports: 23:30 UTC on 31 March is 08:30 KST on 1 April, 14:59 UTC
// on 31 March still 23:59 KST that day.
func TestMonthlyRatesKST(t *testing.T) {
	check := func(at time.Time, outcome string) projections.FollowUpResult {
		return projections.FollowUpResult{PointID: "P1", Outcome: outcome, At: at}
	}
	points := []projections.CoachingPoint{
		{ID: "P1", History: []projections.FollowUpResult{
			check(time.Date(2030, 3, 31, 14, 59, 0, 0, time.UTC), projections.StatusNotImproved), // 23:59 KST, March
			check(time.Date(2030, 3, 31, 23, 30, 0, 0, time.UTC), projections.StatusImproved),    // 08:30 KST, April
		}},
		{ID: "P2", History: []projections.FollowUpResult{
			check(time.Date(2030, 4, 30, 15, 0, 0, 0, time.UTC), projections.StatusImproved), // 00:00 KST 1 May
		}},
	}
	want := []monthRate{{Month: "2030-03", Checks: 1, Improved: 0, Rate: 0}, {Month: "2030-04", Checks: 1, Improved: 1, Rate: 100},
		{Month: "2030-05", Checks: 1, Improved: 1, Rate: 100}}
	if got := monthlyRates(points); !reflect.DeepEqual(got, want) {
		t.Errorf("monthlyRates = %+v, want %+v", got, want)
	}
}
