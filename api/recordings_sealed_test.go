package api_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testAudio returns n bytes of noise, different for each seed, so that a
// slice of it found in a file can only come from this recording.
func testAudio(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'a', 'u', 'd', 'i', 'o'})
	_, _ = rng.Read(b)
	return b
}

// filesHolding returns the files under dir whose bytes contain probe.
func filesHolding(t *testing.T, dir string, probe []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, probe) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// sealedCopies returns the customers holding a sealed copy of digest.
func sealedCopies(t *testing.T, s *stack, digest string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(s.dir, "recordings", "sealed", digest[:2], digest, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		paths[i] = filepath.Base(p)
	}
	return paths
}

// TestRecordingSealedAndShreddedByErasure: a call's recording is at rest
// only as ciphertext under its customer's data key (its clear upload is
// deleted once the call is recorded), it downloads whole and by ranges
// across segments, never cached, and the customer's erasure shreds it: the
// download answers 410, also after a restart, and no byte of it is left in
// clear under the data directory.
func TestRecordingSealedAndShreddedByErasure(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := testAudio(1, 3*64<<10+1000) // four segments, the last one short
	probes := [][]byte{audio[:64], audio[100_000:100_064], audio[len(audio)-64:]}
	digest := s.upload("R1", audio)
	if f := filesHolding(t, s.dir, probes[1]); len(f) != 1 {
		t.Fatalf("the staged upload should be the one file in clear, found %v", f)
	}
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	for _, p := range probes {
		if f := filesHolding(t, s.dir, p); len(f) != 0 {
			t.Fatalf("recorded call: audio in clear at rest in %v", f)
		}
	}
	if c := sealedCopies(t, s, digest); len(c) != 1 || c[0] != "C1" {
		t.Fatalf("sealed copies %v, want C1's", c)
	}

	full := s.req("S1", "GET", "/v1/recordings/"+digest, nil)
	if full.status != 200 || !bytes.Equal(full.raw, audio) {
		t.Fatalf("download: %d, %d bytes", full.status, len(full.raw))
	}
	if cc := full.header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("Cache-Control of a recording %q", cc)
	}
	part := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=65530-65545")
	if part.status != 206 || !bytes.Equal(part.raw, audio[65530:65546]) {
		t.Fatalf("range across a segment boundary: %d %x", part.status, part.raw)
	}
	tail := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=-10")
	if tail.status != 206 || !bytes.Equal(tail.raw, audio[len(audio)-10:]) {
		t.Fatalf("suffix range: %d %x", tail.status, tail.raw)
	}
	two := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=0-9,190000-190009")
	if two.status != 206 || !strings.HasPrefix(two.header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(two.raw, audio[:10]) || !bytes.Contains(two.raw, audio[190000:190010]) {
		t.Fatalf("two ranges: %d %v", two.status, two.header)
	}

	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	for _, hdr := range [][]string{nil, {"Range", "bytes=0-9"}, {"If-None-Match", `"` + digest + `"`}} {
		if a := s.req("S1", "GET", "/v1/recordings/"+digest, nil, hdr...); a.status != 410 || a.errCode() != "erased" {
			t.Fatalf("download %v after erasure: %d %s", hdr, a.status, a.raw)
		}
	}
	for _, p := range probes {
		if f := filesHolding(t, s.dir, p); len(f) != 0 {
			t.Fatalf("erased: audio in clear at rest in %v", f)
		}
	}
	// Nothing new of theirs can be sealed: a call of theirs with a recording is refused.
	other := testAudio(2, 5000)
	d2 := s.upload("R1", other)
	if a := s.req("R1", "POST", "/v1/calls", newCall("K2", "C1", d2, len(other))); a.status != 400 || a.errDetails()["field"] != "customerId" {
		t.Fatalf("a call of an erased customer: %d %s", a.status, a.raw)
	}
	s = s.restart()
	if a := s.req("U1", "GET", "/v1/recordings/"+digest, nil); a.status != 410 {
		t.Fatalf("download after erasure and restart: %d %s", a.status, a.raw)
	}
}

// TestRecordingOfTwoCustomers: two customers' calls naming the same audio
// each hold their own sealed copy (one upload); erasing one customer
// shreds their copy only, and the download answers 410 once both are.
func TestRecordingOfTwoCustomers(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	audio := testAudio(3, 70_000)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("P1", "POST", "/v1/calls", newCall("K2", "C2", digest, len(audio)), 201)
	if c := sealedCopies(t, s, digest); strings.Join(c, " ") != "C1 C2" {
		t.Fatalf("sealed copies %v", c)
	}
	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	if a := s.req("H1", "GET", "/v1/recordings/"+digest, nil); a.status != 200 || !bytes.Equal(a.raw, audio) {
		t.Fatalf("C2's recording after C1's erasure: %d, %d bytes", a.status, len(a.raw))
	}
	// A call of a third customer can still take the audio from C2's copy.
	s.must("R1", "POST", "/v1/customers", newCustomer("C3"), 201)
	s.must("R1", "POST", "/v1/calls", newCall("K3", "C3", digest, len(audio)), 201)
	s.must("A001", "POST", "/v1/customers/C2/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	s.must("A001", "POST", "/v1/customers/C3/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	if a := s.req("H1", "GET", "/v1/recordings/"+digest, nil); a.status != 410 {
		t.Fatalf("after both erasures: %d %s", a.status, a.raw)
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C4"), 201)
	if a := s.req("R1", "POST", "/v1/calls", newCall("K4", "C4", digest, len(audio))); a.status != 400 || a.errDetails()["field"] != "recording.sha256" {
		t.Fatalf("a call naming shredded audio: %d %s", a.status, a.raw)
	}
}

// TestRecordingTampered: a sealed recording altered at rest is an internal
// error, never served.
func TestRecordingTampered(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := testAudio(4, 1000)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	path := filepath.Join(s.dir, "recordings", "sealed", digest[:2], digest, "C1")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if a := s.req("S1", "GET", "/v1/recordings/"+digest, nil); a.status != 500 || a.errCode() != "internal" {
		t.Fatalf("tampered recording: %d %s", a.status, a.raw)
	}
}
