package export_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/piitest"
	"github.com/dangol/dangol/events/seal"
)

// sealedLog is an embedded store with its tree and a sealer.
type sealedLog struct {
	store  *bolt.Store
	tree   *seal.Tree
	sealer *seal.Sealer
	key    *seal.Key
}

func newSealedLog(t testing.TB) *sealedLog {
	t.Helper()
	dir := t.TempDir()
	s, err := bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: eventstest.NewManualClock(eventstest.Epoch).Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tree, err := seal.OpenTree(filepath.Join(dir, "seals"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	key, err := seal.NewKey("dangol.test", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewSealer(seal.Config{Store: s, Tree: tree, Key: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return &sealedLog{store: s, tree: tree, sealer: sealer, key: key}
}

func (l *sealedLog) add(t testing.TB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ev := eventstest.NewEvent("ContactLogged", fmt.Sprintf(`{"n":%d}`, i))
		if _, err := l.store.Append(context.Background(), fmt.Sprintf("customer-C%d", i%3), events.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
}

func (l *sealedLog) seal(t testing.TB) *seal.Seal {
	t.Helper()
	if err := l.tree.CatchUp(context.Background(), l.store); err != nil {
		t.Fatal(err)
	}
	s, err := l.sealer.SealNow(context.Background())
	if err != nil || s == nil {
		t.Fatalf("SealNow: %v, %v", s, err)
	}
	return s
}

func (l *sealedLog) export(t testing.TB, req export.Request) ([]byte, export.Manifest) {
	t.Helper()
	var body bytes.Buffer
	req.Origin = "dangol.test"
	m, err := export.Export(context.Background(), l.store, &body, req)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != int64(len(lines(t, body.Bytes()))) || m.SHA256 != fmt.Sprintf("%x", sha256.Sum256(body.Bytes())) {
		t.Errorf("manifest count %d, sha256 %s do not describe the body", m.Count, m.SHA256)
	}
	return body.Bytes(), m
}

// rootFrom is the root of the tree of the manifest's frontier and the
// export's events: what a verifier compares with the covering seal.
func rootFrom(t testing.TB, m export.Manifest, body []byte) (tlog.Hash, int64) {
	t.Helper()
	c, err := m.Start()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(t, body) {
		e, err := export.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		c.Append(seal.LeafHash(&e))
	}
	return c.Root(), c.Size()
}

func TestExportWithoutSeals(t *testing.T) {
	l := newSealedLog(t)
	l.add(t, 7)
	to, err := export.DefaultTo(context.Background(), l.store, events.Start)
	if err != nil || to != events.At(7) {
		t.Fatalf("DefaultTo = %s, %v; want the head, 7", to, err)
	}
	body, m := l.export(t, export.Request{To: to})
	if m.Count != 7 || m.FromPosition != events.At(1) || m.ToPosition != events.At(7) || m.StartLeaf != 0 ||
		len(m.Frontier) != 0 || m.CoveringSeal != nil || m.CoveringSealHash() != "" || m.Clear || m.Origin != "dangol.test" {
		t.Errorf("manifest %+v", m)
	}
	v := events.NewChainVerifier()
	for _, line := range lines(t, body) {
		e, err := export.Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Add(&e); err != nil {
			t.Error(err)
		}
	}
	js, _ := json.Marshal(m)
	if !strings.Contains(string(js), `"coveringSeal":null`) || !strings.Contains(string(js), `"frontier":[]`) {
		t.Errorf("manifest JSON %s", js)
	}
}

func TestExportCoveredBySeals(t *testing.T) {
	l := newSealedLog(t)
	l.add(t, 10)
	first := l.seal(t) // leaves 0-9; the seal is leaf 10
	l.add(t, 5)
	second := l.seal(t) // leaves 0-15
	l.add(t, 3)

	to, err := export.DefaultTo(context.Background(), l.store, events.Start)
	if err != nil || to != second.ToPosition {
		t.Fatalf("DefaultTo = %s, %v; want what the latest seal covers, %s", to, err, second.ToPosition)
	}
	body, m := l.export(t, export.Request{To: to, Tree: l.tree})
	if m.Count != second.TreeSize || m.CoveringSealHash() != second.Hash.String() {
		t.Errorf("whole export: count %d (want %d), covering seal %s (want %s)", m.Count, second.TreeSize, m.CoveringSealHash(), second.Hash)
	}
	if root, n := rootFrom(t, m, body); n != second.TreeSize || root != second.Checkpoint.Root {
		t.Errorf("the export's root of %d leaves is not the seal's", n)
	}
	var cs map[string]any
	if err := json.Unmarshal(m.CoveringSeal, &cs); err != nil || cs["hash"] != second.Hash.String() || cs["type"] != "dangol.LedgerSealed" {
		t.Errorf("covering seal %s: %v", m.CoveringSeal, err)
	}

	// From the middle, with the tree and without: the same frontier, and
	// with the export it gives the first seal's root.
	from := events.At(4)
	withTree, mt := l.export(t, export.Request{From: from, To: first.ToPosition, Tree: l.tree})
	noTree, mn := l.export(t, export.Request{From: from, To: first.ToPosition})
	if !bytes.Equal(withTree, noTree) || !sameJSON(t, mt, mn) {
		t.Errorf("with the tree\n %+v\nwithout\n %+v", mt, mn)
	}
	if mt.StartLeaf != 4 || mt.Count != 6 || len(mt.Frontier) != 1 || mt.CoveringSealHash() != first.Hash.String() {
		t.Errorf("middle export manifest %+v", mt)
	}
	if root, n := rootFrom(t, mt, withTree); n != first.TreeSize || root != first.Checkpoint.Root {
		t.Errorf("frontier and export do not give the first seal's root")
	}

	// Past every seal: covered by none yet.
	head, _ := l.store.Head(context.Background())
	_, past := l.export(t, export.Request{From: second.Position, To: head, Tree: l.tree})
	if past.Count != 3 || past.CoveringSeal != nil || past.StartLeaf != second.TreeSize+1 {
		t.Errorf("unsealed tail manifest %+v", past)
	}
	if to, _ := export.DefaultTo(context.Background(), l.store, second.ToPosition); to != head {
		t.Errorf("DefaultTo from the end of the latest seal = %s, want the head %s", to, head)
	}
}

func TestExportRangeRefused(t *testing.T) {
	l := newSealedLog(t)
	l.add(t, 3)
	var body bytes.Buffer
	_, err := export.Export(context.Background(), l.store, &body, export.Request{From: events.At(3), To: events.At(2)})
	if events.ErrorCode(err) != events.Invalid || body.Len() != 0 {
		t.Errorf("to before from: %v, %d bytes written", err, body.Len())
	}
}

func TestExportInClear(t *testing.T) {
	l := newSealedLog(t)
	ctx := context.Background()
	keys, err := boltkeys.Open(filepath.Join(t.TempDir(), "keys.db"), piitest.NewMaster(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	sealer := pii.NewSealer(keys)
	for _, id := range []string{"C1", "C2"} {
		ev, err := events.NewEvent(&events.CustomerRegistered{CustomerID: id, Name: "김민지 " + id, Phone: "+82 10-5550-1234", BranchID: "B01",
			Source: events.Source{System: "branch", Ref: id}},
			events.Meta{Actor: events.Actor{ID: "R017", Role: "rep"}, Seal: sealer.SealFor(ctx, id)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.store.Append(ctx, events.CustomerStream(id), events.NoStream, ev); err != nil {
			t.Fatal(err)
		}
	}
	l.add(t, 1)
	if err := sealer.Erase(ctx, "C2"); err != nil {
		t.Fatal(err)
	}

	body, m := l.export(t, export.Request{To: events.At(3), Open: sealer.OpenEnvelope, Reason: "court order 2026-77"})
	if !m.Clear || m.Reason != "court order 2026-77" || m.Count != 3 {
		t.Errorf("manifest %+v", m)
	}
	ls := lines(t, body)
	var c1, c2, other map[string]json.RawMessage
	for i, p := range []*map[string]json.RawMessage{&c1, &c2, &other} {
		if err := json.Unmarshal(ls[i], p); err != nil {
			t.Fatal(err)
		}
		e, err := export.Decode(ls[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Verify(events.Hash{}); err != nil {
			t.Errorf("line %d: %v", i, err)
		}
	}
	if !strings.Contains(string(c1["data"]), `"name":"김민지 C1"`) || c1["storeddata"] == nil || c1["erased"] != nil {
		t.Errorf("opened customer: %s", ls[0])
	}
	if !strings.Contains(string(c2["data"]), pii.Prefix) || string(c2["erased"]) != "true" || c2["storeddata"] != nil {
		t.Errorf("erased customer: %s", ls[1])
	}
	if other["storeddata"] != nil || other["erased"] != nil {
		t.Errorf("event without personal data: %s", ls[2])
	}

	ciphertext, mc := l.export(t, export.Request{To: events.At(3)})
	if bytes.Contains(ciphertext, []byte("김민지")) || mc.Clear || mc.Reason != "" {
		t.Errorf("default export holds clear data or says clear: %+v", mc)
	}
}

func sameJSON(t testing.TB, a, b any) bool {
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestManifestStartRefusesBadFrontier(t *testing.T) {
	for _, m := range []export.Manifest{
		{StartLeaf: 1, Frontier: []string{"zz"}},
		{StartLeaf: 1, Frontier: []string{"00"}},
		{StartLeaf: 3, Frontier: []string{strings.Repeat("0", 64)}}, // 3 leaves: two subtrees
	} {
		if _, err := m.Start(); events.ErrorCode(err) != events.Invalid {
			t.Errorf("Start of %+v: %v, want invalid", m, err)
		}
	}
}
