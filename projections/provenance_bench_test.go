package projections_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// BenchmarkProvenanceFold folds a bank of customers, each registered from
// core and assigned an advisor, and with reports: none, or a card
// application's phone (a conflict) and internet banking's verified e-mail.
// It reports the fold's time per customer and the heap each customer's
// state takes (after a GC), for the cost of provenance at scale.
//
//	go test ./projections/ -run '^$' -bench BenchmarkProvenanceFold -benchtime 1x
func BenchmarkProvenanceFold(b *testing.B) {
	const n = 100_000
	for _, reports := range []int{0, 2} {
		b.Run(fmt.Sprintf("reports=%d", reports), func(b *testing.B) {
			evs := provenanceBank(n, reports)
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				cs := projections.NewCustomers()
				for i := range evs {
					cs.Apply(evs[i])
				}
				elapsed := time.Since(start)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/customer")
				b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/customer")
				runtime.KeepAlive(cs)
			}
		})
	}
}

// provenanceBank returns the events of n customers with reports each.
func provenanceBank(n, reports int) []projections.Event {
	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	evs := make([]projections.Event, 0, n*(2+reports))
	add := func(id string, v uint64, d events.Data) {
		env := &events.Envelope{ID: events.NewID(), Stream: events.CustomerStream(id), Version: v, Position: events.At(uint64(len(evs) + 1)),
			Type: d.EventType(), RecordedAt: at}
		evs = append(evs, projections.Event{Envelope: env, Data: d})
	}
	for i := range n {
		id := fmt.Sprintf("C%07d", i)
		add(id, 0, &events.CustomerRegistered{CustomerID: id, Name: "김민준 " + id, BirthDate: "1970-05-01", Phone: "010-1234-5678",
			Email: "minjun@example.com", Address: "서울특별시 강남구 테헤란로 1", BranchID: "B001", Source: events.Source{System: "core"}})
		add(id, 1, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%03d", i%500), Kind: "call_centre_rep"})
		if reports > 0 {
			add(id, 2, &events.ProfileReported{Source: events.RecordSource{System: "card", Ref: "APP-" + id, Version: "1",
				ObservedAt: at.Add(time.Hour)}, Fields: map[string]string{"phone": fmt.Sprintf("010-9%03d-%04d", i%1000, i%10000)}})
			add(id, 3, &events.ProfileReported{Source: events.RecordSource{System: "internet", Ref: "IB-" + id, Version: "1",
				ObservedAt: at.Add(2 * time.Hour), Verified: true}, Fields: map[string]string{"email": "kim" + id + "@example.kr"}})
		}
	}
	return evs
}
