package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// runMigrateRecordings seals the recordings an earlier release stored in
// clear, as `dangol serve` does at every start: for an operator who wants
// it done (and its outcome known) before the upgrade's first start.
func runMigrateRecordings(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-recordings", "Seals the call recordings an earlier release stored in clear\n"+
		"(<data>/recordings/<ab>/<sha256>) under the data key of each customer whose call names\n"+
		"them, then deletes the clear files; an erased customer's and those no call names are\n"+
		"only deleted. `dangol serve` does it at every start; this prints what it did. Stop the\n"+
		"server first with the embedded store (it is opened exclusively).", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	log, err := openEventStore(ctx, sf, true)
	if err != nil {
		return err
	}
	defer log.Close()
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	keys, sealer, err := openKeys(ctx, sf, log, getenv, logger)
	if err != nil {
		return err
	}
	defer keys.Close()
	blobs, err := api.OpenBlobs(filepath.Join(sf.data, "recordings"))
	if err != nil {
		return err
	}
	m, err := api.MigrateLegacyRecordings(ctx, log, sealer, blobs, now())
	fmt.Fprintf(stdout, "earlier-release recordings: %d found, %d sealed copies written, %d already sealed, "+
		"%d copies not made (customer erased), %d clear files deleted (%d named by no call), "+
		"%d left in clear (%d do not hash to their name); %d abandoned temporary uploads deleted\n",
		m.Files, m.Sealed, m.Kept, m.Erased, m.Deleted, m.Orphans, m.Corrupt+m.Failed, m.Corrupt, m.Temps)
	if err != nil {
		return fmt.Errorf("migrate-recordings: %w", err)
	}
	return nil
}

// migrateRecordings runs the migration at a server's start and logs its
// counts (never a customer id or a digest). Only a log that cannot be read
// stops the start: a recording that fails stays in clear, is logged, and
// the next start retries it.
func migrateRecordings(ctx context.Context, log events.Store, sealer api.BlobSealer, blobs *api.Blobs, logger *slog.Logger) error {
	// Sealing runs at about the disk's speed: say why a start with a large
	// archive takes long before it does.
	if found, err := blobs.LegacyDigests(); err == nil && len(found) > 0 {
		logger.Info("sealing the recordings of the earlier release before serving", "found", len(found))
	}
	m, err := api.MigrateLegacyRecordings(ctx, log, sealer, blobs, now())
	if m == (api.LegacyMigration{}) && err == nil {
		return nil
	}
	attrs := []any{"found", m.Files, "sealed", m.Sealed, "already_sealed", m.Kept, "erased", m.Erased,
		"deleted", m.Deleted, "orphans", m.Orphans, "corrupt", m.Corrupt, "failed", m.Failed, "temps_deleted", m.Temps}
	switch {
	case err != nil && m.Corrupt+m.Failed == 0:
		return err // the log or the directory could not be read
	case err != nil:
		logger.Error("some recordings of the earlier release stay in clear; the next start retries them "+
			"(a corrupt one, that does not hash to its name, needs an operator)", attrs...)
	default:
		logger.Info("migrated the recordings of the earlier release", attrs...)
	}
	return nil
}
