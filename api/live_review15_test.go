package api

import (
	"log/slog"
	"testing"
)

// TestLiveShedSparesIdle: shedding closes only clients the hub queued
// events to since the last shedding. It closed half of all clients, so
// where fewer than half had cost anything (ten auditors on the log among a
// thousand advisors each waiting for their book) it closed idle ones too,
// which relieves the hub of nothing.
func TestLiveShedSparesIdle(t *testing.T) {
	h := newHub(&Server{Config: Config{Logger: slog.New(slog.DiscardHandler)}})
	var busy, idle []*client
	for i := range 8 {
		c := &client{topics: map[string]bool{"advisor:A" + string(rune('0'+i)): true}, kinds: kindAdvisor, kicked: make(chan struct{}),
			conn: serverConn(t)}
		h.add(c)
		if i < 2 {
			c.load = 50
			busy = append(busy, c)
		} else {
			idle = append(idle, c)
		}
	}
	h.shedLoad()
	for _, c := range busy {
		if c.code.Load() != closeTooSlow {
			t.Errorf("a busy client was not closed with 4008 (code %d)", c.code.Load())
		}
	}
	for _, c := range idle {
		if c.code.Load() != 0 {
			t.Errorf("an idle client was closed (code %d)", c.code.Load())
		}
	}
	if len(h.clients) != len(idle) {
		t.Fatalf("%d clients left, want the %d idle", len(h.clients), len(idle))
	}
}
