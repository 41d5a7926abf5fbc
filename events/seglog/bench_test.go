package seglog_test

import (
	"context"
	"testing"

	"github.com/dangol/dangol/events/seglog"
	"github.com/dangol/dangol/ops/bench"
)

// BenchmarkStore runs what `dangol bench store` runs, in one store: the
// disk's fsync loop, 1 and 64 writers appending one ~500-byte event per
// append, and AppendBatch calls of 1,000 new streams; it logs each report
// and the bytes per event (go test -bench Store -benchtime 1x -v).
func BenchmarkStore(b *testing.B) {
	dir := b.TempDir()
	rate, err := bench.FsyncRate(dir, 2000)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("disk fsync loop: %.0f syncs/s", rate)
	s, err := seglog.Open(dir+"/log", seglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	total := 0
	for _, cfg := range []bench.AppendConfig{
		{Writers: 1, Events: 20000, Batch: 1, DataBytes: 500, Prefix: "A"},
		{Writers: 64, Events: 200000, Batch: 1, DataBytes: 500, Prefix: "B"},
		{Writers: 4, Events: 400000, Batch: 1, Entries: 1000, DataBytes: 500, Prefix: "C"},
	} {
		r, err := bench.Appends(context.Background(), s, cfg)
		if err != nil {
			b.Fatal(err)
		}
		total += r.Events
		b.Log(r)
		if cfg.Writers == 1 {
			b.Logf("single writer at %.0f%% of the fsync loop", 100*r.AppendsPer/rate)
		}
	}
	used, _ := s.UsedBytes()
	b.Logf("%.0f bytes/event", float64(used)/float64(total))
}

// BenchmarkAppendBatch measures AppendBatch calls of 1,000 new streams of
// one ~500-byte event each, from 4 callers.
func BenchmarkAppendBatch(b *testing.B) {
	s, err := seglog.Open(b.TempDir(), seglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 4, Events: max(b.N, 4000), Batch: 1, Entries: 1000, DataBytes: 500})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.EventsPerSec, "events/s")
}

// BenchmarkAppend64 measures 64 writers appending one ~500-byte event per
// append, each to its own stream.
func BenchmarkAppend64(b *testing.B) {
	s, err := seglog.Open(b.TempDir(), seglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 64, Events: max(b.N, 64), Batch: 1, DataBytes: 500})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.EventsPerSec, "events/s")
}

// BenchmarkOpen measures rebuilding the index from a log of 200,000
// ~500-byte events, as Open does.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := seglog.Open(dir, seglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 4, Events: 200000, Batch: 1, Entries: 1000, DataBytes: 500}); err != nil {
		b.Fatal(err)
	}
	s.Close()
	b.ResetTimer()
	for b.Loop() {
		s, err := seglog.Open(dir, seglog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(200000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScan measures reading the whole log (200,000 ~500-byte events)
// with decoding and hash-chain verification, as a replay does.
func BenchmarkScan(b *testing.B) {
	s, err := seglog.Open(b.TempDir(), seglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := bench.Appends(context.Background(), s, bench.AppendConfig{Writers: 4, Events: 200000, Batch: 1, Entries: 1000, DataBytes: 500}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := bench.ReadVerify(context.Background(), s, 4096); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(200000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
