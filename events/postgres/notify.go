package postgres

import (
	"context"
	"sync"
	"time"
)

// notifier announces this store's commits to other processes with NOTIFYs
// sent by themselves, after the commits, at least Options.NotifyInterval
// apart: a commit's transaction carries none (it would lengthen every
// append's commit and wake every listening session at each one). A commit
// long enough after the last NOTIFY is announced right away, one sooner
// when the interval ends; a NOTIFY announces every commit before it. Other
// processes' subscriptions so wake at most one interval (and a round trip)
// late; this process's own are woken directly at each commit. With a
// negative interval every commit notifies in its transaction instead.
type notifier struct {
	every time.Duration
	send  func() // sends a NOTIFY by itself

	mu     sync.Mutex
	last   time.Time // when the last NOTIFY by itself was sent
	owed   bool      // a commit is not yet announced: a NOTIFY is scheduled
	closed bool
}

// due reports whether the commit about to run notifies in its transaction.
func (n *notifier) due() bool { return n.every < 0 }

// settle is told the outcome of a commit: ok is false for a failed one
// (which may still have committed) and notified whether it carried a
// NOTIFY. Any commit not known to be announced is owed one.
func (n *notifier) settle(ok, notified bool) {
	if ok && notified {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.owed || n.closed {
		return // the NOTIFY scheduled is sent after this commit
	}
	n.owed = true
	time.AfterFunc(max(n.every-time.Since(n.last), 0), n.expire)
}

// expire sends the NOTIFY owed, which announces every commit settled
// before it.
func (n *notifier) expire() {
	n.mu.Lock()
	if !n.owed || n.closed {
		n.mu.Unlock()
		return
	}
	n.owed, n.last = false, time.Now()
	n.mu.Unlock()
	n.send()
}

// close drops a NOTIFY not yet sent (the store is closing).
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
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
