package postgres

import (
	"context"
	"sync"
	"time"
)

// notifier spaces this store's NOTIFYs at least Options.NotifyInterval
// apart. A commit notifies in its own transaction when the last NOTIFY is
// older than the interval; otherwise it does not, and it is owed a NOTIFY:
// the next commit that notifies pays it (it commits later, so the
// subscriptions it wakes read both), or, if none has come two intervals
// after it, one NOTIFY sent by itself does (two, not one: a steady writer's
// next due commit may start a little late, and it pays anyway). Other
// processes' subscriptions so wake at most about two intervals late; this
// process's own are woken directly at each commit. Only whoever holds
// Store.committing calls due and settle.
type notifier struct {
	every time.Duration
	send  func() // sends a NOTIFY by itself

	mu        sync.Mutex
	last      time.Time   // when the last NOTIFY was planned or sent
	owed      bool        // a commit is not yet announced
	owedSince time.Time   // when the first commit not announced was settled
	timer     *time.Timer // the NOTIFY by itself, while one is due
	closed    bool
}

// due reports whether the commit about to run notifies in its transaction.
func (n *notifier) due() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if now := time.Now(); n.every <= 0 || now.Sub(n.last) >= n.every {
		n.last, n.owed = now, false
		return true
	}
	return false
}

// settle is told the outcome of a commit: ok is false for a failed one
// (which may still have committed) and notified whether it carried a
// NOTIFY. Any commit not known to be announced is owed one.
func (n *notifier) settle(ok, notified bool) {
	if ok && notified {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.owed {
		n.owed, n.owedSince = true, time.Now()
	}
	if n.timer == nil && !n.closed {
		n.timer = time.AfterFunc(max(2*n.every, 0), n.expire)
	}
}

// expire sends the NOTIFY by itself if a commit is still owed one two
// intervals after it, and otherwise waits for that moment of the commit
// owed now, if any (the commits that notified paid the earlier ones).
func (n *notifier) expire() {
	n.mu.Lock()
	if wait := 2*n.every - time.Since(n.owedSince); n.owed && wait > 0 && !n.closed {
		n.timer.Reset(wait)
		n.mu.Unlock()
		return
	}
	owed := n.owed
	n.timer, n.owed = nil, false
	if owed {
		n.last = time.Now()
	}
	n.mu.Unlock()
	if owed {
		n.send()
	}
}

// close cancels a NOTIFY not yet sent (the store is closing).
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
	}
}

// notifyAlone sends a NOTIFY in a transaction of its own. A failure is
// logged only: subscriptions of other processes then find the events by
// polling.
func (s *Store) notifyAlone() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify('`+notifyChannel+`', '')`); err != nil {
		s.opt.Logger.Warn("postgres: notification not sent; other processes' subscriptions poll", "err", redact(err).Error())
	}
}
