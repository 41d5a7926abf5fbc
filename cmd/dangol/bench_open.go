package main

import (
	"context"
	"log/slog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
)

// openBench opens an existing bank's log and key store under sf for a
// bench that reads it (bench replay, bench latency); close closes both.
func openBench(ctx context.Context, sf storeFlags, getenv env) (s events.Store, keys pii.KeyStore, sealer *pii.Sealer, close func(), err error) {
	s, err = openEventStore(ctx, sf, true)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	keys, sealer, err = openKeys(ctx, sf, s, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		s.Close()
		return nil, nil, nil, nil, err
	}
	return s, keys, sealer, func() { keys.Close(); s.Close() }, nil
}

// batchEnd is where a runner's batch (which followed the event at prev)
// left the folds, as a snapshot's header names it.
func batchEnd(prev events.Position, batch []projections.Event) projections.SnapshotInfo {
	before := prev
	if n := len(batch); n > 1 {
		before = batch[n-2].Position
	}
	return projections.InfoAt(batch[len(batch)-1].Envelope, before)
}
