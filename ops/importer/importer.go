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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// Config is one import of one file.
type Config struct {
	System string // the source system (CheckSystem): core, card, loan, internet, …
	Kind   Kind
	Format Format
	// Batch is how many rows make one batch of appends, one event each
	// (default 1000); InFlight how many batches may be in flight at once
	// (default 4). Rows of one customer always go, in file order, into the
	// batches of one of them, so a customer's events keep the file's order.
	// Parallel is how many rows of a batch are built (validated, sealed) at
	// once and, on a store that takes no batches (events.BatchAppender),
	// how many of its streams are appended at once (default 256).
	Batch, InFlight, Parallel int
	// DryRun reads and validates every row and counts the events it would
	// append, appending nothing (the store may be nil) and sealing nothing.
	DryRun bool
	// Seal returns the sealer of a customer's personal fields
	// (pii.Sealer.SealFor); nil leaves them in clear (tests only).
	Seal func(customerID string) func(events.Personal) error
	// Open decodes a stored event and opens its personal fields
	// (pii.Sealer.OpenEnvelope; nil: events.Decode, for unsealed data; with
	// Seal it is required once an event is found already imported):
	// an event found already imported is compared with the row's, so that
	// a record re-sent at the same version with other values is rejected,
	// not counted as already there.
	Open func(context.Context, *events.Envelope) (events.Data, error)
	// Rejects receives every rejected row (required).
	Rejects *Rejects
	// Progress, if set, is told how far the import is.
	Progress *Progress
	// Now is the import's clock (default time.Now): a row observed more
	// than MaxAhead after it is rejected.
	Now func() time.Time
}

// MaxAhead is how far after the import's clock a row's observedAt may
// be: a source's clock or zone, not a year mistyped, whose claim would
// outrank every later claim of its system (docs/provenance.md).
const MaxAhead = 24 * time.Hour

// Stats say what an import did. Events is what the rows that passed
// validation make; each is Appended, a Duplicate (an earlier import
// appended it), an Existing registration (a customer master row of a
// customer the ledger has: not registered again), or refused by the store
// (a customer not registered), its row then counted in Rejected.
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	im := &run{cfg: cfg, store: store, b: builder{system: cfg.System, kind: cfg.Kind, actor: Actor(cfg.System), seal: cfg.Seal,
		latest: cfg.Now().Add(MaxAhead)}}
	if cfg.DryRun {
		im.b.seal = nil
	}
	if im.cfg.Batch <= 0 {
		im.cfg.Batch = 1000
	}
	if im.cfg.InFlight <= 0 {
		im.cfg.InFlight = 4
	}
	if im.cfg.Parallel <= 0 {
		im.cfg.Parallel = 256
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
	if err == nil {
		err = context.Cause(ctx) // a worker's error, or the caller's cancel after the last row was read
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
	switch p := im.cfg.Progress; {
	case p != nil && im.cfg.DryRun:
		p.countOnly()
		p.update(rr.offset(), im.rows.Load(), im.evs.Load(), final)
	case p != nil:
		p.update(rr.offset(), im.rows.Load(), im.appended.Load(), final)
	}
}

// shard is the worker of a customer.
func shard(customer string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(customer))
	return int(h.Sum32() % uint32(n))
}

// work appends the rows it is handed a batch at a time.
func (im *run) work(ctx context.Context, rows <-chan row) error {
	batch := make([]row, 0, im.cfg.Batch)
	for r := range rows {
		if ctx.Err() != nil {
			continue // drain: the import stops
		}
		if batch = append(batch, r); len(batch) == im.cfg.Batch {
			if err := im.flush(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return im.flush(ctx, batch)
}

// flush builds a batch's records (rejecting the rows that fail), appends
// them (in a dry run only counts them) and settles each row by what its
// entries met.
func (im *run) flush(ctx context.Context, rows []row) error {
	recs, errs := im.buildAll(rows)
	heads, err := im.refuseMerged(ctx, recs, errs) // merged.go
	if err != nil {
		return err
	}
	refuseShared(rows, recs, errs)
	var batch []events.StreamAppend
	first := make([]int, len(rows)) // rows[i]'s entries are batch[first[i]:][:len(recs[i].entries)]
	for i, err := range errs {
		if err == nil {
			first[i] = len(batch)
			batch = append(batch, recs[i].entries...)
			continue
		}
		if !rejectable(err) {
			return err
		}
		if err := im.reject(rows[i], reason(err)); err != nil {
			return err
		}
	}
	im.evs.Add(int64(len(batch)))
	if im.cfg.DryRun || len(batch) == 0 {
		return nil
	}
	customers := make(map[string]string, len(recs))
	for i, rec := range recs {
		if errs[i] == nil {
			customers[events.CustomerStream(rec.customer)] = rec.customer
		}
	}
	results, aerrs, err := im.appendChecked(ctx, batch, customers, heads) // merged.go
	if err != nil {
		return err
	}
	for i, rec := range recs {
		if errs[i] != nil {
			continue
		}
		why := ""
		for j := first[i]; j < first[i]+len(rec.entries); j++ {
			w, err := im.settle(ctx, batch[j], results[j], aerrs[j], rec.customer)
			if err != nil {
				return err
			}
			if why == "" {
				why = w
			}
		}
		if why != "" {
			if err := im.reject(rows[i], why); err != nil {
				return err
			}
		}
	}
	return nil
}

// refuseShared sets errs[i] of every record built without error whose
// event ids an earlier row of the batch, another customer's, also makes
// (one record of the source named for two customers) to an Invalid error
// naming that row: in file order, whichever store it is. Left to the
// store, a store without batches, appending the batch's streams at once,
// took whichever came first and refused the other.
func refuseShared(rows []row, recs []record, errs []error) {
	first := map[ulid.ULID]int{} // event id -> the row that makes it
	for i, rec := range recs {
		if errs[i] != nil {
			continue
		}
		for _, a := range rec.entries {
			for _, ev := range a.Events {
				if j, ok := first[ev.ID]; ok && recs[j].customer != rec.customer {
					errs[i] = events.InvalidField("ref", "this record (its ref and version) is line %d's too, a row of customer %s: one record belongs to one customer", rows[j].line, recs[j].customer)
				}
			}
		}
		if errs[i] != nil {
			continue
		}
		for _, a := range rec.entries {
			for _, ev := range a.Events {
				if _, ok := first[ev.ID]; !ok {
					first[ev.ID] = i
				}
			}
		}
	}
}

// buildAll builds the records of rows, Parallel at a time: sealing is
// the costly part, and a customer's first seal creates their data key,
// which key stores commit faster many at once.
func (im *run) buildAll(rows []row) ([]record, []error) {
	recs, errs := make([]record, len(rows)), make([]error, len(rows))
	im.parallel(len(rows), func(i int) { recs[i], errs[i] = im.b.build(rows[i]) })
	return recs, errs
}

// appendAll appends batch in one events.AppendBatch where the store takes
// batches. Elsewhere that would be one Append after another, each waiting
// for its own commit, so the streams of the batch are appended Parallel
// at a time instead (each stream's entries in order), and the store's
// group commit makes them durable together.
func (im *run) appendAll(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	if _, ok := im.store.(events.BatchAppender); ok {
		return events.AppendBatch(ctx, im.store, batch)
	}
	var streams [][]int // entry indexes by stream, in order
	at := map[string]int{}
	for i, a := range batch {
		k, ok := at[a.Stream]
		if !ok {
			k = len(streams)
			at[a.Stream] = k
			streams = append(streams, nil)
		}
		streams[k] = append(streams[k], i)
	}
	results, errs := make([]events.AppendResult, len(batch)), make([]error, len(batch))
	im.parallel(len(streams), func(k int) {
		for _, i := range streams[k] {
			results[i], errs[i] = im.store.Append(ctx, batch[i].Stream, batch[i].Expected, batch[i].Events...)
		}
	})
	return results, errs
}

// parallel calls f(0) … f(n-1), Parallel calls at a time.
func (im *run) parallel(n int, f func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(im.cfg.Parallel, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// settle counts one entry's outcome; why is the reason its row is
// rejected, if it is; err an outcome that stops the import.
func (im *run) settle(ctx context.Context, a events.StreamAppend, res events.AppendResult, err error, customer string) (why string, _ error) {
	var e *events.Error
	switch {
	case err == nil && res.Duplicate:
		if same, err := im.sameAsStored(ctx, a, res); err != nil || !same {
			return "this record's version was imported before with other values: a changed record needs a new version", err
		}
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

// sameAsStored reports whether the event of a, found already appended
// (res), holds the same data as the one stored, both opened.
func (im *run) sameAsStored(ctx context.Context, a events.StreamAppend, res events.AppendResult) (bool, error) {
	stored, err := im.store.ReadStream(ctx, a.Stream, res.Version, events.Forward, 1)
	if err != nil || len(stored) != 1 {
		return false, fmt.Errorf("read back %s@%d: %w", a.Stream, res.Version, err)
	}
	open := im.cfg.Open
	if open == nil && im.b.seal != nil {
		return false, errors.New("importer: Config.Open is required to compare a sealed record found already imported")
	}
	if open == nil {
		open = func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	}
	ev := a.Events[0]
	mine := events.Envelope{ID: ev.ID, Stream: a.Stream, Version: res.Version, Type: ev.Type, Schema: ev.Schema, Data: ev.Data}
	var data [2][]byte
	for i, e := range []*events.Envelope{&stored[0], &mine} {
		d, err := open(ctx, e)
		if err != nil {
			return false, err
		}
		if data[i], err = json.Marshal(d); err != nil {
			return false, err
		}
	}
	return stored[0].Type == ev.Type && bytes.Equal(data[0], data[1]), nil
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
// wrong with it (an events.Error without its code). Errors of the catalog
// and the stores name fields and ids, never the values.
func reason(err error) string {
	if e, ok := err.(*events.Error); ok {
		return strings.TrimPrefix(e.Error(), e.Code+": ")
	}
	return err.Error() // wrapped: its context leads ("seal ...: customer ...: erased")
}
