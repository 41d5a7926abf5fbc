package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
)

// TestServeRestartFromSnapshot: with the in-memory read side, an erasure
// writes a read-model snapshot at once; the next start restores it and
// replays only the events after it (the tail), reading back what the first
// server read and appending nothing again; a damaged snapshot is refused
// and the start after replays the whole log, reading back the same.
func TestServeRestartFromSnapshot(t *testing.T) {
	s := bootStack(t)
	if s.url != "" {
		t.Skip("the PostgreSQL read store keeps its own snapshot (projections/postgres)")
	}
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	s.json("R1", "POST", "/v1/customers", customer("C2"), 201)
	s.json("A001", "POST", "/v1/customers/C2/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	dir := filepath.Join(s.dir, "snapshots")
	files := func() []string { fs, _ := (&projections.SnapshotDir{Dir: dir}).List(); return fs }
	waitUntil(t, "the erasure's snapshot", func() bool { return len(files()) == 1 })
	if file, err := os.ReadFile(files()[0]); err != nil || bytes.Contains(file, []byte("김민준 C1")) || bytes.Contains(file, []byte("010-1234-5678")) {
		t.Fatalf("the snapshot file (%v) holds C1's name or phone in clear", err)
	}
	s.json("R1", "POST", "/v1/customers", customer("C3"), 201)
	s.json("R1", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"address": "부산광역시 해운대구 1"}, "source": "branch"}, 201)

	reads := []string{"/v1/customers/C1", "/v1/customers/C2", "/v1/customers/C3", "/v1/customers/C1/timeline"}
	before := map[string][]byte{}
	for _, p := range reads {
		_, _, before[p] = s.do("R1", "GET", p, nil)
	}
	head := s.head()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	restart := func(wantApplied func(applied uint64) bool, what string) {
		t.Helper()
		s2 := startStack(t, s.dir, s.url, s.tok)
		if n := s2.srv.runner.(*projections.Runner).Applied(); !wantApplied(n) {
			t.Fatalf("%d events applied at the start of a log of %v: want %s", n, head, what)
		}
		for _, p := range reads {
			if st, _, raw := s2.do("R1", "GET", p, nil); st != 200 || !bytes.Equal(raw, before[p]) {
				t.Errorf("GET %s after the restart: %d\n%s\nbefore:\n%s", p, st, raw, before[p])
			}
		}
		// What follows head is the access record of the reads (as in
		// TestServeRestart): the reactors decide nothing again.
		for _, e := range s2.json("U1", "GET", fmt.Sprintf("/v1/audit/log?limit=1000&from_position=%d", int64(head)), nil, 200)["events"].([]any) {
			if ev := e.(map[string]any); ev["type"] != "PersonalDataRead" {
				t.Fatalf("%v appended after the restart, after head %v", ev["type"], head)
			}
		}
		if err := s2.stop(); err != nil {
			t.Fatal(err)
		}
	}
	restart(func(n uint64) bool { return n > 0 && float64(n) < head }, "the tail only")
	b, err := os.ReadFile(files()[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(files()[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	restart(func(n uint64) bool { return float64(n) >= head }, "the whole log")
}

// TestServeSnapshotsOffShredsLeft: a server started with --snapshots off
// shreds the snapshots an earlier run left in <data>/snapshots (their
// keys destroyed, the files gone): it writes none, so no erasure of its
// would reach them, and a copy of one would keep opening with the erased
// customers' data in it.
func TestServeSnapshotsOffShredsLeft(t *testing.T) {
	s := bootStack(t)
	if s.url != "" {
		t.Skip("the PostgreSQL read store keeps its own snapshot (projections/postgres)")
	}
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	s.json("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	dir := filepath.Join(s.dir, "snapshots")
	files := func() []string { fs, _ := (&projections.SnapshotDir{Dir: dir}).List(); return fs }
	waitUntil(t, "the erasure's snapshot", func() bool { return len(files()) == 1 })
	kept := filepath.Join(t.TempDir(), "copy")
	if b, err := os.ReadFile(files()[0]); err != nil || os.WriteFile(kept, b, 0o600) != nil {
		t.Fatalf("copy the snapshot: %v", err)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s2 := startStackWith(t, s.dir, s.url, s.tok, func(cfg *serveConfig) { cfg.snapshots.dir = "off" })
	if left := files(); len(left) != 0 {
		t.Fatalf("snapshots left after a start with --snapshots off: %v", left)
	}
	f, err := os.Open(kept)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := projections.ReadSealedHeader(f)
	if err != nil {
		t.Fatalf("the copy's header: %v", err)
	}
	if _, err := s2.srv.keys.DataKey(context.Background(), h.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the left snapshot's key %s after the start: %v; want it destroyed (pii.ErrErased)", h.Key, err)
	}
}
