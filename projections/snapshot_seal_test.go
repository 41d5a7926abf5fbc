package projections_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// personal returns the clear name and phone of a registered customer of
// the log whose registration's values still stand at its end (the
// generated bank's fields are not sealed: the folds hold them as a
// server's folds hold opened ones). A customer whose profile a later event
// changes, reports, erases or merges away is passed over: the folds may no
// longer hold the registration's values, and which customer comes first
// varies with the bank's ids.
func personal(t *testing.T, all []events.Envelope) []string {
	t.Helper()
	touched := map[string]bool{}
	for i := range all {
		switch all[i].Type {
		case "ProfileChanged", "ProfileReported", "PersonalDataErased", "CustomerMergedInto":
			touched[all[i].Stream] = true
		}
	}
	for i := range all {
		d, err := events.Decode(&all[i])
		if r, ok := d.(*events.CustomerRegistered); err == nil && ok && len(r.Name) > 3 && len(r.Phone) > 6 && !touched[all[i].Stream] {
			return []string{r.Name, r.Phone}
		}
	}
	t.Fatal("no customer with a name and a phone that stand in the generated bank")
	return nil
}

// sealedBank is a generated bank, its log, and a snapshot directory
// sealing under keys, logging to logs.
type sealedBank struct {
	s    events.Store
	all  []events.Envelope
	dir  *projections.SnapshotDir
	logs bytes.Buffer
}

func newSealedBank(t *testing.T, keys projections.SnapshotKeys) *sealedBank {
	t.Helper()
	b := &sealedBank{s: snapLog(t, 20)}
	b.all = readLog(t, b.s)
	b.dir = &projections.SnapshotDir{Dir: t.TempDir(), Keys: keys, Logger: slog.New(slog.NewTextHandler(&b.logs, nil))}
	return b
}

// write writes a snapshot of the log's first cut events and returns its
// file.
func (b *sealedBank) write(t *testing.T, cut int, erasure bool) string {
	t.Helper()
	f := newFolds()
	f.apply(t, b.all[:cut])
	path, err := b.dir.Write(projections.InfoAt(&b.all[cut-1], b.all[cut-2].Position), f.roots(), erasure)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// load loads the newest usable snapshot and returns the folds and whether
// one was.
func (b *sealedBank) load() (*folds, projections.SnapshotInfo, bool) {
	var restored *folds
	_, info, ok := b.dir.Load(context.Background(), b.s, func() []projections.Projection { restored = newFolds(); return restored.roots() })
	return restored, info, ok
}

func header(t *testing.T, file []byte) projections.SealedHeader {
	t.Helper()
	h, err := projections.ReadSealedHeader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSnapshotFileHoldsNoPersonalField: a snapshot file holds none of a
// customer's personal fields in clear (the folds hold them so), names its
// key in its header, and restores.
func TestSnapshotFileHoldsNoPersonalField(t *testing.T) {
	b := newSealedBank(t, projectionstest.SnapshotKeys(t))
	file, err := os.ReadFile(b.write(t, len(b.all), false))
	if err != nil {
		t.Fatal(err)
	}
	f := newFolds()
	f.apply(t, b.all)
	var plain bytes.Buffer // what a snapshot file held before it was sealed
	if err := projections.WriteSnapshot(&plain, projections.SnapshotInfo{}, f.roots()); err != nil {
		t.Fatal(err)
	}
	for _, v := range personal(t, b.all) {
		if !bytes.Contains(plain.Bytes(), []byte(v)) {
			t.Fatalf("the folds' state does not hold %q: the test would prove nothing", v)
		}
		if bytes.Contains(file, []byte(v)) {
			t.Fatalf("the snapshot file holds %q in clear", v)
		}
	}
	if h := header(t, file); !strings.HasPrefix(h.Key, "snapshot:") || h.Info.Position != b.all[len(b.all)-1].Position {
		t.Fatalf("header %+v: want its key's id and position", h)
	}
	restored, _, ok := b.load()
	if !ok || restored.mem.Customers.Len() == 0 {
		t.Fatalf("restored %v, %d customers: %s", ok, restored.mem.Customers.Len(), b.logs.String())
	}
}

// TestSnapshotErasureShredsOlder: the snapshot written after an erasure
// has a key of its own and the keys of the older ones are destroyed: a
// copy of an older file (a disk block, a backup) no longer opens; an
// older file a crash left behind is shredded by the next load.
func TestSnapshotErasureShredsOlder(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	n := len(b.all)
	backup, err := os.ReadFile(b.write(t, n-2, false))
	if err != nil {
		t.Fatal(err)
	}
	b.write(t, n-1, false)
	erasure, err := os.ReadFile(b.write(t, n, true))
	if err != nil {
		t.Fatal(err)
	}
	old, now := header(t, backup), header(t, erasure)
	if old.Key == now.Key || !now.ShredOlder {
		t.Fatalf("keys %s and %s, shredOlder %v: want a new key and the flag", old.Key, now.Key, now.ShredOlder)
	}
	if _, err := keys.DataKey(context.Background(), old.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the older snapshot's key: %v, want it destroyed", err)
	}
	if files, _ := b.dir.List(); len(files) != 1 {
		t.Fatalf("%d files after the erasure's snapshot, want 1", len(files))
	}
	_, err = projections.OpenSnapshot(context.Background(), bytes.NewReader(backup), int64(len(backup)), b.s, newFolds().roots(), keys)
	if !errors.Is(err, pii.ErrErased) {
		t.Fatalf("a copy of the older snapshot opened: %v", err)
	}

	// A crash between the erasure's snapshot and the shredding: an older
	// file, its key live, beside the erasure's. The load shreds it.
	crashed := newSealedBank(t, keys)
	left := header(t, readFile(t, crashed.write(t, n-1, false)))
	other := &projections.SnapshotDir{Dir: t.TempDir(), Keys: keys}
	f := newFolds()
	f.apply(t, crashed.all)
	path, err := other.Write(projections.InfoAt(&crashed.all[n-1], crashed.all[n-2].Position), f.roots(), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(crashed.dir.Dir, filepath.Base(path))); err != nil {
		t.Fatal(err)
	}
	if _, info, ok := crashed.load(); !ok || info.Position != crashed.all[n-1].Position {
		t.Fatalf("restored %v at %v: %s", ok, info.Position, crashed.logs.String())
	}
	if _, err := keys.DataKey(context.Background(), left.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the older snapshot left by the crash: its key %v, want it destroyed", err)
	}
	if files, _ := crashed.dir.List(); len(files) != 1 {
		t.Fatalf("%d files after the load, want 1", len(files))
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherKeys answers every key with one of its own: the wrong key.
type otherKeys struct{ projections.SnapshotKeys }

func (otherKeys) DataKey(context.Context, string, bool) ([]byte, error) {
	k := make([]byte, 32)
	rand.Read(k)
	return k, nil
}

// TestSealedSnapshotRefused: a sealed snapshot under the wrong key, with a
// changed header, a changed, dropped or reordered chunk, cut short, or
// whose key was destroyed is refused; Load then replays the whole log
// (fresh folds) and its log line names no personal field.
func TestSealedSnapshotRefused(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	path := b.write(t, len(b.all), false)
	good := readFile(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h := header(t, good)
	at := bytes.Index(good, []byte(`"events":`))
	changedHead := bytes.Clone(good)
	changedHead[at+len(`"events":`)] ^= 1 // a digit: still JSON, the position still in the log
	flipped := bytes.Clone(good)
	flipped[len(flipped)-40] ^= 0x01
	cases := []struct {
		name string
		file []byte
		keys projections.SnapshotKeys
		want string
	}{
		{"wrong key", good, otherKeys{keys}, "does not authenticate"},
		{"changed header", changedHead, keys, "does not authenticate"},
		{"flipped byte", flipped, keys, "does not authenticate"},
		{"cut short", good[:len(good)-100], keys, "cut short"},
		{"plain snapshot", nil, keys, "not a sealed"},
		{"key destroyed", good, keys, "erased"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "key destroyed" {
				if err := keys.Destroy(context.Background(), h.Key); err != nil {
					t.Fatal(err)
				}
			}
			_, err := projections.OpenSnapshot(context.Background(), bytes.NewReader(c.file), int64(len(c.file)), b.s, newFolds().roots(), c.keys)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
			b.logs.Reset()
			b.dir.Keys = c.keys
			if err := os.WriteFile(filepath.Join(b.dir.Dir, "snapshot-00000000000000000099-00000000000000000099.rms"), c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			restored, _, ok := b.load()
			if ok || restored.mem.Customers.Len() != 0 || !strings.Contains(b.logs.String(), "replaying the whole log") {
				t.Fatalf("restored %v with %d customers, logged %s: want a refusal, empty folds and a full replay", ok, restored.mem.Customers.Len(), b.logs.String())
			}
			for _, v := range personal(t, b.all) {
				if strings.Contains(b.logs.String(), v) {
					t.Fatalf("the log line holds %q", v)
				}
			}
		})
	}
}
