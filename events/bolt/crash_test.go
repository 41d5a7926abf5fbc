package bolt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/internal/crashtest"
)

// The crash test re-executes this test binary as a child that appends
// until it is killed. These variables switch the child's role.
const (
	envCrashChild = "DANGOL_BOLT_CRASH_CHILD" // path of the store the child appends to
	envLockChild  = "DANGOL_BOLT_LOCK_CHILD"  // path of the store the child tries to open
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envCrashChild); path != "" {
		crashChild(path)
		return
	}
	if path := os.Getenv(envLockChild); path != "" {
		_, err := bolt.Open(path, bolt.Options{LockTimeout: 200 * time.Millisecond})
		fmt.Println(err)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends batches of 3 events sharing a correlation id from
// several goroutines, printing "ack <id> <id> <id>" after each append
// returned, until it is killed.
func crashChild(path string) {
	s, err := bolt.Open(path, bolt.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			stream := fmt.Sprintf("customer-W%d", w)
			for {
				corr := events.NewID().String()
				evs := make([]events.Event, 3)
				ids := make([]string, 3)
				for i := range evs {
					evs[i] = events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, CorrelationID: corr,
						Actor: events.Actor{ID: "crash"}, Data: json.RawMessage(`{"summary":"` + strings.Repeat("x", 400) + `"}`)}
					ids[i] = evs[i].ID.String()
				}
				if _, err := s.Append(context.Background(), stream, events.Any, evs...); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintln(out, "ack", corr, strings.Join(ids, " "))
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashSafety kills a child appending to the store with SIGKILL at
// random moments, reopens the file each time and checks that every
// acknowledged event is there, every chain verifies, and no append is
// partial (each correlation id has 0 or 3 events).
func TestCrashSafety(t *testing.T) {
	rounds, rng := crashtest.Rounds(t, 12)
	path := filepath.Join(t.TempDir(), "events.db")
	acked := map[string][]string{} // correlation id → event ids
	for round := range rounds {
		wait := time.Duration(50+rng.IntN(400)) * time.Millisecond
		n := 0
		crashtest.KillAfter(t, envCrashChild+"="+path, wait, func(l string) {
			if f := strings.Fields(l); len(f) == 5 && f[0] == "ack" {
				acked[f[1]] = f[2:]
				n++
			}
		})
		t.Logf("round %d: killed %s after its first acknowledgement, %d appends acknowledged", round, wait, n)
		checkAfterCrash(t, path, acked)
	}
	if len(acked) == 0 {
		t.Fatal("no append was ever acknowledged; the test proved nothing")
	}
}

func checkAfterCrash(t *testing.T, path string, acked map[string][]string) {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ids := map[string]bool{}
	byCorr := map[string]int{}
	v := events.NewChainVerifier()
	err = s.Scan(context.Background(), events.Start, func(e *events.Envelope) error {
		ids[e.ID.String()] = true
		byCorr[e.CorrelationID]++
		return v.Add(e)
	})
	if err != nil {
		t.Fatalf("chain after kill: %v", err)
	}
	for corr, n := range byCorr {
		if n != 3 {
			t.Fatalf("append %s is partial: %d of 3 events", corr, n)
		}
	}
	for corr, evs := range acked {
		for _, id := range evs {
			if !ids[id] {
				t.Fatalf("acknowledged event %s (append %s) is missing after kill", id, corr)
			}
		}
	}
}

// TestLockedByAnotherProcess opens the store, then has a child process try
// to open the same file: it must fail fast with a message that says why.
func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := crashtest.Output(t, envLockChild+"="+path)
	if !strings.Contains(out, "in use by another dangol process") || !strings.Contains(out, path) {
		t.Fatalf("second open said %q; want a message naming the file and the lock", out)
	}
}
