//go:build dangol_clock_ahead

package events

import "time"

// Under the dangol_clock_ahead test mode (ops/test.sh runs the suite in it),
// the system clock reads 400 days ahead: a test that leaves a store's or the
// server's clock unpinned while asserting on dates fails in this mode.
func init() { clockAhead = 400 * 24 * time.Hour }
