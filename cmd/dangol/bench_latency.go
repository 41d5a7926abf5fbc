package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// runBenchLatency builds the read models from the log (in memory, or in
// PostgreSQL's tables with --read-store postgres) and times the queries a
// bank's day repeats: the worklist of the largest book, each report and
// the customer view (of that book's customers in turn), each --runs
// times, as p50/p90/p99/max.
func runBenchLatency(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench latency", "Builds the read models from the log (memory: a replay; postgres: the tables in\n"+
		"--postgres-url caught up with the log) and times the worklist of the largest book, every\n"+
		"report and the customer view --runs times each (p50, p90, p99, max).", stderr)
	var sf storeFlags
	sf.register(fs)
	readStore := fs.String("read-store", "memory", "where the read models are built and queried: memory or postgres (--postgres-url)")
	runs := fs.Int("runs", 200, "times each query is run")
	advisor := fs.String("advisor", "", "the advisor whose worklist is timed (default: the largest book in memory; R000, the first rep, with postgres)")
	var so benchSnapFlags
	so.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *runs < 1 || (*readStore != "memory" && *readStore != "postgres") {
		return fmt.Errorf("bench latency: want --runs ≥ 1 and --read-store memory or postgres")
	}
	if err := so.check(*readStore); err != nil {
		return err
	}
	s, keys, sealer, closeAll, err := openBench(ctx, sf, getenv)
	if err != nil {
		return err
	}
	defer closeAll()
	if so.write != "" {
		return benchWriteSnapshot(ctx, s, keys, sealer.OpenEnvelope, so, stdout)
	}
	start := time.Now()
	var q projections.Queries
	switch {
	case so.from != "":
		var mem *projections.Memory
		mem, err = benchStartFromSnapshot(ctx, s, keys, sealer.OpenEnvelope, so.from, stdout)
		q = mem
		if err == nil && *advisor == "" {
			*advisor, _ = mem.Customers.LargestBook()
		}
	case *readStore == "memory":
		q, err = latencyMemory(ctx, s, sealer.OpenEnvelope, advisor)
	default:
		q, err = latencyPostgres(ctx, sf.postgresURL, s, sealer, advisor)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "read models (%s) caught up with the log in %s\n", *readStore, time.Since(start).Round(time.Millisecond))
	return timeQueries(ctx, q, *advisor, *runs, stdout)
}

// latencyMemory replays the log into the in-memory read models.
func latencyMemory(ctx context.Context, s events.Store, decode projections.Decoder, advisor *string) (projections.Queries, error) {
	mem := projections.NewMemory()
	r := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{})
	mem.Attach(r)
	if err := catchUp(ctx, r.Run, r.CaughtUp()); err != nil {
		return nil, err
	}
	if *advisor == "" {
		*advisor, _ = mem.Customers.LargestBook()
	}
	return mem, nil
}

// latencyPostgres brings the read-model tables up to the log's head, as
// the writer of `dangol serve --read-store postgres` does (without a search
// index: the customer search is not timed).
func latencyPostgres(ctx context.Context, url string, s events.Store, sealer *pii.Sealer, advisor *string) (projections.Queries, error) {
	rm, err := rmpg.Open(ctx, url, rmpg.Options{Logger: slog.New(slog.DiscardHandler), Cipher: rowCipher(sealer)})
	if err != nil {
		return nil, err
	}
	if err := catchUp(ctx, func(ctx context.Context) error { return rm.Run(ctx, rmpg.Log{Source: s, Decode: sealer.OpenEnvelope}) }, rm.CaughtUp()); err != nil {
		rm.Close()
		return nil, err
	}
	if *advisor == "" {
		*advisor = "R000"
	}
	return rm, nil
}

// catchUp runs run until caughtUp is closed, then stops it; an error of
// run before then is returned.
func catchUp(ctx context.Context, run func(context.Context) error, caughtUp <-chan struct{}) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(rctx) }()
	select {
	case <-caughtUp:
		cancel()
		<-done
		return nil
	case err := <-done:
		return err
	}
}

// timeQueries runs each query runs times and prints its quantiles.
func timeQueries(ctx context.Context, q projections.Queries, advisor string, runs int, stdout io.Writer) error {
	now := time.Now()
	var book []projections.WorkItem
	queries := []struct {
		name string
		run  func(i int) error
	}{{"worklist", func(int) error {
		var err error
		book, err = q.Worklist(ctx, advisor, now, projections.WorklistOptions{})
		return err
	}}}
	for _, name := range projections.ReportNames {
		queries = append(queries, struct {
			name string
			run  func(i int) error
		}{"report " + name, func(int) error { _, err := q.Report(ctx, name, now); return err }})
	}
	queries = append(queries, struct {
		name string
		run  func(i int) error
	}{"customer view", func(i int) error { // the customers of the book, in turn
		if len(book) == 0 {
			return fmt.Errorf("advisor %s has no customers", advisor)
		}
		_, err := q.Customer(ctx, book[i%len(book)].CustomerID, now)
		return err
	}})
	for _, qu := range queries {
		ds := make([]time.Duration, runs)
		for i := range runs {
			t0 := time.Now()
			if err := qu.run(i); err != nil {
				return fmt.Errorf("%s: %w", qu.name, err)
			}
			ds[i] = time.Since(t0)
		}
		slices.Sort(ds)
		q := func(f float64) time.Duration {
			return ds[min(len(ds)-1, int(float64(len(ds))*f))].Round(time.Microsecond)
		}
		fmt.Fprintf(stdout, "%-26s %d runs: p50=%s p90=%s p99=%s max=%s\n", qu.name, runs, q(0.5), q(0.9), q(0.99), ds[len(ds)-1].Round(time.Microsecond))
	}
	fmt.Fprintf(stdout, "the worklist is advisor %s's: %d customers\n", advisor, len(book))
	return nil
}
