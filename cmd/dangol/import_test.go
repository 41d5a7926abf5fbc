package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/ops/pgtest"
)

// TestImportCommand and TestImportCommandPostgres run `dangol import` on
// the test files of ops/importer: rejected rows make exit status 2 and go
// to the rejects file (0600) beside the input, never to the output; a
// second run appends nothing and says so; a dry run appends nothing; the
// imported log verifies.
func TestImportCommand(t *testing.T) { testImportCommand(t, "") }

func TestImportCommandPostgres(t *testing.T) { testImportCommand(t, pgtest.Database(t)) }

func testImportCommand(t *testing.T, url string) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	importFiles := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"import", "--data", data}, args...), storeEnv(url), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	master := copyTestdata(t, dir, "core_customers.csv")
	out, errOut, err := importFiles("--source", "core", "--records", "customers", master)
	if exitCode(err) != 2 || !strings.Contains(out, "10 rows, 5 rejected; 10 events appended, 0 already there") {
		t.Fatalf("import: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	if !strings.Contains(errOut, "100% 10 rows, 10 events appended") || strings.Contains(errOut, "\r") {
		t.Errorf("progress written to a buffer (not a terminal): want plain lines ending with the whole file's\n%q", errOut)
	}
	for _, personal := range []string{"김민준", "010-5550", "example.com", "call me"} {
		if strings.Contains(out+errOut+err.Error(), personal) {
			t.Errorf("the output names personal data (%s):\n%s\n%s\n%v", personal, out, errOut, err)
		}
	}
	fi, err := os.Stat(master + ".rejects.jsonl")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("rejects file: %v, %v", fi, err)
	}
	// The file before its flags, and again: nothing new.
	out, _, err = importFiles(master, "--source", "core", "--records", "customers")
	if exitCode(err) != 2 || !strings.Contains(out, "0 events appended, 10 already there") || !strings.Contains(out, "nothing new") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	holdings := copyTestdata(t, dir, "core_holdings.csv")
	out, _, err = importFiles("--source", "core", "--records", "holdings", "--dry-run", holdings)
	if exitCode(err) != 2 || !strings.Contains(out, "5 rows, 1 rejected; 4 events would be appended") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	changes := copyTestdata(t, dir, "internet_changes.csv")
	clean := filepath.Join(dir, "clean.csv")
	body, _ := os.ReadFile(changes)
	lines := strings.Split(string(body), "\n")
	if err := os.WriteFile(clean, []byte(strings.Join(append(lines[:2], lines[3:]...), "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = importFiles("--source", "internet", clean)
	if err != nil || !strings.Contains(out, "2 rows, 0 rejected; 2 events appended") {
		t.Fatalf("clean import: %v\n%s", err, out)
	}
	if _, err := os.Stat(clean + ".rejects.jsonl"); !os.IsNotExist(err) {
		t.Errorf("a rejects file is left without rejected rows: %v", err)
	}
	var vout bytes.Buffer
	if err := run(t.Context(), []string{"verify", "--data", data}, storeEnv(url), &vout, &vout); err != nil {
		t.Fatalf("verify after the import: %v\n%s", err, vout.String())
	}
}

// TestImportCommandRefuses: a missing --source, core without --records,
// no file or two, an unknown extension, a rejects file that is the input:
// an error before anything is read.
func TestImportCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	master := copyTestdata(t, dir, "core_customers.csv")
	odd := filepath.Join(dir, "customers.txt")
	if err := os.WriteFile(odd, []byte("customerId\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{master},
		{"--source", "core", master},
		{"--source", "core", "--records", "customers"},
		{"--source", "core", "--records", "customers", master, master},
		{"--source", "core", "--records", "accounts", master},
		{"--source", "core banking", "--records", "customers", master},
		{"--source", "card", odd},
		{"--source", "core", "--records", "customers", "--rejects", master, master},
	} {
		err := run(t.Context(), append([]string{"import", "--data", filepath.Join(dir, "data")}, args...), noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		if exitCode(err) != 1 {
			t.Errorf("import %v: %v, want exit 1", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("a refused import created the data dir: %v", err)
	}
	if fi, err := os.Stat(master); err != nil || fi.Size() == 0 {
		t.Errorf("the input after the refusals: %v, %v", fi, err)
	}
}

// copyTestdata copies a test file of ops/importer into dir (its rejects
// file is written beside it).
func copyTestdata(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "ops", "importer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
