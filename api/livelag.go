package api

import (
	"strconv"
	"sync/atomic"
	"time"
)

// lagProbe measures how far behind a live client is. A ping written behind
// what the client was sent comes back as a pong only once the client has
// read everything before it, wherever that waited: the server's queue, the
// server's socket buffer, or the client's receive buffer, which grows to
// megabytes for a client that reads, slowly. A probe not answered within
// maxLag makes the client too slow (late is called).
type lagProbe struct {
	maxLag, every time.Duration
	clock         LiveClock
	start         time.Time
	last          time.Duration // when the last probe was written, since start (writer only)
	pending       atomic.Int64  // the outstanding probe: when it was written, since start; 0 none
	watch         LiveTimer
}

func newLagProbe(clock LiveClock, maxLag time.Duration, late func()) *lagProbe {
	p := &lagProbe{maxLag: maxLag, every: maxLag / 5, clock: clock, last: -maxLag} // the first goes out at once
	// A nanosecond before: a probe written at once is 1 (0 is none), and late
	// exactly maxLag after.
	p.start = clock.Now().Add(-time.Nanosecond)
	p.watch = clock.AfterFunc(maxLag, func() {
		// A fire meant for an answered probe finds none, or a younger one.
		if at := p.pending.Load(); at != 0 && p.since()-time.Duration(at) >= maxLag {
			late()
		}
	})
	p.watch.Stop()
	return p
}

// next returns the payload of a probe to write now, or nil: one is
// outstanding, or the last went out less than a fifth of maxLag ago.
func (p *lagProbe) next() []byte {
	now := max(p.since(), 1)
	if p.pending.Load() != 0 || now-p.last < p.every {
		return nil
	}
	p.last = now
	p.pending.Store(int64(now))
	p.watch.Reset(p.maxLag)
	return strconv.AppendInt(nil, int64(now), 10)
}

// answered takes a pong's payload (keep-alive pings carry none).
func (p *lagProbe) answered(payload string) {
	if at, err := strconv.ParseInt(payload, 10, 64); err == nil && at != 0 {
		p.pending.CompareAndSwap(at, 0)
	}
}

func (p *lagProbe) stop() { p.watch.Stop() }

// since is how long the probe has run, on its clock.
func (p *lagProbe) since() time.Duration { return p.clock.Now().Sub(p.start) }

// LiveClock is the clock the live feed judges how far behind a client or
// the hub is by: the lag probes, the age of a queued event, the hub's
// overload (LiveMaxLag). Tests set one they move by hand; nil is the
// machine's. Writes blocked on a socket are timed on the machine's clock,
// as the sockets' deadlines are.
type LiveClock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on the clock.
	AfterFunc(d time.Duration, f func()) LiveTimer
}

// LiveTimer is a LiveClock's timer, as *time.Timer is the machine's.
type LiveTimer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// machineClock is the LiveClock of the machine.
type machineClock struct{}

func (machineClock) Now() time.Time { return time.Now() }

func (machineClock) AfterFunc(d time.Duration, f func()) LiveTimer { return time.AfterFunc(d, f) }

// liveClock returns the clock of the live feed's lag checks.
func (s *Server) liveClock() LiveClock {
	if s.LiveClock != nil {
		return s.LiveClock
	}
	return machineClock{}
}
