package seglog_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/seglog"
)

// TestRestoreFromBolt: a bbolt log restored into the segment log reads
// back identical, event for event (positions, recordedAt, hashes), and
// takes appends after it; an envelope that is not the next position, or
// does not hash to its hash, is refused with nothing written.
func TestRestoreFromBolt(t *testing.T) {
	ctx := context.Background()
	src, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := range 30 {
		if _, err := src.Append(ctx, []string{"customer-M1", "customer-M2"}[i%2], events.Any, ev(`{"n":1}`), ev(`{"n":2}`)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := src.ReadAll(ctx, events.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	dst := open(t, t.TempDir(), seglog.Options{})
	if err := dst.Restore(ctx, want[10:12]); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("restore starting at position 11: %v, want Invalid", err)
	}
	tampered := append([]events.Envelope(nil), want[:3]...)
	tampered[2].Data = []byte(`{"n":99}`)
	if err := dst.Restore(ctx, tampered); events.ErrorCode(err) != events.Internal {
		t.Fatalf("restore of an event whose content does not match its hash: %v, want Internal", err)
	}
	if h, _ := dst.Head(ctx); h != events.Start {
		t.Fatalf("refused restores wrote up to %s", h)
	}
	for i := 0; i < len(want); i += 16 {
		if err := dst.Restore(ctx, want[i:min(i+16, len(want))]); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, dst)
	if len(got) != len(want) {
		t.Fatalf("restored %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Hash != want[i].Hash || got[i].Position != want[i].Position || !got[i].RecordedAt.Equal(want[i].RecordedAt) {
			t.Fatalf("event %d differs after the restore", i)
		}
	}
	res, err := dst.Append(ctx, "customer-M1", events.Exact(29), ev(`{"n":3}`))
	if err != nil || res.Position != events.At(61) {
		t.Fatalf("append after the restore: %+v, %v", res, err)
	}
}
