package seglog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/crashtest"
	"github.com/dangol/dangol/events/seglog"
)

// The crash test runs this test binary again as a writer that is killed.
// These variables give the child its part.
const (
	envWriter = "DANGOL_SEGLOG_WRITER" // directory the child appends to until killed
	envOpener = "DANGOL_SEGLOG_OPENER" // directory the child tries to open once
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envWriter) != "":
		writeUntilKilled(os.Getenv(envWriter))
	case os.Getenv(envOpener) != "":
		_, err := seglog.Open(os.Getenv(envOpener), seglog.Options{LockTimeout: 100 * time.Millisecond})
		fmt.Println(err)
	default:
		os.Exit(m.Run())
	}
}

// writeUntilKilled appends from six goroutines, alternately one append of
// four events and AppendBatch calls of three streams' appends of two
// events, and prints "durable <group> <n>" once each returned, where n is
// how many events group holds; every event of a group carries the group as
// its correlation id. Small segments make the child roll them often.
func writeUntilKilled(dir string) {
	s, err := seglog.Open(dir, seglog.Options{LockTimeout: 10 * time.Second, SegmentBytes: 256 << 10})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	acks := make(chan string, 64)
	for w := range 6 {
		go func() {
			for i := 0; ; i++ {
				group := events.NewID().String()
				var n int
				var err error
				if i%2 == 0 {
					n = 4
					_, err = s.Append(context.Background(), fmt.Sprintf("customer-K%d", w), events.Any, crashEvents(group, n)...)
				} else {
					batch := make([]events.StreamAppend, 3)
					for j := range batch {
						batch[j] = events.StreamAppend{Stream: fmt.Sprintf("customer-K%dB%d", w, j), Expected: events.Any, Events: crashEvents(group, 2)}
					}
					n = 6
					_, errs := s.AppendBatch(context.Background(), batch)
					err = firstErr(errs)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				acks <- fmt.Sprintf("durable %s %d", group, n)
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	for a := range acks {
		fmt.Fprintln(out, a)
		out.Flush()
	}
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func crashEvents(group string, n int) []events.Event {
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, CorrelationID: group,
			Actor: events.Actor{ID: "crash"}, Data: json.RawMessage(fmt.Sprintf(`{"summary":"%s"}`, strings.Repeat("y", 300+i)))}
	}
	return evs
}

// TestKill9 kills the writer with SIGKILL at random moments and reopens
// the log after each kill: every group the writer was told is durable is
// there whole, no group is there in part, every hash chain verifies, and
// the reopened store appends where the log ends.
func TestKill9(t *testing.T) {
	rounds, rng := crashtest.Rounds(t, 10)
	dir := t.TempDir()
	durable := map[string]int{} // group → events
	for round := range rounds {
		wait := time.Duration(rng.IntN(300)) * time.Millisecond
		n := killWriter(t, dir, wait, durable)
		t.Logf("round %d: killed %s after its first acknowledgement, %d groups acknowledged", round, wait, n)
		checkReopened(t, dir, durable)
	}
	if len(durable) == 0 {
		t.Fatal("the writer never acknowledged an append; the test proved nothing")
	}
}

// killWriter runs the child for about wait, kills it, and adds the groups
// it acknowledged to durable; it returns how many.
func killWriter(t *testing.T, dir string, wait time.Duration, durable map[string]int) int {
	t.Helper()
	n := 0
	crashtest.KillAfter(t, envWriter+"="+dir, wait, func(l string) {
		var group string
		var k int
		if _, err := fmt.Sscanf(l, "durable %s %d", &group, &k); err == nil {
			durable[group] = k
			n++
		}
	})
	return n
}

func checkReopened(t *testing.T, dir string, durable map[string]int) {
	t.Helper()
	s, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer s.Close()
	found := map[string]int{}
	v := events.NewChainVerifier()
	if err := s.Scan(context.Background(), events.Start, func(e *events.Envelope) error {
		found[e.CorrelationID]++
		return v.Add(e)
	}); err != nil {
		t.Fatalf("the log after the kill: %v", err)
	}
	for group, n := range found {
		if n != 4 && n != 6 && group != "after" {
			t.Fatalf("group %s has %d events after the kill: an append or batch is there in part", group, n)
		}
	}
	for group, n := range durable {
		if found[group] != n {
			t.Fatalf("group %s was acknowledged with %d events; after the kill the log has %d", group, n, found[group])
		}
	}
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(context.Background(), "customer-after", events.Any, crashEvents("after", 1)...)
	if err != nil || res.Position != events.At(h.Seq()+1) {
		t.Fatalf("append after reopening: %+v, %v; want position %d", res, err, h.Seq()+1)
	}
}

// TestLockedByAnotherProcess: a second process opening the directory fails
// at once, naming the directory and the lock.
func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := crashtest.Output(t, envOpener+"="+dir)
	if !strings.Contains(out, "in use by another dangol process") || !strings.Contains(out, dir) {
		t.Fatalf("the second open said %q; want the directory and the lock named", out)
	}
}
