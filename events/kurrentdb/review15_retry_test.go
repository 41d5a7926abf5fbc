package kurrentdb

import (
	"testing"

	"github.com/dangol/dangol/events"
)

// TestAppendGivesUpWithError runs everywhere (no server: the planning
// function stands in for one append's read and write): an append that lost
// the race on every attempt ends with Unavailable, never with a nil error
// and an empty result (the last lost race used to return both nil, so the
// caller took an append that wrote nothing for a success).
func TestAppendGivesUpWithError(t *testing.T) {
	attempts := 0
	res, err := retryRaced("customer-C1", func() (events.AppendResult, bool, error) {
		attempts++
		return events.AppendResult{}, true, nil
	})
	if events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("after %d lost races: %+v, %v; want Unavailable", attempts, res, err)
	}
	if attempts < 2 {
		t.Fatalf("%d attempts, want a retry", attempts)
	}
	want := events.AppendResult{Stream: "customer-C1", Version: 3}
	tries := 0
	res, err = retryRaced("customer-C1", func() (events.AppendResult, bool, error) {
		if tries++; tries < 3 {
			return events.AppendResult{}, true, nil
		}
		return want, false, nil
	})
	if err != nil || res.Version != want.Version || tries != 3 {
		t.Fatalf("won on the third try: %+v, %v after %d tries", res, err, tries)
	}
}
