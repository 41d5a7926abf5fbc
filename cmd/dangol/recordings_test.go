package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// legacyAudio returns n bytes of noise for seed, and its digest.
func legacyAudio(seed byte, n int) ([]byte, string) {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed, 'l', 'e', 'g'}).Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// writeLegacyRecording stores audio as the release before sealed
// recordings did: in clear at <dir>/recordings/<ab>/<sha256>.
func writeLegacyRecording(t *testing.T, dir, digest string, audio []byte) string {
	t.Helper()
	path := filepath.Join(dir, "recordings", digest[:2], digest)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// appendLegacyCalls appends, with the server stopped, the CallRecorded
// events the earlier release's POST /v1/calls appended (customer → digest).
func appendLegacyCalls(t *testing.T, dir, url string, calls map[string][2]string) {
	t.Helper()
	sf := storeFlags{data: dir, backend: "embedded"}
	if url != "" {
		sf.backend, sf.postgresURL = "postgres", url
	}
	log, err := openEventStore(t.Context(), sf, true)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	for id, c := range calls {
		d := &events.CallRecorded{CallID: id, CustomerID: c[0], StaffID: "R1", Direction: "inbound", StartedAt: now().Add(-time.Hour),
			DurationSec: 60, Recording: events.Recording{SHA256: c[1], ContentType: "audio/wav", Bytes: 1}}
		ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}, CorrelationID: events.NewID().String()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(t.Context(), events.CallStream(id), events.NoStream, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeMigratesLegacyRecordings: the first start of this release on
// the data of an earlier one seals each clear recording for the customer
// whose call names it and deletes it (an erased customer's and one no call
// names are only deleted), logging counts only; the recording downloads
// again; `dangol migrate-recordings` then finds nothing left, and deletes
// an orphan that appears later.
func TestServeMigratesLegacyRecordings(t *testing.T) {
	s := bootStack(t)
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	s.json("R1", "POST", "/v1/customers", customer("C2"), 201)
	s.json("A001", "POST", "/v1/customers/C2/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	kept, dKept := legacyAudio(1, 70_000)
	erased, dErased := legacyAudio(2, 3000)
	orphan, dOrphan := legacyAudio(3, 2000)
	paths := []string{writeLegacyRecording(t, s.dir, dKept, kept), writeLegacyRecording(t, s.dir, dErased, erased),
		writeLegacyRecording(t, s.dir, dOrphan, orphan)}
	appendLegacyCalls(t, s.dir, s.url, map[string][2]string{"K1": {"C1", dKept}, "K2": {"C2", dErased}})

	var stderr syncBuffer
	cfg := serveConfig{addr: "127.0.0.1:0", metricsAddr: metricsOff, logLevel: "info", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = s.dir
	if s.url != "" {
		cfg.store.backend, cfg.store.postgresURL = "postgres", s.url
	}
	srv, err := startServer(context.Background(), cfg, noEnv, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	s2 := &stack{t: t, dir: s.dir, url: s.url, srv: srv, base: "http://" + srv.addr, tok: s.tok,
		client: &http.Client{Timeout: hang, Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(func() { s2.stop() })
	select {
	case <-srv.runner.CaughtUp():
	case <-time.After(hang):
		t.Fatal("hang: the read models did not catch up")
	}

	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s is still in clear after the start", p)
		}
	}
	if st, _, raw := s2.do("U1", "GET", "/v1/recordings/"+dKept, nil); st != 200 || !bytes.Equal(raw, kept) {
		t.Fatalf("download of a migrated recording: %d, %d bytes", st, len(raw))
	}
	for _, d := range []string{dErased, dOrphan} {
		if st, _, _ := s2.do("U1", "GET", "/v1/recordings/"+d, nil); st != 404 {
			t.Fatalf("a deleted legacy recording answers %d", st)
		}
	}
	sealed, _ := filepath.Glob(filepath.Join(s.dir, "recordings", "sealed", "*", "*", "*"))
	if len(sealed) != 1 || filepath.Base(sealed[0]) != "C1" {
		t.Fatalf("sealed copies %v, want C1's only", sealed)
	}
	if b, err := os.ReadFile(sealed[0]); err != nil || bytes.Contains(b, kept[:64]) {
		t.Fatalf("the sealed copy holds the audio in clear (%v)", err)
	}
	log := stderr.String()
	line := ""
	for l := range strings.Lines(log) {
		if strings.Contains(l, "migrated the recordings of the earlier release") {
			line = l
		}
	}
	for _, want := range []string{`"found":3`, `"sealed":1`, `"erased":1`, `"deleted":3`, `"orphans":1`, `"corrupt":0`, `"failed":0`} {
		if !strings.Contains(line, want) {
			t.Fatalf("summary line %q lacks %s", line, want)
		}
	}
	for _, secret := range []string{dKept, dErased, dOrphan, `"C1"`, `"C2"`} {
		if strings.Contains(log, secret) {
			t.Fatalf("the server's log names %s:\n%s", secret, log)
		}
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}

	migrate := func() string {
		t.Helper()
		var out bytes.Buffer
		if err := run(t.Context(), []string{"migrate-recordings", "--data", s.dir}, storeEnv(s.url), &out, io.Discard); err != nil {
			t.Fatalf("dangol migrate-recordings: %v", err)
		}
		return out.String()
	}
	if out := migrate(); !strings.Contains(out, "0 found") {
		t.Fatalf("a second migration found something: %s", out)
	}
	late := writeLegacyRecording(t, s.dir, dOrphan, orphan)
	if out := migrate(); !strings.Contains(out, "1 found") || !strings.Contains(out, "1 clear files deleted (1 named by no call)") {
		t.Fatalf("migration of a late orphan: %s", out)
	}
	if _, err := os.Stat(late); err == nil {
		t.Fatal("the late orphan is still there")
	}
}
