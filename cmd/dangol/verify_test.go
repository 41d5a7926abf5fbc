package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
)

func noEnv(string) string { return "" }

// TestVerifyDetectsTamperedFile appends events, flips one byte of one
// event's data inside the bbolt file itself, and expects `dangol verify`
// to exit 1 naming that event, while `dangol log --json` still prints it.
func TestVerifyDetectsTamperedFile(t *testing.T) {
	dir := t.TempDir()
	s, err := bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, marker := range []string{"alpha", "bravo-TAMPER-ME", "charlie"} {
		e := events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, Actor: events.Actor{ID: "R1"},
			Data: json.RawMessage(`{"note":"` + marker + `"}`)}
		if _, err := s.Append(ctx, "customer-C1", events.Any, e); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	s.Close()

	var out bytes.Buffer
	if err := run(ctx, []string{"verify", "--data", dir}, noEnv, &out, &out); err != nil {
		t.Fatalf("verify of an intact log: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok: 3 events verified") {
		t.Fatalf("verify said %q", out.String())
	}

	path := filepath.Join(dir, "events.db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// bbolt is copy-on-write: freed pages may hold older copies too.
	if !bytes.Contains(raw, []byte("TAMPER")) {
		t.Fatal("cannot find the event's bytes in the file")
	}
	raw = bytes.ReplaceAll(raw, []byte("TAMPER"), []byte("XAMPER"))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	err = run(ctx, []string{"verify", "--data", dir}, noEnv, &out, &out)
	if exitCode(err) != 1 {
		t.Fatalf("verify of a tampered log: exit %d (%v), want 1", exitCode(err), err)
	}
	if !strings.Contains(err.Error(), "customer-C1@1") || !strings.Contains(err.Error(), "hash does not match") {
		t.Fatalf("verify did not name the bad event: %v", err)
	}

	out.Reset()
	if err := run(ctx, []string{"log", "--data", dir, "--json"}, noEnv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("log printed %d lines, want 3", n)
	}
}

func TestVerifyRefusesMissingLedger(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"verify", "--data", filepath.Join(t.TempDir(), "nope")}, noEnv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "no ledger") {
		t.Fatalf("verify of a missing data dir: %v", err)
	}
}

func TestEnvDefaults(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "DANGOL_DATA" {
			return dir
		}
		return ""
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"staff", "add", "--id", "A1", "--name", "Admin", "--role", "admin"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "dgl_") {
		t.Fatalf("last line %q is not a token", lines[len(lines)-1])
	}
	if _, err := os.Stat(segLogDir(storeFlags{data: dir})); err != nil {
		t.Fatalf("DANGOL_DATA was not used: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"staff", "add", "--id", "A1", "--role", "nonsense", "--name", "x"}, env, &out, &out); err != nil {
		t.Fatalf("re-adding existing staff should reuse it: %v", err)
	}
	out.Reset()
	err := run(context.Background(), []string{"staff", "add", "--id", "B1", "--name", "x", "--role", "nonsense"}, env, &out, &out)
	if events.ErrorCode(err) != events.Invalid {
		t.Fatalf("bad role: %v, want invalid", err)
	}
}
