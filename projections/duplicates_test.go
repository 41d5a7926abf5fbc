package projections_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"010-1234-5678":       "01012345678",
		"010 1234 5678":       "01012345678",
		"(010) 1234-5678":     "01012345678",
		"+82 10-1234-5678":    "01012345678",
		"+82 (0)10 1234 5678": "01012345678",
		"+821012345678":       "01012345678",
		"0082-10-1234-5678":   "01012345678",
		"82-10-1234-5678":     "01012345678",
		"02-123-4567":         "021234567",
		"+82 2 123 4567":      "021234567",
		"+1 555 0100":         "15550100",
		"":                    "",
		"none":                "",
	} {
		if got := projections.NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// duplicateBank folds n registrations into a fresh Memory: every
// hundredth customer shares the phone and birth date of the one before.
func duplicateBank(n int) *projections.Memory {
	m := projections.NewMemory()
	at := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	for i := range n {
		j := i
		if i%100 == 1 {
			j = i - 1
		}
		id := fmt.Sprintf("C%07d", i)
		d := &events.CustomerRegistered{CustomerID: id, Name: "Customer", BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 40+j%60, 1+j%12, 1+j%28),
			Phone: fmt.Sprintf("010-5%03d-%04d", j/10000, j%10000), BranchID: "B01", Source: events.Source{System: "core"}}
		e := projections.Event{Envelope: &events.Envelope{Stream: events.CustomerStream(id), RecordedAt: at, Type: d.EventType()}, Data: d}
		for _, p := range m.Projections() {
			p.Apply(e)
		}
	}
	return m
}

// BenchmarkDuplicates: the pairs of a bank of 100,000 customers (1,000
// pairs), and the index's heap per customer.
func BenchmarkDuplicates(b *testing.B) {
	const n = 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := duplicateBank(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	withIndex := float64(after.HeapAlloc-before.HeapAlloc) / n
	m.Dups = nil // drop the index: what the bank costs without it
	runtime.GC()
	runtime.ReadMemStats(&after)
	index := withIndex - float64(after.HeapAlloc-before.HeapAlloc)/n
	runtime.KeepAlive(m) // the rest of the bank stays counted
	m = duplicateBank(n)
	pairs, _ := m.Duplicates(b.Context())
	if len(pairs) != n/100 {
		b.Fatalf("%d pairs, want %d", len(pairs), n/100)
	}
	b.ResetTimer()
	for b.Loop() {
		_, _ = m.Duplicates(b.Context())
	}
	b.ReportMetric(index, "index-B/customer")
}
