package api_test

import (
	"bytes"
	"testing"
)

// TestRecordings: an upload with a checked digest, a re-upload without
// one, the download whole, a Range of it, and a conditional GET.
func TestRecordings(t *testing.T) {
	s := newStack(t, stackOptions{})
	audio := make([]byte, 4096)
	for i := range audio {
		audio[i] = byte(i * 7)
	}
	digest := s.upload("R1", audio)
	again := s.must("P1", "PUT", "/v1/recordings", audio, 201, "Content-Type", "audio/wav") // no digest header: still fine
	if again["sha256"] != digest {
		t.Fatalf("re-upload %v", again)
	}
	full := s.req("H1", "GET", "/v1/recordings/"+digest, nil)
	if full.status != 200 || !bytes.Equal(full.raw, audio) {
		t.Fatalf("download: %d, %d bytes", full.status, len(full.raw))
	}
	part := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=1000-1099")
	if part.status != 206 || !bytes.Equal(part.raw, audio[1000:1100]) || part.header.Get("Content-Range") != "bytes 1000-1099/4096" {
		t.Fatalf("range: %d %v, %d bytes", part.status, part.header, len(part.raw))
	}
	if a := s.req("R1", "GET", "/v1/recordings/"+digest, nil, "If-None-Match", `"`+digest+`"`); a.status != 304 {
		t.Fatalf("conditional download: %d", a.status)
	}
}
