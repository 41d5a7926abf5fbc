package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/api"
)

// TestLiveDropsVanishedClient: a live client that answers no ping (it
// vanished without closing: here it stops reading, so its pongs never
// go out) is dropped after three ping intervals, while a client that keeps
// reading (and so answers) stays through the same intervals. The interval
// is short so the test is quick, yet leaves a reading client 750 ms to
// answer a ping even on a loaded machine under -race.
func TestLiveDropsVanishedClient(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.LivePing = 250 * time.Millisecond }})
	open := func() float64 { return liveConnections(t, s.reg) }
	alive := s.subscribe("R1", []string{"advisor:R1"}, nil) // reads, so answers pings
	defer alive.finish(t)

	d := websocket.Dialer{HandshakeTimeout: hang}
	hdr := http.Header{"Authorization": {"Bearer " + s.tok["R2"]}}
	gone, _, err := d.Dial(s.liveURL(), hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	msg, _ := json.Marshal(map[string]any{"subscribe": []string{"advisor:R2"}})
	if err := gone.WriteMessage(websocket.TextMessage, msg); err != nil {
		t.Fatal(err)
	}
	s.waitUntil("both clients are connected", func() bool { return open() == 2 })
	// gone never reads again: the server's pings go unanswered.
	s.waitUntil("the silent client is dropped", func() bool { return open() == 1 })
	select {
	case <-alive.done:
		t.Fatalf("the client that answers pings was dropped too: %v (code %d)", alive.err, alive.code)
	default:
	}
}
