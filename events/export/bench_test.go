package export_test

import (
	"io"
	"testing"

	"github.com/dangol/dangol/events/export"
)

// BenchmarkWriter is the export's own rate over real envelopes (every
// catalog example, hashed), to io.Discard: go test ./events/export -bench
// Writer -benchmem. Its events/s metric is to hold ≥ 200,000.
func BenchmarkWriter(b *testing.B) {
	log := exampleLog(b)
	w := export.NewWriter(io.Discard, "dangol")
	bytes := 0
	for i := range log {
		bytes += len(export.Event("dangol", &log[i])) + 1
	}
	b.SetBytes(int64(bytes / len(log)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Write(&log[i%len(log)], nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecode is the rate of reading lines back.
func BenchmarkDecode(b *testing.B) {
	log := exampleLog(b)
	ls := make([][]byte, len(log))
	for i := range log {
		ls[i] = export.Event("dangol", &log[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := export.Decode(ls[i%len(ls)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
