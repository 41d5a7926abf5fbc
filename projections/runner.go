package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
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
// order, to each registered projection, then offers it to the reactors.
// Queries take the read side of the runner's lock through View.
type Runner struct {
	src      Source
	decode   Decoder
	projs    []Projection
	reactors []Reactor
	ckpt     Checkpointer
	log      *slog.Logger
	batch    int
	now      events.Clock

	mu sync.RWMutex // guards the projections' state

	mark       Watermark // the position of the last applied event
	headAtBoot events.Position
	caughtUp   chan struct{}
	caughtOnce sync.Once
	applied    atomic.Uint64
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	From         events.Position // resume after this position (a checkpoint); Start to rebuild
	Checkpointer Checkpointer    // nil for in-memory read models
	Logger       *slog.Logger
	MaxBatch     int          // events applied per lock acquisition; default 1024
	Now          events.Clock // the clock lag is measured with; default events.SystemClock
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
		log: opt.Logger, batch: opt.MaxBatch, now: opt.Now, caughtUp: make(chan struct{})}
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

// Run applies events until ctx ends or a projection, decoder or checkpoint
// fails. A subscription that fell behind is resumed from the last applied
// position; nothing is skipped. It returns nil when ctx is cancelled.
func (r *Runner) Run(ctx context.Context) error {
	head, err := r.src.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: head: %w", err)
	}
	r.headAtBoot = head
	if !r.Position().Less(head) {
		r.markCaughtUp(ctx)
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
	sub, err := r.src.Subscribe(ctx, r.Position())
	if err != nil {
		return fmt.Errorf("projections: subscribe: %w", err)
	}
	defer sub.Close()
	ch := sub.Events()
	envs := make([]events.Envelope, 0, r.batch)
	batch := make([]Event, 0, r.batch)
	for {
		env, ok := <-ch
		if !ok {
			if err := sub.Err(); err != nil {
				return err
			}
			return errors.New("projections: subscription ended")
		}
		envs = append(envs[:0], env)
	drain:
		for len(envs) < r.batch {
			select {
			case env, ok := <-ch:
				if !ok {
					break drain
				}
				envs = append(envs, env)
			default:
				break drain
			}
		}
		if batch, err = r.decodeAll(ctx, envs, batch[:0]); err != nil {
			return err
		}
		if err := r.apply(ctx, batch); err != nil {
			return err
		}
	}
}

// decodeAll decodes a batch on every core (decryption and JSON decoding are
// most of a replay's cost); the fold itself stays sequential.
func (r *Runner) decodeAll(ctx context.Context, envs []events.Envelope, batch []Event) ([]Event, error) {
	owned := make([]events.Envelope, len(envs)) // batch entries point here; envs is reused
	copy(owned, envs)
	batch = batch[:len(owned)]
	workers := min(runtime.GOMAXPROCS(0), max(1, len(owned)/64))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(owned); i += workers {
				e := &owned[i]
				d, err := r.decode(ctx, e)
				if err != nil && events.ErrorCode(err) != events.NotFound {
					errs[w] = fmt.Errorf("projections: decode %s@%d: %w", e.Stream, e.Version, err)
					return
				}
				// Types this binary does not know (a newer writer) pass with
				// nil Data; projections ignore them, the position advances.
				batch[i] = Event{Envelope: e, Data: d}
			}
		})
	}
	wg.Wait()
	return batch, errors.Join(errs...)
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
	pos := last.Position
	r.mark.Advance(pos)
	r.mu.Unlock()

	r.applied.Add(uint64(len(batch)))
	if !pos.Less(r.headAtBoot) {
		r.markCaughtUp(ctx)
	}
	r.react(ctx)
	return nil
}

func (r *Runner) markCaughtUp(ctx context.Context) {
	r.caughtOnce.Do(func() {
		close(r.caughtUp)
		r.log.Info("projections caught up", "position", r.Position().String(), "applied", r.applied.Load())
	})
}

// react lets reactors act once the runner has caught up: during the
// initial replay their state only records what is already decided.
func (r *Runner) react(ctx context.Context) {
	select {
	case <-r.caughtUp:
	default:
		return
	}
	for _, re := range r.reactors {
		if err := re.Flush(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("reactor failed; will retry on the next event", "reactor", re.Name(), "err", err)
		}
	}
}

// checkpointError is a failed Checkpointer.Commit: the projections hold a
// batch the checkpoint does not, so the runner cannot simply go on.
type checkpointError struct{ err error }

func (e *checkpointError) Error() string { return e.err.Error() }
func (e *checkpointError) Unwrap() error { return e.err }
