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
