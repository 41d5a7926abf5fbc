package pii_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestPostgresKeys runs the key store contract on PostgreSQL with two
// PostgresKeys over two pools, as two serve processes would have.
func TestPostgresKeys(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Database(t)
	s, err := postgres.Open(ctx, url, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	master := newMaster(t)
	a, err := pii.OpenPostgresKeys(ctx, s.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pii.OpenPostgresKeys(ctx, other.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := a.DataKey(ctx, "C1", false); !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("no key yet: %v", err)
	}
	// Concurrent creation from both processes yields one key.
	keys := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range keys {
		ks := []*pii.PostgresKeys{a, b}[i%2]
		wg.Go(func() {
			k, err := ks.DataKey(ctx, "C1", true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) || len(k) != 32 {
			t.Fatal("concurrent creation gave different keys")
		}
	}
	var wrapped []byte
	if err := s.Pool().QueryRow(ctx, `SELECT wrapped FROM dangol_keys WHERE customer_id = 'C1'`).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, keys[0]) {
		t.Fatal("the database holds the data key in plain text")
	}

	// Destroy through one; the other forgets it when it destroys too (as
	// its runner does on seeing PersonalDataErased), and it never comes back.
	if err := a.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	for _, ks := range []*pii.PostgresKeys{a, b} {
		if _, err := ks.DataKey(ctx, "C1", true); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("after destroy: %v, want ErrErased", err)
		}
	}
	fresh, err := pii.OpenPostgresKeys(ctx, other.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.DataKey(ctx, "C1", true); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("a fresh process re-created an erased key: %v", err)
	}

	// Another master key is refused.
	if _, err := pii.OpenPostgresKeys(ctx, s.Pool(), newMaster(t)); events.ErrorCode(err) != events.Invalid || !errors.Is(err, pii.ErrWrongMasterKey) {
		t.Fatalf("wrong master key: %v", err)
	}
}
