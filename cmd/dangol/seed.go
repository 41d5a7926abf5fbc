package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/seed"
)

func runSeed(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "Generates a deterministic synthetic bank (branches, reps with ≈600 potential VIPs each,\n"+
		"PBs with the VIPs, general customers, monthly financials where the top 7% hold ≈90% of\n"+
		"profit, contacts, pitches, life events, calls, reviews and coaching) and appends it\n"+
		"through the store. Personal fields are sealed as the API seals them.", stderr)
	var sf storeFlags
	sf.register(fs)
	n := fs.Int("customers", 10000, "customers to generate (1,000 to 4,000,000)")
	sd := fs.Uint64("seed", 1, "generator seed: the same seed and size give the same bank")
	months := fs.Int("months", 3, "months of financials and activity")
	workers := fs.Int("workers", 16, "concurrent appenders")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	s, err := openEventStore(ctx, sf, false)
	if err != nil {
		return err
	}
	defer s.Close()
	keys, sealer, err := openKeys(ctx, sf, s, getenv, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer keys.Close()
	start := time.Now()
	cfg := seed.Config{Customers: *n, Seed: *sd, Months: *months, Workers: *workers,
		Seal: func(id string) func(events.Personal) error { return sealer.SealFor(ctx, id) },
		Progress: func(done int) {
			fmt.Fprintf(stderr, "\r%d/%d customers, %s", done, *n, time.Since(start).Round(time.Second))
		}}
	st, err := seed.Generate(ctx, cfg, s)
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	el := time.Since(start)
	used := usedBytes(s)
	fmt.Fprintf(stdout, "seeded %d customers: %d events in %d streams in %s (%.0f events/s); %d reps, %d private bankers; %.0f bytes/event on disk\n",
		*n, st.Events, st.Streams, el.Round(time.Millisecond), float64(st.Events)/el.Seconds(), st.Reps, st.PrivateBankers,
		float64(used)/float64(max(1, st.Events)))
	return nil
}
