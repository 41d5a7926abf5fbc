// Package importer turns the records of the bank's source systems (the
// customer master, monthly financials, product holdings, card and loan
// applications, internet-banking profile changes) into events, appended in
// batches through events.AppendBatch. An import is idempotent: each
// event's id is derived from the source record (system, kind, reference,
// version), so a second import of the same file appends nothing. Every
// row that cannot be imported is written to the rejects file with its
// reason. docs/import.md describes the files and the command
// (`dangol import`).
package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"sync/atomic"

	"github.com/dangol/dangol/events"
)

// Config is one import of one file.
type Config struct {
	System string // the source system (CheckSystem): core, card, loan, internet, …
	Kind   Kind
	Format Format
	// Batch is how many appends (one event each) go into one AppendBatch
	// (default 1000); InFlight how many batches may be in flight at once
	// (default 4). Rows of one customer always go, in file order, into the
	// batches of one of them, so a customer's events keep the file's order.
	Batch, InFlight int
	// DryRun reads and validates every row and counts the events it would
	// append, appending nothing (the store may be nil) and sealing nothing.
	DryRun bool
	// Seal returns the sealer of a customer's personal fields
	// (pii.Sealer.SealFor); nil leaves them in clear (tests only).
	Seal func(customerID string) func(events.Personal) error
	// Rejects receives every rejected row (required).
	Rejects *Rejects
	// Progress, if set, is told how far the import is.
	Progress *Progress
}

// Stats say what an import did. Events is what the accepted rows make;
// each is Appended, a Duplicate (an earlier import appended it), or, for
// a customer master row whose customer the ledger already has, an
// Existing registration that is not appended again.
type Stats struct {
	Rows, Rejected                         int64
	Events, Appended, Duplicates, Existing int64
}

// Run imports the rows read from in into store. It returns an error only
// when the import cannot go on (the file unreadable, the store failing):
// what was appended before stays, and running the import again appends
// the rest. Rejected rows are no error; Stats.Rejected counts them.
func Run(ctx context.Context, cfg Config, store events.Store, in io.Reader) (Stats, error) {
	if err := CheckSystem(cfg.System); err != nil {
		return Stats{}, err
	}
	if _, err := ParseKind(string(cfg.Kind)); err != nil {
		return Stats{}, err
	}
	if cfg.Rejects == nil || (store == nil && !cfg.DryRun) {
		return Stats{}, errors.New("importer: a rejects file and, but for a dry run, a store are required")
	}
	rr, err := newRowReader(in, cfg.Format, cfg.Kind)
	if err != nil {
		return Stats{}, err
	}
	im := &run{cfg: cfg, store: store, b: builder{system: cfg.System, kind: cfg.Kind, actor: Actor(cfg.System), seal: cfg.Seal}}
	if cfg.DryRun {
		im.b.seal = nil
	}
	if im.cfg.Batch <= 0 {
		im.cfg.Batch = 1000
	}
	if im.cfg.InFlight <= 0 {
		im.cfg.InFlight = 4
	}
	err = im.all(ctx, rr)
	return im.stats(), err
}

// run is one import in progress.
type run struct {
	cfg   Config
	store events.Store
	b     builder

	rows, rejected, evs, appended, dups, existing atomic.Int64
}

func (im *run) stats() Stats {
	return Stats{Rows: im.rows.Load(), Rejected: im.rejected.Load(), Events: im.evs.Load(), Appended: im.appended.Load(),
		Duplicates: im.dups.Load(), Existing: im.existing.Load()}
}

// all reads every row and hands it to the worker of its customer.
func (im *run) all(ctx context.Context, rr rowReader) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queues := make([]chan row, im.cfg.InFlight)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan row, im.cfg.Batch)
		wg.Go(func() {
			if err := im.work(ctx, queues[i]); err != nil {
				cancel(err)
			}
		})
	}
	err := im.read(ctx, rr, queues)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	im.progress(rr, true)
	return err
}

// read reads rows until the file ends, rejecting those that are not rows.
func (im *run) read(ctx context.Context, rr rowReader, queues []chan row) error {
	for {
		r, err := rr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if n := im.rows.Add(1); n%1024 == 0 {
			im.progress(rr, false)
		}
		if r.bad != "" {
			if err := im.reject(r, r.bad); err != nil {
				return err
			}
			continue
		}
		select {
		case queues[shard(r.fields["customerId"], len(queues))] <- r:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (im *run) progress(rr rowReader, final bool) {
	if im.cfg.Progress != nil {
		im.cfg.Progress.update(rr.offset(), im.rows.Load(), im.appended.Load(), final)
	}
}

// shard is the worker of a customer.
func shard(customer string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(customer))
	return int(h.Sum32() % uint32(n))
}

// pending is an accepted row waiting in a batch: its entries are
// batch[first:first+n].
type pending struct {
	r        row
	customer string
	first, n int
}

// work builds the records of the rows it is handed and appends them a
// batch at a time.
func (im *run) work(ctx context.Context, rows <-chan row) error {
	var batch []events.StreamAppend
	var waiting []pending
	for r := range rows {
		if ctx.Err() != nil {
			continue // drain: the import stops
		}
		rec, err := im.b.build(r)
		if err != nil {
			if !rejectable(err) {
				return err
			}
			if err := im.reject(r, reason(err)); err != nil {
				return err
			}
			continue
		}
		waiting = append(waiting, pending{r: r, customer: rec.customer, first: len(batch), n: len(rec.entries)})
		batch = append(batch, rec.entries...)
		if len(batch) >= im.cfg.Batch {
			if err := im.flush(ctx, batch, waiting); err != nil {
				return err
			}
			batch, waiting = batch[:0], waiting[:0]
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return im.flush(ctx, batch, waiting)
}

// flush appends a batch (in a dry run only counts it) and settles each
// row by what its entries met.
func (im *run) flush(ctx context.Context, batch []events.StreamAppend, rows []pending) error {
	if len(batch) == 0 {
		return nil
	}
	im.evs.Add(int64(len(batch)))
	if im.cfg.DryRun {
		return nil
	}
	results, errs := events.AppendBatch(ctx, im.store, batch)
	for _, p := range rows {
		why := ""
		for i := p.first; i < p.first+p.n; i++ {
			w, err := im.settle(batch[i], results[i], errs[i], p.customer)
			if err != nil {
				return err
			}
			if why == "" {
				why = w
			}
		}
		if why != "" {
			if err := im.reject(p.r, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle counts one entry's outcome; why is the reason its row is
// rejected, if it is; err an outcome that stops the import.
func (im *run) settle(a events.StreamAppend, res events.AppendResult, err error, customer string) (why string, _ error) {
	var e *events.Error
	switch {
	case err == nil && res.Duplicate:
		im.dups.Add(1)
	case err == nil:
		im.appended.Add(1)
	case !errors.As(err, &e):
		return "", fmt.Errorf("append %s: %w", a.Stream, err)
	case e.Code == events.Conflict && a.Expected == events.NoStream:
		im.existing.Add(1) // the customer is in the ledger already: their record is reported, not registered again
	case e.Code == events.Conflict && e.ActualVersion == events.NoStreamVersion:
		return fmt.Sprintf("customer %s is not registered: import the customer master (--records customers) first", customer), nil
	case e.Code == events.Invalid:
		return reason(err), nil
	default:
		return "", fmt.Errorf("append %s: %w", a.Stream, err)
	}
	return "", nil
}

func (im *run) reject(r row, why string) error {
	im.rejected.Add(1)
	return im.cfg.Rejects.Reject(r.line, r.raw, why)
}

// rejectable reports whether building a row failed for the row's sake
// (invalid, or its customer erased) rather than the key store's.
func rejectable(err error) bool {
	switch events.ErrorCode(err) {
	case events.Invalid, events.NotFound:
		return true
	}
	return false
}

// reason is an error as a rejects file states it: the column and what is
// wrong with it. Errors of the catalog and the stores name fields and
// ids, never the values.
func reason(err error) string {
	e, ok := err.(*events.Error)
	if !ok {
		return err.Error() // wrapped: its context leads ("seal ...: customer ...: erased")
	}
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}
