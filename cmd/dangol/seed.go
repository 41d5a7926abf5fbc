package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
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
	workers := fs.Int("workers", 512, "customers generated at once (each new customer's data key waits for keys.db's batched commit, so many)")
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
	prog := newProgress(stderr, *n, start)
	cfg := seed.Config{Customers: *n, Seed: *sd, Months: *months, Workers: *workers,
		Seal:     func(id string) func(events.Personal) error { return sealer.SealFor(ctx, id) },
		Progress: prog.report}
	st, err := seed.Generate(ctx, cfg, s)
	prog.end()
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

// progress reports how many customers are seeded. On a terminal it rewrites
// one line in place (\r); anywhere else (a file, a pipe, CI's log) every
// report is a line of its own, since a file would otherwise get one
// endless line of carriage returns. Reports come from the generator's
// workers concurrently.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	total   int
	start   time.Time
	since   func(time.Time) time.Duration // time.Since; tests pin it
	pending bool                          // a \r line is open and needs its newline
}

func newProgress(w io.Writer, total int, start time.Time) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total, start: start, since: time.Since}
}

// isTerminal reports whether w is a character device (a terminal; also
// /dev/null, where carriage returns do no harm).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// report prints that done customers are seeded.
func (p *progress) report(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("%d/%d customers, %s", done, p.total, p.since(p.start).Round(time.Second))
	if p.tty {
		fmt.Fprint(p.w, "\r"+line)
		p.pending = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// end closes the line a terminal report left open.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprintln(p.w)
		p.pending = false
	}
}
