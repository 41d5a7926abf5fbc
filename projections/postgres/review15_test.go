package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// TestReviewErasureShredsSnapshotWhenNoneStored: a writer that stores no
// snapshots (SnapshotEvery < 0) still finds the one an earlier writer
// stored, which holds every customer's data sealed under a live key. An
// erasure destroys that key and removes the rows, as a writer storing
// snapshots replaces them: the erased customer's data in old row versions,
// WAL and backups no longer opens.
func TestReviewErasureShredsSnapshotWhenNoneStored(t *testing.T) {
	s := logStore(t, 40)
	url := pgtest.Database(t)
	keys := projectionstest.SnapshotKeys(t)
	stop := run(t, openStore(t, url, postgres.Options{SnapshotEvery: 10, SnapshotKeys: keys}), s)
	c := connect(t, url)
	_, h := storedSnapshot(t, c, "")
	stop()

	st := openStore(t, url, postgres.Options{SnapshotEvery: -1, SnapshotKeys: keys})
	stop = run(t, st, s)
	appendData(t, s, events.CustomerStream("C0000012"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	waitHead(t, st, s)
	// The checkpoint reaching the head does not say the batch's AfterBatch
	// has run, nor will it once Run returns: a stop that lands while the
	// checkpoint's commit is in flight (committed on the server, its NOTIFY
	// already seen) fails that commit on the client and skips AfterBatch; the
	// next writer meets the erasure again in the tail after its restore. So
	// the test waits for the rows to go (the key is destroyed first, in the
	// same transaction) before it stops the writer.
	snapshotRows := func() int {
		var n int
		if err := c.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM rm_snapshot) + (SELECT count(*) FROM rm_snapshot_chunks)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	eventually(t, "the stored snapshot removed after the erasure", func() bool { return snapshotRows() == 0 })
	stop()
	if _, err := keys.DataKey(context.Background(), h.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the stored snapshot's key after the erasure: %v, want it destroyed", err)
	}
	if n := snapshotRows(); n != 0 {
		t.Fatalf("%d snapshot rows left after the writer stopped, want none", n)
	}
}

// TestErasureInTheReplayedTailShredsSnapshot: an erasure the next writer
// meets in the tail it replays after restoring the stored snapshot (the
// case of a writer stopped between the erasure's checkpoint and its
// AfterBatch) shreds that snapshot: removed by a writer storing none,
// replaced by one storing them.
func TestErasureInTheReplayedTailShredsSnapshot(t *testing.T) {
	for _, every := range []int{-1, 1_000_000} {
		s := logStore(t, 40)
		url := pgtest.Database(t)
		keys := projectionstest.SnapshotKeys(t)
		stop := run(t, openStore(t, url, postgres.Options{SnapshotEvery: 10, SnapshotKeys: keys}), s)
		c := connect(t, url)
		_, h := storedSnapshot(t, c, "")
		stop()
		appendData(t, s, events.CustomerStream("C0000012"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})

		stop = run(t, openStore(t, url, postgres.Options{SnapshotEvery: every, SnapshotKeys: keys}), s)
		if every < 0 {
			eventually(t, "the stored snapshot removed", func() bool {
				var n int
				return c.QueryRow(context.Background(), "SELECT count(*) FROM rm_snapshot_chunks").Scan(&n) == nil && n == 0
			})
		} else {
			storedSnapshot(t, c, h.Key) // replaced
		}
		stop()
		if _, err := keys.DataKey(context.Background(), h.Key, false); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("SnapshotEvery %d: the restored snapshot's key after an erasure in the replayed tail: %v, want it destroyed", every, err)
		}
	}
}
