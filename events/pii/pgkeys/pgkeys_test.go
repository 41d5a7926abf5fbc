package pgkeys_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/pgkeys"
	"github.com/dangol/dangol/events/pii/piitest"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openDB returns two PostgreSQL stores (two pools, as two serve processes
// would have) on a fresh, migrated database.
func openDB(t testing.TB) (a, b *postgres.Store) {
	t.Helper()
	url := pgtest.Database(t)
	a, err := postgres.Open(t.Context(), url, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// TestKeyStore runs the contract; each handle it opens alternates between
// the two pools, so a reopen is also another process.
func TestKeyStore(t *testing.T) {
	piitest.TestKeyStore(t, func(t testing.TB) piitest.Opener {
		a, b := openDB(t)
		n := 0
		return func(m pii.MasterKey) (pii.KeyStore, error) {
			n++
			return pgkeys.Open(t.Context(), []*postgres.Store{a, b}[n%2].Pool(), m)
		}
	})
}

// TestTwoProcesses: concurrent creation through two key stores on two pools
// yields one key, stored wrapped; a key destroyed through one is erased for
// the other once it destroys it too (as its runner does on seeing
// PersonalDataErased), and for a process that starts later.
func TestTwoProcesses(t *testing.T) {
	ctx := t.Context()
	s, other := openDB(t)
	master := piitest.NewMaster(t)
	a, err := pgkeys.Open(ctx, s.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgkeys.Open(ctx, other.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([][]byte, 16)
	var wg sync.WaitGroup
	for i := range keys {
		ks := []*pii.Keys{a, b}[i%2]
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

	if err := a.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	for _, ks := range []*pii.Keys{a, b} {
		if _, err := ks.DataKey(ctx, "C1", true); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("after destroy: %v, want ErrErased", err)
		}
	}
	fresh, err := pgkeys.Open(ctx, other.Pool(), master)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.DataKey(ctx, "C1", true); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("a fresh process re-created an erased key: %v", err)
	}
	// Closing a key store leaves the caller's pool open.
	a.Close()
	if err := s.Pool().Ping(ctx); err != nil {
		t.Fatalf("the pool after the key store closed: %v", err)
	}
}
