package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// runBenchReplay rebuilds every read model from an existing store, as
// `dangol serve` does at start, and reports the rate and the heap the
// customer view takes per customer.
func runBenchReplay(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench replay", "Rebuilds every read model in memory from the log under --data (decrypting personal\n"+
		"fields), and reports events/s, heap per customer and query latencies.", stderr)
	var sf storeFlags
	sf.register(fs)
	plain := fs.Bool("no-decrypt", false, "decode without opening personal fields")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the replay to <this>-replay.pprof (go tool pprof)")
	var gc catchUpGC // as serve sets it while it catches up
	gc.register(fs)
	snap := fs.Bool("snapshot", false, "then write a read-model snapshot of the replayed models to a temporary directory and time a start from it (load + tail), beside the full replay")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	s, keys, sealer, closeAll, err := openBench(ctx, sf, getenv)
	if err != nil {
		return err
	}
	defer closeAll()
	decode, prefetch := sealer.OpenEnvelope, sealer.PrefetchKeys
	if *plain {
		decode = func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
		prefetch = nil
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mem := projections.NewMemory()
	mem.Expect(projections.StreamsIn(s)) // as serve does before a replay from the start
	var at projections.SnapshotInfo      // where the replay ended, for --snapshot
	r := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{Prefetch: prefetch,
		AfterBatch: func(prev events.Position, batch []projections.Event, _ func(func())) {
			at = batchEnd(prev, batch)
		}})
	mem.Attach(r)
	stopProfile, err := startProfile(*cpuProfile, "replay")
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	raised := startCatchUpGC(gc, slog.New(slog.DiscardHandler))
	start, cpu0 := time.Now(), cpuTime()
	go func() { done <- r.Run(rctx) }()
	select {
	case <-r.CaughtUp():
	case err := <-done:
		raised.end()
		cancel()
		stopProfile()
		return err
	}
	el, replayCPU := time.Since(start), cpuTime()-cpu0
	raised.end()
	stopProfile()
	var replayed runtime.MemStats // what the replay allocated: load-independent, unlike its time
	runtime.ReadMemStats(&replayed)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := mem.Customers.Len()
	if path := getenv("DANGOL_HEAP_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	fmt.Fprintf(stdout, "replayed %d events in %s (CPU %s): %.0f events/s (%d CPUs); %d customers, heap of all read models %.0f bytes/customer\n",
		r.Applied(), el.Round(time.Millisecond), replayCPU.Round(time.Millisecond), float64(r.Applied())/el.Seconds(), runtime.NumCPU(), n,
		float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))/float64(max(n, 1)))
	thp := hugePages()
	if thp == "" {
		thp = "unknown (" + thpSetting + " not readable)"
	}
	fmt.Fprintf(stdout, "transparent huge pages: %s (the kernel's mode for the heap; docs/replay.md)\n", thp)
	fmt.Fprintf(stdout, "replay allocated %.0f bytes/event (%d collections, %.1f%% of the CPU time in the collector by the runtime's estimate)\n",
		float64(replayed.TotalAlloc-before.TotalAlloc)/float64(max(r.Applied(), 1)), replayed.NumGC-before.NumGC, 100*replayed.GCCPUFraction)
	if *snap {
		raised := startCatchUpGC(gc, slog.New(slog.DiscardHandler)) // a start from a snapshot catches up too
		err := benchRestart(ctx, s, keys, decode, mem, at, [2]time.Duration{el, replayCPU}, stdout)
		raised.end()
		if err != nil {
			return err
		}
	}
	now := time.Now()
	t0 := time.Now()
	const lookups = 100000
	for i := range lookups {
		_, _ = mem.Customer(ctx, fmt.Sprintf("C%07d", i%n+1), now)
	}
	fmt.Fprintf(stdout, "customer view lookup: %s each\n", time.Since(t0)/lookups)
	// The largest book: the first potential VIP's advisor was often none
	// ("worklist of advisor  (0 customers)").
	if advisor, size := mem.Customers.LargestBook(); size > 0 {
		t0 = time.Now()
		items, _ := mem.Worklist(ctx, advisor, now, projections.WorklistOptions{})
		fmt.Fprintf(stdout, "worklist of advisor %s, the largest book (%d customers): %s\n", advisor, len(items), time.Since(t0))
	}
	for _, name := range projections.ReportNames {
		t0 = time.Now()
		if _, err := mem.Report(ctx, name, now); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report %-14s %s\n", name, time.Since(t0).Round(time.Microsecond))
	}
	return nil
}

// benchRestart writes a snapshot of mem (folded up to at, the log's head,
// which took replay) and times a start from it: the snapshot's load and
// check, and the runner's replay of the tail after it (none here).
func benchRestart(ctx context.Context, s events.Store, keys projections.SnapshotKeys, decode projections.Decoder, mem *projections.Memory, at projections.SnapshotInfo,
	replay [2]time.Duration, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "dangol-snapshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sd := &projections.SnapshotDir{Dir: dir, Keys: keys}
	if at.Position.IsZero() {
		return fmt.Errorf("bench replay --snapshot: the log is empty")
	}
	t0, cpu0 := time.Now(), cpuTime()
	path, err := sd.Write(at, mem.Projections(), false)
	if err != nil {
		return err
	}
	wrote, wroteCPU := time.Since(t0), cpuTime()-cpu0
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0, cpu0 = time.Now(), cpuTime()
	var restored *projections.Memory
	_, info, ok := sd.Load(ctx, s, func() []projections.Projection { restored = projections.NewMemory(); return restored.Projections() })
	if !ok {
		return fmt.Errorf("bench restart: the snapshot just written was refused")
	}
	tail := projections.NewRunner(s, decode, restored.Projections(), nil, projections.RunnerOptions{From: info.Position})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tail.Run(rctx) }()
	<-tail.CaughtUp()
	start, startCPU := time.Since(t0), cpuTime()-cpu0
	cancel()
	if err := <-done; err != nil {
		return err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := max(restored.Customers.Len(), 1)
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(stdout, "snapshot at %s: written in %s (CPU %s), %d bytes (%.0f bytes/customer)\n", info.Position, ms(wrote), ms(wroteCPU), st.Size(),
		float64(st.Size())/float64(n))
	fmt.Fprintf(stdout, "start from the snapshot (load, check, tail of %d events): %s (CPU %s); full replay: %s (CPU %s); %.1fx by wall, %.1fx by CPU; heap after the restore %.0f bytes/customer\n",
		tail.Applied(), ms(start), ms(startCPU), ms(replay[0]), ms(replay[1]), replay[0].Seconds()/start.Seconds(), replay[1].Seconds()/startCPU.Seconds(),
		float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))/float64(n))
	return nil
}
