package api_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/api"
)

// TestLiveLaggingClient: a client that stops reading while what it was
// sent still fits in the sockets' buffers (a slow reader's receive buffer
// grows to megabytes) never fills its queue nor blocks a write: the server
// used to keep it forever, however far behind it fell (the firehose of
// `bench http` closed none). The server probes each client's lag with a
// ping behind what it sent; one not answered within LiveMaxLag closes it
// with 4008, after every event sent, while a client that reads stays.
func TestLiveLaggingClient(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) { c.LiveMaxLag = 2 * time.Second }})
	reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	from := reg["position"].(float64)
	stalled := s.dialStalled("R1", []string{"customer:C1"}, from)
	reading := s.subscribe("R1", []string{"customer:C1"}, &from)

	const n = 8 // about 16 KB each way: far less than the sockets' buffers
	s.appendContacts("C1", n)
	s.waitUntil("the events are sent to both clients", func() bool { return s.liveSent() == 2*n })
	s.waitUntil("the client that stopped reading is found too slow", func() bool { return s.tooSlow() > 0 })

	want := s.streamPositions("C1", from)
	got, code := readToClose(t, stalled)
	if code != 4008 {
		t.Fatalf("close code %d after %d messages, want 4008", code, len(got))
	}
	checkPrefix(t, got, want)
	if len(got) != n {
		t.Fatalf("the lagging client got %d events before the close, want the %d sent", len(got), n)
	}
	select {
	case <-reading.done:
		t.Fatalf("the client that reads was closed too: %v (code %d)", reading.err, reading.code)
	default:
	}
	reading.finish(t)
	if len(reading.received()) != n {
		t.Fatalf("the reading client got %d events, want %d", len(reading.received()), n)
	}
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times, want 1", c)
	}
}
