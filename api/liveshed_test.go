package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestLiveOverload: the hub counts as overloaded once the store has had
// events waiting for it at every event for the whole bound, not on a
// burst, and counts again from then, so that it sheds in steps.
func TestLiveOverload(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	o := overload{maxLag: 5 * time.Second}
	steps := []struct {
		behind bool
		at     time.Duration
		want   bool
	}{
		{true, 0, false},
		{true, 4 * time.Second, false},
		{false, 4500 * time.Millisecond, false}, // caught up: the burst is over
		{true, 6 * time.Second, false},
		{true, 10 * time.Second, false},
		{true, 11 * time.Second, true},
		{true, 12 * time.Second, false}, // counting again
		{true, 16 * time.Second, true},
	}
	for i, s := range steps {
		if got := o.over(s.behind, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d (behind %v at %v): overloaded %v, want %v", i, s.behind, s.at, got, s.want)
		}
	}
}

// TestLiveShed: an overloaded hub closes with 4008 the half of its clients
// that cost it the most (the most events queued since the last shedding),
// and no other.
func TestLiveShed(t *testing.T) {
	h := newHub(&Server{Config: Config{Logger: slog.New(slog.DiscardHandler)}})
	cs := shedClients(t, h, 100, 1, 100, 3, 100, 5)
	heavy, light := []*client{cs[0], cs[2], cs[4]}, []*client{cs[1], cs[3], cs[5]}
	h.shedLoad()
	for _, c := range heavy {
		if c.code.Load() != closeTooSlow {
			t.Errorf("a heavy client was not closed with 4008 (code %d)", c.code.Load())
		}
		if _, ok := h.clients[c]; ok {
			t.Errorf("a closed client is still attached")
		}
	}
	for _, c := range light {
		if c.code.Load() != 0 || c.load != 0 {
			t.Errorf("a light client was closed (code %d) or kept its count (%d)", c.code.Load(), c.load)
		}
	}
	if len(h.clients) != 3 || h.kindsOf[1] != 3 || len(h.byTopic) != 3 {
		t.Fatalf("%d clients, %d advisor topics counted, %d topics indexed after shedding; want 3 each", len(h.clients), h.kindsOf[1], len(h.byTopic))
	}
}

// serverConn returns the server's end of a real WebSocket connection.
func serverConn(t *testing.T) *websocket.Conn {
	t.Helper()
	conns := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	client, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := <-conns
	t.Cleanup(func() { c.Close() })
	return c
}
