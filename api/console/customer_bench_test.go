//go:build linux

package console

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
)

// BenchmarkCustomerPage measures the server time of the customer page (the
// whole handler: session lookup, the Customer query, the first timeline
// page through the API route with its personal fields opened, the names of
// the people on it, the seven forms and the template) on a seeded bank
// whose personal fields are sealed per customer, as `dangol serve` runs it
// on the embedded store with the in-memory read models. It opens each
// customer of a rep's book in turn. DANGOL_BENCH_CUSTOMERS sizes the bank
// (default 100,000). It reports p50 and p99 per page of the wall time and,
// because on a shared machine the wall time's tail is mostly waiting for a
// core, of the CPU time the request's own thread spent (the handler runs
// on the benchmark's goroutine, locked to its thread; Linux's
// RUSAGE_THREAD).
//
//	go test -run '^$' -bench CustomerPage -benchtime 2000x ./api/console/
func BenchmarkCustomerPage(b *testing.B) {
	k := newBenchBank(b, true)
	book := k.book
	srv := api.New(api.Config{Store: k.store, Queries: k.mem, Progress: k.runner, Sealer: k.sealer, Now: k.now})
	c := New(Config{API: srv, Store: k.store, Queries: k.mem, Progress: k.runner, Now: k.now, Secret: make([]byte, 32)})
	ck := k.signIn(b, c)
	h := c.Handler()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rusageThread = 1 // RUSAGE_THREAD
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(rusageThread, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var took, cpus []time.Duration
	var bytes, entries, i int
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/customers/"+book[i%len(book)].CustomerID, nil)
		req.AddCookie(ck)
		req.Header.Set("Accept-Language", "ko")
		i++
		w := httptest.NewRecorder()
		start, startCPU := time.Now(), cpu()
		h.ServeHTTP(w, req)
		took, cpus = append(took, time.Since(start)), append(cpus, cpu()-startCPU)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="timeline-list"`) {
			b.Fatalf("customer page: %d\n%.500s", w.Code, w.Body.String())
		}
		bytes += w.Body.Len()
		entries += strings.Count(w.Body.String(), "<li data-pos=")
	}
	slices.Sort(took)
	slices.Sort(cpus)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(took, 0.50), "p50-ms")
	b.ReportMetric(q(took, 0.99), "p99-ms")
	b.ReportMetric(q(cpus, 0.50), "cpu-p50-ms")
	b.ReportMetric(q(cpus, 0.99), "cpu-p99-ms")
	b.ReportMetric(float64(bytes)/float64(i), "bytes/page")
	b.ReportMetric(float64(entries)/float64(i), "entries/page")
	b.ReportMetric(float64(len(book)), "customers")
}
