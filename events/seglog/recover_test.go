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
// not the last is corruption, not a torn tail: Open refuses with Internal
// rather than cut the log there.
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
	_, err = seglog.Open(dir, seglog.Options{})
	if events.ErrorCode(err) != events.Internal {
		t.Fatalf("open with a damaged closed segment: %v, want an Internal error", err)
	}
}

// TestReopenAcrossSegments: a log of many segments reopens with every
// stream, id and position as it was: reads agree and retries are still
// recognised as duplicates.
func TestReopenAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, seglog.Options{SegmentBytes: 8 << 10})
	var results []events.AppendResult
	var batches [][]events.Event
	for i := range 60 {
		evs := []events.Event{eventstest.NewEvent("ContactLogged", `{"n":1}`), eventstest.NewEvent("ContactLogged", `{"n":2}`)}
		res, err := s.Append(context.Background(), []string{"customer-R1", "customer-R2", "customer-R3"}[i%3], events.Any, evs...)
		if err != nil {
			t.Fatal(err)
		}
		results, batches = append(results, res), append(batches, evs)
	}
	before := readAll(t, s)
	s.Close()
	if len(segments(t, dir)) < 3 {
		t.Fatalf("only %d segments", len(segments(t, dir)))
	}
	s = open(t, dir, seglog.Options{SegmentBytes: 8 << 10})
	after := readAll(t, s)
	if len(after) != len(before) {
		t.Fatalf("%d events after reopening, %d before", len(after), len(before))
	}
	for i := range before {
		if before[i].Hash != after[i].Hash || before[i].Position != after[i].Position {
			t.Fatalf("event %d differs after reopening", i)
		}
	}
	for i, res := range results {
		again, err := s.Append(context.Background(), res.Stream, events.NoStream, batches[i]...)
		if err != nil || !again.Duplicate || again.Position != res.Position {
			t.Fatalf("retry %d after reopening: %+v, %v; want the original result %+v", i, again, err, res)
		}
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
