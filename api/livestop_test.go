package api_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events/bolt"
)

// TestLiveHubFailingAtStart: a live hub that stops before it has read the
// log's head (the store is unreachable, or the server is shut down at
// once) still ends its connections with 1001: one subscribed while the hub
// was starting does not wait for it forever, one that comes after is
// refused, and WaitLive returns.
func TestLiveHubFailingAtStart(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	dead, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: s.opt.now})
	if err != nil {
		t.Fatal(err)
	}
	dead.Close() // Head fails from now on
	reg := prometheus.NewRegistry()
	srv := api.New(api.Config{Store: dead, Queries: s.queries, Progress: s.progress, Sealer: s.sealer,
		Logger: slog.New(slog.DiscardHandler), Live: api.NewLiveMetrics(reg), Now: s.opt.now})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	open := func() float64 { return liveConnections(t, reg) }

	early := dialAt(t, hs.URL, s.tok["R1"], []string{"customer:C1"}, nil)
	s.waitUntil("the early client is connected", func() bool { return open() == 1 })
	if err := srv.Run(context.Background()); err == nil {
		t.Fatal("the hub ran over a closed store")
	}
	if code := early.closeCode(t); code != websocket.CloseGoingAway {
		t.Fatalf("the client subscribed while the hub started: close code %d, want 1001", code)
	}
	late := dialAt(t, hs.URL, s.tok["R1"], []string{"customer:C1"}, nil)
	if code := late.closeCode(t); code != websocket.CloseGoingAway {
		t.Fatalf("a client after the hub stopped: close code %d, want 1001", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	srv.WaitLive(ctx)
	if ctx.Err() != nil {
		t.Fatal("hang: WaitLive did not return after the hub stopped")
	}
}
