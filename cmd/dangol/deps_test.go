package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goListDeps returns the packages pkg links (`go list -deps`), failing the
// test without the go command only under CI=true.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go command: %v", err)
		}
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestBinaryLinksNoTestCode: test helpers (ops/pgtest, eventstest) import
// testing, which has no place in the production binary.
func TestBinaryLinksNoTestCode(t *testing.T) {
	deps := goListDeps(t, "github.com/dangol/dangol/cmd/dangol")
	for _, bad := range []string{"testing", "github.com/dangol/dangol/ops/pgtest", "github.com/dangol/dangol/events/eventstest"} {
		if slices.Contains(deps, bad) {
			t.Errorf("the dangol binary links %s", bad)
		}
	}
}

// TestCryptoCoreLinksNoDatabase: events/pii holds the crypto; its key-store
// backends, each named after the database it wraps, live in subpackages.
func TestCryptoCoreLinksNoDatabase(t *testing.T) {
	for _, dep := range goListDeps(t, "github.com/dangol/dangol/events/pii") {
		if strings.HasPrefix(dep, "go.etcd.io/bbolt") || strings.HasPrefix(dep, "github.com/jackc/pgx") {
			t.Errorf("events/pii links %s", dep)
		}
	}
}
