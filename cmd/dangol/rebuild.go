package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// runRebuild replays the whole log into fresh read-model tables and swaps
// them in atomically; servers keep answering from the old tables until the
// swap, and their writer resumes from the new ones after it.
func runRebuild(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("rebuild", "Rebuilds the PostgreSQL read models: replays the whole log into fresh tables\n"+
		"(schema <schema>_next) and swaps them in, with their checkpoint, in one\n"+
		"transaction. Running servers keep serving the old tables until the swap.", stderr)
	var sf storeFlags
	sf.register(fs)
	var rule survivorshipFlag
	fs.Var(&rule, "survivorship", survivorshipUsage+" (as serve's: the rule the rows are rebuilt under)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if sf.backend != "postgres" && sf.backend != "kurrentdb" || sf.postgresURL == "" {
		return errors.New("rebuild: the read models are in PostgreSQL only with --store postgres (or kurrentdb) --postgres-url URL")
	}
	s, err := openEventStore(ctx, sf, true)
	if err != nil {
		return err
	}
	defer s.Close()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	keys, sealer, master, err := openKeysMaster(ctx, sf, s, getenv, logger)
	if err != nil {
		return err
	}
	defer keys.Close()
	// As in serve: an erasure in the log destroys the key if it still
	// exists, before the erased row is sealed, so no row is ever sealed
	// under a key about to be destroyed.
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if err := sealer.EnforceErasure(ctx, e); err != nil {
			return nil, err
		}
		return sealer.OpenEnvelope(ctx, e)
	}
	res, err := rmpg.Rebuild(ctx, sf.postgresURL, rmpg.Log{Source: s, Decode: decode}, rmpg.Options{Logger: logger, Cipher: rowCipher(sealer), SnapshotKeys: keys,
		SearchIndex: pii.NewBlindIndex(master).Terms, Survivorship: rule.Rule()})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rebuilt the read models from %d events in %s (%.0f events/s); swapped in at position %s\n",
		res.Events, res.Elapsed.Round(1e6), float64(res.Events)/res.Elapsed.Seconds(), res.Position)
	return nil
}
