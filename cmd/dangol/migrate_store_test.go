package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateStore: a data dir seeded on the bbolt store of earlier
// releases is moved to the segment log; verify then reads the new log
// with the same head and chains, and the bbolt file is kept aside. A
// second run, and a run on a dir with no bbolt log, refuse and change
// nothing.
func TestMigrateStore(t *testing.T) {
	dir := t.TempDir()
	if err := run(t.Context(), []string{"seed", "--data", dir, "--store", "bolt", "--customers", "30"}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--data", dir}, noEnv, &before, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate-store", "--data", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "moved ") {
		t.Fatalf("migrate-store said %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); !os.IsNotExist(err) {
		t.Fatalf("events.db is still in place (%v): the next start would open bbolt", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db.migrated")); err != nil {
		t.Fatalf("the bbolt file was not kept aside: %v", err)
	}
	var after bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--data", dir}, noEnv, &after, io.Discard); err != nil {
		t.Fatal(err)
	}
	if after.String() != before.String() {
		t.Fatalf("verify after the move said %q, before %q", after.String(), before.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "log")); err != nil {
		t.Fatalf("no segment log after the move: %v", err)
	}
	if err := run(t.Context(), []string{"migrate-store", "--data", dir}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no bbolt log") {
		t.Fatalf("a second run: %v, want a refusal naming the missing bbolt log", err)
	}
	empty := t.TempDir()
	if err := run(t.Context(), []string{"migrate-store", "--data", empty}, noEnv, io.Discard, io.Discard); err == nil {
		t.Fatal("migrate-store of an empty dir succeeded")
	}
	if names, _ := os.ReadDir(empty); len(names) != 0 {
		t.Fatalf("a refused run left %d files in the data dir", len(names))
	}
}
