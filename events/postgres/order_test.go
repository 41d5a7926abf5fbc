package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
)

// TestSubscriberNeverSkips is the proof for the global order (doc.go):
// three stores (three connection pools, as three processes would have)
// append from 8 goroutines each while other connections run transactions
// that take the log head's lock, insert events and roll back, some of them
// holding the lock for a while. A subscriber that started before any of it
// must receive every acknowledged event exactly once, at dense increasing
// positions, and nothing else.
func TestSubscriberNeverSkips(t *testing.T) {
	url := pgtest.Database(t)
	reader := open(t, url)
	writers := []events.Store{open(t, url), open(t, url), open(t, url)}
	ctx := t.Context()

	sub, err := reader.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	const perWriter, goroutines = 120, 8
	var mu sync.Mutex
	acked := map[string]events.Position{}
	var wg sync.WaitGroup
	for w, s := range writers {
		for g := range goroutines {
			wg.Go(func() {
				for i := range perWriter {
					n := 1 + (i % 3)
					evs := make([]events.Event, n)
					for k := range evs {
						evs[k] = eventstest.NewEvent("ContactLogged", fmt.Sprintf(`{"w":%d,"g":%d,"i":%d}`, w, g, i))
					}
					res, err := s.Append(ctx, fmt.Sprintf("customer-W%dG%dS%d", w, g, i%5), events.Any, evs...)
					if err != nil {
						t.Errorf("append: %v", err)
						return
					}
					mu.Lock()
					for _, id := range res.EventIDs {
						acked[id] = res.Position
					}
					mu.Unlock()
				}
			})
		}
	}
	stop := make(chan struct{})
	var rollbacks sync.WaitGroup
	var rolledBack, failed int
	for r := range 3 {
		rollbacks.Go(func() {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if abortedAppend(ctx, conn, rng, r) {
					mu.Lock()
					rolledBack++
					mu.Unlock()
				} else {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rollbacks.Wait()
	if t.Failed() {
		return
	}

	want := len(acked)
	var got []events.Envelope
	seen := map[string]bool{}
	deadline := time.After(60 * time.Second)
	for len(got) < want {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), want, sub.Err())
			}
			id := e.ID.String()
			if seen[id] {
				t.Fatalf("event %s delivered twice", id)
			}
			seen[id] = true
			if _, ok := acked[id]; !ok {
				t.Fatalf("delivered %s@%d, which no append acknowledged (a rolled-back event?)", e.Stream, e.Version)
			}
			if e.Position.Seq() != uint64(len(got))+1 {
				t.Fatalf("event %d delivered at position %s: positions must be dense and increasing", len(got)+1, e.Position)
			}
			got = append(got, e)
		case <-deadline:
			t.Fatalf("subscriber received %d of %d acknowledged events", len(got), want)
		}
	}
	// Nothing more arrives: the rolled-back events never show up late.
	select {
	case e := <-sub.Events():
		t.Fatalf("an extra event after every acknowledged one: %s@%d", e.Stream, e.Version)
	case <-time.After(500 * time.Millisecond):
	}
	for _, e := range got {
		if p := acked[e.ID.String()]; e.Position.Seq() > p.Seq() {
			t.Fatalf("%s delivered at %s, after its append's last position %s", e.ID, e.Position, p)
		}
	}
	t.Logf("%d events from %d appenders delivered once each in order; %d transactions rolled back holding the head lock (%d more failed earlier)",
		want, len(writers)*goroutines, rolledBack, failed)
	if rolledBack == 0 {
		t.Fatal("no transaction rolled back: the test proved nothing about rollbacks")
	}
}

// abortedAppend runs what an append that fails at the last moment does: it
// takes the head row's lock, advances the sequence, inserts an event there,
// waits a little with the lock held, and rolls back. It reports whether it
// got as far as inserting.
func abortedAppend(ctx context.Context, conn *pgx.Conn, rng *rand.Rand, r int) bool {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false
	}
	defer tx.Rollback(context.Background())
	var seq int64
	if err := tx.QueryRow(ctx, `UPDATE dangol_log_head SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
		return false
	}
	id := events.NewID()
	_, err = tx.Exec(ctx, `INSERT INTO dangol_events (seq, stream, version, id, type, recorded_at, record)
		VALUES ($1, $2, 0, $3, 'ContactLogged', now(), '\x00')`, seq, fmt.Sprintf("customer-RB%d-%d", r, seq), id[:])
	if err != nil {
		return false
	}
	time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
	return true
}

// TestRaceAcrossStores: appends racing on one stream from two stores (two
// pools) with the same expected version: exactly one wins, every other one
// gets the conflict error with the actual version, never a driver error.
func TestRaceAcrossStores(t *testing.T) {
	url := pgtest.Database(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	first, err := a.Append(ctx, "customer-R", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		expected := first.Version + uint64(round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		for i := range 16 {
			s := []events.Store{a, b}[i%2]
			wg.Go(func() {
				_, err := s.Append(ctx, "customer-R", events.Exact(expected), eventstest.NewEvent("ContactLogged", `{}`))
				mu.Lock()
				defer mu.Unlock()
				var e *events.Error
				switch {
				case err == nil:
					wins++
				case errors.As(err, &e) && e.Code == events.Conflict && e.ActualVersion == int64(expected)+1:
					conflicts++
				default:
					t.Errorf("round %d: %v (want success or a conflict at version %d)", round, err, expected+1)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != 15 {
			t.Fatalf("round %d: %d wins, %d conflicts; want 1 and 15", round, wins, conflicts)
		}
	}
}

// TestSameIDInTwoStreams: one event id appended concurrently to two streams
// from two stores: one append wins, the other is Invalid, not a raw
// unique violation, and it wrote nothing.
func TestSameIDInTwoStreams(t *testing.T) {
	url := pgtest.Database(t)
	a, b := open(t, url), open(t, url)
	ctx := t.Context()
	for range 20 {
		e := eventstest.NewEvent("ContactLogged", `{}`)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, s := range []events.Store{a, b} {
			wg.Go(func() { _, errs[i] = s.Append(ctx, fmt.Sprintf("customer-D%d", i), events.Any, e) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch events.ErrorCode(err) {
			case "":
				ok++
			case events.Invalid:
			default:
				t.Fatalf("append of a shared id: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d appends of one id to two streams succeeded: %v", ok, errs)
		}
	}
	all, err := a.ReadAll(ctx, events.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 20 {
		t.Fatalf("the log has %d events, want 20", len(all))
	}
}

// TestPollingFallback: an event committed without a NOTIFY (as when the
// listening connection is lost) still reaches a live subscriber, by the
// subscription's polling.
func TestPollingFallback(t *testing.T) {
	url := pgtest.Database(t)
	s := open(t, url)
	ctx := t.Context()
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first, err := s.Append(ctx, "customer-P", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if e := <-sub.Events(); e.Position != first.Position {
		t.Fatalf("first event at %s, want %s", e.Position, first.Position)
	}

	env := events.Envelope{ID: events.NewID(), Stream: "customer-Q", Version: 0, Type: "ContactLogged", Schema: 1,
		RecordedAt: eventstest.Epoch, Actor: events.Actor{ID: "staff-test"}, Data: []byte(`{}`)}
	rec := events.EncodeRecord(&env)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var seq int64
		if err := tx.QueryRow(ctx, `UPDATE dangol_log_head SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO dangol_events (seq, stream, version, id, type, recorded_at, record)
			VALUES ($1, 'customer-Q', 0, $2, 'ContactLogged', $3, $4)`, seq, env.ID[:], env.RecordedAt, rec)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-sub.Events():
		if e.ID != env.ID || e.Position.Seq() != first.Position.Seq()+1 {
			t.Fatalf("got %s at %s, want the event committed without a notification", e.ID, e.Position)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("an event committed without NOTIFY never reached the subscriber")
	}
}
