package projectionstest

import (
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/piitest"
)

// SnapshotKeys returns a real key store (keys.db under a new master key,
// closed at the test's end) for read-model snapshots' data keys; the
// deployment's pgkeys passes the same contract (piitest).
func SnapshotKeys(t testing.TB) *boltkeys.Keys {
	t.Helper()
	k, err := boltkeys.Open(filepath.Join(t.TempDir(), "keys.db"), piitest.NewMaster(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}
