package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestServeDisputeWindow: --dispute-window (default 14 days) reaches the
// API's configuration, and a negative window is refused at start.
func TestServeDisputeWindow(t *testing.T) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := parse(fs, nil, noEnv); err != nil || cfg.disputeWindow != events.DisputeWindow {
		t.Fatalf("default --dispute-window %s (%v), want %s", cfg.disputeWindow, err, events.DisputeWindow)
	}

	cfg = mainConfig(t.TempDir())
	cfg.metricsAddr = metricsOff
	cfg.disputeWindow = 72 * time.Hour
	srv, err := startServer(t.Context(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if srv.api.DisputeWindow != 72*time.Hour {
		t.Errorf("the API's dispute window is %s, want 72h", srv.api.DisputeWindow)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	cfg = mainConfig(t.TempDir())
	cfg.metricsAddr = metricsOff
	cfg.disputeWindow = -time.Hour
	if srv, err := startServer(t.Context(), cfg, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), "--dispute-window") {
		if err == nil {
			srv.stop()
		}
		t.Fatalf("a negative --dispute-window: %v, want a refusal", err)
	}
}
