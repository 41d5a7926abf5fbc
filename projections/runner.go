package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dangol/dangol/events"
)

// Source is what the runner needs of a store.
type Source interface {
	Subscribe(ctx context.Context, from events.Position) (events.Subscription, error)
	Head(ctx context.Context) (events.Position, error)
	ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error)
}

// Decoder turns a stored envelope into its data with personal fields opened
// (pii.Sealer.OpenEnvelope); events.Decode where there is nothing to open.
type Decoder func(ctx context.Context, e *events.Envelope) (events.Data, error)

// Checkpointer persists the runner's position together with the read
// models, for read stores that survive restarts (PostgreSQL). The in-memory
// store has none: it is rebuilt by replay at start.
type Checkpointer interface {
	// Commit makes the effects of every event up to pos durable, atomically
	// with pos itself.
	Commit(ctx context.Context, pos events.Position) error
}

// Runner subscribes to the log from a position and applies every event, in
// order, to each registered projection and reactor. Queries take the read
// side of the runner's lock through View.
//
// Reactors fold in the runner's Apply, with the read models, because their
// decisions must be a function of the log alone and folding is cheap; they
// act beside it: once the runner has caught up, it hands their decisions
// to a pool of workers (RunnerOptions.AppendWorkers) that append them
// while the runner goes on applying, so the read side's position never
// waits for a reactor's append. See Reactor for why a restart never appends
// a decision twice nor loses one.
//
// Run must be called once. Every other method is safe for concurrent use
// by multiple goroutines, while Run runs and after.
type Runner struct {
	src      Source
	decode   Decoder
	projs    []Projection
	reactors []Reactor
	ckpt     Checkpointer
	log      *slog.Logger
	batch    int
	now      events.Clock
	after    func(prev events.Position, batch []Event, view func(func()))
	prefetch func(ctx context.Context, envs []events.Envelope)

	mu sync.RWMutex // guards the projections' state

	mark       Watermark // the position of the last applied event
	headAtBoot events.Position
	caughtUp   chan struct{}
	caughtOnce sync.Once
	applied    atomic.Uint64

	out      *reactorQueue // nil without reactors
	turn     int           // which reactor Due asks first, in turn
	stopped  chan struct{} // closed when Run returns
	stopOnce sync.Once
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	From         events.Position // resume after this position (a checkpoint); Start to rebuild
	Checkpointer Checkpointer    // nil for in-memory read models
	Logger       *slog.Logger
	MaxBatch     int          // events applied per lock acquisition; default 1024
	Now          events.Clock // the clock lag is measured with; default events.SystemClock

	// Appender is where reactors' decisions are appended: the log the
	// runner reads (default: the Source, when it can append).
	Appender Appender
	// AppendWorkers is how many decisions are appended concurrently
	// (default 512); the store coalesces them into group commits. The
	// default keeps a commit of decisions under /readyz's default lag
	// bound (1000 events), so readiness does not flap while a backlog
	// drains; more workers did not drain it faster.
	AppendWorkers int
	// AfterBatch, if set, is called after each applied batch (which
	// followed the event at prev; CaughtUp is closed first if the batch
	// catches up) on the runner's goroutine, with view,
	// which runs a function under the read lock: the folds hold still
	// while queries go on (Snapshotter.AfterBatch).
	AfterBatch func(prev events.Position, batch []Event, view func(func()))
	// Prefetch, if set, is called by a decoding worker with each batch of
	// envelopes before it decodes them (pii.Sealer.PrefetchKeys: the data
	// keys of the batch's customers in one read of the key store). It must
	// change nothing the decoder returns, and not keep envs.
	Prefetch func(ctx context.Context, envs []events.Envelope)
	// AppendBackoff is how long reactor appends pause when the store is
	// unavailable, doubling up to max(5s, AppendBackoff) while it stays
	// down (default 100ms).
	AppendBackoff time.Duration
}

// NewRunner returns a runner over src feeding projs, then reactors.
func NewRunner(src Source, decode Decoder, projs []Projection, reactors []Reactor, opt RunnerOptions) *Runner {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 1024
	}
	if opt.Now == nil {
		opt.Now = events.SystemClock
	}
	r := &Runner{src: src, decode: decode, projs: projs, reactors: reactors, ckpt: opt.Checkpointer,
		log: opt.Logger, batch: opt.MaxBatch, now: opt.Now, after: opt.AfterBatch, prefetch: opt.Prefetch, caughtUp: make(chan struct{}), stopped: make(chan struct{})}
	if len(reactors) > 0 {
		if opt.Appender == nil {
			opt.Appender, _ = src.(Appender)
		}
		if opt.AppendWorkers <= 0 {
			opt.AppendWorkers = 512
		}
		if opt.AppendBackoff <= 0 {
			opt.AppendBackoff = 100 * time.Millisecond
		}
		if opt.Appender != nil {
			r.out = newReactorQueue(opt.Appender, opt.Logger, opt.AppendWorkers,
				[2]time.Duration{opt.AppendBackoff, max(5*time.Second, opt.AppendBackoff)})
		}
	}
	from := opt.From
	r.mark.Advance(from)
	return r
}

// View runs f while no event is being applied, so f sees the projections
// at one consistent position, which it is given.
func (r *Runner) View(f func(pos events.Position)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f(r.mark.Position())
}

// Position returns the position of the last applied event.
func (r *Runner) Position() events.Position { return r.mark.Position() }

// Applied returns how many events this runner applied since it started.
func (r *Runner) Applied() uint64 { return r.applied.Load() }

// CaughtUp is closed once the runner has applied everything that was in the
// log when Run started.
func (r *Runner) CaughtUp() <-chan struct{} { return r.caughtUp }

// Lag returns how far the runner is behind the log's head (see LagBehind).
func (r *Runner) Lag(ctx context.Context) (behind uint64, seconds float64, err error) {
	return LagBehind(ctx, r.src, r.Position(), r.now())
}

// LagBehind returns how far a read side at pos is behind src's head: in
// events (positions, exact for single-sequence stores) and in seconds
// from the oldest event it has not applied being recorded until now; 0, 0
// when it is caught up.
func LagBehind(ctx context.Context, src Source, pos events.Position, now time.Time) (behind uint64, seconds float64, err error) {
	head, err := src.Head(ctx)
	if err != nil || !pos.Less(head) {
		return 0, 0, err
	}
	next, err := src.ReadAll(ctx, pos, 1)
	if err != nil {
		return 0, 0, err
	}
	if len(next) == 1 {
		seconds = max(0, now.Sub(next[0].RecordedAt).Seconds())
	}
	return head.Seq() - pos.Seq(), seconds, nil
}

// WaitFor blocks until the runner has applied the event at pos (so a reader
// sees its own write) or ctx ends.
func (r *Runner) WaitFor(ctx context.Context, pos events.Position) error {
	return r.mark.WaitFor(ctx, pos)
}

// Waiters returns how many WaitFor calls are waiting (Watermark.Waiters).
func (r *Runner) Waiters() int { return r.mark.Waiters() }

// ReactorStats returns what the reactors have done since Run started.
// Without reactors it is idle once the runner has caught up.
func (r *Runner) ReactorStats() ReactorStats {
	if r.out == nil {
		select {
		case <-r.caughtUp:
			return ReactorStats{Idle: true}
		default:
			return ReactorStats{}
		}
	}
	return r.out.stats()
}

// WaitReactorsIdle blocks until the reactors are idle: the runner has
// caught up, no decision is queued or being appended, and every decision
// that landed has been applied (so the reactors have seen their own events
// and handed out what those led to). New events may make them busy again.
// It returns ctx.Err() if ctx ends first, and an Unavailable error if Run
// returns first.
func (r *Runner) WaitReactorsIdle(ctx context.Context) error {
	if r.out == nil {
		select {
		case <-r.caughtUp:
			return nil
		case <-r.stopped:
			return events.Errorf(events.Unavailable, "projections: the runner stopped before it caught up")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.out.wait(ctx, r.stopped)
}

// Run applies events until ctx ends or a projection, decoder or checkpoint
// fails, and meanwhile appends what the reactors decide. A subscription
// that fell behind is resumed from the last applied position; nothing is
// skipped. It returns nil when ctx is cancelled, and an Invalid error if
// there are reactors but nothing to append their decisions to.
func (r *Runner) Run(ctx context.Context) error {
	defer r.stopOnce.Do(func() { close(r.stopped) })
	if len(r.reactors) > 0 {
		if r.out == nil {
			return events.Errorf(events.Invalid, "projections: reactors need RunnerOptions.Appender (the source cannot append)")
		}
		actx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { r.out.run(actx) })
		defer func() { stop(); wg.Wait() }()
	}
	head, err := r.src.Head(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled before it started: a clean stop, as documented
		}
		return fmt.Errorf("projections: head: %w", err)
	}
	r.headAtBoot = head
	if !r.Position().Less(head) {
		r.markCaughtUp(ctx)
		r.handOff()
	}
	backoff := 100 * time.Millisecond
	for {
		err := r.follow(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, events.ErrFellBehind):
			r.log.Warn("projection runner fell behind; resubscribing", "position", r.Position().String())
			continue
		case events.ErrorCode(err) == events.Unavailable && !errors.Is(err, events.ErrClosed) && !errors.As(err, new(*checkpointError)):
			// A lost database (or key store) while reading or decoding:
			// nothing of the failed batch was applied, so resume from the
			// position once it is back. A failed checkpoint is not retried
			// here: the batch is already in the projections' memory, so the
			// owner of the checkpointer must start over (Run returns it).
			r.log.Warn("projection runner: store unavailable; retrying", "position", r.Position().String(), "err", err.Error())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		default:
			return err
		}
	}
}

func (r *Runner) follow(ctx context.Context) error {
	var sub interface{ Close() }
	var read func(ctx context.Context) ([]events.Envelope, error) // the next batch; an error once the subscription ends
	recycle := func([]events.Envelope) {}                         // a batch folded, given back to the store to fill again
	if bs, ok := batchSubscriber(r.src); ok {
		b, err := bs.SubscribeBatches(ctx, r.Position(), r.batch)
		if err != nil {
			return fmt.Errorf("projections: subscribe: %w", err)
		}
		sub, read = b, batchReader(b)
		if rc, ok := b.(events.BatchRecycler); ok {
			recycle = rc.Recycle
		}
	} else {
		e, err := r.src.Subscribe(ctx, r.Position())
		if err != nil {
			return fmt.Errorf("projections: subscribe: %w", err)
		}
		sub, read = e, eventReader(e, r.batch)
	}
	defer sub.Close()
	// Decoding runs ahead of the fold, on goroutines of its own: while one
	// batch is folded the next ones are read and decoded, each batch by one
	// of GOMAXPROCS workers, and handed to the fold in log order.
	dctx, stop := context.WithCancel(ctx)
	decoded := make(chan chan decodedBatch, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	wg.Go(func() { r.decodeAhead(dctx, read, decoded) })
	defer func() { stop(); wg.Wait() }()
	var refill <-chan struct{} // the reactors' workers have room for more
	if r.out != nil {
		refill = r.out.refill
	}
	for {
		select {
		case next := <-decoded:
			var b decodedBatch
			select {
			case b = <-next:
			case <-ctx.Done():
				return ctx.Err()
			}
			if b.err != nil {
				return b.err
			}
			if err := r.apply(ctx, b.events); err != nil {
				return err
			}
			// Folded: the read models keep no *events.Envelope past Apply
			// (the Projection contract), so the batch can be filled again.
			recycle(b.envs)
		case <-refill:
			r.handOff()
		case <-ctx.Done(): // the decoder stops with it, sending nothing
			return ctx.Err()
		}
	}
}

// decodedBatch is a batch of decoded events in log order, or why the
// subscription or the decoding stopped (after the batches before it).
type decodedBatch struct {
	events []Event
	envs   []events.Envelope // what events point into
	err    error
}

// decodeJob is a batch read for one decoding worker, and where its result
// goes.
type decodeJob struct {
	envs []events.Envelope
	out  chan<- decodedBatch
}

// decodeAhead reads batches with read and sends to out, in log order, a
// channel for each that receives it decoded, until ctx ends or it sends an
// error. The batches are decoded by GOMAXPROCS workers, a whole batch
// each, so that reading, decoding and the fold overlap without a barrier
// per batch (decoding each batch on every core left a core idle while the
// slower half finished, and the reader blocked meanwhile); at most
// cap(out) batches are in flight.
func (r *Runner) decodeAhead(ctx context.Context, read func(context.Context) ([]events.Envelope, error), out chan<- chan decodedBatch) {
	jobs := make(chan decodeJob)
	var wg sync.WaitGroup
	defer func() { close(jobs); wg.Wait() }()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				if r.prefetch != nil {
					r.prefetch(ctx, j.envs)
				}
				var b decodedBatch
				b.events, b.err = r.decodeAll(ctx, j.envs)
				b.envs = j.envs
				j.out <- b // buffered: the worker never waits for the fold
			}
		})
	}
	for {
		envs, err := read(ctx)
		if ctx.Err() != nil {
			return
		}
		res := make(chan decodedBatch, 1)
		select {
		case out <- res:
		case <-ctx.Done():
			return
		}
		if err != nil {
			res <- decodedBatch{err: err}
			return
		}
		select {
		case jobs <- decodeJob{envs: envs, out: res}:
		case <-ctx.Done():
			return
		}
	}
}

// batchSubscriber returns src as an events.BatchSubscriber if it is one,
// or wraps one (Unwrap, as ops/metrics' store does).
func batchSubscriber(src any) (events.BatchSubscriber, bool) {
	return storeAs[events.BatchSubscriber](src)
}

// storeAs finds a T in src or in the stores it wraps (Unwrap).
func storeAs[T any](src any) (T, bool) {
	for {
		if t, ok := src.(T); ok {
			return t, true
		}
		u, ok := src.(interface{ Unwrap() events.Store })
		if !ok {
			var zero T
			return zero, false
		}
		src = u.Unwrap()
	}
}

// StreamsIn is how many streams src holds, if it can tell without reading
// them (events.StreamCounter, also through wrappers), else 0: the size a
// Memory replaying src from the start can Expect.
func StreamsIn(src events.Store) int {
	if c, ok := storeAs[events.StreamCounter](src); ok {
		return c.Streams()
	}
	return 0
}

// batchReader reads a BatchSubscription a batch at a time.
func batchReader(sub events.BatchSubscription) func(context.Context) ([]events.Envelope, error) {
	return func(ctx context.Context) ([]events.Envelope, error) {
		select {
		case b, ok := <-sub.Batches():
			if !ok {
				return nil, subscriptionEnded(sub.Err())
			}
			return b, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// eventReader reads a Subscription in batches of up to size events: the
// first it waits for, then as many as are there.
func eventReader(sub events.Subscription, size int) func(context.Context) ([]events.Envelope, error) {
	ch := sub.Events()
	envs := make([]events.Envelope, 0, size)
	return func(ctx context.Context) ([]events.Envelope, error) {
		var env events.Envelope
		var ok bool
		select {
		case env, ok = <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !ok {
			return nil, subscriptionEnded(sub.Err())
		}
		envs = append(envs[:0], env)
		for len(envs) < size {
			select {
			case env, ok := <-ch:
				if !ok {
					return slices.Clone(envs), nil // the next read returns the reason
				}
				envs = append(envs, env)
			default:
				return slices.Clone(envs), nil
			}
		}
		return slices.Clone(envs), nil
	}
}

func subscriptionEnded(err error) error {
	if err == nil {
		err = errors.New("projections: subscription ended")
	}
	return err
}

// decodeAll decodes a batch (decryption and JSON decoding are most of a
// replay's cost); the fold itself stays sequential. The batch's entries
// point into envs, which the caller gives up.
func (r *Runner) decodeAll(ctx context.Context, envs []events.Envelope) ([]Event, error) {
	batch := make([]Event, len(envs))
	for i := range envs {
		e := &envs[i]
		d, err := r.decode(ctx, e)
		if err != nil && events.ErrorCode(err) != events.NotFound {
			return nil, fmt.Errorf("projections: decode %s@%d: %w", e.Stream, e.Version, err)
		}
		// Types this binary does not know (a newer writer) pass with nil
		// Data; projections ignore them, the position advances.
		batch[i] = Event{Envelope: e, Data: d}
		batch[i].split = strings.IndexByte(e.Stream, '-') + 1
		if batch[i].split == 0 {
			batch[i].split = -1
		}
	}
	return batch, nil
}

func (r *Runner) apply(ctx context.Context, batch []Event) error {
	if len(batch) == 0 {
		return nil
	}
	last := batch[len(batch)-1]
	r.mu.Lock()
	for _, e := range batch {
		for _, p := range r.projs {
			p.Apply(e)
		}
		for _, re := range r.reactors {
			re.Apply(e)
		}
	}
	if r.ckpt != nil {
		if err := r.ckpt.Commit(ctx, last.Position); err != nil {
			r.mu.Unlock()
			return &checkpointError{fmt.Errorf("projections: checkpoint at %s: %w", last.Position, err)}
		}
	}
	pos, prev := last.Position, r.mark.Position()
	r.mark.Advance(pos)
	r.mu.Unlock()

	r.applied.Add(uint64(len(batch)))
	if !pos.Less(r.headAtBoot) {
		r.markCaughtUp(ctx)
	}
	if r.after != nil { // after markCaughtUp: the batch that catches up sees CaughtUp closed
		r.after(prev, batch, func(f func()) { r.View(func(events.Position) { f() }) })
	}
	r.handOff()
	return nil
}

func (r *Runner) markCaughtUp(ctx context.Context) {
	r.caughtOnce.Do(func() {
		close(r.caughtUp)
		r.log.Info("projections caught up", "position", r.Position().String(), "applied", r.applied.Load())
	})
}

// handOff gives the reactors' due decisions to the append workers, as many
// as they have room for, once the runner has caught up: during the initial
// replay a reactor's fold only records what is already decided. It runs on
// the runner's goroutine, after a batch is applied (outside the lock: the
// queries never read reactors) or when the workers ask for more.
func (r *Runner) handOff() {
	if r.out == nil {
		return
	}
	select {
	case <-r.caughtUp:
	default:
		return
	}
	room := r.out.room()
	var (
		names []string
		ds    []Decision
		more  bool
	)
	n := len(r.reactors)
	for i := range n {
		if room <= 0 {
			more = true // this reactor and the next were not asked
			break
		}
		re := r.reactors[(r.turn+i)%n]
		got := re.Due(room)
		for range got {
			names = append(names, re.Name())
		}
		ds = append(ds, got...)
		if room -= len(got); room == 0 {
			more = true
		}
	}
	r.turn++
	r.out.push(names, ds, more, r.Position())
}

// checkpointError is a failed Checkpointer.Commit: the projections hold a
// batch the checkpoint does not, so the runner cannot simply go on.
type checkpointError struct{ err error }

func (e *checkpointError) Error() string { return e.err.Error() }
func (e *checkpointError) Unwrap() error { return e.err }
