package api_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// writeLegacy writes audio as the release before sealed recordings stored
// an upload: in clear at recordings/<ab>/<sha256> (directory 0700, file
// 0600, as os.CreateTemp made it), and returns its path.
func writeLegacy(t *testing.T, s *stack, digest string, audio []byte) string {
	t.Helper()
	path := filepath.Join(s.dir, "recordings", digest[:2], digest)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendLegacyCall appends the CallRecorded the earlier release's POST
// /v1/calls appended for a recording it stored in clear: the same event,
// which this release's handler no longer accepts for such a recording.
func appendLegacyCall(t *testing.T, s *stack, callID, customerID, digest string, size int) {
	t.Helper()
	d := &events.CallRecorded{CallID: callID, CustomerID: customerID, StaffID: "R1", Direction: "outbound",
		StartedAt: eventstest.Epoch.Add(-time.Hour), DurationSec: 120,
		Recording: events.Recording{SHA256: digest, ContentType: "audio/wav", Bytes: int64(size)}}
	ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}, CorrelationID: events.NewID().String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Append(t.Context(), events.CallStream(callID), events.NoStream, ev); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestLegacyRecordingsMigrated: the recordings an earlier release stored
// in clear are sealed for each customer whose call names them and then
// deleted, so the calls' audio downloads again (whole and by range) and is
// at rest only as ciphertext that the customers' erasure shreds; an erased
// customer's recording and one no call names are deleted without a copy; a
// file that does not hash to its name stays for an operator; abandoned
// temporary uploads of the earlier release go; a rerun, also after a crash
// between the sealing and the delete, seals nothing twice.
func TestLegacyRecordingsMigrated(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, c := range []string{"C1", "C2", "C3"} {
		s.must("R1", "POST", "/v1/customers", newCustomer(c), 201)
	}
	shared := testAudio(11, 3*64<<10+500) // C1's and C2's calls, four segments
	ofErased := testAudio(12, 9000)       // C3's call; C3 is erased before the upgrade
	orphan := testAudio(13, 7000)         // uploaded, no call recorded
	corrupt := testAudio(14, 5000)        // named by the digest of other content
	dShared, dErased, dOrphan := sha256hex(shared), sha256hex(ofErased), sha256hex(orphan)
	dCorrupt := sha256hex([]byte("not the content"))
	pShared := writeLegacy(t, s, dShared, shared)
	pErased := writeLegacy(t, s, dErased, ofErased)
	pOrphan := writeLegacy(t, s, dOrphan, orphan)
	pCorrupt := writeLegacy(t, s, dCorrupt, corrupt)
	appendLegacyCall(t, s, "K1", "C1", dShared, len(shared))
	appendLegacyCall(t, s, "K2", "C2", dShared, len(shared))
	appendLegacyCall(t, s, "K3", "C3", dErased, len(ofErased))
	appendLegacyCall(t, s, "K4", "C1", dShared, len(shared)) // a second call of C1 on the same audio
	s.must("A001", "POST", "/v1/customers/C3/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	// The earlier release's temporary uploads: one abandoned a day ago,
	// one that may still be written by an earlier-release server.
	tmp := filepath.Join(s.dir, "recordings", "tmp")
	for name, age := range map[string]time.Duration{"upload-111": 25 * time.Hour, "upload-222": time.Hour} {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, orphan[:100], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, s.now().Add(-age), s.now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	s.awaitApplied()
	if a := s.req("S1", "GET", "/v1/recordings/"+dShared, nil); a.status != 404 {
		t.Fatalf("before the migration a legacy recording answers %d, want 404 (this release does not read the clear layout)", a.status)
	}

	m, err := api.MigrateLegacyRecordings(t.Context(), s.store, s.sealer, s.srv.Blobs, s.now())
	want := api.LegacyMigration{Files: 4, Sealed: 2, Erased: 1, Orphans: 1, Deleted: 3, Corrupt: 1, Temps: 1}
	if m != want {
		t.Fatalf("migration %+v, want %+v", m, want)
	}
	if !errors.Is(err, api.ErrLegacyCorrupt) {
		t.Fatalf("migration error %v, want one naming the corrupt file", err)
	}
	for _, p := range []string{pShared, pErased, pOrphan, filepath.Join(tmp, "upload-111")} {
		if exists(t, p) {
			t.Fatalf("%s is still there after the migration", p)
		}
	}
	if !exists(t, pCorrupt) || !exists(t, filepath.Join(tmp, "upload-222")) {
		t.Fatal("the corrupt file and the young temporary upload must stay")
	}
	if c := sealedCopies(t, s, dShared); strings.Join(c, " ") != "C1 C2" {
		t.Fatalf("sealed copies of the shared recording %v, want C1 C2", c)
	}
	if c := sealedCopies(t, s, dErased); len(c) != 0 {
		t.Fatalf("the erased customer got a sealed copy: %v", c)
	}
	for _, probe := range [][]byte{shared[:64], shared[150_000:150_064], ofErased[:64], orphan[200:264]} {
		if f := filesHolding(t, s.dir, probe); len(f) != 0 {
			t.Fatalf("audio in clear at rest after the migration: %v", f)
		}
	}
	full := s.req("S1", "GET", "/v1/recordings/"+dShared, nil)
	if full.status != 200 || !bytes.Equal(full.raw, shared) {
		t.Fatalf("download of a migrated recording: %d, %d bytes", full.status, len(full.raw))
	}
	part := s.req("S1", "GET", "/v1/recordings/"+dShared, nil, "Range", "bytes=65530-65545")
	if part.status != 206 || !bytes.Equal(part.raw, shared[65530:65546]) {
		t.Fatalf("range of a migrated recording: %d %x", part.status, part.raw)
	}
	for _, d := range []string{dErased, dOrphan} {
		if a := s.req("S1", "GET", "/v1/recordings/"+d, nil); a.status != 404 {
			t.Fatalf("a deleted legacy recording answers %d", a.status)
		}
	}

	// A crash after the sealing, before the delete: the clear file is back
	// beside its copies. The rerun keeps the copies as they are and
	// deletes it.
	before := map[string][]byte{}
	for _, c := range []string{"C1", "C2"} {
		b, err := os.ReadFile(filepath.Join(s.dir, "recordings", "sealed", dShared[:2], dShared, c))
		if err != nil {
			t.Fatal(err)
		}
		before[c] = b
	}
	writeLegacy(t, s, dShared, shared)
	if err := os.Remove(pCorrupt); err != nil {
		t.Fatal(err)
	}
	m, err = api.MigrateLegacyRecordings(t.Context(), s.store, s.sealer, s.srv.Blobs, s.now())
	if want := (api.LegacyMigration{Files: 1, Kept: 2, Deleted: 1}); err != nil || m != want {
		t.Fatalf("rerun after a crash: %+v, %v; want %+v", m, err, want)
	}
	for c, b := range before {
		after, err := os.ReadFile(filepath.Join(s.dir, "recordings", "sealed", dShared[:2], dShared, c))
		if err != nil || !bytes.Equal(after, b) {
			t.Fatalf("the rerun rewrote %s's sealed copy (%v)", c, err)
		}
	}
	if exists(t, pShared) {
		t.Fatal("the rerun left the clear file")
	}
	if m, err := api.MigrateLegacyRecordings(t.Context(), s.store, s.sealer, s.srv.Blobs, s.now()); err != nil || m != (api.LegacyMigration{}) {
		t.Fatalf("a run with nothing left: %+v, %v", m, err)
	}

	// The migrated copies die with their customers' keys, and survive a restart until then.
	s = s.restart()
	if a := s.req("S1", "GET", "/v1/recordings/"+dShared, nil); a.status != 200 || !bytes.Equal(a.raw, shared) {
		t.Fatalf("download after a restart: %d", a.status)
	}
	for _, c := range []string{"C1", "C2"} {
		s.must("A001", "POST", "/v1/customers/"+c+"/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	}
	if a := s.req("S1", "GET", "/v1/recordings/"+dShared, nil); a.status != 410 || a.errCode() != "erased" {
		t.Fatalf("download after both customers' erasure: %d %s", a.status, a.raw)
	}
}

// TestLegacyRecordingOfErasedKey: MigrateLegacy, told of a customer whose
// key is destroyed (the log's erasure event aside), makes no copy for them
// and deletes the clear file: the erasure finishes.
func TestLegacyRecordingOfErasedKey(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	audio := testAudio(21, 80_000)
	digest := sha256hex(audio)
	path := writeLegacy(t, s, digest, audio)
	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	res, err := s.srv.Blobs.MigrateLegacy(t.Context(), s.sealer, digest, []string{"C1", "C2"}, s.now())
	if err != nil || res != (api.LegacyResult{Sealed: 1, Erased: 1}) {
		t.Fatalf("MigrateLegacy: %+v, %v", res, err)
	}
	if c := sealedCopies(t, s, digest); strings.Join(c, " ") != "C2" {
		t.Fatalf("sealed copies %v, want C2's only", c)
	}
	if exists(t, path) {
		t.Fatal("the clear file is still there")
	}
	if _, err := s.srv.Blobs.MigrateLegacy(t.Context(), s.sealer, digest, []string{"../C2"}, s.now()); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("a customer id that is not an id: %v", err)
	}
}

// TestLegacyRecordingFailureKeepsClear: a recording whose sealing fails
// (here its sealed directory's place is taken by a file) stays in clear
// and is counted, the others migrate, and the next run finishes it.
func TestLegacyRecordingFailureKeepsClear(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	blocked, fine := testAudio(31, 4000), testAudio(32, 4000)
	dBlocked, dFine := sha256hex(blocked), sha256hex(fine)
	pBlocked, pFine := writeLegacy(t, s, dBlocked, blocked), writeLegacy(t, s, dFine, fine)
	appendLegacyCall(t, s, "K1", "C1", dBlocked, len(blocked))
	appendLegacyCall(t, s, "K2", "C1", dFine, len(fine))
	blocker := filepath.Join(s.dir, "recordings", "sealed", dBlocked[:2], dBlocked)
	if err := os.MkdirAll(filepath.Dir(blocker), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := api.MigrateLegacyRecordings(t.Context(), s.store, s.sealer, s.srv.Blobs, s.now())
	if want := (api.LegacyMigration{Files: 2, Sealed: 1, Deleted: 1, Failed: 1}); err == nil || m != want {
		t.Fatalf("migration with a failure: %+v, %v; want %+v and an error", m, err, want)
	}
	if !exists(t, pBlocked) || exists(t, pFine) {
		t.Fatal("the failed recording must stay in clear, the other must go")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	m, err = api.MigrateLegacyRecordings(t.Context(), s.store, s.sealer, s.srv.Blobs, s.now())
	if want := (api.LegacyMigration{Files: 1, Sealed: 1, Deleted: 1}); err != nil || m != want {
		t.Fatalf("the next run: %+v, %v; want %+v", m, err, want)
	}
	if a := s.req("S1", "GET", "/v1/recordings/"+dBlocked, nil); a.status != 200 || !bytes.Equal(a.raw, blocked) {
		t.Fatalf("download after the retry: %d", a.status)
	}
}
