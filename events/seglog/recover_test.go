package seglog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

func open(t *testing.T, dir string, opt seglog.Options) *seglog.Store {
	t.Helper()
	s, err := seglog.Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendN(t *testing.T, s *seglog.Store, stream string, n int) events.AppendResult {
	t.Helper()
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = eventstest.NewEvent("ContactLogged", `{"summary":"torn tail test"}`)
	}
	res, err := s.Append(context.Background(), stream, events.Any, evs...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil || len(names) == 0 {
		t.Fatalf("segments of %s: %v %v", dir, names, err)
	}
	return names
}

// TestTornTailCutOnOpen: an append whose last frame is cut short (a write
// torn by a power cut) is gone after reopening, with all of its events;
// what was durable before it stays, and the next append takes its place.
func TestTornTailCutOnOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, seglog.Options{})
	first := appendN(t, s, "customer-T1", 3)
	appendN(t, s, "customer-T1", 3)
	used, _ := s.UsedBytes()
	s.Close()

	seg := segments(t, dir)[0]
	if err := os.Truncate(seg, used-10); err != nil { // into the last frame of the second append
		t.Fatal(err)
	}
	s = open(t, dir, seglog.Options{})
	if h, _ := s.Head(context.Background()); h != first.Position {
		t.Fatalf("head after the torn append is %s, want %s (the first append's last event)", h, first.Position)
	}
	got, err := s.ReadStream(context.Background(), "customer-T1", 0, events.Forward, 100)
	if err != nil || len(got) != 3 {
		t.Fatalf("stream after the torn append: %d events, %v; want the first append's 3", len(got), err)
	}
	next := appendN(t, s, "customer-T1", 1)
	if next.Version != 3 || next.Position != events.At(4) {
		t.Fatalf("the append after the cut landed at version %d, position %s; want 3, 4", next.Version, next.Position)
	}
	s.Close()
	s = open(t, dir, seglog.Options{})
	if err := events.VerifyStream(readStream(t, s, "customer-T1")); err != nil {
		t.Fatalf("chain after the cut and a new append: %v", err)
	}
}

// TestGarbageTailCutOnOpen: bytes that are not frames after the last
// append (a torn write into the zeros ahead) are cut off.
func TestGarbageTailCutOnOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, seglog.Options{})
	res := appendN(t, s, "customer-G1", 2)
	used, _ := s.UsedBytes()
	s.Close()
	f, err := os.OpenFile(segments(t, dir)[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, used); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s = open(t, dir, seglog.Options{})
	if h, _ := s.Head(context.Background()); h != res.Position {
		t.Fatalf("head %s, want %s", h, res.Position)
	}
	if n, _ := s.UsedBytes(); n != used {
		t.Fatalf("log holds %d bytes after the cut, want %d", n, used)
	}
}

// TestDamagedClosedSegmentRefused: a bad frame inside a segment that is
// not the last is corruption, not a torn tail: Open, scanning the log (no
// checkpoint, as after a crash), refuses with Internal rather than cut the
// log there; with the checkpoint, Open reads only the tail and the read of
// the damaged event says Internal.
func TestDamagedClosedSegmentRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, seglog.Options{SegmentBytes: 4 << 10})
	for range 20 {
		appendN(t, s, "customer-D1", 2)
	}
	s.Close()
	names := segments(t, dir)
	if len(names) < 2 {
		t.Fatalf("%d segments; the test needs two or more", len(names))
	}
	f, err := os.OpenFile(names[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("rot"), 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s = open(t, dir, seglog.Options{})
	err = s.Scan(context.Background(), events.Start, func(*events.Envelope) error { return nil })
	if events.ErrorCode(err) != events.Internal {
		t.Fatalf("reading a damaged closed segment: %v, want an Internal error", err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	_, err = seglog.Open(dir, seglog.Options{})
	if events.ErrorCode(err) != events.Internal {
		t.Fatalf("open with a damaged closed segment: %v, want an Internal error", err)
	}
}

// TestReopenAcrossSegments: a log of many segments reopens with every
// stream, id and position as it was — from the checkpoint Close wrote,
// from a stale checkpoint and the log after it, from a damaged checkpoint
// (ignored) and from no checkpoint — and then takes appends where it ended.
func TestReopenAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	cp := filepath.Join(dir, "index")
	opt := seglog.Options{SegmentBytes: 8 << 10}
	s := open(t, dir, opt)
	var results []events.AppendResult
	var batches [][]events.Event
	add := func(n int) {
		for i := range n {
			evs := []events.Event{ev(`{"n":1}`), ev(`{"n":2}`)}
			res, err := s.Append(context.Background(), []string{"customer-R1", "customer-R2", "customer-R3"}[i%3], events.Any, evs...)
			if err != nil {
				t.Fatal(err)
			}
			results, batches = append(results, res), append(batches, evs)
		}
	}
	add(60)
	s.Close()
	stale, err := os.ReadFile(cp)
	if err != nil {
		t.Fatalf("Close left no checkpoint: %v", err)
	}
	s = open(t, dir, opt)
	add(30)
	want := readAll(t, s)
	s.Close()
	if len(segments(t, dir)) < 3 {
		t.Fatalf("only %d segments", len(segments(t, dir)))
	}
	damaged := append([]byte(nil), stale...)
	damaged[len(damaged)/2] ^= 0xff
	for _, tc := range []struct {
		what       string
		checkpoint []byte // nil: none
	}{
		{"the checkpoint of the last Close", nil},
		{"a stale checkpoint", stale},
		{"a damaged checkpoint", damaged},
		{"no checkpoint", []byte{}},
	} {
		switch {
		case tc.checkpoint == nil:
		case len(tc.checkpoint) == 0:
			os.Remove(cp)
		default:
			if err := os.WriteFile(cp, tc.checkpoint, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s = open(t, dir, opt)
		got := readAll(t, s)
		if len(got) != len(want) {
			t.Fatalf("%s: %d events after reopening, %d before", tc.what, len(got), len(want))
		}
		for i := range want {
			if want[i].Hash != got[i].Hash || want[i].Position != got[i].Position {
				t.Fatalf("%s: event %d differs after reopening", tc.what, i)
			}
		}
		for i, res := range results {
			again, err := s.Append(context.Background(), res.Stream, events.NoStream, batches[i]...)
			if err != nil || !again.Duplicate || again.Position != res.Position {
				t.Fatalf("%s: retry %d after reopening: %+v, %v; want the original result %+v", tc.what, i, again, err, res)
			}
		}
		if v := readStream(t, s, "customer-R2"); len(v) != 60 || events.VerifyStream(v) != nil {
			t.Fatalf("%s: customer-R2 has %d events after reopening, want 60 in a valid chain", tc.what, len(v))
		}
		s.Close()
	}
	s = open(t, dir, opt)
	res := appendN(t, s, "customer-R1", 1)
	if res.Position != events.At(uint64(len(want))+1) || res.Version != 60 {
		t.Fatalf("the append after reopening landed at %s, version %d; want %d, 60", res.Position, res.Version, len(want)+1)
	}
}

func readAll(t *testing.T, s *seglog.Store) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	if err := s.Scan(context.Background(), events.Start, func(e *events.Envelope) error { out = append(out, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func readStream(t *testing.T, s *seglog.Store, stream string) []events.Envelope {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, 0, events.Forward, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestStreamsCountsTheIndex proves Streams (events.StreamCounter) counts
// each stream once, and the same after a reopen recovers the index.
func TestStreamsCountsTheIndex(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, seglog.Options{})
	if n := s.Streams(); n != 0 {
		t.Fatalf("empty log: Streams = %d", n)
	}
	appendN(t, s, "customer-S1", 3)
	appendN(t, s, "customer-S2", 1)
	appendN(t, s, "customer-S1", 2)
	appendN(t, s, "call-S3", 1)
	if n := s.Streams(); n != 3 {
		t.Fatalf("Streams = %d, want 3", n)
	}
	s.Close()
	if n := open(t, dir, seglog.Options{}).Streams(); n != 3 {
		t.Fatalf("after reopening: Streams = %d, want 3", n)
	}
}
