package api_test

import (
	"testing"
	"time"
)

// TestLiveLaggingClient: a client that stops reading while what it was
// sent still fits in the sockets' buffers (a slow reader's receive buffer
// grows to megabytes) never fills its queue nor blocks a write: the server
// used to keep it forever, however far behind it fell (the firehose of
// `bench http` closed none). The server probes each client's lag with a
// ping behind what it sent; one not answered within LiveMaxLag closes it
// with 4008, after every event sent, while a client that reads stays. The
// feed's clock moves by hand: not before LiveMaxLag has passed on it, and
// the client that reads is never closed however long the test takes.
func TestLiveLaggingClient(t *testing.T) {
	s, clock, from := handStack(t)
	stalled := s.dialStalled("R1", []string{"customer:C1"}, from)
	reading := s.subscribeProbed("R1", "customer:C1", from)

	// Far less than the sockets' buffers (about 2 KB each way an event).
	n := s.appendUntilProbed(clock, "C1", 2, 2)
	s.waitUntil("the client that reads gets every event", func() bool { return reading.received() == n })
	reading.probe(t)

	clock.advance(maxLag - time.Nanosecond)
	if c := s.tooSlow(); c != 0 {
		t.Fatalf("too_slow counted %v times before LiveMaxLag passed, want 0", c)
	}
	clock.advance(time.Nanosecond)
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times once LiveMaxLag passed, want 1 (the client that stopped reading)", c)
	}

	want := s.streamPositions("C1", from)
	got, code := readToClose(t, stalled)
	if code != 4008 {
		t.Fatalf("close code %d after %d messages, want 4008", code, len(got))
	}
	checkPrefix(t, got, want)
	if len(got) != n {
		t.Fatalf("the lagging client got %d events before the close, want the %d sent", len(got), n)
	}
	clock.advance(10 * maxLag)
	reading.open(t)
	if got := reading.received(); got != n {
		t.Fatalf("the reading client got %d events, want %d", got, n)
	}
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times, want 1", c)
	}
}
