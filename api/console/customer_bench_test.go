//go:build linux

package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
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
	n := 100_000
	if v := os.Getenv("DANGOL_BENCH_CUSTOMERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // the seed's "today"
	now := func() time.Time { return end.Add(9 * time.Hour) }
	dir := b.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	raw := make([]byte, pii.MasterKeySize)
	_, _ = rand.Read(raw)
	master, err := pii.NewMasterKey(raw)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := boltkeys.Open(filepath.Join(dir, "keys.db"), master)
	if err != nil {
		b.Fatal(err)
	}
	defer keys.Close()
	sealer := pii.NewSealer(keys)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seal := func(id string) func(events.Personal) error { return sealer.SealFor(ctx, id) }
	if _, err := seed.Generate(ctx, seed.Config{Customers: n, Seed: 1, Seal: seal}, store); err != nil {
		b.Fatal(err)
	}
	mem := projections.NewMemory()
	runner := projections.NewRunner(store, sealer.OpenEnvelope, mem.Projections(), nil, projections.RunnerOptions{Now: now})
	mem.Attach(runner)
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-runner.CaughtUp()

	// The rep with the largest book opens its customers.
	rep, book := "", []projections.WorkItem(nil)
	for _, id := range []string{"R000", "R001", "R002", "R003"} {
		w, err := mem.Worklist(ctx, id, now(), worklistOptions)
		if err == nil && len(w) > len(book) {
			rep, book = id, w
		}
	}
	if len(book) == 0 {
		b.Fatal("no rep has a book")
	}
	srv := api.New(api.Config{Store: store, Queries: mem, Progress: runner, Sealer: sealer, Now: now})
	c := New(Config{API: srv, Store: store, Queries: mem, Progress: runner, Now: now, Secret: make([]byte, 32)})
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	k := cookie{id: events.NewID().String(), secret: base64.RawURLEncoding.EncodeToString(secret), lastSeen: now().Unix()}
	ev, err := events.NewEvent(&events.SignedIn{SessionID: k.id, SessionHash: api.HashToken(k.secret), ExpiresAt: now().Add(time.Hour)},
		events.Meta{Actor: events.Actor{ID: rep, Role: "rep"}, CorrelationID: events.NewID().String()})
	if err != nil {
		b.Fatal(err)
	}
	res, err := store.Append(ctx, events.StaffStream(rep), events.StreamExists, ev)
	if err != nil {
		b.Fatal(err)
	}
	if err := runner.WaitFor(ctx, res.Position); err != nil {
		b.Fatal(err)
	}
	h := c.Handler()
	ck := &http.Cookie{Name: c.cookieName(), Value: c.encodeCookie(k)}

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
