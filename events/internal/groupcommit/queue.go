// Package groupcommit is the append queue the stores share: callers hand
// a request over and wait; one committer goroutine takes every request
// queued at that moment and commits them together (one transaction, one
// flush), so throughput grows with the number of concurrent writers. A
// caller that finds the committer idle and nothing queued commits its
// request itself, in its own goroutine: a lone writer's append then costs
// no hand-over to the committer and back.
package groupcommit

import (
	"context"
	"sync"

	"github.com/dangol/dangol/events"
)

// Queue feeds requests of type R (a pointer the commit function fills in
// with each request's outcome) to one committer.
type Queue[R any] struct {
	in      chan *call[R]
	max     int
	closing chan struct{} // closed by Close
	stopped chan struct{} // closed when Run has returned
	once    sync.Once

	// committing is held by whoever commits: Run, or a caller committing
	// its own request (inline). It guards commit and one.
	committing sync.Mutex
	commit     func(batch []R) (after func()) // Run's, once it has started
	one        [1]R                           // inline's batch
}

type call[R any] struct {
	req  R
	err  error // set only when the queue closed before committing req
	done chan struct{}
}

// New returns a queue whose batches hold at most max requests.
func New[R any](max int) *Queue[R] {
	return &Queue[R]{in: make(chan *call[R], 4096), max: max, closing: make(chan struct{}), stopped: make(chan struct{})}
}

// Do hands req to the committer and waits until its batch is committed
// (or refused: the commit function records that in req). It returns
// events.ErrClosed if the queue closed before req was committed, and
// ctx.Err() if ctx ended first — req may then still be committed, so a
// retry must be idempotent.
func (q *Queue[R]) Do(ctx context.Context, req R) error {
	select {
	case <-q.closing:
		return events.ErrClosed
	default:
	}
	if q.inline(req) {
		return nil
	}
	c := &call[R]{req: req, done: make(chan struct{})}
	select {
	case q.in <- c:
	case <-q.closing:
		return events.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.done:
		return c.err
	case <-q.stopped:
		// Run has returned: c was either answered first, or queued after
		// Run failed the queue and will never be taken.
		select {
		case <-c.done:
			return c.err
		default:
			return events.ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run is the committer. It waits for a request, takes every other one
// queued (up to max), and calls commit with the batch; when commit
// returns, the batch's Do calls return, and then after runs, if commit
// returned one (housekeeping kept off the callers' latency). Run returns
// once Close was called, after failing every request still queued with
// events.ErrClosed.
func (q *Queue[R]) Run(commit func(batch []R) (after func())) {
	defer close(q.stopped)
	q.committing.Lock()
	q.commit = commit
	q.committing.Unlock()
	calls := make([]*call[R], 0, q.max)
	batch := make([]R, 0, q.max)
	for {
		calls = calls[:0]
		select {
		case c := <-q.in:
			calls = append(calls, c)
		case <-q.closing:
			q.failQueued()
			return
		}
	drain:
		for len(calls) < q.max {
			select {
			case c := <-q.in:
				calls = append(calls, c)
			default:
				break drain
			}
		}
		batch = batch[:0]
		for _, c := range calls {
			batch = append(batch, c.req)
		}
		q.committing.Lock()
		after := commit(batch)
		for _, c := range calls {
			close(c.done)
		}
		if after != nil {
			after()
		}
		q.committing.Unlock()
	}
}

// inline commits req in the caller's goroutine, as a batch of its own, if
// Run has started, nobody is committing and nothing is queued, and reports
// whether it did (then after has run too). Concurrent callers find the
// queue busy and go to the committer, which batches them as before.
func (q *Queue[R]) inline(req R) bool {
	if len(q.in) > 0 || !q.committing.TryLock() {
		return false
	}
	defer q.committing.Unlock()
	select {
	case <-q.closing: // Do answers ErrClosed
		return false
	default:
	}
	if q.commit == nil || len(q.in) > 0 {
		return false
	}
	q.one[0] = req
	after := q.commit(q.one[:])
	var zero R
	q.one[0] = zero
	if after != nil {
		after()
	}
	return true
}

func (q *Queue[R]) failQueued() {
	for {
		select {
		case c := <-q.in:
			c.err = events.ErrClosed
			close(c.done)
		default:
			return
		}
	}
}

// Close stops the queue and waits for Run to return; calling it again is
// harmless. Run must have been started.
func (q *Queue[R]) Close() {
	q.once.Do(func() { close(q.closing) })
	<-q.stopped
	q.committing.Lock() // a caller's own commit under way ends first; none starts after
	q.committing.Unlock()
}
