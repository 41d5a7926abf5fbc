package pii_test

import (
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
)

// The key store's contract is tested by each backend (events/pii/boltkeys,
// events/pii/pgkeys) through events/pii/piitest; the sealer's tests run on
// the embedded one.

func openKeys(t testing.TB, path string, m pii.MasterKey) *boltkeys.Keys {
	t.Helper()
	k, err := boltkeys.Open(path, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func tempKeys(t testing.TB) *boltkeys.Keys {
	t.Helper()
	return openKeys(t, filepath.Join(t.TempDir(), "keys.db"), newMaster(t))
}
