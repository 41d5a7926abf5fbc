package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestStaffAddRefusesNonPositiveTTL: a --token-ttl of zero or less would
// mint a token that never expires; it is refused with a clear error and
// nothing is appended. A positive TTL gives a token that expires then.
func TestStaffAddRefusesNonPositiveTTL(t *testing.T) {
	dir := t.TempDir()
	url := dirURL(t, dir)
	staffAdd(t, dir, url, "A001", "admin") // the log exists
	for _, ttl := range []string{"-1h", "0", "0s", "-1ns"} {
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"staff", "add", "--data", dir, "--id", "R9", "--name", "Rep Nine", "--role", "rep",
			"--token-ttl", ttl}, storeEnv(url), &stdout, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--token-ttl must be positive") {
			t.Errorf("--token-ttl %s: %v, want a refusal", ttl, err)
		}
		if strings.Contains(stdout.String(), "dgl_") {
			t.Errorf("--token-ttl %s printed a token", ttl)
		}
	}
	// Nor for a member already registered.
	if err := run(context.Background(), []string{"staff", "add", "--data", dir, "--id", "A001", "--token-ttl", "-1h"},
		storeEnv(url), io.Discard, io.Discard); err == nil {
		t.Error("--token-ttl -1h for an existing member succeeded")
	}
	if evs := ledger(t, dir, url); len(evs) != 2 {
		t.Fatalf("after the refusals the log holds %d events, want A001's registration and token", len(evs))
	}

	staffAdd(t, dir, url, "R9", "rep", "--token-ttl", "36h")
	evs := ledger(t, dir, url)
	last := evs[len(evs)-1]
	var issued events.TokenIssued
	if err := json.Unmarshal(last.Data, &issued); err != nil || last.Type != "TokenIssued" {
		t.Fatalf("last event %s %s: %v", last.Type, last.Data, err)
	}
	// Issued before it was recorded, with a lifetime of 36h.
	if exp := issued.ExpiresAt; !exp.After(last.RecordedAt) || exp.After(last.RecordedAt.Add(36*time.Hour)) {
		t.Errorf("the token expires at %s, want within 36h after it was recorded (%s)", exp, last.RecordedAt)
	}
}

// ledger returns every event of the log of dir (or url).
func ledger(t *testing.T, dir, url string) []events.Envelope {
	t.Helper()
	sf := storeFlags{data: dir, backend: "embedded"}
	if url != "" {
		sf.backend, sf.postgresURL = "postgres", url
	}
	s, err := openEventStore(t.Context(), sf, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.ReadAll(t.Context(), events.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
