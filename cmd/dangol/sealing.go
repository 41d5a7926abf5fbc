package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

// sealFlags configure the ledger's seals (events/seal, docs/audit.md):
// `dangol serve`'s sealer and `dangol audit seal`.
type sealFlags struct {
	every       int64
	interval    time.Duration
	poll        time.Duration
	keyFile     string
	origin      string
	dir         string
	witnessFile string
	witnessURL  string
}

// register adds the flags; with schedule, --seal-every and --seal-interval
// too (serve's).
func (f *sealFlags) register(fs *flag.FlagSet, schedule bool) {
	if schedule {
		fs.Int64Var(&f.every, "seal-every", 1000, "seal the log after this many new events (0: not by count)")
		fs.DurationVar(&f.interval, "seal-interval", 10*time.Minute, "and at least this often when events arrived since the latest seal (0: not by time)")
		fs.DurationVar(&f.poll, "seal-poll", time.Second, "read the log into the Merkle tree this often, a page at a time (0: follow it live, which costs appenders on PostgreSQL one read per commit)")
	}
	fs.StringVar(&f.keyFile, "sealing-key-file", "", "file holding the Ed25519 sealing key, encrypted under the master key (default <data>/sealing.key, created on first start); $"+seal.EnvSealingKey+" (base64 of the 32-byte seed) overrides it")
	fs.StringVar(&f.origin, "seal-origin", defaultOrigin, "the log's name in its checkpoints: their origin line and the signing key's name")
	fs.StringVar(&f.dir, "seal-dir", "", "directory of the Merkle tree of the log (default <data>/seals): derived data, rebuilt from the log if lost; one per server, never shared")
	fs.StringVar(&f.witnessFile, "witness-file", "", "after each seal, write its signed checkpoint to this file (replaced atomically): keep it, or copy it, outside dangol's control")
	fs.StringVar(&f.witnessURL, "witness-url", "", "after each seal, POST its signed checkpoint (text/plain) to this URL")
}

func (f *sealFlags) check() error {
	if f.every < 0 || f.interval < 0 || f.poll < 0 {
		return fmt.Errorf("--seal-every, --seal-interval and --seal-poll must not be negative (0 turns each off)")
	}
	return nil
}

// treeSyncEvery is how often the sealer fsyncs the Merkle tree (before a
// seal, when the last fsync is this old; otherwise the seal only flushes
// it to the files): each fsync stalls the store's own on the same disk,
// which every appender waits for (seal.Config.SyncEvery).
const treeSyncEvery = 10 * time.Second

// defaultOrigin is --seal-origin's default, also for a serveConfig built
// in code.
const defaultOrigin = "dangol"

func (f *sealFlags) originName() string {
	if f.origin != "" {
		return f.origin
	}
	return defaultOrigin
}

func (f *sealFlags) keyPath(sf storeFlags) string {
	if f.keyFile != "" {
		return f.keyFile
	}
	return filepath.Join(sf.data, "sealing.key")
}

func (f *sealFlags) treeDir(sf storeFlags) string {
	if f.dir != "" {
		return f.dir
	}
	return filepath.Join(sf.data, "seals")
}

func (f *sealFlags) witnesses() []seal.Witness {
	var out []seal.Witness
	if f.witnessFile != "" {
		out = append(out, seal.FileWitness{Path: f.witnessFile})
	}
	if f.witnessURL != "" {
		out = append(out, seal.URLWitness{URL: f.witnessURL})
	}
	return out
}

// sealing is one process's seals: the stored tree, the sealing key and the
// sealer over them. Close releases the tree and its directory's lock.
type sealing struct {
	lock   *os.File // holds the tree directory's lock
	tree   *seal.Tree
	key    *seal.Key
	sealer *seal.Sealer
}

// openSealing opens the tree and loads (or creates) the key that f names
// and builds the sealer over store, which it appends seals to. On error
// what it opened is closed again.
func openSealing(f sealFlags, sf storeFlags, store events.Store, master pii.MasterKey, getenv env, logger *slog.Logger) (*sealing, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	s := &sealing{}
	if err := s.open(f, sf, store, master, getenv, logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *sealing) open(f sealFlags, sf storeFlags, store events.Store, master pii.MasterKey, getenv env, logger *slog.Logger) error {
	dir := f.treeDir(sf)
	var err error
	if s.lock, err = lockDir(dir); err != nil {
		return err
	}
	if s.tree, err = seal.OpenTree(dir); err != nil {
		return fmt.Errorf("--seal-dir: %w", err)
	}
	if s.key, err = loadSealingKey(f, sf, master, getenv, logger); err != nil {
		return err
	}
	s.sealer, err = seal.NewSealer(seal.Config{Store: store, Tree: s.tree, Key: s.key, Every: f.every, Interval: f.interval,
		Poll: f.poll, SyncEvery: treeSyncEvery, Now: now, Witnesses: f.witnesses(), Logger: logger})
	return err
}

// loadSealingKey loads the key from the environment or its file, creating
// the file on first start, which it logs (the key's public half only).
func loadSealingKey(f sealFlags, sf storeFlags, master pii.MasterKey, getenv env, logger *slog.Logger) (*seal.Key, error) {
	path, envSeed := f.keyPath(sf), getenv(seal.EnvSealingKey)
	_, statErr := os.Stat(path)
	key, err := seal.LoadKey(path, envSeed, f.originName(), master)
	if err != nil {
		return nil, fmt.Errorf("sealing key: %w", err)
	}
	if envSeed == "" && errors.Is(statErr, os.ErrNotExist) {
		logger.Warn("created a new sealing key; back it up with the master key", "file", path, "verifier_key", key.VerifierKey())
	}
	return key, nil
}

// lockDir creates dir and takes its lock, so that two servers never write
// one tree (a shared --data with --store postgres needs a --seal-dir per
// server). The lock goes with the process.
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--seal-dir: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--seal-dir: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("--seal-dir %s is in use by another dangol process: give each server its own --seal-dir (%w)", dir, err)
	}
	return lf, nil
}

// Close closes the tree (syncing it) and releases the directory's lock,
// once; a second call does nothing.
func (s *sealing) Close() error {
	var err error
	if s.tree != nil {
		err = s.tree.Close()
		s.tree = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// sealerRetry is how long the sealer waits after a failure of the store
// before it starts again.
const sealerRetry = 5 * time.Second

// run runs the sealer until ctx ends (returning ctx's error). A failure of
// the store (PostgreSQL restarting) is logged and the sealer starts again
// after sealerRetry, catching the tree up from where it was: the server
// rides out an outage without its seals, as its read side does.
func (s *sealing) run(ctx context.Context, logger *slog.Logger) error {
	for {
		err := s.sealer.Run(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logger.Error("the sealer stopped; starting it again", "err", err, "in", sealerRetry.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sealerRetry):
		}
	}
}
