package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/seal"
)

// sealedExport is a sealed embedded log and the files an auditor gets:
// 10 events and a seal, three times, 4 more events and a fourth seal,
// whose checkpoint a file witness wrote.
type sealedExport struct {
	t       testing.TB
	dir     string
	store   *bolt.Store
	tree    *seal.Tree
	key     *seal.Key
	seals   []*seal.Seal
	witness string // the witness's file: the last seal's signed checkpoint
}

func newSealedExport(t testing.TB) *sealedExport {
	return newSealedExportOf(t, 3, []int{10, 10, 10, 4})
}

// newSealedExportOf appends batches of events over streams customer
// streams, one append each, and seals after each batch.
func newSealedExportOf(t testing.TB, streams int, batches []int) *sealedExport {
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tree, err := seal.OpenTree(filepath.Join(dir, "seals"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	key, err := seal.NewKey("dangol.test", bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	x := &sealedExport{t: t, dir: dir, store: store, tree: tree, key: key, witness: filepath.Join(dir, "witness.note")}
	sealer, err := seal.NewSealer(seal.Config{Store: store, Tree: tree, Key: key, Logger: slog.New(slog.DiscardHandler),
		Witnesses: []seal.Witness{seal.FileWitness{Path: x.witness}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, batch := range batches {
		evs := make([]events.Event, batch)
		for i := range evs {
			evs[i] = events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, Actor: events.Actor{ID: "R1", Role: "rep"},
				Data: json.RawMessage(fmt.Sprintf(`{"note":"contact %d"}`, n))}
			if streams == 3 { // one event per append, round the three streams
				if _, err := store.Append(t.Context(), fmt.Sprintf("customer-C%d", n%3), events.Any, evs[i]); err != nil {
					t.Fatal(err)
				}
			}
			n++
		}
		if streams != 3 {
			if _, err := store.Append(t.Context(), fmt.Sprintf("customer-C%d", len(x.seals)%streams), events.Any, evs...); err != nil {
				t.Fatal(err)
			}
		}
		sl, err := sealer.SealNow(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		x.seals = append(x.seals, sl)
	}
	return x
}

// export writes the export of the events after from up to to, and its
// manifest beside it; it returns the export's path.
func (x *sealedExport) export(name string, from, to events.Position) string {
	var body bytes.Buffer
	m, err := export.Export(x.t.Context(), x.store, &body, export.Request{From: from, To: to, Origin: x.key.Name(),
		VerifierKey: x.key.VerifierKey(), Tree: x.tree})
	if err != nil {
		x.t.Fatal(err)
	}
	path := filepath.Join(x.dir, name+".jsonl")
	writeTestFile(x.t, path, body.Bytes())
	mb, err := json.Marshal(&m)
	if err != nil {
		x.t.Fatal(err)
	}
	writeTestFile(x.t, path+".manifest.json", mb)
	return path
}

func writeTestFile(t testing.TB, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// auditVerify runs `dangol audit verify args...` and returns its exit
// code, its output and its error.
func auditVerify(t testing.TB, args ...string) (int, string, error) {
	var out bytes.Buffer
	err := runAuditVerify(context.Background(), args, noEnv, &out, &out)
	if err == nil {
		return 0, out.String(), nil
	}
	return exitCode(err), out.String(), err
}

// TestAuditVerifyExport checks exports offline: the whole log against the
// last seal's hash or the witness's file, a range ending before the last
// seal against that seal given by the manifest, and a range starting
// mid-log; the key from the flag, a file or (said so) the manifest.
func TestAuditVerifyExport(t *testing.T) {
	x := newSealedExport(t)
	last := x.seals[3]
	whole := x.export("whole", events.Start, last.Position)
	keyFile := filepath.Join(x.dir, "key.vkey")
	writeTestFile(t, keyFile, []byte(x.key.VerifierKey()+"\n"))

	code, out, err := auditVerify(t, "--seal-hash", last.Hash.String(), "--key", x.key.VerifierKey(), whole)
	if code != 0 || !strings.Contains(out, "ok: 38 events verified (leaves 0 to 37") || !strings.Contains(out, "4 seals checked, verified through tree size 37") ||
		!strings.Contains(out, "anchor: the anchor seal "+last.Hash.String()[:12]+" matched") || !strings.Contains(out, "key: sealing key dangol.test+") {
		t.Fatalf("exit %d %v:\n%s", code, err, out)
	}
	code, out, err = auditVerify(t, "--checkpoint", x.witness, "--key-file", keyFile, whole)
	if code != 0 || !strings.Contains(out, "the anchor checkpoint (tree size 37) matched") {
		t.Fatalf("against the witness's file: exit %d %v:\n%s", code, err, out)
	}
	code, out, err = auditVerify(t, "--seal-hash", last.Hash.String(), whole)
	if code != 0 || !strings.Contains(out, "from the manifest (not independent of the export)") {
		t.Fatalf("the manifest's key: exit %d %v:\n%s", code, err, out)
	}

	// Up to the last event before the last seal: the manifest's covering
	// seal is the last seal, and proves the export.
	before := x.export("before", events.Start, events.At(last.Position.Seq()-1))
	code, out, err = auditVerify(t, "--seal-hash", last.Hash.String(), "--key", x.key.VerifierKey(), before)
	if code != 0 || !strings.Contains(out, "ok: 37 events verified (leaves 0 to 36") ||
		!strings.Contains(out, "verified through tree size 37") || !strings.Contains(out, "the manifest's covering seal (at position 38) is among them") {
		t.Fatalf("covered by the manifest's seal: exit %d %v:\n%s", code, err, out)
	}

	// From the middle of the log: the manifest's startLeaf and frontier.
	mid := x.export("mid", events.At(15), last.Position)
	code, out, err = auditVerify(t, "--manifest", mid+".manifest.json", "--checkpoint", x.witness, mid)
	if code != 0 || !strings.Contains(out, "ok: 23 events verified (leaves 15 to 37") {
		t.Fatalf("from mid-log: exit %d %v:\n%s", code, err, out)
	}
	// A frontier that is not the log's: the first seal's root tells.
	mb, _ := os.ReadFile(mid + ".manifest.json")
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	f := m["frontier"].([]any)
	f[0] = strings.Repeat("0", 64)
	mb, _ = json.Marshal(m)
	writeTestFile(t, mid+".manifest.json", mb)
	code, out, err = auditVerify(t, "--checkpoint", x.witness, mid)
	if code != 1 || !strings.Contains(err.Error(), "seal 1: merkle root does not match the log (tree size 21)") {
		t.Fatalf("a frontier not the log's: exit %d %v:\n%s", code, err, out)
	}
}

// TestAuditVerifyDangolExport: what `dangol export` writes, `dangol audit
// verify` checks, the manifest found beside the file.
func TestAuditVerifyDangolExport(t *testing.T) {
	x := newSealedExport(t)
	x.store.Close()
	x.tree.Close()
	out := filepath.Join(x.dir, "ledger.jsonl")
	var log bytes.Buffer
	if err := run(t.Context(), []string{"export", "--data", x.dir, "--out", out, "--seal-origin", "dangol.test"}, noEnv, &log, &log); err != nil {
		t.Fatalf("dangol export: %v\n%s", err, log.String())
	}
	code, res, err := auditVerify(t, "--checkpoint", x.witness, "--key", x.key.VerifierKey(), out)
	if code != 0 || !strings.Contains(res, "ok: 37 events verified") || !strings.Contains(res, "verified through tree size 37") {
		t.Fatalf("exit %d %v:\n%s", code, err, res)
	}
}

// TestAuditVerifyWithoutKey: with no key (none given, none in the
// manifest) a seal's signature is not checked, so only the anchor proves
// the log: the summary says verified through the anchor's tree size and
// that the events after it are proved by nothing, although later seals'
// roots matched.
func TestAuditVerifyWithoutKey(t *testing.T) {
	x := newSealedExport(t)
	whole := x.export("whole", events.Start, x.seals[3].Position)
	mb, _ := os.ReadFile(whole + ".manifest.json")
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	m["verifierKey"] = ""
	mb, _ = json.Marshal(m)
	writeTestFile(t, whole+".manifest.json", mb)
	code, out, err := auditVerify(t, "--seal-hash", x.seals[1].Hash.String(), whole)
	if code != 0 || !strings.Contains(out, "4 seals checked, verified through tree size 21") ||
		!strings.Contains(out, "key: none: signatures not checked") ||
		!strings.Contains(out, "note: the last 17 events (leaves 21 on) are after the anchor: without a key no seal proves them") {
		t.Fatalf("exit %d %v:\n%s", code, err, out)
	}
}

// TestAuditVerifySummaryUnrooted: seals whose tree ends before the
// export's first leaf had their signatures checked only with a key; the
// summary says which.
func TestAuditVerifySummaryUnrooted(t *testing.T) {
	key, _ := seal.NewKey("dangol.test", bytes.Repeat([]byte{3}, 32))
	for _, tc := range []struct {
		key  *seal.Key
		want string
	}{
		{key, "1 seals of a tree ending before the export's first leaf: signatures checked, roots not checkable here"},
		{nil, "1 seals of a tree ending before the export's first leaf: signatures not checked (no key), roots not checkable here"},
	} {
		var out bytes.Buffer
		c := &offlineCheck{key: tc.key, anchor: &seal.Anchor{}, lines: 3}
		c.summary(&out, seal.Report{Unrooted: 1, VerifiedThrough: 3})
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("key %v: summary\n%s\nwant %q", tc.key, out.String(), tc.want)
		}
	}
}

// TestAuditVerifyManifestPositions: the summary's positions are the
// file's, not the manifest's word: a manifest whose fromPosition or
// toPosition is not the file's first or last line fails, naming both.
func TestAuditVerifyManifestPositions(t *testing.T) {
	x := newSealedExport(t)
	mid := x.export("mid", events.At(15), x.seals[3].Position)
	mb, _ := os.ReadFile(mid + ".manifest.json")
	for _, field := range []string{"fromPosition", "toPosition"} {
		var m map[string]any
		if err := json.Unmarshal(mb, &m); err != nil {
			t.Fatal(err)
		}
		m[field] = "1"
		b, _ := json.Marshal(m)
		writeTestFile(t, mid+".manifest.json", b)
		code, out, err := auditVerify(t, "--checkpoint", x.witness, "--key", x.key.VerifierKey(), mid)
		if code != 1 || !strings.Contains(err.Error(), "the manifest says positions") || !strings.Contains(err.Error(), "the file holds 16 to 38") {
			t.Errorf("a manifest's %s not the file's: exit %d %v\n%s", field, code, err, out)
		}
	}
	writeTestFile(t, mid+".manifest.json", mb)
	if code, out, err := auditVerify(t, "--checkpoint", x.witness, "--key", x.key.VerifierKey(), mid); code != 0 || !strings.Contains(out, "positions 16 to 38") {
		t.Fatalf("the manifest as written: exit %d %v\n%s", code, err, out)
	}
}

// TestAuditVerifyBadInput: without one anchor, with a malformed one, with
// no manifest or no file, the command exits 1 saying what is wrong.
func TestAuditVerifyBadInput(t *testing.T) {
	x := newSealedExport(t)
	whole := x.export("whole", events.Start, x.seals[3].Position)
	hash := x.seals[3].Hash.String()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{whole}, "give one anchor"},
		{[]string{"--seal-hash", hash, "--checkpoint", x.witness, whole}, "give one anchor"},
		{[]string{"--seal-hash", "xyz", whole}, "--seal-hash: invalid: hash must be 64 hex digits"},
		{[]string{"--seal-hash", hash, "--key", "nope", whole}, "key from --key: invalid: verifier key"},
		{[]string{"--seal-hash", hash, "--key", "a", "--key-file", "b", whole}, "not both"},
		{[]string{"--checkpoint", whole, whole}, "--checkpoint " + whole},
		{[]string{"--seal-hash", hash, filepath.Join(x.dir, "missing.jsonl")}, "the manifest"},
		{[]string{"--seal-hash", hash}, "flag needs an argument"},
		{nil, "name the export file"},
	} {
		code, out, err := auditVerify(t, tc.args...)
		if code != 1 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: exit %d %v, want 1 saying %q\n%s", tc.args, code, err, tc.want, out)
		}
	}
	if code, _, err := auditVerify(t, "-h"); code != 0 {
		t.Errorf("-h: exit %d %v", code, err)
	}
}

// fileTamper alters an export's lines as someone holding the file could;
// the manifest's count and SHA-256 are made to fit, so that only the
// verification itself can tell.
type fileTamper struct {
	name   string
	change func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte
	anchor func(x *sealedExport) []string // the anchor's flags (default: the last seal's hash)
	want   string                         // in the error ("": the check passes)
}

// TestAuditVerifyTamperMatrix alters an export in every way the issue
// names and expects `dangol audit verify` to exit 1 naming the failure.
// The tail is cut undetectably only past the anchor (the last case).
func TestAuditVerifyTamperMatrix(t *testing.T) {
	x := newSealedExport(t)
	whole := x.export("whole", events.Start, x.seals[3].Position)
	pristine, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(whole + ".manifest.json")

	// The file altered, the manifest not: its SHA-256 tells.
	writeTestFile(t, whole, bytes.Replace(pristine, []byte("contact 5"), []byte("contact 6"), 1))
	if code, _, err := auditVerify(t, "--seal-hash", x.seals[3].Hash.String(), whole); code != 1 || !strings.Contains(err.Error(), "is not the manifest's") {
		t.Fatalf("a file that does not match its manifest: exit %d %v", code, err)
	}

	for _, tc := range fileTampers {
		t.Run(tc.name, func(t *testing.T) {
			lines := bytes.SplitAfter(pristine, []byte("\n"))
			lines = tc.change(t, x, lines[:len(lines)-1])
			body := bytes.Join(lines, nil)
			writeTestFile(t, whole, body)
			writeTestFile(t, whole+".manifest.json", refit(t, manifest, body, len(lines)))
			args := []string{"--seal-hash", x.seals[3].Hash.String()}
			if tc.anchor != nil {
				args = tc.anchor(x)
			}
			code, out, err := auditVerify(t, append(args, "--key", x.key.VerifierKey(), whole)...)
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("want exit 0, got %d %v\n%s", code, err, out)
				}
				return
			}
			if code != 1 || err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(out, "FAIL after") {
				t.Fatalf("want exit 1 saying %q, got %d %v\n%s", tc.want, code, err, out)
			}
			t.Log(err)
		})
	}
}

// refit is the manifest with the count, SHA-256 and first and last
// positions of body.
func refit(t *testing.T, manifest, body []byte, count int) []byte {
	var m map[string]any
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	m["count"], m["sha256"] = count, hex.EncodeToString(sum[:])
	if lines := bytes.SplitAfter(body, []byte("\n")); len(lines) > 1 {
		for k, line := range map[string][]byte{"fromPosition": lines[0], "toPosition": lines[len(lines)-2]} {
			var l struct{ Position string }
			if err := json.Unmarshal(line, &l); err != nil {
				t.Fatal(err)
			}
			m[k] = l.Position
		}
	}
	b, _ := json.Marshal(m)
	return b
}

var fileTampers = []fileTamper{
	{name: "flipped byte", want: "line 6: position 6, customer-C2@1: hash does not match the event's content",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[5] = bytes.Replace(lines[5], []byte("contact 5"), []byte("contact 6"), 1)
			return lines
		}},
	{name: "line deleted", want: "line 9: position 10, customer-C0@3: version gap in the stream, expected version 2",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			return append(lines[:6:6], lines[7:]...)
		}},
	{name: "two lines swapped", want: "line 8: position 7, customer-C0@2: position does not increase after 8",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[6], lines[7] = lines[7], lines[6]
			return lines
		}},
	{name: "two lines swapped with their positions", want: "line 11: position 11, ledger@0: seal 0: merkle root does not match the log (tree size 10)",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[6], lines[7] = setPosition(t, lines[7], 7), setPosition(t, lines[6], 8)
			return lines
		}},
	{name: "tail cut through the last seal", want: "the anchor seal",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte { return lines[:len(lines)-3] }},
	{name: "tail cut, against the witness's checkpoint", want: "the anchor checkpoint (tree size 37) is beyond the log's 36 leaves: the log was cut",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte { return lines[:len(lines)-2] },
		anchor: func(x *sealedExport) []string { return []string{"--checkpoint", x.witness} }},
	{name: "every line of a stream dropped", want: "seal 0: tree size 10 is beyond the 7 events before the seal: events before it are missing",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			var out [][]byte
			for _, l := range lines {
				if !bytes.Contains(l, []byte(`"subject":"customer-C1"`)) {
					out = append(out, l)
				}
			}
			return out
		}},
	{name: "seal forged with another key", want: "seal 3: checkpoint signature",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			other, _ := seal.NewKey("dangol.test", bytes.Repeat([]byte{4}, 32))
			return forgeLine(t, lines, len(lines)-1, func(d *events.LedgerSealed) {
				c, _ := seal.ParseCheckpoint([]byte(strings.SplitN(d.Checkpoint, "\n\n", 2)[0] + "\n"))
				signed, sig, _ := other.SignCheckpoint(c)
				d.Checkpoint, d.Signature = signed, base64.StdEncoding.EncodeToString(sig)
			})
		},
		// Against a kept checkpoint: a kept seal hash would not be found.
		anchor: func(x *sealedExport) []string { return []string{"--checkpoint", x.witness} }},
	{name: "seal root changed", want: "line 22: position 22, ledger@1: seal 1: checkpoint (tree size 21) does not match",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			return forgeLine(t, lines, 21, func(d *events.LedgerSealed) { d.MerkleRoot = strings.Repeat("0f", 32) })
		}},
	{name: "seal line written otherwise", want: "line 11: position 11, ledger@0: the line is not as dangol writes this event",
		// The same CloudEvent with other white space: the first pass,
		// which looks for seals as dangol writes them, misses it, and
		// the second holds every line to the writer's form.
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[10] = bytes.Replace(lines[10], []byte(`"type":"dangol.LedgerSealed"`), []byte(`"type": "dangol.LedgerSealed"`), 1)
			return lines
		}},
	{name: "dataschema changed", want: "line 5: position 5, customer-C1@1: the line is not as dangol writes this event",
		// Not in the hash: the line must be what the writer makes of
		// the event it decodes to.
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[4] = bytes.Replace(lines[4], []byte(`:ContactLogged:1"`), []byte(`:ContactLogged:2"`), 1)
			return lines
		}},
	{name: "source changed", want: "line 5: position 5, customer-C1@1: the line is not as dangol writes this event",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[4] = bytes.Replace(lines[4], []byte(`"source":"urn:dangol:dangol.test"`), []byte(`"source":"urn:dangol:elsewhere"`), 1)
			return lines
		}},
	{name: "data changed beside storeddata", want: "line 5: position 5, customer-C1@1: data is not the stored data",
		// storeddata, which the hash covers, kept; data, shown to the
		// reader, changed.
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(lines[4], &m); err != nil {
				t.Fatal(err)
			}
			stored, _ := json.Marshal([]byte(m["data"]))
			at := bytes.Index(lines[4], []byte(`,"data":`))
			lines[4] = append(append(bytes.Clone(lines[4][:at]), `,"storeddata":`+string(stored)+`,"data":{"note":"contact 99"}}`...), '\n')
			return lines
		}},
	{name: "erased in an export not in clear", want: "line 5: position 5, customer-C1@1: erased in an export not in clear",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte {
			lines[4] = bytes.Replace(lines[4], []byte(`,"data":`), []byte(`,"erased":true,"data":`), 1)
			return lines
		}},
	{name: "tail past an older anchor cut: not detectable", want: "",
		change: func(t *testing.T, x *sealedExport, lines [][]byte) [][]byte { return lines[:len(lines)-3] },
		anchor: func(x *sealedExport) []string { return []string{"--seal-hash", x.seals[2].Hash.String()} }},
}

// setPosition sets a line's position attribute, in place: the line is
// otherwise as dangol writes it.
func setPosition(t *testing.T, line []byte, pos uint64) []byte {
	e, err := export.Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(line, []byte(`"position":"`+e.Position.String()+`"`), []byte(`"position":"`+strconv.FormatUint(pos, 10)+`"`), 1)
}

// forgeLine rewrites the seal on line i with change, its hash recomputed.
func forgeLine(t *testing.T, lines [][]byte, i int, change func(*events.LedgerSealed)) [][]byte {
	e, err := export.Decode(lines[i])
	if err != nil {
		t.Fatal(err)
	}
	var d events.LedgerSealed
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	change(&d)
	if e.Data, err = json.Marshal(&d); err != nil {
		t.Fatal(err)
	}
	f := events.Envelope{ID: e.ID, Stream: e.Stream, Version: e.Version, Position: e.Position, Type: e.Type, Schema: e.Schema,
		RecordedAt: e.RecordedAt, Actor: e.Actor, Data: e.Data, PrevHash: e.PrevHash}
	events.EncodeRecord(&f)
	lines[i] = append(export.Event("dangol.test", &f), '\n')
	return lines
}

// BenchmarkAuditVerify measures `dangol audit verify` on an export of
// 100,000 events over 100 streams with a seal after every 1,000: both
// passes, decoding every line.
//
//	go test ./cmd/dangol -run '^$' -bench AuditVerify -benchtime 3x
func BenchmarkAuditVerify(b *testing.B) {
	batches := make([]int, 100)
	for i := range batches {
		batches[i] = 1000
	}
	x := newSealedExportOf(b, 100, batches)
	path := x.export("bench", events.Start, x.seals[len(x.seals)-1].Position)
	b.ResetTimer()
	for range b.N {
		if code, out, err := auditVerify(b, "--checkpoint", x.witness, "--key", x.key.VerifierKey(), path); code != 0 {
			b.Fatal(err, out)
		}
	}
	b.ReportMetric(float64(100_100*b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestAuditVerifyServedExport: what a running `dangol serve` exports over
// the API (GET /v1/audit/export and its manifest), `dangol audit verify`
// checks against the checkpoint its witness file holds and the key
// /v1/audit/key serves; the same export with a line removed fails.
func TestAuditVerifyServedExport(t *testing.T) {
	dir := t.TempDir()
	tok := map[string]string{"R1": staffAdd(t, dir, dirURL(t, dir), "R1", "rep"), "U1": staffAdd(t, dir, dirURL(t, dir), "U1", "auditor")}
	witness := filepath.Join(dir, "witness.note")
	addr, _, stop := serveCommand(t, dir, "--metrics-addr", "off", "--seal-every", "7", "--seal-interval", "0", "--witness-file", witness)
	defer stop()
	s := clientOf(t, addr, tok)
	waitOK(t, s.base+"/readyz")
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	for i := range 6 {
		s.json("R1", "POST", "/v1/customers/C1/contacts", contact(fmt.Sprintf("call %d", i)), 201)
	}
	// The staff's six events and these seven: one seal, whenever it is made.
	latest := waitForSeal(t, s, 0, witness)
	vkey := s.json("", "GET", "/v1/audit/key", nil, 200)["verifierKey"].(string)

	st, _, body := s.do("U1", "GET", "/v1/audit/export", nil)
	mst, _, manifest := s.do("U1", "GET", "/v1/audit/export/manifest", nil)
	if st != 200 || mst != 200 {
		t.Fatalf("export %d, manifest %d %s", st, mst, manifest)
	}
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	writeTestFile(t, path, body)
	writeTestFile(t, path+".manifest.json", manifest)
	code, out, err := auditVerify(t, "--checkpoint", witness, "--key", vkey, path)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("verified through tree size %v", latest["treeSize"])) {
		t.Fatalf("exit %d %v:\n%s", code, err, out)
	}

	lines := bytes.SplitAfter(body, []byte("\n"))
	cut := bytes.Join(append(lines[:2:2], lines[3:]...), nil)
	writeTestFile(t, path, cut)
	writeTestFile(t, path+".manifest.json", refit(t, manifest, cut, bytes.Count(cut, []byte("\n"))))
	if code, out, err := auditVerify(t, "--checkpoint", witness, "--key", vkey, path); code != 1 {
		t.Fatalf("a line removed: exit %d %v\n%s", code, err, out)
	}
}
