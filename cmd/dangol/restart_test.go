package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// TestServeRestart: what was written reads back the same after a restart
// on the same data, personal fields decrypted again with the master key
// the first start created, the recording still there, and nothing appended
// again (the reactors do not decide twice); writes go on at the next
// version.
func TestServeRestart(t *testing.T) {
	s := bootStack(t)
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	s.json("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.json("R1", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"address": "부산광역시 해운대구 1"}, "source": "branch"}, 201)
	s.json("R1", "POST", "/v1/customers/C1/contacts", contact("재시작 전 통화"), 201)
	audio := []byte("RIFF....WAVEfmt audio")
	sum := sha256.Sum256(audio)
	digest := hex.EncodeToString(sum[:])
	s.json("R1", "PUT", "/v1/recordings", audio, 201)
	s.json("R1", "POST", "/v1/calls", map[string]any{"callId": "K1", "customerId": "C1", "direction": "inbound",
		"startedAt": now().Add(-time.Minute), "durationSec": 60,
		"recording": map[string]any{"sha256": digest, "contentType": "audio/wav", "bytes": len(audio)}}, 201)
	waitUntil(t, "the sampler selects K1", func() bool {
		return len(s.json("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 1
	})
	reads := []struct{ who, path string }{{"R1", "/v1/customers/C1"}, {"R1", "/v1/customers/C1/timeline"}, {"S1", "/v1/calls/K1"}, {"U1", "/v1/recordings/" + digest}}
	before := map[string][]byte{}
	etag := ""
	for _, r := range reads {
		st, h, raw := s.do(r.who, "GET", r.path, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", r.path, st, raw)
		}
		before[r.path] = raw
		if r.path == "/v1/customers/C1" {
			etag = h.Get("ETag")
		}
	}
	head := s.head()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s2 := startStack(t, s.dir, s.url, s.tok)
	for _, r := range reads {
		st, h, raw := s2.do(r.who, "GET", r.path, nil)
		if st != 200 || !bytes.Equal(raw, before[r.path]) {
			t.Errorf("GET %s after the restart: %d\n%s\nbefore:\n%s", r.path, st, raw, before[r.path])
		}
		if r.path == "/v1/customers/C1" && h.Get("ETag") != etag {
			t.Errorf("ETag %s after the restart, %s before", h.Get("ETag"), etag)
		}
	}
	if v := s2.json("R1", "GET", "/v1/customers/C1", nil, 200); v["address"] != "부산광역시 해운대구 1" || v["name"] != "김민준 C1" {
		t.Fatalf("personal fields after the restart: %v", v)
	}
	// Nothing is appended again: what follows head is the access record
	// of the reads above (appended when the first server stopped) and of
	// those since.
	for _, e := range s2.json("U1", "GET", fmt.Sprintf("/v1/audit/log?limit=1000&from_position=%d", int64(head)), nil, 200)["events"].([]any) {
		if ev := e.(map[string]any); ev["type"] != "PersonalDataRead" {
			t.Fatalf("%v appended after the restart, after head %v (nothing may be appended again)", ev["type"], head)
		}
	}
	if v := s2.json("U1", "GET", "/v1/audit/verify", nil, 200); v["ok"] != true {
		t.Fatalf("verify after the restart %v", v)
	}
	if r := s2.json("P1", "POST", "/v1/customers/C1/contacts", contact("재시작 후"), 201); r["version"] != 4.0 {
		t.Fatalf("write after the restart %v", fmt.Sprint(r))
	}
}
