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
	start         time.Time
	last          time.Duration // when the last probe was written, since start (writer only)
	pending       atomic.Int64  // the outstanding probe: when it was written, since start; 0 none
	watch         *time.Timer
}

func newLagProbe(maxLag time.Duration, late func()) *lagProbe {
	p := &lagProbe{maxLag: maxLag, every: maxLag / 5, start: time.Now(), last: -maxLag} // the first goes out at once
	p.watch = time.AfterFunc(maxLag, func() {
		// A fire meant for an answered probe finds none, or a younger one.
		if at := p.pending.Load(); at != 0 && time.Since(p.start)-time.Duration(at) >= maxLag {
			late()
		}
	})
	p.watch.Stop()
	return p
}

// next returns the payload of a probe to write now, or nil: one is
// outstanding, or the last went out less than a fifth of maxLag ago.
func (p *lagProbe) next() []byte {
	now := max(time.Since(p.start), 1)
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
