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
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	s, err := openEventStore(ctx, sf, true)
	if err != nil {
		return err
	}
	defer s.Close()
	keys, sealer, err := openKeys(ctx, sf, s, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer keys.Close()
	decode := sealer.OpenEnvelope
	if *plain {
		decode = func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mem := projections.NewMemory()
	r := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{})
	mem.Attach(r)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Run(rctx) }()
	select {
	case <-r.CaughtUp():
	case err := <-done:
		cancel()
		return err
	}
	el := time.Since(start)
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
	fmt.Fprintf(stdout, "replayed %d events in %s: %.0f events/s (%d CPUs); %d customers, heap of all read models %.0f bytes/customer\n",
		r.Applied(), el.Round(time.Millisecond), float64(r.Applied())/el.Seconds(), runtime.NumCPU(), n,
		float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc))/float64(max(n, 1)))
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
