package api_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestRecordingRangeLimitWithIfRange: an If-Range that http.ServeContent
// takes as matching (it reads the entity tag at the start of the value and
// ignores what follows) holds the Range to the same limits as a request
// without If-Range: 3,000 one-byte ranges are 416, not a multipart answer
// many times the file.
func TestRecordingRangeLimitWithIfRange(t *testing.T) {
	s := newStack(t, stackOptions{})
	audio := testAudio(401, 4096)
	digest := s.upload("R1", audio)
	var many []string
	for i := range 3000 {
		many = append(many, fmt.Sprintf("%d-%d", i, i))
	}
	for _, ir := range []string{`"` + digest + `"`, `"` + digest + `"x`, `"` + digest + `",`} {
		a := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes="+strings.Join(many, ","), "If-Range", ir)
		if a.status != 416 || len(a.raw) > 1000 {
			t.Errorf("If-Range %s with 3,000 ranges: %d, %d bytes", ir, a.status, len(a.raw))
		}
	}
	// A weak or another tag does not match: the whole file, ranges ignored.
	for _, ir := range []string{`W/"` + digest + `"`, `"other"`, "Tue, 01 Dec 2026 00:00:00 GMT"} {
		a := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes="+strings.Join(many, ","), "If-Range", ir)
		if a.status != 200 || !bytes.Equal(a.raw, audio) {
			t.Errorf("If-Range %s: %d, %d bytes, want the whole file", ir, a.status, len(a.raw))
		}
	}
}

// TestCallOfErasedCustomerWithSealedCopy: once a customer is erased, a new
// call of theirs naming a recording is 400 naming customerId, also when
// their (shredded) sealed copy of that recording is still on disk, and
// nothing is appended.
func TestCallOfErasedCustomerWithSealedCopy(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := testAudio(402, 5000)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	head := s.head()
	if a := s.req("R1", "POST", "/v1/calls", newCall("K2", "C1", digest, len(audio))); a.status != 400 || a.errDetails()["field"] != "customerId" {
		t.Fatalf("a call of an erased customer naming their shredded recording: %d %s", a.status, a.raw)
	}
	// With the same audio uploaded again: still refused, and the upload stays staged.
	s.upload("R1", audio)
	if a := s.req("R1", "POST", "/v1/calls", newCall("K3", "C1", digest, len(audio))); a.status != 400 || a.errDetails()["field"] != "customerId" {
		t.Fatalf("a call of an erased customer naming a new upload of their shredded recording: %d %s", a.status, a.raw)
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("refused calls appended %v", evs)
	}
}

// TestRecordingSegmentsSwapped: two sealed segments of a recording swapped
// at rest (each authentic on its own) fail to open: 500, never served.
func TestRecordingSegmentsSwapped(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := testAudio(403, 3*64<<10)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	path := filepath.Join(s.dir, "recordings", "sealed", digest[:2], digest, "C1")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seg := (len(b) - 24) / 3
	swapped := append([]byte{}, b[:24]...)
	swapped = append(swapped, b[24+seg:24+2*seg]...)
	swapped = append(swapped, b[24:24+seg]...)
	swapped = append(swapped, b[24+2*seg:]...)
	if err := os.WriteFile(path, swapped, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range [][]string{nil, {"Range", "bytes=70000-70010"}} {
		if a := s.req("S1", "GET", "/v1/recordings/"+digest, nil, hdr...); a.status != 500 || bytes.Contains(a.raw, audio[70000:70010]) {
			t.Fatalf("swapped segments %v: %d %d bytes", hdr, a.status, len(a.raw))
		}
	}
}

// TestIdempotencyFingerprintHoldsNoPersonalField: the fingerprint an
// Idempotency-Key leaves in causationId does not depend on a personal
// field's value however the client spells its key (encoding/json matches
// field names case-insensitively: "Summary" and "PHONE" fill the personal
// fields), so no hash of personal data outlives the erasure that shreds it.
// Two fresh stacks given the same requests but the personal value must
// record the same causationId.
func TestIdempotencyFingerprintHoldsNoPersonalField(t *testing.T) {
	key := events.NewID().String()
	cause := func(path string, body map[string]any) string {
		s := newStack(t, stackOptions{noReactors: true})
		if path != "/v1/customers" {
			s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
		}
		s.must("R1", "POST", path, body, 201, "Idempotency-Key", key)
		for _, e := range s.logEvents(0) {
			if e["id"] == key {
				c, _ := e["causationId"].(string)
				return c
			}
		}
		t.Fatalf("no event %s", key)
		return ""
	}
	for _, k := range []string{"summary", "Summary", "SUMMARY", "ſummary"} {
		contact := func(v string) map[string]any { return withField(without(newContact(""), "summary"), k, v) }
		a, b := cause("/v1/customers/C1/contacts", contact("첫 상담")), cause("/v1/customers/C1/contacts", contact("다른 상담"))
		if a != b || !strings.HasPrefix(a, "request:") {
			t.Errorf("contact with %q: causationId %q and %q depend on the summary", k, a, b)
		}
	}
	for _, k := range []string{"phone", "PHONE"} {
		customer := func(v string) map[string]any { return withField(without(newCustomer("C1"), "phone"), k, v) }
		a, b := cause("/v1/customers", customer("010-1234-5678")), cause("/v1/customers", customer("010-8765-4321"))
		if a != b || !strings.HasPrefix(a, "request:") {
			t.Errorf("registration with %q: causationId %q and %q depend on the phone number", k, a, b)
		}
	}
}
