package api

import (
	"cmp"
	"slices"
	"time"
)

// overload tells when the hub has been behind the log for too long: the
// store had events waiting for it (its subscription's buffer more than
// half full) at every event for maxLag. Then no client's queue or socket
// shows the lag (the firehose of `bench http`: a thousand clients on the
// whole log, each kept up with a hub a minute behind), and every client
// falls behind together.
type overload struct {
	maxLag time.Duration
	since  time.Time // when the hub was first seen behind; zero: keeping up
}

// over notes whether the hub is behind at now and reports whether it has
// been for maxLag; it then counts again from now, so that shedding goes
// in steps, each given maxLag to take effect.
func (o *overload) over(behind bool, now time.Time) bool {
	switch {
	case !behind:
		o.since = time.Time{}
		return false
	case o.since.IsZero():
		o.since = now
		return false
	case now.Sub(o.since) < o.maxLag:
		return false
	}
	o.since = now
	return true
}

// behind reports whether a subscription's channel holds more than half
// what it can: the store is ahead of the hub.
func behind[T any](ch <-chan T) bool { return cap(ch) > 0 && len(ch) > cap(ch)/2 }

// shedLoad closes with 4008 the half of the clients that cost the hub the
// most (the most events queued to them since the last shedding), never one
// that cost it nothing (closing it relieves the hub of nothing): they
// resume from their last position once the feed keeps up again.
func (h *hub) shedLoad() {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		all = append(all, c)
	}
	slices.SortFunc(all, func(a, b *client) int { return cmp.Compare(b.load, a.load) })
	n := (len(all) + 1) / 2
	for n > 0 && all[n-1].load == 0 {
		n--
	}
	for _, c := range all[:n] {
		h.remove(c)
		h.s.tooSlow(c)
	}
	for _, c := range all[n:] {
		c.load = 0
	}
	if n > 0 {
		h.s.Logger.Warn("live: the feed is behind the log; closing the clients that cost it the most (4008)", "closed", n, "of", len(all))
	}
}
