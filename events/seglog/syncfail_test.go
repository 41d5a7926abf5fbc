package seglog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seglog"
)

// TestFailedSyncRefusesAppends: a commit whose fdatasync fails answers
// its appends Unavailable, and so is every append after it, retries of
// the failed one included (after a failed fsync Linux may have dropped
// the dirty pages: only reopening, which rereads the log, knows what is
// on disk). Reopened, the store takes the retries, each once, chained.
func TestFailedSyncRefusesAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fail := true
	seglog.SetFlushGate(s, func() error {
		if fail {
			fail = false // the committer's only
			return errors.New("injected: fdatasync failed")
		}
		return nil
	})
	a, b := ev(`{"n":"a"}`), ev(`{"n":"b"}`)
	if _, err := s.Append(ctx, "customer-1", events.NoStream, a); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("an append whose fdatasync failed: %v, want Unavailable", err)
	}
	if _, err := s.Append(ctx, "customer-1", events.NoStream, a); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("its retry on the broken store: %v, want Unavailable", err)
	}
	if _, errs := s.AppendBatch(ctx, []events.StreamAppend{{Stream: "customer-2", Expected: events.NoStream, Events: []events.Event{b}}}); events.ErrorCode(errs[0]) != events.Unavailable {
		t.Fatalf("a batch on the broken store: %v, want Unavailable", errs[0])
	}
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	s = open(t, dir, seglog.Options{})
	for _, r := range []struct {
		stream string
		ev     events.Event
	}{{"customer-1", a}, {"customer-2", b}} {
		if _, err := s.Append(ctx, r.stream, events.NoStream, r.ev); err != nil { // landed now, or found as a duplicate
			t.Fatalf("retry on %s after reopening: %v", r.stream, err)
		}
		if res, err := s.Append(ctx, r.stream, events.NoStream, r.ev); err != nil || !res.Duplicate {
			t.Fatalf("a second retry on %s: %+v, %v; want the first's answer as a duplicate", r.stream, res, err)
		}
	}
	log := readAll(t, s)
	if len(log) != 2 {
		t.Fatalf("after the retries the log has %d events, want 2 (each once)", len(log))
	}
	chain := events.NewChainVerifier()
	for i := range log {
		if err := chain.Add(&log[i]); err != nil {
			t.Fatal(err)
		}
	}
}
