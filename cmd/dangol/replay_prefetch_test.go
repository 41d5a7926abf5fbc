package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// TestReplayPrefetchSameModels: on a seeded bank, a replay whose decoding
// workers prefetch each batch's data keys (bench replay's and, once wired,
// serve's) folds read models identical, byte for byte in a snapshot, to a
// replay that looks each key up alone, each from a cold key cache.
func TestReplayPrefetchSameModels(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"seed", "--data", dir, "--customers", "1000", "--months", "2", "--workers", "4"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	replay := func(prefetch bool) []string {
		s, _, sealer, closeAll, err := openBench(ctx, storeFlags{data: dir, backend: "embedded"}, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll()
		mem := projections.NewMemory()
		var opt projections.RunnerOptions
		if prefetch {
			opt.Prefetch = sealer.PrefetchKeys
		}
		r := projections.NewRunner(s, sealer.OpenEnvelope, mem.Projections(), nil, opt)
		mem.Attach(r)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		<-r.CaughtUp()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return projectionstest.Answers(t, mem, projectionstest.LogIDs(t, s), now)
	}
	plain, pre := replay(false), replay(true)
	if len(plain) < 1000 {
		t.Fatalf("%d answers: the bank is not what the test needs", len(plain))
	}
	projectionstest.SameAnswers(t, plain, pre)
}
