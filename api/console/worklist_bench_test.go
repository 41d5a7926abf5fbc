package console

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/projections"
)

// BenchmarkWorklistPage measures the server time of a rep's worklist page
// (the whole handler: session lookup, the Worklist query, filters, counts,
// translation and the template) on a seeded bank, with the in-memory read
// models `dangol serve` uses on the embedded store. The bank has
// DANGOL_BENCH_CUSTOMERS customers (default 100,000; the seed gives its
// reps ≈500–600 customers each). It reports p50 and p99 per page.
//
//	go test -run '^$' -bench WorklistPage -benchtime 500x ./api/console/
func BenchmarkWorklistPage(b *testing.B) {
	k := newBenchBank(b, false)
	c := New(Config{Store: k.store, Queries: k.mem, Progress: k.runner, Now: k.now, Secret: make([]byte, 32)})
	h := c.Handler()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(k.signIn(b, c))
	req.Header.Set("Accept-Language", "ko")

	var took []time.Duration
	var bytes int
	for b.Loop() {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		took = append(took, time.Since(start))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="wl-rows"`) {
			b.Fatalf("worklist: %d\n%.500s", w.Code, w.Body.String())
		}
		bytes = w.Body.Len()
	}
	slices.Sort(took)
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(k.book)), "rows")
	b.ReportMetric(float64(bytes), "bytes/page")
}

// BenchmarkWorklistRender measures what the page does beyond the query:
// filters, counts, translation and the template, for a book of 600
// customers of which most have reasons.
//
//	go test -run '^$' -bench WorklistRender -benchmem ./api/console/
func BenchmarkWorklistRender(b *testing.B) {
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	items := make([]projections.WorkItem, 600)
	for i := range items {
		it := projections.WorkItem{CustomerID: fmt.Sprintf("C%07d", i), Name: "김민준", BranchID: fmt.Sprintf("B%03d", i%7+1),
			Tier: []string{"", "potential_vip", "vip"}[i%3], DoNotContact: i%4 == 0, Reasons: []string{}}
		if i%2 == 0 {
			it.Reasons = append(it.Reasons, projections.ReasonStale)
		}
		if i%5 == 0 {
			it.Reasons = append(it.Reasons, projections.ReasonLifeEvent)
			it.Details = append(it.Details, "child_wedding on 2026-12-01")
		}
		if i%7 == 0 {
			it.Reasons = append(it.Reasons, projections.ReasonPitchFollowUp)
			it.Details = append(it.Details, "LOAN01 follow-up on 2026-10-30")
		}
		if i%3 == 0 {
			it.Reasons = append(it.Reasons, projections.ReasonNoContact)
		} else {
			it.LastContact = now.Add(-time.Duration(i) * time.Hour)
		}
		items[i] = it
	}
	c := New(Config{Now: func() time.Time { return now }, Secret: make([]byte, 32)})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	t := c.pages.byName["worklist"]
	var size int
	for b.Loop() {
		p := c.buildWorklist("ko", items, worklistFilter{}, now)
		var buf bytes.Buffer
		if err := t.Execute(&buf, c.viewOf(r, "work.title", p)); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}
