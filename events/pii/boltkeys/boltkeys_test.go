package boltkeys_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/piitest"
)

func TestKeyStore(t *testing.T) {
	piitest.TestKeyStore(t, func(t testing.TB) piitest.Opener {
		path := filepath.Join(t.TempDir(), "keys.db")
		return func(m pii.MasterKey) (pii.KeyStore, error) { return boltkeys.Open(path, m) }
	})
}

func openKeys(t *testing.T, path string, m pii.MasterKey) *boltkeys.Keys {
	t.Helper()
	k, err := boltkeys.Open(path, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := events.ErrorCode(err); got != code {
		t.Fatalf("error code %q, want %q (err: %v)", got, code, err)
	}
}

// TestErasedAt: the erasure record keeps the time of the first Destroy,
// across a reopen.
func TestErasedAt(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "keys.db")
	master := piitest.NewMaster(t)
	ks := openKeys(t, path, master)
	if _, erased, err := ks.ErasedAt(ctx, "C1"); erased || err != nil {
		t.Fatalf("ErasedAt before any erasure: %v, %v", erased, err)
	}
	if err := ks.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	first, erased, err := ks.ErasedAt(ctx, "C1")
	if err != nil || !erased || first.IsZero() {
		t.Fatalf("ErasedAt = %v, %v, %v", first, erased, err)
	}
	if err := ks.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	again, erased, err := openKeys(t, path, master).ErasedAt(ctx, "C1")
	if err != nil || !erased || !again.Equal(first) {
		t.Fatalf("after a second Destroy and a reopen: %v, %v, %v; want %v", again, erased, err, first)
	}
	_, _, err = ks.ErasedAt(ctx, "")
	wantCode(t, err, events.Invalid)
}

func TestCompactDropsDestroyedKeys(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.db")
	master := piitest.NewMaster(t)
	ks := openKeys(t, path, master)
	live, err := ks.DataKey(ctx, "LIVE", true)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := ks.DataKey(ctx, "GONE", true)
	if err != nil {
		t.Fatal(err)
	}
	ks.Close()
	wrapped := readWrapped(t, path, "GONE")
	if bytes.Contains(wrapped, gone) {
		t.Fatal("keys.db holds the data key in clear")
	}

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

// TestLockedFile: a second process (here: a second open) cannot open a
// key store in use; it is told so within a second.
func TestLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	master := piitest.NewMaster(t)
	openKeys(t, path, master)
	_, err := boltkeys.Open(path, master)
	wantCode(t, err, events.Unavailable)
	_, err = boltkeys.Open(filepath.Join(t.TempDir(), "k.db"), pii.MasterKey{})
	wantCode(t, err, events.Invalid)
}
