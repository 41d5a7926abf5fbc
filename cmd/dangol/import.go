package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/importer"
)

func runImport(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("import", "dangol import --source <system> [flags] FILE\n\n"+
		"Imports a source system's records (JSON Lines or CSV) as events: the customer master,\n"+
		"monthly financials, product holdings, card and loan applications, internet-banking\n"+
		"profile changes (docs/import.md). Idempotent: each event's id comes from the record's\n"+
		"system, reference and version, so importing a file again appends nothing. Every\n"+
		"rejected row goes to the rejects file (mode 0600: it holds the rows as they are) with\n"+
		"its reason; the exit status is 2 when rows were rejected.", stderr)
	var sf storeFlags
	sf.register(fs)
	var o importOptions
	o.register(fs)
	file, err := parseWithFile(fs, args, getenv)
	if err != nil {
		return err
	}
	cfg, err := o.config(file)
	if err != nil {
		return err
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() { // it opens, and fails only on the first read, after the store is opened
		return fmt.Errorf("%s is a directory: name the file to import", file)
	}
	total := fi.Size()
	if !fi.Mode().IsRegular() {
		total = 0 // a pipe (<(zcat …)): its size is unknown
	} else if err := checkHeader(file, cfg); err != nil {
		return fmt.Errorf("%s cannot be imported (mend the file): %w", file, err) // before the store is opened (a new data dir made)
	}
	cfg.Progress = &importer.Progress{W: stderr, TTY: isTerminal(stderr), Now: time.Now, Total: total}
	if cfg.Rejects, err = importer.CreateRejects(o.rejectsPath(file)); err != nil {
		return err
	}
	st, took, err := importInto(ctx, sf, cfg, in, getenv, stderr)
	if cerr := cfg.Rejects.Close(); err == nil {
		err = cerr
	}
	switch {
	case events.ErrorCode(err) == events.Invalid: // the file's: a run again stops at the same place
		return fmt.Errorf("import stopped after %d rows at a fault of the file (what was appended stays; mend the file and import it again): %w", st.Rows, err)
	case err != nil:
		return fmt.Errorf("import stopped after %d rows (what was appended stays; running the import again appends the rest): %w", st.Rows, err)
	}
	printImport(stdout, file, cfg, st, took)
	if st.Rejected > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%d of %d rows rejected: their lines and reasons are in %s", st.Rejected, st.Rows, cfg.Rejects.Path())}
	}
	return nil
}

// importOptions are the flags of `dangol import` beside the store's.
type importOptions struct {
	system, records, format, rejects string
	batch, inFlight, parallel        int
	dryRun                           bool
}

func (o *importOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.system, "source", "", "the source system the file comes from (core, card, loan, internet, branch, …): the actor is system:import:<source> (required)")
	fs.StringVar(&o.records, "records", "", "what the file's records are: customers, profiles, financials or holdings (default profiles; --source core must name it)")
	fs.StringVar(&o.format, "format", "", "csv or jsonl (default by the file's extension: .csv, or .jsonl/.ndjson/.json)")
	fs.StringVar(&o.rejects, "rejects", "", "the rejects file (default FILE.rejects.jsonl; removed again when no row is rejected)")
	fs.IntVar(&o.batch, "batch", 1000, "rows per batch of appends")
	fs.IntVar(&o.inFlight, "in-flight", 4, "batches in flight at once")
	fs.IntVar(&o.parallel, "parallel", 256, "rows of a batch validated and sealed at once (and, on a store without batched appends, streams appended at once)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "read and validate every row and count the events; append nothing")
}

// config checks the options for an import of file.
func (o *importOptions) config(file string) (importer.Config, error) {
	cfg := importer.Config{System: o.system, Batch: o.batch, InFlight: o.inFlight, Parallel: o.parallel, DryRun: o.dryRun,
		Now: now} // the stores' clock (pinned by the tests): no row observed beyond a day after it
	if o.system == "" {
		return cfg, errors.New("--source is required: the system the file comes from (core, card, loan, internet, …)")
	}
	if err := importer.CheckSystem(o.system); err != nil {
		return cfg, fmt.Errorf("--source: %w", err)
	}
	switch {
	case o.records == "" && o.system == "core":
		return cfg, errors.New("--source core sends several kinds of records: name them with --records customers, financials or holdings")
	case o.records == "":
		cfg.Kind = importer.Profiles
	default:
		k, err := importer.ParseKind(o.records)
		if err != nil {
			return cfg, fmt.Errorf("--records: %w", err)
		}
		cfg.Kind = k
	}
	var err error
	if o.format != "" {
		cfg.Format, err = importer.ParseFormat(o.format)
	} else {
		cfg.Format, err = importer.FormatOf(file)
	}
	if err != nil {
		return cfg, fmt.Errorf("--format: %w", err)
	}
	if same(o.rejectsPath(file), file) {
		return cfg, errors.New("--rejects names the file to import")
	}
	if o.batch < 1 || o.inFlight < 1 || o.parallel < 1 {
		return cfg, errors.New("--batch, --in-flight and --parallel must be at least 1")
	}
	return cfg, nil
}

func (o *importOptions) rejectsPath(file string) string {
	if o.rejects != "" {
		return o.rejects
	}
	return file + ".rejects.jsonl"
}

// same reports whether two paths name one file (as far as their absolute
// forms tell, or the file exists under both).
func same(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// checkHeader reads the header of the file at path as the import will.
func checkHeader(path string, cfg importer.Config) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return importer.CheckHeader(f, cfg.Format, cfg.Kind)
}

// importInto runs the import on the store sf names (none for a dry run),
// sealing personal data with the customers' keys as the API does.
func importInto(ctx context.Context, sf storeFlags, cfg importer.Config, in io.Reader, getenv env, stderr io.Writer) (importer.Stats, time.Duration, error) {
	var store events.Store
	if !cfg.DryRun {
		s, err := openEventStore(ctx, sf, false)
		if err != nil {
			return importer.Stats{}, 0, err
		}
		defer s.Close()
		keys, sealer, err := openKeys(ctx, sf, s, getenv, slog.New(slog.NewTextHandler(stderr, nil)))
		if err != nil {
			return importer.Stats{}, 0, err
		}
		defer keys.Close()
		store = s
		cfg.Seal = func(id string) func(events.Personal) error { return sealer.SealFor(ctx, id) }
		cfg.Open = sealer.OpenEnvelope
	}
	start := time.Now()
	if cfg.Progress != nil {
		cfg.Progress.Start()
	}
	st, err := importer.Run(ctx, cfg, store, in)
	return st, time.Since(start), err
}

// printImport says what the import did.
func printImport(w io.Writer, file string, cfg importer.Config, st importer.Stats, took time.Duration) {
	if cfg.DryRun {
		fmt.Fprintf(w, "dry run of %s (%s records of %s): %d rows, %d rejected; %d events would be appended or found already there; nothing appended\n",
			file, cfg.Kind, cfg.System, st.Rows, st.Rejected, st.Events)
		return
	}
	fmt.Fprintf(w, "imported %s (%s records of %s): %d rows, %d rejected; %d events appended, %d already there from an earlier import",
		file, cfg.Kind, cfg.System, st.Rows, st.Rejected, st.Appended, st.Duplicates)
	if st.Existing > 0 {
		fmt.Fprintf(w, ", %d customers already registered", st.Existing)
	}
	fmt.Fprintf(w, "; %s, %.0f events/s\n", took.Round(time.Millisecond), float64(st.Appended)/max(took.Seconds(), 1e-9))
	if st.Events > 0 && st.Duplicates+st.Existing == st.Events { // none appended, none refused by the store
		fmt.Fprintln(w, "nothing new: every event of the file was already in the log")
	}
}

// parseWithFile parses args, which name one file before, between or after
// the flags, and returns the file.
func parseWithFile(fs *flag.FlagSet, args []string, getenv env) (string, error) {
	if err := parse(fs, nil, getenv); err != nil {
		return "", err
	}
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return "", fmt.Errorf("name one file to import (got %d)", len(files))
	}
	return files[0], nil
}
