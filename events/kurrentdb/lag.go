package kurrentdb

// LagUnit returns "bytes": what the distance between two of the store's
// positions counts. They are $all's commit positions, byte offsets in
// KurrentDB's transaction log, so the read side's lag over them
// (projections.LagBehind) is the bytes of $all it has yet to pass, other
// ledgers' and system records included. KurrentDB keeps no count of a
// ledger's events by position, and counting them would read every event
// in between (its data too) at every scrape; ops/metrics exports the lag
// in bytes instead, as dangol_projection_lag_bytes (metrics.LagOf).
func (s *Store) LagUnit() string { return "bytes" }
