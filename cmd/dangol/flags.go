package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// newFlags returns a flag set for a subcommand whose -h output lists every
// flag with its environment variable.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dangol "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dangol %s [flags]\n\n%s\n\nFlags (each defaults to its environment variable):\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// envName is the environment variable of a flag: --data-dir → DANGOL_DATA_DIR.
func envName(flagName string) string {
	return "DANGOL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies DANGOL_* environment defaults, then the command line.
func parse(fs *flag.FlagSet, args []string, getenv env) error {
	var bad error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		f.Usage += " [$" + name + "]"
		if v := getenv(name); v != "" && bad == nil {
			if err := fs.Set(f.Name, v); err != nil {
				bad = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if bad != nil {
		return bad
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come as --name value)", fs.Arg(0))
	}
	return nil
}

// storeFlags are the flags of every command that opens the ledger.
type storeFlags struct {
	data          string
	masterKeyFile string
	masterKey     string
	backend       string // "embedded" or "postgres"
	postgresURL   string
	kurrentdb     kurrentFlags // --store kurrentdb's (store_kurrentdb.go)
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", "./dangol-data", "data directory of the embedded store (log/, or an earlier release's events.db; keys.db, master.key, recordings/)")
	fs.StringVar(&s.masterKeyFile, "master-key-file", "", "file holding the master key that wraps customers' data keys (default <data>/master.key, created on first start)")
	fs.StringVar(&s.masterKey, "master-key", "", "the master key itself, base64 of 32 bytes; overrides --master-key-file (prefer the environment to the command line)")
	fs.StringVar(&s.backend, "store", "embedded", "where the log and the data keys live: embedded (the segment log under --data; a data dir holding an earlier release's events.db opens with bbolt, as --store bolt does), postgres (--postgres-url; several serve processes may share it) or kurrentdb (the log in KurrentDB at --kurrentdb-url, keys and read models at --postgres-url; "+kurrentNotRun+")")
	s.kurrentdb.register(fs)
	fs.StringVar(&s.postgresURL, "postgres-url", "", "PostgreSQL connection string for --store postgres (and kurrentdb), e.g. postgres://dangol@db:5432/dangol (prefer the environment: it may hold a password)")
}

func (s *storeFlags) eventsPath() string { return filepath.Join(s.data, "events.db") }
func (s *storeFlags) keysPath() string   { return filepath.Join(s.data, "keys.db") }
func (s *storeFlags) keyFile() string {
	if s.masterKeyFile != "" {
		return s.masterKeyFile
	}
	return filepath.Join(s.data, "master.key")
}
