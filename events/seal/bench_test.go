package seal

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/bench"
)

// benchTreeLeaves is the size of BenchmarkInclusionProof10M's tree:
// DANGOL_BENCH_TREE_LEAVES, for a quick run, else 10,000,000.
func benchTreeLeaves(b *testing.B) int64 {
	s := os.Getenv("DANGOL_BENCH_TREE_LEAVES")
	if s == "" {
		return 10_000_000
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		b.Fatalf("DANGOL_BENCH_TREE_LEAVES=%q is not a positive number", s)
	}
	return n
}

// BenchmarkInclusionProof10M measures what GET /v1/audit/proofs/inclusion
// asks of the tree — the leaf of a position, then its record proof under
// the whole tree — for random events of a tree of 10,000,000 leaves read
// from its files. Building the tree takes a while, so it runs only when
// -bench names it (not with -bench .):
//
//	go test ./events/seal -run '^$' -bench InclusionProof10M -benchtime 20000x
func BenchmarkInclusionProof10M(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "InclusionProof") {
		b.Skip("builds a tree of 10M leaves; run with -bench InclusionProof10M")
	}
	n := benchTreeLeaves(b)
	dir := b.TempDir()
	tr, err := OpenTree(dir)
	if err != nil {
		b.Fatal(err)
	}
	appendSynthetic(b, tr, 0, n)
	if err := tr.Close(); err != nil {
		b.Fatal(err)
	}
	if tr, err = OpenTree(dir); err != nil { // proofs from the files, nothing pending in memory
		b.Fatal(err)
	}
	defer tr.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		i := r.Int64N(n)
		leaf, err := tr.Leaf(synthetic(i).Position)
		if err != nil || leaf != i {
			b.Fatalf("leaf of event %d: %d %v", i, leaf, err)
		}
		if _, err := tr.ProveRecord(leaf, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "leaves")
}

// BenchmarkTreeAppend measures appending leaves to the tree's files (no
// sync: the sealer syncs once per seal).
//
//	go test ./events/seal -run '^$' -bench TreeAppend
func BenchmarkTreeAppend(b *testing.B) {
	tr := openTree(b, b.TempDir())
	i := int64(0)
	for b.Loop() {
		if err := tr.Append(synthetic(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := tr.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkAppendSealing measures durable appends at 64 writers on the
// embedded store with the sealer off and on (following every event into
// the tree, sealing every 1000): the issue asks for an overhead under 5%.
//
//	go test ./events/seal -run '^$' -bench AppendSealing -benchtime 100000x
func BenchmarkAppendSealing(b *testing.B) {
	for _, sealing := range []bool{false, true} {
		b.Run(fmt.Sprintf("sealing=%v", sealing), func(b *testing.B) {
			s, err := bolt.Open(filepath.Join(b.TempDir(), "events.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var sealer *Sealer
			if sealing {
				sealer = newSealer(b, Config{Store: s, Every: 1000, Logger: slog.New(slog.DiscardHandler)})
				go sealer.Run(ctx)
			}
			b.ResetTimer()
			r, err := bench.Appends(ctx, s, bench.AppendConfig{Writers: 64, Events: max(b.N, 64), Batch: 1, DataBytes: 500})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.EventsPerSec, "events/s")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
			if sealing {
				b.StopTimer()
				if _, err := sealer.SealNow(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(sealer.Status().Latest.Seq+1), "seals")
			}
		})
	}
}
