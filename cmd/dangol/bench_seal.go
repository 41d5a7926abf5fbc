package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/ops/bench"
)

// benchSealing measures appends of cfg with the sealer off and on (the
// tree in dir following every event, a seal every `every` events) in
// rounds of two runs on store s, off then on: alternating, so that the
// store growing and the machine's other load weigh on both alike. It
// prints each run, the median of the rounds' on/off throughput ratios and
// the ratio of the totals: the overhead sealing adds to appends.
func benchSealing(ctx context.Context, w io.Writer, s events.Store, dir string, every int64, poll time.Duration, rounds int, cfg bench.AppendConfig) error {
	sealer, tree, err := benchSealer(s, dir, every, poll)
	if err != nil {
		return err
	}
	defer tree.Close()
	fmt.Fprintf(w, "sealing overhead at %d writers, --seal-every %d, --seal-poll %s: %d rounds of a run with the sealer off, then on\n", cfg.Writers, every, poll, rounds)
	var off, on float64
	var ratios []float64
	seals := 0
	for round := range rounds {
		cfg.Prefix = fmt.Sprintf("S%doff", round)
		ro, err := bench.Appends(ctx, s, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  off %s\n", ro)
		cfg.Prefix = fmt.Sprintf("S%don", round)
		r, n, err := appendsSealing(ctx, s, sealer, tree, every, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  on  %s  seals=%d\n", r, n)
		off, on, seals = off+ro.EventsPerSec, on+r.EventsPerSec, seals+n
		ratios = append(ratios, r.EventsPerSec/ro.EventsPerSec)
	}
	slices.Sort(ratios)
	median := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		median = (ratios[len(ratios)/2-1] + median) / 2
	}
	fmt.Fprintf(w, "  sealing on/off throughput: median of the rounds %.3f (overhead %.1f%%), of the totals %.3f (%.1f%%), %d seals; the issue asks < 5%%\n",
		median, 100*(1-median), on/off, 100*(1-on/off), seals)
	return nil
}

// appendsSealing runs the appends with the sealer running, caught up with
// the log beforehand (outside the measurement), and returns how many seals
// the run's events brought: after the appends (again outside the
// measurement) it waits for the sealer to follow them all and seal what
// every calls for, so that the count does not depend on whether the
// sealer kept up by the time the last append returned.
func appendsSealing(ctx context.Context, s events.Store, sealer *seal.Sealer, tree *seal.Tree, every int64, cfg bench.AppendConfig) (bench.AppendReport, int, error) {
	if err := sealer.Check(ctx); err != nil {
		return bench.AppendReport{}, 0, err
	}
	before := sealCount(sealer)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sealer.Run(runCtx) }()
	r, err := bench.Appends(ctx, s, cfg)
	if err == nil {
		err = awaitSeals(ctx, s, sealer, tree, every, done)
	}
	stop()
	if rerr := <-done; err == nil && rerr != nil && runCtx.Err() == nil {
		err = rerr
	}
	return r, sealCount(sealer) - before, err
}

// awaitSeals waits until tree holds the log up to its head and fewer than
// every events are unsealed, or until the sealer's Run ends (its error,
// put back on done) or ctx does. A sealer still behind after
// awaitSealsHang is an error: a failed seal is tried again only when an
// event arrives, and none will.
func awaitSeals(ctx context.Context, s events.Store, sealer *seal.Sealer, tree *seal.Tree, every int64, done chan error) error {
	hang := time.After(awaitSealsHang)
	for {
		head, err := s.Head(ctx)
		if err != nil {
			return err
		}
		unsealed := tree.Size()
		if l := sealer.Status().Latest; l != nil {
			unsealed -= l.TreeSize + 1 // the tree holds the seal once it holds the head
		}
		if tree.Last() == head && unsealed < every {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			done <- err
			return err
		case <-hang:
			return fmt.Errorf("bench: the sealer did not seal the run's events within %s (tree at %d leaves, log head %s)", awaitSealsHang, tree.Size(), head)
		case <-time.After(time.Millisecond):
		}
	}
}

// awaitSealsHang bounds awaitSeals: far longer than a sealer takes to
// follow a run.
const awaitSealsHang = time.Minute

func sealCount(s *seal.Sealer) int {
	if l := s.Status().Latest; l != nil {
		return int(l.Seq) + 1
	}
	return 0
}

// benchSealer returns a sealer over a new tree in dir, which it returns
// too, with a throwaway key.
func benchSealer(s events.Store, dir string, every int64, poll time.Duration) (*seal.Sealer, *seal.Tree, error) {
	tree, err := seal.OpenTree(dir)
	if err != nil {
		return nil, nil, err
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	key, err := seal.NewKey("bench", seed)
	if err != nil {
		tree.Close()
		return nil, nil, err
	}
	sealer, err := seal.NewSealer(seal.Config{Store: s, Tree: tree, Key: key, Every: every, Poll: poll, SyncEvery: treeSyncEvery, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tree.Close()
		return nil, nil, err
	}
	return sealer, tree, nil
}
