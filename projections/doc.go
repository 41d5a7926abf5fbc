// Package projections builds dangol's read models from the log.
//
// Each read model is a pure fold: Apply(event) changes its state using only
// the event (no clock, no I/O, no randomness), so replaying the same log
// gives the same state whatever the batch sizes. Time-dependent flags
// (stale, overdue, due) are computed by queries with a clock the caller
// passes in. The Runner feeds events to every registered projection in
// position order and to reactors, which append new events (with causation
// ids) through the store.
package projections
