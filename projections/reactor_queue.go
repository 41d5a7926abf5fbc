package projections

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// reactorQueue appends the decisions a Runner's reactors hand out, beside
// the runner: the runner folds and hands out, a pool of workers appends,
// and neither waits for the other. Workers' concurrent Appends are what the
// stores coalesce into one transaction and one fsync (group commit), so a
// backlog drains at the store's batched rate. The queue holds at most
// window decisions (queued or being appended); the rest stay in the
// reactors' folds, so a backlog of millions is never built all at once.
//
// When the store is unavailable the workers pause: every decision goes back
// to the queue, and after a backoff one decision is tried alone; only when
// it lands do all workers resume. A decision overtaken by a later event on
// its stream (the Conflict of a decision made against an exact version,
// see Decision) is counted and dropped: the reactor folds that event and
// decides again if it should. Any other decision the store refuses for
// good (Invalid, Conflict) is logged and dropped; the fold still holds it,
// so the next start decides it again.
type reactorQueue struct {
	store   Appender
	log     *slog.Logger
	workers int
	window  int
	retry   [2]time.Duration // first and longest backoff
	refill  chan struct{}    // cap 1: asks the runner to hand out more

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []queued // FIFO from head
	head     int
	inflight int
	more     bool            // a reactor may have decisions it did not hand out for want of room
	live     bool            // the runner caught up and handed out at least once
	through  events.Position // the runner's position at its last hand-out
	landed   events.Position // the highest position a decision landed at
	paused   bool            // the store is unavailable: wait for the backoff
	probing  bool            // after the backoff, one append at a time until one lands
	backoff  time.Duration
	appended uint64
	failed   uint64
	overtook uint64
	since    time.Time // when the runner first handed out
	reported bool      // "reactors caught up" was logged
	changed  chan struct{}
}

type queued struct {
	reactor string
	d       Decision
}

func newReactorQueue(store Appender, log *slog.Logger, workers int, retry [2]time.Duration) *reactorQueue {
	q := &reactorQueue{store: store, log: log, workers: workers, window: 4 * workers, retry: retry,
		refill: make(chan struct{}, 1), backoff: retry[0]}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// room returns how many decisions the runner may hand out now.
func (q *reactorQueue) room() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.window - (len(q.queue) - q.head) - q.inflight
}

// push queues decisions the runner handed out when it had applied the log
// through pos; more tells that a reactor may hold further ones.
func (q *reactorQueue) push(reactor []string, ds []Decision, more bool, pos events.Position) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.live {
		q.live, q.since = true, time.Now()
	}
	for i, d := range ds {
		q.queue = append(q.queue, queued{reactor: reactor[i], d: d})
	}
	q.more, q.through = more, pos
	q.cond.Broadcast()
	q.changedLocked()
}

// run appends with the workers until ctx ends.
func (q *reactorQueue) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range q.workers {
		wg.Go(func() { q.work(ctx) })
	}
	wg.Wait()
}

func (q *reactorQueue) work(ctx context.Context) {
	for {
		q.mu.Lock()
		for ctx.Err() == nil && (q.head == len(q.queue) || q.paused || q.probing && q.inflight > 0) {
			q.cond.Wait()
		}
		if ctx.Err() != nil {
			q.mu.Unlock()
			return
		}
		it := q.queue[q.head]
		q.queue[q.head] = queued{}
		q.head++
		switch {
		case q.head == len(q.queue):
			q.queue, q.head = q.queue[:0], 0
		case q.head > 1024 && q.head > len(q.queue)/2: // never drained: drop the consumed head
			q.queue, q.head = append(q.queue[:0], q.queue[q.head:]...), 0
		}
		q.inflight++
		q.mu.Unlock()

		res, err := q.appendOne(ctx, it.d)

		q.mu.Lock()
		q.inflight--
		switch {
		case err == nil:
			q.appended++
			if q.landed.Less(res.Position) {
				q.landed = res.Position
			}
			if q.paused || q.probing {
				q.log.Info("reactor appends resumed")
			}
			q.paused, q.probing, q.backoff = false, false, q.retry[0]
		case ctx.Err() != nil:
			// Stopping: the decision is lost here and decided again at the
			// next start (if its append did land, the fold sees it).
		case it.d.overtaken(err):
			q.overtook++
			q.log.Debug("reactor decision overtaken by a later event on its stream; dropped",
				"reactor", it.reactor, "event_id", ulid.ULID(it.d.Meta.ID).String())
		case events.ErrorCode(err) == events.Unavailable:
			q.queue = append(q.queue, it) // order across streams does not matter
			q.pause(err)
		default:
			q.failed++
			q.log.Error("reactor decision refused by the store; dropped until the next start",
				"reactor", it.reactor, "event_id", ulid.ULID(it.d.Meta.ID).String(), "code", string(events.ErrorCode(err)), "err", err.Error())
		}
		if q.more && q.window-(len(q.queue)-q.head)-q.inflight >= q.window/2 {
			select {
			case q.refill <- struct{}{}:
			default:
			}
		}
		q.cond.Broadcast()
		q.changedLocked()
		q.mu.Unlock()
	}
}

func (q *reactorQueue) appendOne(ctx context.Context, d Decision) (events.AppendResult, error) {
	ev, err := d.Event()
	if err != nil {
		return events.AppendResult{}, err
	}
	return q.store.Append(ctx, d.Stream, d.expected(), ev)
}

// pause stops the workers for the backoff, unless they already wait; then
// one probe goes alone. Called with q.mu held.
func (q *reactorQueue) pause(err error) {
	if q.paused {
		return
	}
	q.paused, q.probing = true, false
	wait := q.backoff
	q.backoff = min(2*q.backoff, q.retry[1])
	q.log.Warn("reactor appends: store unavailable; pausing", "retry_in", wait.String(), "err", err.Error())
	time.AfterFunc(wait, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.paused { // else an append that was in flight landed meanwhile
			q.paused, q.probing = false, true
			q.cond.Broadcast()
		}
	})
}

// idleLocked reports whether there is nothing left to append and every
// decision that landed has come back through the runner's fold (so the
// reactors have seen their own events and handed out what followed).
func (q *reactorQueue) idleLocked() bool {
	return q.live && !q.more && q.head == len(q.queue) && q.inflight == 0 && !q.through.Less(q.landed)
}

// changedLocked wakes the waiters of wait and logs the first time the
// reactors are idle after the start.
func (q *reactorQueue) changedLocked() {
	if q.changed != nil {
		close(q.changed)
		q.changed = nil
	}
	if !q.reported && q.idleLocked() {
		q.reported = true
		q.log.Info("reactors caught up", "appended", q.appended, "refused", q.failed, "overtaken", q.overtook,
			"seconds", time.Since(q.since).Seconds())
	}
}

// wait blocks until idle, ctx ends or stopped is closed.
func (q *reactorQueue) wait(ctx context.Context, stopped <-chan struct{}) error {
	for {
		q.mu.Lock()
		if q.idleLocked() {
			q.mu.Unlock()
			return nil
		}
		if q.changed == nil {
			q.changed = make(chan struct{})
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ch:
		case <-stopped:
			return events.Errorf(events.Unavailable, "projections: the runner stopped before its reactors were idle")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ReactorStats is what a Runner's reactors have done since it started.
type ReactorStats struct {
	Queued    int    // handed out, waiting for a worker
	InFlight  int    // being appended
	Appended  uint64 // landed (including duplicates of decisions already in the log)
	Refused   uint64 // refused by the store for good, dropped until the next start
	Overtaken uint64 // conflicted: a later event on the stream moved it past the version decided against; the reactor decides again from its fold
	Paused    bool   // the store is unavailable; appends wait for a backoff
	Idle      bool   // nothing left to append, and the fold has seen every decision that landed
}

func (q *reactorQueue) stats() ReactorStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return ReactorStats{Queued: len(q.queue) - q.head, InFlight: q.inflight, Appended: q.appended, Refused: q.failed,
		Overtaken: q.overtook, Paused: q.paused || q.probing, Idle: q.idleLocked()}
}
