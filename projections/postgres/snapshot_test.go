package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// syncBuffer is a log sink the test reads while a writer logs to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestWriterResumesFromSnapshot: the writer stores a snapshot of its folds;
// a newly elected writer restores it and replays only the log after it
// (the tail, written after the first writer stopped), answering like a
// full replay; a damaged snapshot is refused with a log line and the next
// writer replays the whole log, answering the same.
func TestWriterResumesFromSnapshot(t *testing.T) {
	s := logStore(t, 80)
	url := pgtest.Database(t)
	keys := projectionstest.SnapshotKeys(t)
	first := openStore(t, url, postgres.Options{SnapshotEvery: 50, SnapshotKeys: keys})
	stop := run(t, first, s)
	waitHead(t, first, s)
	c := connect(t, url)
	// The snapshot follows the commit that waitHead saw.
	eventually(t, "the writer's snapshot", func() bool {
		var n int
		return c.QueryRow(context.Background(), "SELECT count(*) FROM rm_snapshot").Scan(&n) == nil && n == 1
	})
	stop()
	appendData(t, s, events.CustomerStream("C0000011"), &events.ProfileVerified{Channel: "branch"})
	appendData(t, s, events.CustomerStream("C0000012"), &events.ProfileVerified{Channel: "branch"})

	resume := func(want string) {
		t.Helper()
		var logs syncBuffer
		st := openStore(t, url, postgres.Options{SnapshotEvery: -1, SnapshotKeys: keys, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		stop := run(t, st, s)
		// The tables are at the head already: wait for this writer's catch-up.
		if err := st.WaitReactorsIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitHead(t, st, s)
		sameAnswers(t, render(t, memory(t, s), logIDs(t, s), seedEnd), render(t, st, logIDs(t, s), seedEnd))
		stop()
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("the writer's log lacks %q:\n%s", want, logs.String())
		}
	}
	resume("restored its folds from a snapshot")
	exec(t, c, "UPDATE rm_snapshot_chunks SET data = overlay(data placing '\\xff'::bytea from length(data) / 2 for 1) WHERE seq = 0")
	resume("read-model snapshot refused; replaying the whole log")
}
