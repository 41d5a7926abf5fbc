package kurrentdb_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/kurrentdb"
)

// TestConformance runs the whole suite against a KurrentDB server when
// DANGOL_KURRENTDB_URL names one; ops/conformance.sh runs it, e.g. on the
// compose profile's node (docker compose --profile kurrentdb up kurrentdb):
//
//	ops/conformance.sh --url 'esdb://localhost:2113?tls=false'
//
// Each store the suite opens gets its own stream prefix conformance-<ULID>-,
// so the runs share the server without seeing one another's events, and a
// ledger (prefix dangol-) never reads them. No server can run where dangol
// is developed, so this has not been run (see the package comment).
func TestConformance(t *testing.T) {
	url := os.Getenv("DANGOL_KURRENTDB_URL")
	if url == "" {
		t.Skip("DANGOL_KURRENTDB_URL is not set: the KurrentDB adapter was not run against a server")
	}
	// The client's own lines, at warnings and above: its discovery logs
	// every attempt.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reachable(t, url)
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		s, err := kurrentdb.Open(url, kurrentdb.Options{Prefix: "conformance-" + events.NewID().String() + "-", Now: now, Logger: logger})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}

// reachable stops the test before the suite when no node at url answers,
// saying so (ops/conformance.sh looks for "cannot reach"): every case
// would fail on it, which says nothing of the adapter.
func reachable(t *testing.T, url string) {
	s, err := kurrentdb.Open(url, kurrentdb.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Head(t.Context()); events.ErrorCode(err) == events.Unavailable {
		t.Fatalf("cannot reach a KurrentDB node: %v", err)
	}
}

// TestOpenRejectsBadURL runs everywhere: a malformed connection string is
// Invalid, before any network traffic.
func TestOpenRejectsBadURL(t *testing.T) {
	if _, err := kurrentdb.Open("http://not-esdb", kurrentdb.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("Open of a malformed url: %v, want Invalid", err)
	}
}

// TestOpenKurrentDBScheme runs everywhere: the kurrentdb:// form of
// KurrentDB's documentation opens like esdb:// (no traffic before the first
// call), and a scheme that only starts like it is still refused.
func TestOpenKurrentDBScheme(t *testing.T) {
	for _, url := range []string{"kurrentdb://127.0.0.1:1?tls=false", "kurrentdb+discover://127.0.0.1:1?tls=false", "esdb://127.0.0.1:1?tls=false"} {
		s, err := kurrentdb.Open(url, kurrentdb.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		s.Close()
	}
	if _, err := kurrentdb.Open("kurrentdbx://127.0.0.1:1", kurrentdb.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("Open of kurrentdbx://: %v, want Invalid", err)
	}
}

// TestUnreachableIsUnavailable runs everywhere: a server that cannot be
// reached is Unavailable (the code a subscription resubscribes on and the
// API answers 503 for), not Internal. The client gives up after its ten
// discovery attempts; the test's deadline only bounds a hang. The client's
// own log lines go to Options.Logger.
func TestUnreachableIsUnavailable(t *testing.T) {
	var logged bytes.Buffer
	s, err := kurrentdb.Open("esdb://127.0.0.1:1?tls=false", kurrentdb.Options{Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := s.Head(ctx); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("Head of an unreachable server: %v, want Unavailable", err)
	}
	if _, err := s.Append(ctx, "customer-1", events.Any, events.Event{ID: events.NewID(), Type: "CustomerRegistered", Schema: 1, OccurredAt: time.Unix(0, 0), Actor: events.System("test"), Data: []byte(`{}`)}); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("Append to an unreachable server: %v, want Unavailable", err)
	}
	// The client's complaints came to the logger, as JSON records.
	if !strings.Contains(logged.String(), `"level":"WARN","msg":"kurrentdb client","detail":"error when reading server features`) {
		t.Fatalf("the client's log lines: %q, want JSON records of Options.Logger", logged.String())
	}
}

// TestOpenHidesPassword runs everywhere: a connection string that does not
// parse is refused without its text, which may hold a password.
func TestOpenHidesPassword(t *testing.T) {
	for _, url := range []string{"esdb://admin:sekrit@[::1?tls=false", "kurrentdb://admin:sekrit@host:notaport", "esdb://admin:sekrit@host:2113?tls=maybe"} {
		_, err := kurrentdb.Open(url, kurrentdb.Options{})
		if events.ErrorCode(err) != events.Invalid || strings.Contains(err.Error(), "sekrit") {
			t.Errorf("Open(%q): %v, want Invalid without the password", url, err)
		}
	}
}

// TestConformanceScript runs ops/conformance.sh, the operator's one
// command: without a cluster it is a usage error (2); on a connection
// string that does not parse, the suite runs and fails (1), and the output
// never shows the password. Passing needs a server (see TestConformance).
func TestConformanceScript(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command for the script: %v", err)
	}
	script := func(args ...string) (int, string) {
		cmd := exec.CommandContext(t.Context(), "bash", append([]string{"../../ops/conformance.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "DANGOL_KURRENTDB_URL=")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("ops/conformance.sh: %v", err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	if code, out := script(); code != 2 || !strings.Contains(out, "--url") {
		t.Fatalf("ops/conformance.sh without a cluster: exit %d, %s", code, out)
	}
	code, out := script("--url", "esdb://admin:sekrit@[::1?tls=false")
	if code != 1 || !strings.Contains(out, "FAILED: the KurrentDB adapter does not conform on esdb://***@[::1") || strings.Contains(out, "sekrit") {
		t.Fatalf("ops/conformance.sh on a bad connection string: exit %d, %s", code, out)
	}
}
