package events_test

import (
	"testing"

	"github.com/dangol/dangol/events"
)

// TestExpectedVersionForms: every form allows exactly what it says, and no
// exact version, however large, turns into another form.
func TestExpectedVersionForms(t *testing.T) {
	const missing = events.NoStreamVersion
	for _, tc := range []struct {
		exp     events.ExpectedVersion
		name    string
		allowed []int64 // of: missing, 0, 1, 41
	}{
		{events.Any, "any", []int64{missing, 0, 1, 41}},
		{events.NoStream, "no stream", []int64{missing}},
		{events.StreamExists, "stream exists", []int64{0, 1, 41}},
		{events.Exact(0), "0", []int64{0}},
		{events.Exact(41), "41", []int64{41}},
		{events.Exact(^uint64(0)), "18446744073709551615", nil},
		{events.Exact(1 << 63), "9223372036854775808", nil},
	} {
		if got := tc.exp.String(); got != tc.name {
			t.Errorf("%v: String() = %q, want %q", tc.exp, got, tc.name)
		}
		for _, actual := range []int64{missing, 0, 1, 41} {
			want := false
			for _, a := range tc.allowed {
				want = want || a == actual
			}
			if got := tc.exp.Allows(actual); got != want {
				t.Errorf("%s allows stream at %d: %v, want %v", tc.name, actual, got, want)
			}
		}
	}
	if events.Exact(^uint64(0)) == events.Any {
		t.Error("Exact(2^64-1) equals Any")
	}
	var zero events.ExpectedVersion
	if zero != events.Any {
		t.Error("the zero ExpectedVersion is not Any")
	}
	if v, ok := events.Exact(7).IsExact(); !ok || v != 7 {
		t.Errorf("Exact(7).IsExact() = %d, %v", v, ok)
	}
	if _, ok := events.StreamExists.IsExact(); ok {
		t.Error("StreamExists reports exact")
	}
}
