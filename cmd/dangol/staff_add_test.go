package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
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
