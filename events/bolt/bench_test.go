package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/bench"
)

func openBench(b *testing.B) *bolt.Store {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "events.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend measures durable appends of ~500-byte events, one event
// per append, each writer on its own stream.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := openBench(b)
			n := max(b.N, writers)
			b.ResetTimer()
			r, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: writers, Events: n, Batch: 1, DataBytes: 500})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.EventsPerSec, "events/s")
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkReadVerify measures reading the whole log with envelope decoding
// and hash chain verification.
func BenchmarkReadVerify(b *testing.B) {
	s := openBench(b)
	r, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 64, Events: 200_000, Batch: 100, DataBytes: 500})
	if err != nil {
		b.Fatal(err)
	}
	n := uint64(r.Events)
	b.ResetTimer()
	for b.Loop() {
		v := events.NewChainVerifier()
		err := s.Scan(context.Background(), events.Start, func(e *events.Envelope) error { return v.Add(e) })
		if err != nil {
			b.Fatal(err)
		}
		if v.Checked() != n {
			b.Fatalf("checked %d", v.Checked())
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	_ = err
}
