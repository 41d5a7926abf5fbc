package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/ops/pgtest"
)

// exportData is a seeded data directory with an auditor U9, a rep R9 and
// one seal (signed with the sealing key in <data>/sealing.key), events
// after it; it returns the directory and the seal.
func exportData(t *testing.T) (string, *seal.Seal) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"seed", "--data", dir, "--customers", "1000", "--months", "1", "--workers", "4"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	for _, m := range [][3]string{{"U9", "Auditor Nine", "auditor"}, {"R9", "Rep Nine", "rep"}} {
		if err := run(ctx, []string{"staff", "add", "--data", dir, "--id", m[0], "--name", m[1], "--role", m[2]}, noEnv, &out, &out); err != nil {
			t.Fatalf("staff add: %v\n%s", err, out.String())
		}
	}
	sl := sealLog(t, dir)
	if err := run(ctx, []string{"staff", "add", "--data", dir, "--id", "R9", "--name", "Rep Nine", "--role", "rep"}, noEnv, &out, &out); err != nil {
		t.Fatal(err) // a token more: events past the seal
	}
	return dir, sl
}

// sealLog seals the embedded log in dir as serve would: the tree in
// <dir>/seals, the sealing key in <dir>/sealing.key.
func sealLog(t *testing.T, dir string) *seal.Seal {
	t.Helper()
	ctx := context.Background()
	s, err := openEventStore(ctx, storeFlags{data: dir}, true) // the data dir's own store
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	master, _, err := pii.LoadMasterKey("", filepath.Join(dir, "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadKey(filepath.Join(dir, "sealing.key"), "", "dangol", master)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := seal.OpenTree(filepath.Join(dir, "seals"))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if err := tree.CatchUp(ctx, s); err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewSealer(seal.Config{Store: s, Tree: tree, Key: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sl, err := sealer.SealNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

// runExportCmd runs dangol export with args on dir and returns the
// manifest it printed.
func runExportCmd(t *testing.T, dir string, args ...string) (export.Manifest, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"export", "--data", dir}, args...), noEnv, &stdout, &stderr)
	var m export.Manifest
	if err == nil {
		if jerr := json.Unmarshal(stdout.Bytes(), &m); jerr != nil {
			t.Fatalf("manifest on stdout: %v\n%s", jerr, stdout.String())
		}
	}
	return m, stderr.String(), err
}

// exportLines decodes every line of the export file at path.
func exportLines(t *testing.T, path string) ([]events.Envelope, []byte) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Envelope
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		e, err := export.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	return out, body
}

// verifyFromStart checks an export from the log's start as a log:
// hashes, chains, versions, positions.
func verifyFromStart(t *testing.T, evs []events.Envelope) {
	t.Helper()
	v := events.NewChainVerifier()
	for i := range evs {
		if err := v.Add(&evs[i]); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
}

// TestExportCommand: the default export is the log up to the seal, as
// ciphertext, every line verifying, with a manifest beside it (and on
// stdout) that names its count, SHA-256, verifier key and covering seal;
// from the middle, the manifest's frontier (computed by reading the log)
// and the lines give the seal's root.
func TestExportCommand(t *testing.T) {
	dir, sl := exportData(t)
	path := filepath.Join(dir, "ledger.jsonl")
	m, stderr, err := runExportCmd(t, dir, "--out", path)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	evs, body := exportLines(t, path)
	verifyFromStart(t, evs)
	sum := sha256.Sum256(body)
	if int64(len(evs)) != sl.TreeSize || m.Count != sl.TreeSize || m.SHA256 != hex.EncodeToString(sum[:]) ||
		m.CoveringSealHash() != sl.Hash.String() || m.ToPosition != sl.ToPosition || m.Origin != "dangol" || !strings.HasPrefix(m.VerifierKey, "dangol+") {
		t.Errorf("export of %d lines, manifest %+v; want the seal's %d", len(evs), m, sl.TreeSize)
	}
	beside, err := os.ReadFile(path + ".manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var mb export.Manifest
	if json.Unmarshal(beside, &mb) != nil || mb.SHA256 != m.SHA256 || mb.Count != m.Count {
		t.Errorf("the manifest beside the export: %s", beside)
	}
	if bytes.Contains(body, []byte(`"name":"`)) && !bytes.Contains(body, []byte(`"name":"pii:v1:`)) {
		t.Error("a name in clear in the default export")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".ledger.jsonl.partial-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	from := evs[99].Position
	mid := filepath.Join(dir, "mid.jsonl")
	mm, stderr, err := runExportCmd(t, dir, "--out", mid, "--from", from.String(), "--to", sl.ToPosition.String())
	if err != nil {
		t.Fatalf("export --from: %v\n%s", err, stderr)
	}
	c, err := mm.Start()
	if err != nil {
		t.Fatal(err)
	}
	midEvs, _ := exportLines(t, mid)
	for i := range midEvs {
		c.Append(seal.LeafHash(&midEvs[i]))
	}
	if mm.StartLeaf != 100 || c.Size() != sl.TreeSize || c.Root() != sl.Checkpoint.Root {
		t.Errorf("export after %s: startLeaf %d, %d leaves; the root is not the seal's", from, mm.StartLeaf, c.Size())
	}

	// To a device: the manifest only on stdout.
	if _, stderr, err := runExportCmd(t, dir, "--out", os.DevNull); err != nil {
		t.Fatalf("export to %s: %v\n%s", os.DevNull, err, stderr)
	}
}

// TestExportCommandClear: in clear only with a reason and an active
// auditor's id; refused, nothing is written or recorded. Accepted, the
// names are in clear, every line still verifies, and the access record
// names the auditor and the reason.
func TestExportCommandClear(t *testing.T) {
	dir, sl := exportData(t)
	path := filepath.Join(dir, "clear.jsonl")
	for _, args := range [][]string{
		{"--clear", "--staff", "U9"},
		{"--clear", "--staff", "U9", "--reason", "ab"},
		{"--clear", "--staff", "U9", "--reason", "two\nlines"},
		{"--clear", "--reason", "court order 2026-117"},
		{"--clear", "--staff", "R9", "--reason", "court order 2026-117"},
		{"--clear", "--staff", "NOBODY", "--reason", "court order 2026-117"},
		{"--to", "999999999"},
		{"--from", "5", "--to", "4"},
		{"--from", "x"},
	} {
		if _, _, err := runExportCmd(t, dir, append([]string{"--out", path}, args...)...); err == nil {
			t.Errorf("export %q: no error", args)
		}
		if _, err := os.Stat(path); err == nil {
			t.Fatalf("export %q was refused but wrote %s", args, path)
		}
	}
	if reads := accessReads(t, dir); len(reads) != 0 {
		t.Fatalf("refused exports recorded: %+v", reads)
	}

	const reason = "court order 2026-117"
	m, stderr, err := runExportCmd(t, dir, "--out", path, "--clear", "--staff", "U9", "--reason", reason)
	if err != nil {
		t.Fatalf("clear export: %v\n%s", err, stderr)
	}
	evs, body := exportLines(t, path)
	verifyFromStart(t, evs)
	if !m.Clear || m.Reason != reason || !bytes.Contains(body, []byte(`"storeddata":"`)) || bytes.Count(body, []byte(`"name":"pii:v1:`)) > 0 {
		t.Errorf("clear export: manifest %+v, personal fields not opened", m)
	}
	// Offline, it verifies, saying what the hash does not prove: the
	// clear data beside each storeddata.
	code, out, err := auditVerify(t, "--seal-hash", sl.Hash.String(), path)
	if code != 0 || !strings.Contains(out, "lines hold their data in clear: the hash proves their storeddata") {
		t.Errorf("dangol audit verify of the export in clear: exit %d %v\n%s", code, err, out)
	}
	reads := accessReads(t, dir)
	if len(reads) != 1 || reads[0].StaffID != "U9" || reads[0].Role != "auditor" || reads[0].Action != "export_clear" ||
		!strings.Contains(reads[0].Detail, reason) || !strings.Contains(reads[0].Detail, fmt.Sprintf("%d events", m.Count)) {
		t.Errorf("access record %+v", reads)
	}
}

// accessReads are the access record's entries, every month.
func accessReads(t *testing.T, dir string) []events.AccessRead {
	t.Helper()
	s, err := openEventStore(context.Background(), storeFlags{data: dir}, true) // the data dir's own store
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []events.AccessRead
	for from := events.Start; ; {
		evs, err := s.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if evs[i].Type == "PersonalDataRead" {
				var d events.PersonalDataRead
				if err := json.Unmarshal(evs[i].Data, &d); err != nil {
					t.Fatal(err)
				}
				out = append(out, d.Reads...)
			}
			from = evs[i].Position
		}
		if len(evs) < 1000 {
			return out
		}
	}
}

// TestExportCommandPostgres: --store postgres exports the log of the
// database (positions with the sequence's gaps) as the embedded one.
func TestExportCommandPostgres(t *testing.T) {
	if pgBackend {
		t.Skip("runs in the default pass")
	}
	dir, url := t.TempDir(), pgtest.Database(t)
	pg := []string{"--data", dir, "--store", "postgres", "--postgres-url", url}
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"seed", "--customers", "1000", "--months", "1", "--workers", "4"}, pg...), noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	path := filepath.Join(dir, "pg.jsonl")
	m, stderr, err := runExportCmd(t, dir, append([]string{"--out", path}, pg[2:]...)...)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	evs, _ := exportLines(t, path)
	verifyFromStart(t, evs)
	if m.Count == 0 || m.Count != int64(len(evs)) || m.ToPosition != evs[len(evs)-1].Position {
		t.Errorf("manifest %+v for %d lines", m, len(evs))
	}
}

// The manifest's covering seal is its export line byte for byte: Decode
// reads it back into the seal, whose hash verifies.
func TestExportManifestSealDecodes(t *testing.T) {
	dir, sl := exportData(t)
	m, stderr, err := runExportCmd(t, dir, "--out", os.DevNull)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	e, err := export.Decode(m.CoveringSeal)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(e.PrevHash); err != nil || e.Hash != sl.Hash {
		t.Errorf("covering seal %s decodes to %s@%d: %v", m.CoveringSeal, e.Stream, e.Version, err)
	}
}
