package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/pgtest"
)

// notifyTrace records which of a store's statements notify: a NOTIFY sent
// by itself, or one inside an append's statement or batch.
type notifyTrace struct {
	mu      sync.Mutex
	alone   int // SELECT pg_notify by itself
	inTx    int // an append that notified in its transaction
	appends int // dangol_append_held calls
}

func (n *notifyTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case strings.HasPrefix(d.SQL, "SELECT pg_notify"):
		n.alone++
	case strings.Contains(d.SQL, "dangol_append_held"):
		n.appends++
		if notify, _ := d.Args[len(d.Args)-1].(bool); notify {
			n.inTx++
		}
	}
	return ctx
}

func (n *notifyTrace) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (n *notifyTrace) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (n *notifyTrace) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if strings.Contains(d.SQL, "pg_notify") {
		n.mu.Lock()
		n.inTx++
		n.mu.Unlock()
	}
}

func (n *notifyTrace) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestCommitsCarryNoNotify: with the default interval no append's
// transaction notifies (the commit would wait for it, and it would wake
// every listening session at each one), the first commit after a quiet
// spell included; the NOTIFYs sent by themselves after the commits still
// wake a subscriber in another store, which never polls in the test's time,
// for every event: a new stream's, a held head's, and the locking way's (a
// stream whose head the writer does not hold).
func TestCommitsCarryNoNotify(t *testing.T) {
	ctx := t.Context()
	tr := &notifyTrace{}
	reader, writer, sub := notifyPair(t, func(o *postgres.Options) { postgres.SetTracer(o, tr) })
	// A stream the writer has not written: its append takes the locking way.
	other, err := reader.Append(ctx, "customer-NNlocked", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	want := 1
	for round := range 3 {
		res, err := writer.Append(ctx, "customer-NN"+string(rune('a'+round)), events.NoStream, eventstest.NewEvent("ContactLogged", `{}`))
		if err != nil {
			t.Fatal(err)
		}
		if res, err = writer.Append(ctx, res.Stream, events.Exact(res.Version), eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
			t.Fatal(err)
		}
		if other, err = writer.Append(ctx, other.Stream, events.Exact(other.Version), eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
			t.Fatal(err)
		}
		want += 3
		for got := want - 3; got < want; got++ {
			select {
			case <-sub.Events():
			case <-time.After(time.Minute):
				t.Fatalf("round %d: the subscriber in another store received %d of %d events: a commit was never announced", round, got, want)
			}
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.appends == 0 || tr.alone == 0 {
		t.Fatalf("traced %d one-statement appends and %d NOTIFYs by themselves, want some of each", tr.appends, tr.alone)
	}
	if tr.inTx != 0 {
		t.Fatalf("%d appends notified in their transaction, want none", tr.inTx)
	}
}

// notifyPair opens a reader and a writer store on a fresh database, the
// writer with the options edit makes, and subscribes from the start on the
// reader, which never polls in a test's time: only the writer's NOTIFYs wake
// it.
func notifyPair(t *testing.T, edit func(*postgres.Options)) (reader, writer *postgres.Store, sub events.Subscription) {
	t.Helper()
	url := pgtest.Database(t)
	opt := postgres.Options{Migrate: true, Now: eventstest.Clock(eventstest.Epoch), PollInterval: time.Hour}
	reader, err := postgres.Open(t.Context(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	edit(&opt)
	if writer, err = postgres.Open(t.Context(), url, opt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Close() })
	if sub, err = reader.Subscribe(t.Context(), events.Start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return reader, writer, sub
}
