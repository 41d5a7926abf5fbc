package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/seal"
)

// auditVerifyFlags are the flags of `dangol audit verify`.
type auditVerifyFlags struct {
	manifest   string
	sealHash   string
	checkpoint string
	key        string
	keyFile    string
}

const auditVerifySynopsis = `Checks an export (CloudEvents JSON Lines, as GET /v1/audit/export and
dangol export write it) offline against a seal kept outside dangol: the
manifest's count and SHA-256 of the file, every event's hash, every stream's
chain, the log order, and every seal's Merkle root, signatures and links,
from the manifest's startLeaf and frontier on. The anchor is a seal event's
hash (--seal-hash) or a signed checkpoint (--checkpoint: a seal's checkpoint
or the file a witness wrote); the export must reach it. Exits 0 with a
summary, or 1 naming the first failure. The export file comes last:

  dangol audit verify [--manifest FILE] (--seal-hash HEX | --checkpoint FILE)
                      [--key VKEY | --key-file FILE] EXPORT.jsonl`

// runAuditVerify is `dangol audit verify`.
func runAuditVerify(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("audit verify", auditVerifySynopsis, stderr)
	var f auditVerifyFlags
	fs.StringVar(&f.manifest, "manifest", "", "the export's manifest (default EXPORT.jsonl.manifest.json, where dangol export writes it)")
	fs.StringVar(&f.sealHash, "seal-hash", "", "the hash (64 hex) of a seal event kept outside dangol")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "a file holding a signed checkpoint kept outside dangol (a witness's file)")
	fs.StringVar(&f.key, "key", "", "the sealing key's verifier key (name+hash+base64, GET /v1/audit/key); default the manifest's, which is not independent")
	fs.StringVar(&f.keyFile, "key-file", "", "a file holding the verifier key")
	file, flagArgs := splitFile(args)
	if err := parse(fs, flagArgs, getenv); err != nil {
		return err
	}
	if file == "" {
		fs.Usage()
		return errors.New("audit verify: name the export file (EXPORT.jsonl) last")
	}
	c, err := f.check(file)
	if err != nil {
		return err
	}
	rep, err := c.run(ctx)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL after %d good events: %v\n", rep.Events, err)
		return &exitError{code: 1, err: fmt.Errorf("audit verify: %w", err)}
	}
	c.summary(stdout, rep)
	return nil
}

// splitFile takes the export file, the last argument, off the flags.
func splitFile(args []string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		return "", args
	}
	return args[len(args)-1], args[:len(args)-1]
}

// offlineCheck is one check of an export file against an anchor.
type offlineCheck struct {
	file      string
	manifest  export.Manifest
	key       *seal.Key
	keySource string
	anchor    *seal.Anchor
	covering  *events.Envelope // the manifest's covering seal, when the file lacks it

	lines       int64           // lines verified
	first, last events.Position // the first and last lines' positions
	inClear     int64           // lines whose data is in clear beside storeddata
}

// check reads the manifest, the key and the anchor the flags name.
func (f *auditVerifyFlags) check(file string) (*offlineCheck, error) {
	if (f.sealHash == "") == (f.checkpoint == "") {
		return nil, errors.New("audit verify: give one anchor: --seal-hash HEX or --checkpoint FILE")
	}
	if f.key != "" && f.keyFile != "" {
		return nil, errors.New("audit verify: give --key or --key-file, not both")
	}
	c := &offlineCheck{file: file}
	if err := c.readManifest(f.manifestPath(file)); err != nil {
		return nil, err
	}
	if err := c.readKey(f); err != nil {
		return nil, err
	}
	if f.sealHash != "" {
		var h events.Hash
		if err := h.UnmarshalText([]byte(strings.TrimSpace(f.sealHash))); err != nil {
			return nil, fmt.Errorf("audit verify: --seal-hash: %w", err)
		}
		c.anchor = &seal.Anchor{SealHash: h}
		return c, nil
	}
	note, err := os.ReadFile(f.checkpoint)
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	if c.anchor, err = seal.OpenAnchor(note, c.key); err != nil {
		return nil, fmt.Errorf("audit verify: --checkpoint %s: %w", f.checkpoint, err)
	}
	return c, nil
}

func (f *auditVerifyFlags) manifestPath(file string) string {
	if f.manifest != "" {
		return f.manifest
	}
	return file + ".manifest.json" // as dangol export writes it
}

func (c *offlineCheck) readManifest(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("audit verify: the manifest: %w (name it with --manifest)", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.manifest); err != nil {
		return fmt.Errorf("audit verify: the manifest %s: %w", path, err)
	}
	if cs := c.manifest.CoveringSeal; len(cs) > 0 && string(cs) != "null" {
		// A manifest pretty-printed since (by jq, an editor) has the
		// seal's data indented too: compacted, it is the line as exported
		// again (a seal's data is compact JSON).
		var line bytes.Buffer
		if err := json.Compact(&line, cs); err != nil {
			return fmt.Errorf("audit verify: the manifest's coveringSeal: %w", err)
		}
		e, err := export.Decode(line.Bytes())
		if err != nil {
			return fmt.Errorf("audit verify: the manifest's coveringSeal: %w", err)
		}
		c.covering = &e
	}
	return nil
}

// readKey takes the key from the flags, or else from the manifest.
func (c *offlineCheck) readKey(f *auditVerifyFlags) error {
	vkey, source := f.key, "--key"
	if f.keyFile != "" {
		b, err := os.ReadFile(f.keyFile)
		if err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		vkey, source = string(b), f.keyFile
	}
	if vkey == "" && c.manifest.VerifierKey != "" {
		vkey, source = c.manifest.VerifierKey, "the manifest (not independent of the export)"
	}
	if vkey == "" {
		c.keySource = "none: signatures not checked"
		return nil
	}
	k, err := seal.ParseVerifierKey(vkey)
	if err != nil {
		return fmt.Errorf("audit verify: key from %s: %w", source, err)
	}
	c.key, c.keySource = k, k.String()+" from "+source
	return nil
}

// run makes the two passes over the file: the seals, the count and the
// SHA-256 first, then the verification.
func (c *offlineCheck) run(ctx context.Context) (seal.Report, error) {
	sizes, inFile, err := c.firstPass()
	if err != nil {
		return seal.Report{}, err
	}
	if c.covering != nil && inFile[c.covering.Hash] {
		c.covering = nil
	}
	if c.covering != nil {
		s, err := seal.SealOf(c.covering)
		if err != nil {
			return seal.Report{}, fmt.Errorf("the manifest's coveringSeal: %w", err)
		}
		if s.TreeSize == c.manifest.StartLeaf+c.manifest.Count {
			sizes = append(sizes, s.TreeSize)
		} else {
			c.covering = nil // covers more than the export: its root cannot be checked here
		}
	}
	start, err := c.manifest.Start()
	if err != nil {
		return seal.Report{}, err
	}
	v, err := seal.NewLogVerifier(seal.VerifyOptions{Key: c.key, StartLeaf: start.Size(), Frontier: start.Frontier(),
		SealSizes: sizes, Anchor: c.anchor, MidStream: start.Size() > 0})
	if err != nil {
		return seal.Report{}, err
	}
	lc := newLineCheck(c.manifest)
	err = c.eachLine(ctx, nil, func(n int64, line []byte) error {
		e, err := export.Decode(line)
		if err != nil {
			return err
		}
		if err := lc.check(line, &e); err != nil {
			return err
		}
		if n == 1 {
			c.first = e.Position
		}
		c.lines, c.last = n, e.Position
		return v.Add(&e)
	})
	if m := c.manifest; err == nil && (m.FromPosition != c.first || m.ToPosition != c.last) {
		// The summary names the file's range: the manifest only describes it.
		err = fmt.Errorf("the manifest says positions %s to %s, the file holds %s to %s", m.FromPosition, m.ToPosition, c.first, c.last)
	}
	if err == nil && c.covering != nil {
		err = v.Add(c.covering)
	}
	c.inClear = lc.inClear
	if err != nil {
		r, _ := v.Finish()
		return r, err
	}
	return v.Finish()
}

// lineCheck holds each line to what dangol's writer makes of the event it
// decodes to. The hash covers the decoded envelope only: the attributes
// derived from it (source, dataschema, datacontenttype) and, beside
// storeddata, data are not in it, and a reader of the line sees them.
type lineCheck struct {
	clear   bool // the manifest says the export is in clear
	buf     bytes.Buffer
	w       *export.Writer
	inClear int64 // lines whose data is not their stored data (in clear)
}

func newLineCheck(m export.Manifest) *lineCheck {
	lc := &lineCheck{clear: m.Clear}
	lc.w = export.NewWriter(&lc.buf, m.Origin)
	return lc
}

var (
	storedDataKey = []byte(`"storeddata"`)
	erasedKey     = []byte(`"erased"`)
)

// check returns a *seal.Failure naming e unless line is the line the
// writer makes of e (with the line's data beside its storeddata, and
// erased if it says so), and, in an export not in clear, data beside
// storeddata is the stored data's compact form and no line is erased.
func (lc *lineCheck) check(line []byte, e *events.Envelope) error {
	var extra struct {
		StoredData []byte          `json:"storeddata"`
		Data       json.RawMessage `json:"data"`
		Erased     bool            `json:"erased"`
	}
	if bytes.Contains(line, storedDataKey) || bytes.Contains(line, erasedKey) {
		// Decode read the line already: it is one JSON object.
		_ = json.Unmarshal(line, &extra)
	}
	lc.buf.Reset()
	var err error
	switch {
	case extra.Erased:
		err = lc.w.WriteErased(e)
	case extra.StoredData != nil && extra.Data != nil:
		err = lc.w.Write(e, extra.Data)
	default:
		err = lc.w.Write(e, nil)
	}
	if err != nil || !bytes.Equal(bytes.TrimSuffix(line, []byte("\n")), bytes.TrimSuffix(lc.buf.Bytes(), []byte("\n"))) {
		return lineFailure(e, "the line is not as dangol writes this event (an attribute the hash does not cover was changed)")
	}
	if extra.Erased && !lc.clear {
		return lineFailure(e, "erased in an export not in clear")
	}
	if extra.StoredData != nil && extra.Data != nil {
		var stored bytes.Buffer
		if json.Compact(&stored, extra.StoredData) != nil || !bytes.Equal(stored.Bytes(), extra.Data) {
			if !lc.clear {
				return lineFailure(e, "data is not the stored data (storeddata, which the hash covers)")
			}
			lc.inClear++
		}
	}
	return nil
}

func lineFailure(e *events.Envelope, reason string) error {
	return &seal.Failure{Position: e.Position, Stream: e.Stream, Version: e.Version, ID: e.ID.String(), Reason: reason}
}

// firstPass checks the manifest's count and SHA-256 and returns the tree
// sizes and hashes of the file's seals.
func (c *offlineCheck) firstPass() ([]int64, map[events.Hash]bool, error) {
	var sizes []int64
	inFile := map[events.Hash]bool{}
	sum := sha256.New()
	var count int64
	err := c.eachLine(context.Background(), sum, func(n int64, line []byte) error {
		count = n
		// Only seals are decoded here. A seal written otherwise than
		// dangol writes it is missed, and fails the second pass as a
		// seal whose tree size was not announced.
		if !bytes.Contains(line, sealType) {
			return nil
		}
		e, err := export.Decode(line)
		if err != nil {
			return err
		}
		if e.Stream != events.LedgerStream {
			return nil
		}
		s, err := seal.SealOf(&e)
		if err != nil {
			return err
		}
		sizes, inFile[e.Hash] = append(sizes, s.TreeSize), true
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if count != c.manifest.Count {
		return nil, nil, fmt.Errorf("the file has %d events, the manifest says %d", count, c.manifest.Count)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != c.manifest.SHA256 {
		return nil, nil, fmt.Errorf("the file's SHA-256 %s is not the manifest's %s", got, c.manifest.SHA256)
	}
	return sizes, inFile, nil
}

// sealType is how every seal's line names its type.
var sealType = []byte(`"type":"dangol.LedgerSealed"`)

// eachLine calls fn with every line of the file in order (n counts from
// 1), writing the file's bytes to sum if it is not nil.
func (c *offlineCheck) eachLine(ctx context.Context, sum hash.Hash, fn func(n int64, line []byte) error) error {
	f, err := os.Open(c.file)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if sum != nil {
		r = io.TeeReader(f, sum)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for n := int64(1); ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return err
		}
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
}

func (c *offlineCheck) summary(w io.Writer, r seal.Report) {
	fmt.Fprintf(w, "ok: %d events verified (leaves %d to %d, positions %s to %s), %d seals checked, verified through tree size %d\n",
		c.lines, c.manifest.StartLeaf, c.manifest.StartLeaf+c.lines-1, c.first, c.last, r.Seals, r.VerifiedThrough)
	if r.Unrooted > 0 {
		checked := "signatures checked"
		if c.key == nil {
			checked = "signatures not checked (no key)"
		}
		fmt.Fprintf(w, "%d seals of a tree ending before the export's first leaf: %s, roots not checkable here\n", r.Unrooted, checked)
	}
	if c.covering != nil {
		fmt.Fprintf(w, "the manifest's covering seal (at position %s) is among them\n", c.covering.Position)
	}
	if c.inClear > 0 {
		fmt.Fprintf(w, "%d lines hold their data in clear: the hash proves their storeddata (personal fields as stored, sealed), not the clear data beside it\n", c.inClear)
	}
	fmt.Fprintf(w, "anchor: %s matched\nkey: %s\n", c.anchor, c.keySource)
	if r.Latest != nil {
		fmt.Fprintf(w, "latest seal: %d, tree size %d, hash %s, recorded %s\n", r.Latest.Seq, r.Latest.TreeSize, r.Latest.Hash, r.Latest.RecordedAt.Format(time.RFC3339))
	}
	if end := c.manifest.StartLeaf + c.lines; end > r.VerifiedThrough {
		why := "covered by no seal checked here: only a later seal proves them"
		if c.key == nil {
			why = "after the anchor: without a key no seal proves them, only a later anchor"
		}
		fmt.Fprintf(w, "note: the last %d events (leaves %d on) are %s\n", end-r.VerifiedThrough, r.VerifiedThrough, why)
	}
}
