package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seglog"
)

// runMigrateStore moves a data dir's log from the bbolt file of earlier
// releases (events.db) into the segment log (<data>/log/), event for
// event: same positions, versions, recordedAt and hashes, so every chain,
// export manifest and seal stays valid.
func runMigrateStore(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-store", "Moves the embedded log of --data from the bbolt file of earlier releases\n"+
		"(events.db) into the segment log (<data>/log/), every event as it is (positions,\n"+
		"recordedAt and hashes unchanged), checking each hash on the way. events.db is kept\n"+
		"as events.db.migrated; delete it once the server runs on the new log. Stop the\n"+
		"server first (both stores are opened exclusively). An interrupted run leaves\n"+
		"events.db in place and is simply run again.", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if sf.backend != "embedded" && sf.backend != "" {
		return fmt.Errorf("migrate-store moves the embedded log; --store %s has none", sf.backend)
	}
	src, dst := sf.eventsPath(), segLogDir(sf)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no bbolt log at %s to move (is --data right?): %w", src, err)
	}
	if _, err := os.Stat(dst); err == nil {
		// A run that stopped between its two renames left the whole copy
		// in place: finish it if the copy ends where the bbolt log ends.
		head, same, err := sameEnd(ctx, src, dst)
		if err != nil || !same {
			return errors.Join(fmt.Errorf("%s already exists: the data dir has a segment log; move or remove one of the two first", dst), err)
		}
		if err := os.Rename(src, src+".migrated"); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s already held the log of %s (head %s), moved by a run that stopped before setting the bbolt file aside; it is kept as %s.migrated\n",
			dst, src, head, src)
		return nil
	}
	start := time.Now()
	n, head, err := copyLog(ctx, src, dst+".migrating")
	if err != nil {
		return fmt.Errorf("migrate-store: %w (events.db is unchanged)", err)
	}
	if err := os.Rename(dst+".migrating", dst); err != nil {
		return err
	}
	if err := pii.SyncDir(sf.data); err != nil { // log/ durable before events.db goes aside: never neither after a crash
		return err
	}
	if err := os.Rename(src, src+".migrated"); err != nil {
		return err
	}
	if err := pii.SyncDir(sf.data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "moved %d events (head %s) from %s to %s in %s; the bbolt file is kept as %s.migrated\n",
		n, head, src, dst, time.Since(start).Round(time.Millisecond), src)
	return nil
}

// sameEnd reports whether the bbolt log at src and the segment log at dir
// end at the same position with the same event (its hash, which chains
// every event before it).
func sameEnd(ctx context.Context, src, dir string) (events.Position, bool, error) {
	from, err := bolt.Open(src, bolt.Options{})
	if err != nil {
		return events.Start, false, err
	}
	defer from.Close()
	to, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		return events.Start, false, err
	}
	defer to.Close()
	var last [2][]events.Envelope
	var head events.Position
	for i, s := range []interface {
		Head(context.Context) (events.Position, error)
		ReadAll(context.Context, events.Position, int) ([]events.Envelope, error)
	}{from, to} {
		h, err := s.Head(ctx)
		if err != nil {
			return events.Start, false, err
		}
		if i == 1 && h != head {
			return head, false, nil
		}
		head = h
		if h.Seq() > 0 {
			if last[i], err = s.ReadAll(ctx, events.At(h.Seq()-1), 1); err != nil {
				return events.Start, false, err
			}
		}
	}
	return head, len(last[0]) == len(last[1]) && (len(last[0]) == 0 || last[0][0].Hash == last[1][0].Hash), nil
}

// copyLog restores every event of the bbolt log at src into a new segment
// log at dir (replacing what an interrupted run left there) and returns
// how many there were and the head both logs then have.
func copyLog(ctx context.Context, src, dir string) (uint64, events.Position, error) {
	if err := os.RemoveAll(dir); err != nil {
		return 0, events.Start, err
	}
	from, err := bolt.Open(src, bolt.Options{})
	if err != nil {
		return 0, events.Start, err
	}
	defer from.Close()
	to, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		return 0, events.Start, err
	}
	defer to.Close()
	var n uint64
	batch := make([]events.Envelope, 0, 4096)
	flush := func() error {
		err := to.Restore(ctx, batch)
		n += uint64(len(batch))
		batch = batch[:0]
		return err
	}
	err = from.Scan(ctx, events.Start, func(e *events.Envelope) error {
		if batch = append(batch, *e); len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, events.Start, err
	}
	want, err := from.Head(ctx)
	if err != nil {
		return n, events.Start, err
	}
	if got, err := to.Head(ctx); err != nil || got != want {
		return n, got, errors.Join(err, fmt.Errorf("the segment log ends at %s, the bbolt log at %s", got, want))
	}
	return n, want, to.Close()
}
