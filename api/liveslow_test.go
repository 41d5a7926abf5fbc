package api_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events"
)

// TestLiveSlowClient: a WebSocket client that stops reading is closed with
// 4008, counted as too_slow when the server decides it, whether the log
// keeps flowing (its queue fills) or goes quiet once its socket is full
// (its write stays blocked). When it reads again it gets every event up to
// where the server stopped, then the close frame; resuming from the last
// position it received, it gets the rest: nothing is lost.
func TestLiveSlowClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch int  // events appended at a time
		quiet bool // after each batch, wait until it was sent or the client was found too slow
	}{
		{"log keeps flowing", 200, false},
		{"log goes quiet", 16, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackOptions{noReactors: true})
			reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
			from := reg["position"].(float64)
			conn := s.dialStalled("R1", []string{"customer:C1"}, from)

			appended := 0
			for s.tooSlow() == 0 {
				if appended > 20_000 {
					t.Fatalf("%d events appended and the stalled client was never found too slow", appended)
				}
				s.appendContacts("C1", tc.batch)
				appended += tc.batch
				if tc.quiet {
					s.waitUntil("the batch is sent, or the client is found too slow", func() bool {
						return s.tooSlow() > 0 || s.liveSent() == float64(appended)
					})
				}
			}
			t.Logf("found too slow after %d events, %v sent", appended, s.liveSent())

			// Reading again: a gap-free prefix of the customer's events, then 4008.
			want := s.streamPositions("C1", from)
			got, code := readToClose(t, conn)
			if code != 4008 {
				t.Fatalf("close code %d after %d messages, want 4008", code, len(got))
			}
			checkPrefix(t, got, want)
			if n := s.tooSlow(); n != 1 {
				t.Fatalf("too_slow counted %v times, want 1", n)
			}

			// Resuming from the last position received gets the rest.
			s.resumeGetsRest("C1", from, got, want)
		})
	}
}

// dialStalled subscribes as who from position from and does not read (its
// read buffer is tiny): once the kernel's buffers are full, the server's
// writes block.
func (s *stack) dialStalled(who string, topics []string, from float64) *websocket.Conn {
	s.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: hang, ReadBufferSize: 256}
	hdr := map[string][]string{"Authorization": {"Bearer " + s.tok[who]}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/v1/live", hdr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	msg, _ := json.Marshal(map[string]any{"subscribe": topics, "fromPosition": from})
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		s.t.Fatal(err)
	}
	return conn
}

// readToClose reads until the connection ends and returns the positions
// received and the close code.
func readToClose(t *testing.T, conn *websocket.Conn) ([]float64, int) {
	t.Helper()
	var got []float64
	_ = conn.SetReadDeadline(time.Now().Add(hang)) // detects a hang only
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return got, ce.Code
			}
			t.Fatalf("after %d messages: %v, want a close frame", len(got), err)
		}
		var m struct{ Position float64 }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m.Position)
	}
}

// checkPrefix fails unless got is the start of want.
func checkPrefix(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("got %d events, the stream has %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("message %d is at position %v, want %v (a gap or a duplicate)", i, got[i], want[i])
		}
	}
}

// appendContacts appends n contacts of 2,000 characters to the customer's
// stream in one append, sealed as the API seals them.
func (s *stack) appendContacts(customer string, n int) {
	s.t.Helper()
	ctx := s.t.Context()
	evs := make([]events.Event, n)
	for i := range evs {
		e, err := events.NewEvent(&events.ContactLogged{Channel: "phone_outbound", Purpose: "advice",
			Summary: strings.Repeat("advice ", 285), OccurredAt: s.now().Add(-time.Hour)},
			events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}, CorrelationID: events.NewID().String(), Seal: s.sealer.SealFor(ctx, customer)})
		if err != nil {
			s.t.Fatal(err)
		}
		evs[i] = e
	}
	if _, err := s.store.Append(ctx, events.CustomerStream(customer), events.Any, evs...); err != nil {
		s.t.Fatal(err)
	}
}

// streamPositions returns the positions of the customer's events after from.
func (s *stack) streamPositions(customer string, from float64) []float64 {
	s.t.Helper()
	var out []float64
	for v := uint64(1); ; {
		evs, err := s.store.ReadStream(s.t.Context(), events.CustomerStream(customer), v, events.Forward, 1000)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, e := range evs {
			if p := float64(e.Position.Seq()); p > from {
				out = append(out, p)
			}
		}
		if len(evs) < 1000 {
			return out
		}
		v = evs[len(evs)-1].Version + 1
	}
}

// tooSlow returns how many live clients the server found too slow.
func (s *stack) tooSlow() float64 {
	return s.metric("dangol_ws_disconnects_total", "reason", "too_slow")
}

// liveSent returns how many events the server pushed to live clients.
func (s *stack) liveSent() float64 { return s.metric("dangol_ws_messages_sent_total", "", "") }

// metric returns the value of a counter in the stack's registry (the
// series with label = value, if label is set).
func (s *stack) metric(name, label, value string) float64 {
	s.t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" {
				return m.GetCounter().GetValue()
			}
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
