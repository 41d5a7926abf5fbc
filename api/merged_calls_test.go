package api_test

import (
	"fmt"
	"testing"
)

// TestMergedCallRefused: once C2 is merged into C1, POST /v1/calls naming
// C2 is refused 409 merged with the survivor's id, with or without an
// Idempotency-Key, appending nothing (and leaving the upload staged, so
// the call can be recorded on C1); a retry of a call recorded on C2
// before the merge still gets its first answer.
func TestMergedCallRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	early := testWAV(3)
	earlyKey := "01KBGZ3XJ7Q0W8N5M2D4C6B9AG"
	earlyCall := newCall("K0", "C2", s.upload("R1", early), len(early))
	first := s.must("R1", "POST", "/v1/calls", earlyCall, 201, "Idempotency-Key", earlyKey)
	audio := testWAV(4)
	digest := s.upload("R1", audio)
	s.mergeC2IntoC1()

	for _, hdr := range [][]string{nil, {"Idempotency-Key", "01KBGZ3XJ7Q0W8N5M2D4C6B9AH"}} {
		a := s.refuse("R1", "POST", "/v1/calls", newCall("K1", "C2", digest, len(audio)), 409, "merged", hdr...)
		if d := a.errDetails(); d["survivorId"] != "C1" || d["stream"] != "customer-C2" {
			t.Errorf("%v: details %v, want survivorId C1 on customer-C2", hdr, d)
		}
	}
	if a := s.req("R1", "GET", "/v1/calls/K1", nil); a.status != 404 {
		t.Errorf("the refused call K1: %d %s", a.status, a.raw)
	}
	if again := s.must("R1", "POST", "/v1/calls", earlyCall, 201, "Idempotency-Key", earlyKey); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the retry of the call recorded before the merge: %v, first %v", again, first)
	}
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
}
