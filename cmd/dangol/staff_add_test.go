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

// TestStaffAddCommand: `dangol staff add` registers a member and prints a
// token the server accepts; run again for the same member it issues
// another token without registering anew, and both work; a token past its
// --token-ttl is refused; a bad role or a missing id is an error that
// appends nothing.
func TestStaffAddCommand(t *testing.T) {
	dir := t.TempDir()
	url := dirURL(t, dir)
	tok := map[string]string{
		"A001":    staffAdd(t, dir, url, "A001", "admin"),
		"U1":      staffAdd(t, dir, url, "U1", "auditor"),
		"R1":      staffAdd(t, dir, url, "R1", "rep"),
		"expired": staffAdd(t, dir, url, "X1", "rep", "--token-ttl", "1ms"),
	}
	var stderr bytes.Buffer
	var out bytes.Buffer
	if err := run(context.Background(), []string{"staff", "add", "--data", dir, "--id", "R1"}, storeEnv(url), &out, &stderr); err != nil {
		t.Fatalf("staff add for an existing member: %v", err)
	}
	if !strings.Contains(stderr.String(), "already registered") {
		t.Errorf("second staff add said %q", stderr.String())
	}
	tok["R1-again"] = strings.TrimSpace(out.String())
	for _, bad := range [][]string{
		{"--id", "Z1", "--name", "Z", "--role", "king"},
		{"--name", "No Id", "--role", "rep"},
	} {
		if err := run(context.Background(), append([]string{"staff", "add", "--data", dir}, bad...), storeEnv(url), io.Discard, io.Discard); err == nil {
			t.Errorf("staff add %v succeeded", bad)
		}
	}

	s := startStack(t, dir, url, tok)
	for who, want := range map[string]int{"R1": 200, "R1-again": 200, "U1": 200, "expired": 401} {
		if st, _, raw := s.do(who, "GET", "/v1/worklist?advisor=R1", nil); st != want {
			t.Errorf("GET /v1/worklist with the token of %s: %d %s, want %d", who, st, raw, want)
		}
	}
	if st, _, raw := s.do("A001", "POST", "/v1/staff", map[string]any{"staffId": "R2", "name": "Rep Two", "role": "rep"}); st != 201 {
		t.Errorf("the first admin registering staff: %d %s", st, raw)
	}
	staff := map[string]int{}
	for _, e := range s.json("U1", "GET", "/v1/audit/log?limit=1000", nil, 200)["events"].([]any) {
		staff[e.(map[string]any)["type"].(string)]++
	}
	if staff["StaffRegistered"] != 5 || staff["TokenIssued"] != 5 {
		t.Fatalf("the log holds %v, want 5 registrations (4 by the command, 1 by the API) and 5 tokens", staff)
	}
}

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
	if evs := ledger(t, dir, url); len(evs) != 3 {
		t.Fatalf("after the refusals the log holds %d events, want A001's registration, setup code and token", len(evs))
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
