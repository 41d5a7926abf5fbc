package pii_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

func openKeys(t testing.TB, path string, m pii.MasterKey) *pii.BoltKeys {
	t.Helper()
	k, err := pii.OpenBoltKeys(path, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func tempKeys(t testing.TB) *pii.BoltKeys {
	t.Helper()
	return openKeys(t, filepath.Join(t.TempDir(), "keys.db"), newMaster(t))
}

func TestDataKeyCreateAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	master := newMaster(t)
	ks := openKeys(t, path, master)

	_, err := ks.DataKey(ctx, "C1", false)
	if !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("DataKey without create on a new customer: %v, want ErrNoKey", err)
	}
	wantCode(t, err, events.NotFound)

	k1, err := ks.DataKey(ctx, "C1", true)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %d bytes, %v", len(k1), err)
	}
	k1again, _ := ks.DataKey(ctx, "C1", true)
	k2, _ := ks.DataKey(ctx, "C2", true)
	if !bytes.Equal(k1, k1again) || bytes.Equal(k1, k2) {
		t.Fatal("one key per customer, stable across calls, is broken")
	}
	k1again[0] ^= 1 // a copy: scribbling on it must not change the stored key
	if again, _ := ks.DataKey(ctx, "C1", false); !bytes.Equal(again, k1) {
		t.Fatal("DataKey returned the cache's own slice")
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}

	reopened := openKeys(t, path, master)
	got, err := reopened.DataKey(ctx, "C1", false)
	if err != nil || !bytes.Equal(got, k1) {
		t.Fatalf("after reopen: %v, same key %v", err, bytes.Equal(got, k1))
	}
}

func TestDestroyIsForGood(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	master := newMaster(t)
	ks := openKeys(t, path, master)
	if _, err := ks.DataKey(ctx, "C1", true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := ks.Destroy(ctx, "C1"); err != nil {
			t.Fatalf("destroy #%d: %v", i+1, err)
		}
	}
	at, erased, err := ks.ErasedAt(ctx, "C1")
	if err != nil || !erased || at.IsZero() {
		t.Fatalf("ErasedAt = %v, %v, %v", at, erased, err)
	}
	// Never-keyed customers can be erased too, and then never get a key.
	if err := ks.Destroy(ctx, "C2"); err != nil {
		t.Fatal(err)
	}
	check := func(ks *pii.BoltKeys, when string) {
		for _, id := range []string{"C1", "C2"} {
			for _, create := range []bool{false, true} {
				key, err := ks.DataKey(ctx, id, create)
				if !errors.Is(err, pii.ErrErased) || key != nil {
					t.Fatalf("%s: DataKey(%s, create=%v) = %x, %v; want ErrErased", when, id, create, key, err)
				}
				wantCode(t, err, events.NotFound)
			}
		}
	}
	check(ks, "same process")
	ks.Close()
	ks = openKeys(t, path, master)
	check(ks, "after reopen")
	if _, erased, _ := ks.ErasedAt(ctx, "C1"); !erased {
		t.Fatal("erasure record lost on reopen")
	}
	if _, err := ks.DataKey(ctx, "C3", true); err != nil {
		t.Fatalf("other customers are unaffected: %v", err)
	}
}

func TestWrongMasterKeyIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	right, wrong := newMaster(t), newMaster(t)
	ks := openKeys(t, path, right)
	if _, err := ks.DataKey(ctx, "C1", true); err != nil {
		t.Fatal(err)
	}
	ks.Close()

	_, err := pii.OpenBoltKeys(path, wrong)
	if !errors.Is(err, pii.ErrWrongMasterKey) {
		t.Fatalf("open with another master key: %v, want ErrWrongMasterKey", err)
	}
	wantCode(t, err, events.Invalid)
	if msg := err.Error(); !strings.Contains(msg, right.ID()) || !strings.Contains(msg, wrong.ID()) {
		t.Fatalf("error should name both key ids (%s, %s): %v", right.ID(), wrong.ID(), err)
	}
	// The refused open left the file usable with the right key.
	if _, err := openKeys(t, path, right).DataKey(ctx, "C1", false); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreateYieldsOneKey(t *testing.T) {
	ctx := context.Background()
	ks := tempKeys(t)
	const goroutines = 16
	for c := 0; c < 20; c++ {
		id := fmt.Sprintf("C%d", c)
		keys := make([][]byte, goroutines)
		errs := make([]error, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[g], errs[g] = ks.DataKey(ctx, id, true)
			}()
		}
		close(start)
		wg.Wait()
		for g := range keys {
			if errs[g] != nil {
				t.Fatalf("%s goroutine %d: %v", id, g, errs[g])
			}
			if !bytes.Equal(keys[g], keys[0]) {
				t.Fatalf("%s: goroutines %d and 0 got different keys", id, g)
			}
		}
		if stored, _ := ks.DataKey(ctx, id, false); !bytes.Equal(stored, keys[0]) {
			t.Fatalf("%s: the stored key differs from the one handed out", id)
		}
	}
}

// A reader that fetched a key from the file just before a Destroy committed
// must not put it back into the cache afterwards.
func TestDestroyWinsOverConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	ks := tempKeys(t)
	for c := 0; c < 30; c++ {
		id := fmt.Sprintf("C%d", c)
		if _, err := ks.DataKey(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := ks.DataKey(ctx, id, g%2 == 0); err != nil && !errors.Is(err, pii.ErrErased) {
						t.Error(err)
						return
					}
				}
			}()
		}
		if err := ks.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.DataKey(ctx, id, false); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("%s right after Destroy: %v, want ErrErased", id, err)
		}
		close(stop)
		wg.Wait()
		if _, err := ks.DataKey(ctx, id, true); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("%s after the readers stopped: %v, want ErrErased", id, err)
		}
	}
}

func TestCompactDropsDestroyedKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.db")
	master := newMaster(t)
	ks := openKeys(t, path, master)
	live, err := ks.DataKey(ctx, "LIVE", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.DataKey(ctx, "GONE", true); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	wrapped := readWrapped(t, path, "GONE")

	ks = openKeys(t, path, master)
	if err := ks.Destroy(ctx, "GONE"); err != nil {
		t.Fatal(err)
	}
	compacted := filepath.Join(dir, "keys.compact.db")
	if err := ks.Compact(compacted); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ks.Compact(compacted), events.Invalid) // never overwrites
	ks.Close()

	raw, err := os.ReadFile(compacted)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, wrapped) {
		t.Fatal("the compacted file still holds the destroyed wrapped key")
	}
	if fi, _ := os.Stat(compacted); fi.Mode().Perm() != 0o600 {
		t.Fatalf("compacted file mode %04o, want 0600", fi.Mode().Perm())
	}
	cs := openKeys(t, compacted, master)
	if got, err := cs.DataKey(ctx, "LIVE", false); err != nil || !bytes.Equal(got, live) {
		t.Fatalf("live key after compaction: %v", err)
	}
	if _, err := cs.DataKey(ctx, "GONE", true); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("erasure record after compaction: %v", err)
	}
}

// readWrapped reads a wrapped key straight from the bbolt file, the way an
// attacker holding the file would.
func readWrapped(t *testing.T, path, id string) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v []byte
	db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket([]byte("keys")).Get([]byte(id)))
		return nil
	})
	if len(v) < 32 {
		t.Fatalf("wrapped key of %s not found", id)
	}
	return v
}

func TestKeyStoreClosedAndLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	master := newMaster(t)
	ks := openKeys(t, path, master)
	_, err := pii.OpenBoltKeys(path, master)
	wantCode(t, err, events.Unavailable) // flock held by ks
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = ks.DataKey(ctx, "C1", true)
	wantCode(t, err, events.Unavailable)
	wantCode(t, ks.Destroy(ctx, "C1"), events.Unavailable)

	_, err = openKeys(t, path, master).DataKey(ctx, "", true)
	wantCode(t, err, events.Invalid)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = openKeys(t, filepath.Join(t.TempDir(), "k.db"), master).DataKey(cancelled, "C1", true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
