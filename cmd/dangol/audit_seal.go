package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

const auditSealSynopsis = `Seals the log now, as the server's sealer does: catches the Merkle tree up
with the log and appends a LedgerSealed event signed with the sealing key,
unless nothing but the latest seal came since it. On the embedded store the
server must be stopped (the store is opened exclusively); with --store
postgres it may run beside the servers. Prints the seal event's hash on the
first line and its signed checkpoint after it: keep either outside dangol,
and check the log against it later with dangol audit verify.`

// runAuditSeal is `dangol audit seal`.
func runAuditSeal(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("audit seal", auditSealSynopsis, stderr)
	var sf storeFlags
	var f sealFlags
	sf.register(fs)
	f.register(fs, false)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	store, err := openEventStore(ctx, sf, true)
	if err != nil {
		return err
	}
	defer store.Close()
	// The master key opens the sealing key's file; a key from the
	// environment needs none.
	master, err := loadMasterKey(sf, getenv)
	if err != nil && getenv(seal.EnvSealingKey) == "" {
		return fmt.Errorf("%w (dangol serve creates it on first start)", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := openSealing(f, sf, store, master, getenv, logger)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.sealer.Check(ctx); err != nil {
		return fmt.Errorf("audit seal: %w", err)
	}
	before := s.sealer.Status().Latest
	sl, err := s.sealer.SealNow(ctx)
	if err != nil {
		return fmt.Errorf("audit seal: %w", err)
	}
	if sl == nil {
		return errors.New("audit seal: the log is empty: nothing to seal")
	}
	if before != nil && before.Seq == sl.Seq {
		fmt.Fprintf(stderr, "nothing new since seal %d: its hash and checkpoint follow\n", sl.Seq)
	} else {
		fmt.Fprintf(stderr, "sealed: seal %d at position %s covers the log's first %d events\n", sl.Seq, sl.Position, sl.TreeSize)
	}
	fmt.Fprintln(stdout, sl.Hash)
	fmt.Fprint(stdout, sl.LedgerSealed.Checkpoint)
	return s.Close()
}

// loadMasterKey loads the master key as serve does (the environment, the
// flag, or the file), without creating one: a tool that finds none is
// pointed at the wrong --data.
func loadMasterKey(sf storeFlags, getenv env) (pii.MasterKey, error) {
	envKey := sf.masterKey
	if envKey == "" {
		envKey = getenv(pii.EnvMasterKey)
	}
	master, _, err := pii.LoadMasterKey(envKey, sf.keyFile(), false)
	if err != nil {
		return pii.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	return master, nil
}
