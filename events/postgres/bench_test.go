package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dangol/dangol/ops/bench"
	"github.com/dangol/dangol/ops/pgtest"
)

// BenchmarkAppend measures durable appends of ~500-byte events (one per
// append, or batches of 100), each writer on its own streams, against a
// throwaway cluster on this host with PostgreSQL's default settings.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct{ writers, batch int }{{1, 1}, {64, 1}, {1, 100}, {64, 100}} {
		b.Run(fmt.Sprintf("writers=%d/batch=%d", c.writers, c.batch), func(b *testing.B) {
			s := open(b, pgtest.Database(b))
			n := max(b.N, c.writers) * c.batch
			b.ResetTimer()
			r, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: c.writers, Events: n, Batch: c.batch, DataBytes: 500})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(r.EventsPerSec, "events/s")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkCatchUp measures a subscription from the start of a 200,000-event
// log until it reaches the head, decoding every envelope.
func BenchmarkCatchUp(b *testing.B) {
	s := open(b, pgtest.Database(b))
	if _, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 64, Events: 200_000, Batch: 100, DataBytes: 500}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var rate float64
	for range b.N {
		r, err := bench.CatchUp(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		rate = r.EventsPerSec
	}
	b.ReportMetric(rate, "events/s")
}
