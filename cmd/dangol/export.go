package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

// exportFlags are dangol export's own flags.
type exportFlags struct {
	from, to    string
	out         string
	clear       bool
	reason      string
	staff       string
	origin      string
	sealingFile string
}

func (f *exportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.from, "from", "", "export the events after this log position (default: from the start)")
	fs.StringVar(&f.to, "to", "", "export up to this position, included (default: the last position the latest seal covers, or the head)")
	fs.StringVar(&f.out, "out", "", "write the export to this file (required), and its manifest to FILE.manifest.json when FILE is a regular file; the manifest is also printed on stdout")
	fs.BoolVar(&f.clear, "clear", false, "export personal fields in clear (needs --reason and --staff; recorded in the access record)")
	fs.StringVar(&f.reason, "reason", "", "why the export is in clear: one line of 3 to 500 characters")
	fs.StringVar(&f.staff, "staff", "", "with --clear: the staff id of the auditor running the export, who must be an active auditor; the access record names them")
	fs.StringVar(&f.origin, "seal-origin", "dangol", "the log's origin, the sealing key's name (as serve's --seal-origin): the export's CloudEvents source")
	fs.StringVar(&f.sealingFile, "sealing-key-file", "", "the sealing key file, for the manifest's verifier key (default <data>/sealing.key; "+seal.EnvSealingKey+" overrides it; none: the manifest has no verifier key)")
}

func runExport(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("export", "Writes a range of the log as JSON Lines of CloudEvents 1.0 (docs/audit.md, \"Export\"),\n"+
		"personal fields as ciphertext unless --clear, and its manifest (count, SHA-256, the\n"+
		"frontier of the seals' tree before it, the covering seal). The file appears, fsynced,\n"+
		"only once complete. An export in clear names its auditor (--staff, an active auditor)\n"+
		"and its --reason, and is in the access record before the file appears.", stderr)
	var sf storeFlags
	sf.register(fs)
	var f exportFlags
	f.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	s, err := openEventStore(ctx, sf, true)
	if err != nil {
		return err
	}
	defer s.Close()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	req, closeKeys, err := f.request(ctx, sf, s, getenv, logger)
	if err != nil {
		return err
	}
	defer closeKeys()
	return f.write(ctx, s, req, stdout, stderr)
}

// check refuses bad flags before anything is opened.
func (f *exportFlags) check() error {
	if f.out == "" {
		return errors.New("export: --out is required (e.g. --out ledger.jsonl, or /dev/null)")
	}
	if !f.clear {
		return nil
	}
	f.reason = strings.TrimSpace(f.reason)
	if n := utf8.RuneCountInString(f.reason); n < 3 || n > 500 || strings.ContainsFunc(f.reason, unicode.IsControl) {
		return errors.New("export: --clear needs --reason: one line of 3 to 500 characters saying why")
	}
	if !events.ValidID(f.staff) {
		return errors.New("export: --clear needs --staff, the id of the auditor running it")
	}
	return nil
}

// request builds the export's request: the range (checked against the
// log), the verifier key if a sealing key is at hand, and for --clear the
// opener of personal data once the operator is known to be an auditor.
func (f *exportFlags) request(ctx context.Context, sf storeFlags, s events.Store, getenv env, logger *slog.Logger) (export.Request, func(), error) {
	none := func() {}
	req := export.Request{Origin: f.origin}
	var err error
	if req.From, err = events.ParsePosition(f.from); err != nil {
		return req, none, fmt.Errorf("export: --from: %w", err)
	}
	head, err := s.Head(ctx)
	if err != nil {
		return req, none, err
	}
	if f.to == "" {
		req.To, err = export.DefaultTo(ctx, s, req.From)
	} else {
		req.To, err = events.ParsePosition(f.to)
	}
	switch {
	case err != nil:
		return req, none, fmt.Errorf("export: --to: %w", err)
	case head.Less(req.From) || head.Less(req.To):
		return req, none, fmt.Errorf("export: the range %s..%s goes past the log's head, %s", req.From, req.To, head)
	case req.To.Less(req.From):
		return req, none, fmt.Errorf("export: --to %s is before --from %s", req.To, req.From)
	}
	if req.VerifierKey, err = f.verifierKey(sf, getenv); err != nil {
		return req, none, err
	}
	if !f.clear {
		return req, none, nil
	}
	if err := activeAuditor(ctx, s, f.staff); err != nil {
		return req, none, err
	}
	keys, sealer, err := openKeys(ctx, sf, s, getenv, logger)
	if err != nil {
		return req, none, err
	}
	req.Open, req.Reason = sealer.OpenEnvelope, f.reason
	return req, func() { keys.Close() }, nil
}

// verifierKey is the sealing key's note verifier key, from the
// environment or the key file if there is one (never creating it), or ""
// if there is neither.
func (f *exportFlags) verifierKey(sf storeFlags, getenv env) (string, error) {
	path := f.sealingFile
	if path == "" {
		path = filepath.Join(sf.data, "sealing.key")
	}
	envSeed := getenv(seal.EnvSealingKey)
	if envSeed == "" {
		if _, err := os.Stat(path); err != nil {
			return "", nil
		}
	}
	envMaster := sf.masterKey
	if envMaster == "" {
		envMaster = getenv(pii.EnvMasterKey)
	}
	var master pii.MasterKey
	if envSeed == "" {
		m, _, err := pii.LoadMasterKey(envMaster, sf.keyFile(), false)
		if err != nil {
			return "", fmt.Errorf("export: master key for the sealing key: %w", err)
		}
		master = m
	}
	k, err := seal.LoadKey(path, envSeed, f.origin, master)
	if err != nil {
		return "", fmt.Errorf("export: sealing key: %w", err)
	}
	return k.VerifierKey(), nil
}

// activeAuditor fails unless staff id is registered, an auditor now (its
// latest role), and not deactivated: an offline export in clear is run by
// someone the access record can name and the monthly check can hold to it.
func activeAuditor(ctx context.Context, s events.Store, id string) error {
	role, deactivated := "", false
	for from := uint64(0); ; {
		evs, err := s.ReadStream(ctx, events.StaffStream(id), from, events.Forward, 500)
		if events.ErrorCode(err) == events.NotFound {
			return fmt.Errorf("export: --staff %s is not a staff member", id)
		}
		if err != nil {
			return err
		}
		for i := range evs {
			switch evs[i].Type {
			case "StaffRegistered", "StaffRoleChanged":
				var d struct{ Role string }
				if err := json.Unmarshal(evs[i].Data, &d); err != nil {
					return fmt.Errorf("export: staff %s@%d: %w", id, evs[i].Version, err)
				}
				role = d.Role
			case "StaffDeactivated":
				deactivated = true
			}
			from = evs[i].Version + 1
		}
		if len(evs) < 500 {
			break
		}
	}
	if deactivated || role != "auditor" {
		return fmt.Errorf("export: --staff %s is not an active auditor (role %q, deactivated %v): only an auditor exports in clear", id, role, deactivated)
	}
	return nil
}

// write runs the export into f.out (through a temporary file beside it,
// renamed into place once complete, fsynced, and for --clear recorded),
// then writes and prints the manifest.
func (f *exportFlags) write(ctx context.Context, s events.Store, req export.Request, stdout, stderr io.Writer) error {
	out, err := createOutput(f.out)
	if err != nil {
		return err
	}
	defer out.abort()
	next := int64(progressEvery)
	req.Page = func(n int64) error {
		if n >= next {
			fmt.Fprintf(stderr, "exported %d events\n", n)
			next = (n/progressEvery + 1) * progressEvery
		}
		return nil
	}
	m, err := export.Export(ctx, s, out.w, req)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := out.sync(); err != nil {
		return err
	}
	if req.Open != nil {
		if err := recordClearExport(ctx, s, f.staff, m, req); err != nil {
			return fmt.Errorf("export: recording the export in clear in the access record (nothing exported): %w", err)
		}
	}
	if err := out.commit(); err != nil {
		return err
	}
	// Compact, as the API serves it: the covering seal stays byte for
	// byte its export line, which export.Decode reads back.
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if out.regular {
		if err := writeFileSynced(f.out+".manifest.json", js); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "exported %d events (positions %s..%s) to %s, sha256 %s\n", m.Count, m.FromPosition, m.ToPosition, f.out, m.SHA256)
	_, err = stdout.Write(js)
	return err
}

// progressEvery is how many events apart the progress lines are.
const progressEvery = 100_000

// recordClearExport appends the export in clear to the access record of
// the month, as the API's recorder would: one entry of the operator.
func recordClearExport(ctx context.Context, s events.Store, staff string, m export.Manifest, req export.Request) error {
	at := now().UTC()
	read := &events.PersonalDataRead{Reads: []events.AccessRead{{StaffID: staff, Role: "auditor", At: at,
		Action: "export_clear", Detail: req.AccessDetail(m.Count)}}}
	ev, err := events.NewEvent(read, events.Meta{Actor: events.Actor{ID: staff, Role: "auditor"}})
	if err != nil {
		return err
	}
	_, err = s.Append(ctx, events.AccessStream(events.AccessMonth(at)), events.Any, ev)
	return err
}

// output is the file an export is written to: a temporary file beside a
// regular file's path, renamed into place by commit; anything else (a
// device such as /dev/null, a pipe) is written directly.
type output struct {
	path, tmp string
	f         *os.File
	w         *bufio.Writer
	regular   bool
	done      bool
}

func createOutput(path string) (*output, error) {
	o := &output{path: path}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		o.f = f
	} else {
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		o.f, o.tmp, o.regular = f, f.Name(), true
	}
	o.w = bufio.NewWriterSize(o.f, 1<<20)
	return o, nil
}

// sync flushes the export to stable storage.
func (o *output) sync() error {
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("export: write %s: %w", o.path, err)
	}
	if !o.regular {
		return nil
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("export: sync %s: %w", o.path, err)
	}
	return nil
}

// commit puts a synced export in place.
func (o *output) commit() error {
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("export: close %s: %w", o.path, err)
	}
	o.done = true
	if !o.regular {
		return nil
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := pii.SyncDir(filepath.Dir(o.path)); err != nil {
		return fmt.Errorf("export: sync %s: %w", filepath.Dir(o.path), err)
	}
	return nil
}

// abort removes an export that was not committed.
func (o *output) abort() {
	if o.done {
		return
	}
	o.f.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// writeFileSynced writes b to path through a temporary file, fsynced and
// renamed into place.
func writeFileSynced(path string, b []byte) error {
	o, err := createOutput(path)
	if err != nil {
		return err
	}
	defer o.abort()
	if _, err := o.w.Write(b); err != nil {
		return err
	}
	if err := o.sync(); err != nil {
		return err
	}
	return o.commit()
}
