package postgres_test

import (
	"context"
	"fmt"
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

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://dangol:secret-password@127.0.0.1:1/dangol?connect_timeout=2", postgres.Options{})
	if events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("Open of an unreachable database: %v, want Unavailable", err)
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if _, err := postgres.Open(ctx, "postgres://[::1", postgres.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("Open of a malformed url: %v, want Invalid", err)
	}
}

func TestMigrations(t *testing.T) {
	url := pgtest.Database(t)
	ctx := t.Context()
	_, err := postgres.Open(ctx, url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "dangol migrate") {
		t.Fatalf("Open of an empty database without Migrate: %v, want advice to run dangol migrate", err)
	}
	// Several processes starting together apply each step once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url, postgres.Options{Migrate: true})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := open(t, url)
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM dangol_schema_migrations`).Scan(&n); err != nil || n != postgres.SchemaVersion() {
		t.Fatalf("%d migration rows (%v), want %d", n, err, postgres.SchemaVersion())
	}
	// A schema newer than the build is refused.
	if _, err := s.Pool().Exec(ctx, `INSERT INTO dangol_schema_migrations (version, name) VALUES (999, 'future')`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url, postgres.Options{Migrate: true}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestLogIsAppendOnly(t *testing.T) {
	url := pgtest.Database(t)
	s := open(t, url)
	ctx := t.Context()
	if _, err := s.Append(ctx, "customer-I", events.NoStream, eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`UPDATE dangol_events SET type = 'X'`,
		`DELETE FROM dangol_events`,
		`TRUNCATE dangol_events`,
	} {
		if _, err := s.Pool().Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", sql, err)
		}
	}
}

// TestDatabaseLost stops the server under a running store: appends fail
// with Unavailable (never hang), a subscription survives, and after the
// server returns every acknowledged event is there, appends work again,
// and the subscription delivers the rest without a gap or duplicate.
func TestDatabaseLost(t *testing.T) {
	srv := pgtest.New(t)
	ctx := t.Context()
	url, err := srv.CreateDatabase(ctx, "lost")
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var acked []string
	appendOne := func(i int) error {
		res, err := s.Append(ctx, fmt.Sprintf("customer-L%d", i%4), events.Any, eventstest.NewEvent("ContactLogged", fmt.Sprintf(`{"i":%d}`, i)))
		if err == nil {
			acked = append(acked, res.EventIDs...)
		}
		return err
	}
	for i := range 50 {
		if err := appendOne(i); err != nil {
			t.Fatal(err)
		}
	}
	srv.Kill() // as a crash would
	for i := 50; i < 55; i++ {
		err := appendOne(i)
		if events.ErrorCode(err) != events.Unavailable {
			t.Fatalf("append while the database is down: %v, want Unavailable", err)
		}
	}
	if _, err := s.Head(ctx); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("Head while the database is down: %v, want Unavailable", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var err2 error
	deadline := time.Now().Add(30 * time.Second)
	for i := 55; ; i++ {
		if err2 = appendOne(i); err2 == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err2 != nil {
		t.Fatalf("appends did not recover after the database returned: %v", err2)
	}
	for i := range 20 {
		if err := appendOne(1000 + i); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(got) < len(acked) {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended: %v", sub.Err())
			}
			if got[e.ID.String()] {
				t.Fatalf("%s delivered twice", e.ID)
			}
			got[e.ID.String()] = true
		case <-timeout:
			t.Fatalf("subscription delivered %d of %d acknowledged events after the outage", len(got), len(acked))
		}
	}
	for _, id := range acked {
		if !got[id] {
			t.Fatalf("acknowledged event %s was not delivered", id)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM dangol_events`).Scan(&n); err != nil || n < len(acked) {
		t.Fatalf("the log holds %d events (%v), %d were acknowledged", n, err, len(acked))
	}
	if err := sub.Err(); err != nil {
		t.Fatalf("the subscription has ended: %v", err)
	}
}
