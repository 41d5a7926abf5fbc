package kurrentdb

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestConcurrentCallsOnUnreachableEnd runs everywhere: calls made at once
// while the client's discovery of an unreachable node fails all come back
// Unavailable, and Close returns. The v4 client serves one caller the
// discovery's failure and stops; the others, queued on its connection
// channel, used to wait forever (a subscription's among them, so Close,
// which waits for subscriptions, hung too: ops/conformance.sh with no
// server ran into go test's ten-minute timeout). The deadline only bounds
// that hang.
func TestConcurrentCallsOnUnreachableEnd(t *testing.T) {
	s, err := Open("esdb://127.0.0.1:1?tls=false", Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(t.Context(), events.Start)
	if err != nil {
		t.Fatal(err)
	}
	const callers = 8
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := s.Head(t.Context())
			errs <- err
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		sub.Close()
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		t.Fatalf("%d of %d calls came back; the rest (or Close) still wait for a client that gave up", len(errs), callers)
	}
	close(errs)
	for err := range errs {
		if events.ErrorCode(err) != events.Unavailable {
			t.Errorf("Head of an unreachable node: %v, want Unavailable", err)
		}
	}
}

// TestRediscoversAfterFailure runs everywhere: once a discovery failed, the
// next call discovers again, so the store comes back with the cluster. The
// v4 client gives up for good after its discovery attempts and answers
// every later call "connection closed" without trying: a node down for a
// few seconds left dangol serve unable to reach it until restarted.
func TestRediscoversAfterFailure(t *testing.T) {
	// The client logs each discovery before it answers the call that
	// asked for it: read once both calls came back, the buffer needs no lock.
	var logged bytes.Buffer
	s, err := Open("esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=2&discoveryInterval=10", Options{Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		if _, err := s.Head(t.Context()); events.ErrorCode(err) != events.Unavailable {
			t.Fatalf("Head %d of an unreachable node: %v, want Unavailable", i, err)
		}
	}
	if n := strings.Count(logged.String(), "discovery attempt 1/2"); n != 2 {
		t.Fatalf("%d discoveries for two calls after a failure, want 2; the client's log:\n%s", n, logged.String())
	}
}

// TestConformanceScriptUnreachable runs ops/conformance.sh on a node that
// does not answer: it fails (1) saying the cluster cannot be reached and
// that nothing was tested, not that the adapter does not conform, and
// without the client's discovery chatter (it printed every case failing,
// each after ten logged discovery attempts, and ended in go test's
// timeout).
func TestConformanceScriptUnreachable(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go command for the script: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "bash", "../../ops/conformance.sh", "--url", "esdb://admin:sekrit@127.0.0.1:1?tls=false")
	cmd.Env = append(os.Environ(), "DANGOL_KURRENTDB_URL=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("ops/conformance.sh: %v", err)
	}
	text := string(out)
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(text, "FAILED: cannot reach a KurrentDB node at esdb://***@127.0.0.1:1") ||
		!strings.Contains(text, "nothing was tested") || strings.Contains(text, "does not conform") || strings.Contains(text, "sekrit") {
		t.Fatalf("ops/conformance.sh on an unreachable node: exit %d:\n%s", code, text)
	}
	if n := strings.Count(text, "discovery attempt 1/"); n > 0 {
		t.Fatalf("the output carries %d lines of the client's discovery:\n%s", n, text)
	}
}
