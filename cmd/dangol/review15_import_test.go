package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReview15ImportNotAFile: a FILE that is a directory is refused
// before a store is opened (no data dir made) with exit 1 and an error
// saying what is wrong, not "import stopped after 0 rows"; no rejects
// file is left beside it.
func TestReview15ImportNotAFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "customers.csv")
	if err := os.Mkdir(in, 0o700); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"import", "--data", data, "--source", "core", "--records", "customers", in}, noEnv, &out, &errOut)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "directory") || strings.Contains(err.Error(), "stopped after") {
		t.Errorf("import of a directory: %v (exit %d); want exit 1 saying it is a directory", err, exitCode(err))
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("importing a directory opened (made) the store: %v", err)
	}
	if _, err := os.Stat(in + ".rejects.jsonl"); !os.IsNotExist(err) {
		t.Errorf("a rejects file is left: %v", err)
	}
}

// TestReview15ImportFileFault: a fault of the file (a header naming a
// column twice) stops the import with an error saying the file is to be
// mended, not that running it again appends the rest (it would stop at the
// same place), and naming no value.
func TestReview15ImportFileFault(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "changes.csv")
	if err := os.WriteFile(in, []byte("customerId,ref,version,observedAt,phone,phone\nC1,R1,1,2026-10-01,010-5550-0101,010\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), []string{"import", "--data", filepath.Join(dir, "data"), "--source", "card", in}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "mend the file") || strings.Contains(err.Error(), "appends the rest") || strings.Contains(err.Error(), "5550") {
		t.Errorf("import of a file with a column twice: %v (exit %d)", err, exitCode(err))
	}
}

// TestReview15ImportClock: the command judges observedAt by the stores'
// clock (pinned here at eventstest.Epoch, 2026-11-25), not the machine's:
// a row observed two days after it is rejected, whatever today is.
func TestReview15ImportClock(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "changes.csv")
	body := "customerId,ref,version,observedAt,email\nC0000001,IB-1,1,2026-11-27T00:00:01Z,a@example.com\n"
	if err := os.WriteFile(in, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"import", "--dry-run", "--source", "internet", in}, noEnv, &out, &bytes.Buffer{})
	if exitCode(err) != 2 || !strings.Contains(out.String(), "1 rows, 1 rejected") {
		t.Errorf("a row observed after the stores' clock: %v (exit %d)\n%s", err, exitCode(err), out.String())
	}
}

// TestReview15ImportBadHeaderOpensNoStore: a CSV file whose header the
// import refuses is refused before the store and key store are opened:
// no data dir is made for it.
func TestReview15ImportBadHeaderOpensNoStore(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "changes.csv")
	if err := os.WriteFile(in, []byte("customerId,ref,version,observedAt,salary\nC1,R1,1,2026-10-01,100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	err := run(t.Context(), []string{"import", "--data", data, "--source", "card", in}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "header") {
		t.Errorf("import of a file with an unknown column: %v (exit %d)", err, exitCode(err))
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the refused file's import made the data dir: %v", err)
	}
}
