package events

import "time"

// Clock returns the current time. Stores stamp recordedAt with one, the API
// judges expiry and staleness with one; tests pin them so that nothing they
// assert depends on the day they run.
type Clock func() time.Time

// clockAhead shifts SystemClock; only the dangol_clock_ahead build tag
// (clock_ahead.go, a test mode) sets it.
var clockAhead time.Duration

// SystemClock returns the machine's time in UTC. It is the default Clock of
// every store and of the server. Safe for concurrent use.
func SystemClock() time.Time { return time.Now().Add(clockAhead).UTC() }
