package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// benchBank is the seeded bank the page benchmarks measure on, as `dangol
// serve` runs it on the embedded store with the in-memory read models:
// DANGOL_BENCH_CUSTOMERS customers (default 100,000; the seed gives its
// reps ≈500–600 customers each), at 09:00 of the seed's "today".
type benchBank struct {
	ctx    context.Context
	now    func() time.Time
	store  *bolt.Store
	sealer *pii.Sealer // nil unless sealed
	mem    *projections.Memory
	runner *projections.Runner
	rep    string                 // the rep with the largest book
	book   []projections.WorkItem // the rep's worklist
}

// newBenchBank seeds the bank, with its personal fields sealed per
// customer if sealed, and waits for the read side to catch up; it is
// closed when b ends.
func newBenchBank(b testing.TB, sealed bool) *benchBank {
	n := 100_000
	if v := os.Getenv("DANGOL_BENCH_CUSTOMERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // the seed's "today"
	k := &benchBank{now: func() time.Time { return end.Add(9 * time.Hour) }}
	dir := b.TempDir()
	var err error
	if k.store, err = bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: k.now}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.store.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	k.ctx = ctx
	cfg := seed.Config{Customers: n, Seed: 1}
	decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	if sealed {
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
		b.Cleanup(func() { keys.Close() })
		k.sealer = pii.NewSealer(keys)
		cfg.Seal = func(id string) func(events.Personal) error { return k.sealer.SealFor(ctx, id) }
		decode = k.sealer.OpenEnvelope
	}
	if _, err := seed.Generate(ctx, cfg, k.store); err != nil {
		b.Fatal(err)
	}
	k.mem = projections.NewMemory()
	k.runner = projections.NewRunner(k.store, decode, k.mem.Projections(), nil, projections.RunnerOptions{Now: k.now})
	k.mem.Attach(k.runner)
	done := make(chan error, 1)
	go func() { done <- k.runner.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	<-k.runner.CaughtUp()

	for _, id := range []string{"R000", "R001", "R002", "R003"} {
		w, err := k.mem.Worklist(ctx, id, k.now(), worklistOptions)
		if err == nil && len(w) > len(k.book) {
			k.rep, k.book = id, w
		}
	}
	if len(k.book) == 0 {
		b.Fatal("no rep has a book")
	}
	return k
}

// signIn opens a session of the rep with the largest book (a SignedIn on
// their stream, applied by the read side) and returns c's cookie of it.
func (k *benchBank) signIn(b testing.TB, c *Console) *http.Cookie {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	ck := cookie{id: events.NewID().String(), secret: base64.RawURLEncoding.EncodeToString(secret), lastSeen: k.now().Unix()}
	ev, err := events.NewEvent(&events.SignedIn{SessionID: ck.id, SessionHash: api.HashToken(ck.secret), ExpiresAt: k.now().Add(time.Hour)},
		events.Meta{Actor: events.Actor{ID: k.rep, Role: "rep"}, CorrelationID: events.NewID().String()})
	if err != nil {
		b.Fatal(err)
	}
	res, err := k.store.Append(k.ctx, events.StaffStream(k.rep), events.StreamExists, ev)
	if err != nil {
		b.Fatal(err)
	}
	if err := k.runner.WaitFor(k.ctx, res.Position); err != nil {
		b.Fatal(err)
	}
	return &http.Cookie{Name: c.cookieName(), Value: c.encodeCookie(ck)}
}
