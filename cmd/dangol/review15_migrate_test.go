package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReview15MigrateStoreFinishes: a migrate-store that stopped between
// its two renames (the segment log in place, events.db not yet set aside)
// is finished by running it again, as its help says, once the log is
// checked to end where the bbolt log ends; a log/ that holds another log
// is still refused, and events.db left in place.
func TestReview15MigrateStoreFinishes(t *testing.T) {
	dir := t.TempDir()
	if err := run(t.Context(), []string{"seed", "--data", dir, "--store", "bolt", "--customers", "30"}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := run(t.Context(), []string{"seed", "--data", other, "--store", "bolt", "--customers", "30", "--seed", "2"}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "events.db")
	// Another bank's log in log/: refused.
	if _, _, err := copyLog(t.Context(), filepath.Join(other, "events.db"), filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"migrate-store", "--data", dir}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("migrate-store over another log: %v, want it refused", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("events.db after the refusal: %v", err)
	}
	// This bank's log, as the first rename left it: finished.
	if err := os.RemoveAll(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := copyLog(t.Context(), src, filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"migrate-store", "--data", dir}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate-store run again after stopping between its renames: %v", err)
	}
	if _, err := os.Stat(src + ".migrated"); err != nil {
		t.Fatalf("events.db was not set aside: %v", err)
	}
	if err := run(t.Context(), []string{"verify", "--data", dir}, noEnv, io.Discard, io.Discard); err != nil {
		t.Fatalf("verify after: %v", err)
	}
}
