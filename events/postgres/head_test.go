package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/pgtest"
)

// roundTrips counts what a store sends to the server: each Query, Exec or
// SendBatch is one round trip once its statements are prepared. The
// notification listener's LISTEN and the NOTIFY sent by itself after
// commits (notify.go), both off the appends' path, are not counted.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if !strings.HasPrefix(d.SQL, "LISTEN") && !strings.HasPrefix(d.SQL, "SELECT pg_notify") {
		r.n.Add(1)
	}
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func openTraced(t *testing.T, url string) (*postgres.Store, *roundTrips) {
	t.Helper()
	rt := &roundTrips{}
	opt := postgres.Options{Migrate: true, PollInterval: 200 * time.Millisecond, Now: eventstest.Clock(eventstest.Epoch)}
	postgres.SetTracer(&opt, rt)
	s, err := postgres.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rt
}

// TestAppendOneRoundTrip: an append to a stream whose head the store holds
// (it wrote the stream last) and an append that starts a new stream are
// one round trip each, the check, the reservation of positions, the insert
// and the commit in one statement.
func TestAppendOneRoundTrip(t *testing.T) {
	s, rt := openTraced(t, pgtest.Database(t))
	ctx := t.Context()
	res, err := s.Append(ctx, "customer-T", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the statements are prepared
		if res, err = s.Append(ctx, "customer-T", events.Exact(res.Version), eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	rt.n.Store(0)
	const n = 20
	for range n {
		if res, err = s.Append(ctx, "customer-T", events.Exact(res.Version), eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := rt.n.Load(); got != n {
		t.Fatalf("%d appends to a stream the store wrote last took %d round trips, want %d", n, got, n)
	}
	rt.n.Store(0)
	for i := range n {
		if _, err := s.Append(ctx, "customer-N"+string(rune('a'+i)), events.NoStream, eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := rt.n.Load(); got != n {
		t.Fatalf("%d appends starting new streams took %d round trips, want %d", n, got, n)
	}
}

// TestStaleHeadCache: a stream another store appended to after this one
// last wrote it. The held head is stale: an append at the true version
// succeeds and continues the hash chain, one at the held version is a
// conflict with the true version, a retry of an append is answered with its
// original result, and an id used in another stream is Invalid; none of
// them writes anything it should not.
func TestStaleHeadCache(t *testing.T) {
	url := pgtest.Database(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	first := eventstest.NewEvent("ContactLogged", `{"n":0}`)
	res, err := a.Append(ctx, "customer-S", events.NoStream, first)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = a.Append(ctx, "customer-S", events.Exact(res.Version), eventstest.NewEvent("ContactLogged", `{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	held := res.Version // 1
	if res, err = b.Append(ctx, "customer-S", events.Exact(held), eventstest.NewEvent("ContactLogged", `{"n":2}`), eventstest.NewEvent("ContactLogged", `{"n":3}`)); err != nil {
		t.Fatal(err)
	}
	_, err = a.Append(ctx, "customer-S", events.Exact(held), eventstest.NewEvent("ContactLogged", `{"n":"stale"}`))
	wantConflictAt(t, err, 3)
	_, err = a.Append(ctx, "customer-S", events.NoStream, eventstest.NewEvent("ContactLogged", `{"n":"new"}`))
	wantConflictAt(t, err, 3)

	next := eventstest.NewEvent("ContactLogged", `{"n":4}`)
	got, err := a.Append(ctx, "customer-S", events.Exact(res.Version), next)
	if err != nil || got.Version != 4 {
		t.Fatalf("append at the true version: %+v, %v; want version 4", got, err)
	}
	again, err := a.Append(ctx, "customer-S", events.Any, next)
	if err != nil || !again.Duplicate || again.Position != got.Position || again.Version != 4 {
		t.Fatalf("retry of the append: %+v, %v; want the original result, a duplicate", again, err)
	}
	if orig, err := a.Append(ctx, "customer-S", events.Any, first); err != nil || !orig.Duplicate || orig.Version != 0 {
		t.Fatalf("retry of the first append with Any: %+v, %v; want its original result, version 0", orig, err)
	}
	if _, err := b.Append(ctx, "customer-S2", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Append(ctx, "customer-S2", events.Any, first); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("an id of customer-S appended to customer-S2: %v, want Invalid", err)
	}
	evs, err := a.ReadStream(ctx, "customer-S", 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	v := events.NewChainVerifier()
	for i := range evs {
		if err := v.Add(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if len(evs) != 5 {
		t.Fatalf("customer-S holds %d events, want 5", len(evs))
	}
	all, err := a.ReadAll(ctx, events.Start, 100)
	if err != nil || len(all) != 6 {
		t.Fatalf("the log holds %d events (%v), want 6", len(all), err)
	}
}

func wantConflictAt(t *testing.T, err error, actual int64) {
	t.Helper()
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.Conflict || e.ActualVersion != actual {
		t.Fatalf("append at a stale version: %v, want a conflict at version %d", err, actual)
	}
}
