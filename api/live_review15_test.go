package api

import (
	"fmt"
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
	clients := shedClients(t, h, 50, 50, 0, 0, 0, 0, 0, 0)
	busy, idle := clients[:2], clients[2:]
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

// shedClients attaches to h a client on its own advisor topic per load,
// each with that load, on real connections.
func shedClients(t *testing.T, h *hub, loads ...uint64) []*client {
	var cs []*client
	for i, load := range loads {
		c := &client{topics: map[string]bool{fmt.Sprintf("advisor:A%d", i): true}, kinds: kindAdvisor, kicked: make(chan struct{}),
			conn: serverConn(t), load: load}
		h.add(c)
		cs = append(cs, c)
	}
	return cs
}
