package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReviewImportChangedNotNothingNew: a second import whose row changed
// at the same version is rejected (exit 2) and not reported as "nothing
// new: every event of the file was already in the log".
func TestReviewImportChangedNotNothingNew(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	importFile := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"import", "--data", data}, args...), noEnv, &out, &errOut)
		return out.String(), err
	}
	importFile("--source", "core", "--records", "customers", copyTestdata(t, dir, "core_customers.csv"))
	loan := filepath.Join(dir, "loan.csv")
	write := func(email string) {
		if err := os.WriteFile(loan, []byte("customerId,ref,version,observedAt,email\nC0000001,APP-1,1,2026-10-05,"+email+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a@example.com")
	if out, err := importFile("--source", "loan", loan); err != nil {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	write("b@example.com")
	out, err := importFile("--source", "loan", loan)
	if exitCode(err) != 2 || strings.Contains(out, "nothing new") {
		t.Errorf("the changed row imported again: exit %d (%v)\n%s\nwant exit 2 and no 'nothing new'", exitCode(err), err, out)
	}
}
