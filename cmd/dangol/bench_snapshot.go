package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// benchSnapFlags are bench latency's two snapshot modes, each one process:
// --write-snapshot replays the log, writes a read-model snapshot and
// exits; --snapshot starts, as a fresh `dangol serve` would, from the
// newest snapshot in a directory plus the log's tail after it, then times
// the queries. One copy of the read models in memory at a time.
type benchSnapFlags struct {
	write, from string
	at          uint64
}

func (so *benchSnapFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&so.write, "write-snapshot", "", "replay the log into memory, write a read-model snapshot into this directory and exit (no query is timed)")
	fs.Uint64Var(&so.at, "snapshot-at-events", 0, "with --write-snapshot: write it after the first batch that brings the replay to this many events, then replay to the head, so a start from it has a tail (0: at the head)")
	fs.StringVar(&so.from, "snapshot", "", "start from the newest usable snapshot in this directory plus the log's tail after it (time to ready, heap), then time the queries")
}

func (so benchSnapFlags) check(readStore string) error {
	switch {
	case so.write == "" && so.from == "" && so.at == 0:
		return nil
	case so.write != "" && so.from != "":
		return errors.New("bench latency: --write-snapshot and --snapshot are two runs (write, then start from it in a fresh process), not one")
	case so.at > 0 && so.write == "":
		return errors.New("bench latency: --snapshot-at-events needs --write-snapshot")
	case readStore != "memory":
		return errors.New("bench latency: --write-snapshot and --snapshot are for the in-memory read models (--read-store memory); the PostgreSQL read store keeps its own")
	}
	return nil
}

// benchWriteSnapshot replays the log into memory and writes a snapshot
// into so.write: at the head, or after the batch that reaches so.at
// events (the replay then goes on to the head, for the figures).
func benchWriteSnapshot(ctx context.Context, s events.Store, keys projections.SnapshotKeys, decode projections.Decoder, so benchSnapFlags, stdout io.Writer) error {
	sd := &projections.SnapshotDir{Dir: so.write, Keys: keys}
	base := liveHeap()
	mem := projections.NewMemory()
	var (
		at, written           projections.SnapshotInfo
		folded, foldedAtWrite uint64
		path                  string
		wrote, wroteCPU       time.Duration
		werr                  error
	)
	write := func(info projections.SnapshotInfo) {
		t0, cpu0 := time.Now(), cpuTime()
		path, werr = sd.Write(info, mem.Projections(), false)
		wrote, wroteCPU, written, foldedAtWrite = time.Since(t0), cpuTime()-cpu0, info, folded
	}
	r := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{
		AfterBatch: func(prev events.Position, batch []projections.Event, view func(func())) {
			at = batchEnd(prev, batch)
			folded += uint64(len(batch))
			if so.at > 0 && folded >= so.at && path == "" && werr == nil {
				view(func() { write(at) })
			}
		}})
	mem.Attach(r)
	start, cpu0 := time.Now(), cpuTime()
	if err := catchUp(ctx, r.Run, r.CaughtUp()); err != nil {
		return err
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	if at.Position.IsZero() {
		return errors.New("bench latency --write-snapshot: the log is empty")
	}
	if werr != nil {
		return werr
	}
	if path == "" {
		write(at)
		if werr != nil {
			return werr
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	n := max(mem.Customers.Len(), 1)
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(stdout, "replayed %d events in %s (CPU %s); %d customers; heap %s\n", folded, ms(el), ms(cpu), mem.Customers.Len(), heapLine(n, base))
	runtime.KeepAlive(mem) // live through heapLine's collection: mem was dead by then, and its heap was not counted
	fmt.Fprintf(stdout, "snapshot at %s (%d events before the head): written in %s (CPU %s), %d bytes (%.0f bytes/customer), %s\n",
		written.Position, folded-foldedAtWrite, ms(wrote), ms(wroteCPU), st.Size(), float64(st.Size())/float64(n), path)
	return nil
}

// benchStartFromSnapshot is a start from the newest usable snapshot in
// dir: its load and check, then the runner's replay of the log's tail
// after it, until caught up. A directory without a usable snapshot is an
// error (a bench of the start from one would otherwise time a full replay).
func benchStartFromSnapshot(ctx context.Context, s events.Store, keys projections.SnapshotKeys, decode projections.Decoder, dir string, stdout io.Writer) (*projections.Memory, error) {
	sd := &projections.SnapshotDir{Dir: dir, Keys: keys}
	base := liveHeap()
	t0, cpu0 := time.Now(), cpuTime()
	var mem *projections.Memory
	_, info, ok := sd.Load(ctx, s, func() []projections.Projection { mem = projections.NewMemory(); return mem.Projections() })
	if !ok {
		return nil, fmt.Errorf("bench latency --snapshot: no usable read-model snapshot in %s (bench latency --write-snapshot %s writes one)", dir, dir)
	}
	loaded, loadCPU := time.Since(t0), cpuTime()-cpu0
	tail := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{From: info.Position})
	mem.Attach(tail)
	if err := catchUp(ctx, tail.Run, tail.CaughtUp()); err != nil {
		return nil, err
	}
	ready, readyCPU := time.Since(t0), cpuTime()-cpu0
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(stdout, "started from the snapshot at %s: loaded and checked in %s (CPU %s), tail of %d events folded, ready in %s (CPU %s); %d customers; heap %s\n",
		info.Position, ms(loaded), ms(loadCPU), tail.Applied(), ms(ready), ms(readyCPU), mem.Customers.Len(), heapLine(max(mem.Customers.Len(), 1), base))
	return mem, nil
}

// liveHeap is the heap live after a collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// heapLine is the live heap after a collection, the read models' part of
// it per customer (its growth since base: the log's and key store's own
// state, open before, is not theirs), and the process's peak RSS so far.
func heapLine(customers int, base uint64) string {
	h := liveHeap()
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return fmt.Sprintf("%d bytes after GC, %d before the read models (%.0f bytes/customer theirs), peak RSS %d bytes",
		h, base, float64(h-min(h, base))/float64(customers), u.Maxrss*1024)
}
