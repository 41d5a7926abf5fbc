package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// dirty records which entities the events of the current batch may have
// changed. It is an over-approximation read off the events themselves
// (stream and the ids the data names); it never decides what changed in an
// entity — the folds do — so at commit every listed entity's current fold
// state is written whole, and entities the folds do not hold are skipped.
type dirty struct {
	customers, calls, points, staff, tokens, advisors map[string]struct{}
	aggregates                                        bool
	policy                                            bool // the sign-in policy
	qa                                                bool // the QA aggregate (forms, plans, calibrations)
	// campaigns and targets ((campaign, customer) pairs) the campaign fold
	// said changed (changed, its OnChange hook); tiers: the tier
	// migration report
	campaigns map[string]struct{}
	targets   map[[2]string]struct{}
	tiers     bool
	// survivors: customers who absorbed one in the batch, whose chains'
	// rows are rewritten too (merge.go)
	survivors map[string]struct{}
}

func newDirty() *dirty {
	d := &dirty{}
	d.reset()
	return d
}

func (d *dirty) reset() {
	d.customers, d.calls, d.points = map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	d.staff, d.tokens, d.advisors = map[string]struct{}{}, map[string]struct{}{}, map[string]struct{}{}
	d.aggregates = false
	d.policy = false
	d.qa = false
	d.campaigns, d.targets, d.tiers = map[string]struct{}{}, map[[2]string]struct{}{}, false
	d.survivors = map[string]struct{}{}
}

// Name returns "postgres-dirty".
func (*dirty) Name() string { return "postgres-dirty" }

// Apply notes what e may touch. Ids are cloned: envelopes share read buffers.
func (d *dirty) Apply(e projections.Event) {
	cat, id := events.StreamID(e.Stream)
	switch cat {
	case events.CategoryCustomer:
		d.customers[strings.Clone(id)] = struct{}{}
	case events.CategoryCall:
		d.calls[strings.Clone(id)] = struct{}{}
	case events.CategoryStaff:
		d.staff[strings.Clone(id)] = struct{}{}
	case events.CategorySettings:
		d.policy = d.policy || e.Stream == events.SignInSettingsStream
	}
	switch x := e.Data.(type) {
	case *events.CallRecorded: // the customer's timeline
		d.customers[x.CustomerID] = struct{}{}
	case *events.CallReviewed:
		for _, p := range x.CoachingPoints {
			d.points[p.PointID] = struct{}{}
		}
	case *events.CoachingAcknowledged:
		d.points[x.PointID] = struct{}{}
	case *events.CoachingFollowedUp:
		d.points[x.PointID] = struct{}{}
	case *events.TokenIssued:
		d.tokens[x.TokenID] = struct{}{}
	case *events.TokenRevoked:
		d.tokens[x.TokenID] = struct{}{}
	case *events.SignedIn:
		d.tokens[x.SessionID] = struct{}{}
	case *events.SignedOut:
		d.tokens[x.SessionID] = struct{}{}
	case *events.AdvisorAssigned:
		d.advisors[x.AdvisorID] = struct{}{}
	case *events.CustomerMergedInto: // the survivor's absorbed list, the tier migration (merge.go)
		d.customers[x.SurvivorID] = struct{}{}
		d.survivors[x.SurvivorID] = struct{}{}
		d.tiers = true
	case *events.ProductPitched, *events.CustomerRequestNoted:
		d.aggregates = true
	case *events.TierAssigned:
		d.tiers = true
	case *events.ScorecardFormPublished, *events.SamplingPlanPublished, *events.CalibrationOpened, *events.CalibrationScored,
		*events.CalibrationClosed: // what projections.QA folds, whatever the stream
		d.qa = true
	}
}

// errFenced means the checkpoint in the table is not the one this writer
// last committed: another writer (or a rebuild's swap) moved it, so this
// writer must stop and stand for election again.
var errFenced = errors.New("read models: checkpoint moved under the writer")

// commitError marks a failure to write the tables; the writer retries after
// an election, whereas other failures (decoding the log) stop Run.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// writer is the Checkpointer of the elected writer's Runner: on Commit it
// writes the dirty entities' fold state and the checkpoint in one
// transaction on conn, the connection that holds the writer lock.
type writer struct {
	conn    *pgx.Conn
	schema  string
	mem     *projections.Memory
	dirty   *dirty
	last    events.Position // the checkpoint in the table, as this writer last wrote or read it
	reviews int             // rows in rm_reviews
	follows int             // rows in rm_followups
	onLast  func(events.Position)
	cipher  RowCipher // nil: customer rows in clear
	search  *searchRows
	// briefsMissing: some customer row lacks its brief (briefs.go)
	briefsMissing bool
	// qaMissing: some call, point or review row lacks its evaluations (qa.go)
	qaMissing bool
	// campaignsMissing: the campaign rows may be missing (campaigns.go)
	campaignsMissing bool
	log              *slog.Logger             // where snapshots are told (stand sets it)
	keys             projections.SnapshotKeys // the snapshots' data keys (stand sets it)
}

// newWriter reads the checkpoint and the logs' lengths from the tables conn
// sees: events up to that checkpoint are folded in memory only.
func newWriter(ctx context.Context, conn *pgx.Conn, schema string, cipher RowCipher, index projections.SearchIndex, onLast func(events.Position)) (*writer, error) {
	w := &writer{conn: conn, schema: schema, mem: projections.NewMemory(), dirty: newDirty(), onLast: onLast, cipher: cipher}
	var err error
	if w.last, err = readCheckpoint(ctx, conn); err != nil {
		return nil, err
	}
	if w.search, err = newSearchRows(ctx, conn, index); err != nil {
		return nil, err
	}
	if w.briefsMissing, err = briefsMissing(ctx, conn); err != nil {
		return nil, err
	}
	if w.qaMissing, err = qaMissing(ctx, conn); err != nil {
		return nil, err
	}
	if w.campaignsMissing, err = campaignsMissing(ctx, conn); err != nil {
		return nil, err
	}
	w.mem.Marketing.OnChange(w.dirty.changed)
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM rm_reviews), (SELECT count(*) FROM rm_followups)").
		Scan(&w.reviews, &w.follows); err != nil {
		return nil, unavailable("read models: log lengths", err)
	}
	return w, nil
}

// projections returns the folds followed by the dirty tracker.
func (w *writer) projections() []projections.Projection {
	return append(w.mem.Projections(), w.dirty, w.search)
}

// Commit writes every entity the events up to pos touched, with the
// checkpoint pos, in one transaction. Positions already in the table (a
// replay after a restart) are only folded in memory.
func (w *writer) Commit(ctx context.Context, pos events.Position) error {
	if !w.last.Less(pos) {
		w.dirty.reset()
		if pos == w.last {
			if err := w.fillBriefs(ctx); err != nil {
				return err
			}
			if err := w.fillQA(ctx); err != nil {
				return err
			}
			if err := w.fillCampaigns(ctx); err != nil {
				return err
			}
		}
		return w.searchReplayed(ctx, pos)
	}
	if err := w.fillBriefs(ctx); err != nil {
		return err
	}
	if err := w.fillQA(ctx); err != nil {
		return err
	}
	if w.campaignsMissing { // the batch's own commit writes them all
		w.everyCampaign()
	}
	b, err := w.batch(ctx)
	if err != nil {
		return err
	}
	if err := w.write(ctx, pos, b); err != nil {
		return &commitError{err}
	}
	w.last = pos
	w.campaignsMissing = false
	w.reviews, w.follows = len(w.mem.Calls.Reviews()), len(w.mem.Calls.FollowUps())
	w.dirty.reset()
	if w.onLast != nil {
		w.onLast(pos)
	}
	return nil
}

// write runs one transaction: the fenced checkpoint update first (so a
// rebuild's swap, which locks rm_checkpoint, never waits on a writer that
// holds other tables), then the rows, then the NOTIFY.
func (w *writer) write(ctx context.Context, pos events.Position, b *pgx.Batch) error {
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return unavailable("read models: begin", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, `UPDATE rm_checkpoint SET commit_pos = $1, prepare_pos = $2, updated_at = now()
		WHERE commit_pos = $3 AND prepare_pos = $4`, int64(pos.Commit), int64(pos.Prepare), int64(w.last.Commit), int64(w.last.Prepare))
	if err != nil {
		return unavailable("read models: checkpoint", err)
	}
	if tag.RowsAffected() != 1 {
		return errFenced
	}
	b.Queue("SELECT pg_notify($1, $2)", channel(w.schema), pos.String())
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return unavailable("read models: write rows", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return unavailable("read models: commit", err)
	}
	return nil
}

// batch encodes the dirty entities' current state as one upsert per table.
func (w *writer) batch(ctx context.Context) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	w.markChains() // merge.go
	customers := func(b *pgx.Batch) error { return w.customerRows(ctx, b, sortedKeys(w.dirty.customers)) }
	for _, add := range []func(*pgx.Batch) error{customers, w.advisors, w.calls, w.points, w.logs, w.staff, w.aggregates, w.qaAggregate,
		w.campaignRows, w.targetRows, w.tierAggregate, w.searchTerms, w.duplicatePairs, w.withheldValues} {
		if err := add(b); err != nil {
			return nil, fmt.Errorf("read models: encode: %w", err)
		}
	}
	return b, nil
}

func sortedKeys(m map[string]struct{}) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// customerRows queues the upsert of customers ids from the folds (those
// they hold): state, brief and facts, with the columns the queries filter
// on.
func (w *writer) customerRows(ctx context.Context, b *pgx.Batch, customerIDs []string) error {
	var ids, advisors, tiers []string
	var profits []*int64
	var staleAt []int64
	var states, sealed, briefs, briefsSealed, facts [][]byte
	for _, id := range customerIDs {
		r, ok := w.mem.Customers.Record(id)
		if !ok {
			continue
		}
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		js, blob, err := w.seal(ctx, id, js)
		if err != nil {
			return err
		}
		brief, briefBlob, err := w.seal(ctx, id, r.MarshalBrief())
		if err != nil {
			return err
		}
		var profit *int64
		if p, ok := r.Profit(); ok {
			profit = &p
		}
		ids, advisors, tiers = append(ids, id), append(advisors, r.AdvisorID()), append(tiers, r.Tier())
		profits, staleAt, states, sealed = append(profits, profit), append(staleAt, r.StaleAt().Unix()), append(states, js), append(sealed, blob)
		briefs, briefsSealed, facts = append(briefs, brief), append(briefsSealed, briefBlob), append(facts, r.MarshalFacts())
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_customers (id, advisor_id, tier, profit, stale_at, state, sealed, brief, brief_sealed, facts, brief_xact)
			SELECT *, pg_current_xact_id() FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::jsonb[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[])
			ON CONFLICT (id) DO UPDATE SET advisor_id = EXCLUDED.advisor_id, tier = EXCLUDED.tier,
				profit = EXCLUDED.profit, stale_at = EXCLUDED.stale_at, state = EXCLUDED.state, sealed = EXCLUDED.sealed,
				brief = EXCLUDED.brief, brief_sealed = EXCLUDED.brief_sealed, facts = EXCLUDED.facts, brief_xact = EXCLUDED.brief_xact`,
			ids, advisors, tiers, profits, staleAt, states, sealed, briefs, briefsSealed, facts)
	}
	return nil
}

// seal returns a customer's row data as it is stored: in clear without a
// cipher, else sealed under the customer's own data key (plain nil) —
// or in clear once that key is destroyed, when the fold state holds no
// personal data.
func (w *writer) seal(ctx context.Context, id string, js []byte) (plain, sealed []byte, err error) {
	if w.cipher == nil {
		return js, nil, nil
	}
	if sealed, err = w.cipher.Seal(ctx, id, js); err != nil || sealed == nil {
		return js, nil, err
	}
	return nil, sealed, nil
}

func (w *writer) advisors(b *pgx.Batch) error {
	var ids []string
	for _, id := range sortedKeys(w.dirty.advisors) {
		if w.mem.Customers.HasBook(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_advisors (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, ids)
	}
	return nil
}

func (w *writer) calls(b *pgx.Batch) error { return w.callRows(b, sortedKeys(w.dirty.calls)) }

// callRows queues the upsert of calls ids from the folds (those they hold)
// with the columns the queries filter on.
func (w *writer) callRows(b *pgx.Batch, callIDs []string) error {
	var ids, sups []string
	var queued []bool
	var states [][]byte
	var qa callQA
	for _, id := range callIDs {
		v, q, ok := w.mem.Calls.CallRecord(id)
		if !ok {
			continue
		}
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		sup := ""
		if v.Selection != nil {
			sup = v.Selection.SupervisorID
		}
		if err := qa.add(v); err != nil {
			return err
		}
		ids, sups, queued, states = append(ids, id), append(sups, sup), append(queued, q), append(states, js)
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_calls (id, supervisor_id, queued, state, rep_id, reviewer_id, reviewed_at, open_dispute, dispute_ids)
			SELECT u.id, u.sup, u.queued, u.state, u.rep, u.reviewer, u.reviewed, u.open, ARRAY(SELECT jsonb_array_elements_text(u.disputes))
			FROM unnest($1::text[], $2::text[], $3::bool[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[], $8::bool[], $9::jsonb[])
				AS u(id, sup, queued, state, rep, reviewer, reviewed, open, disputes)
			ON CONFLICT (id) DO UPDATE SET supervisor_id = EXCLUDED.supervisor_id, queued = EXCLUDED.queued, state = EXCLUDED.state,
				rep_id = EXCLUDED.rep_id, reviewer_id = EXCLUDED.reviewer_id, reviewed_at = EXCLUDED.reviewed_at,
				open_dispute = EXCLUDED.open_dispute, dispute_ids = EXCLUDED.dispute_ids`,
			ids, sups, queued, states, qa.reps, qa.reviewers, qa.reviewed, qa.open, qa.disputes)
	}
	return nil
}

func (w *writer) points(b *pgx.Batch) error { return w.pointRows(b, sortedKeys(w.dirty.points)) }

// pointRows queues the upsert of coaching points ids from the folds (those
// they hold).
func (w *writer) pointRows(b *pgx.Batch, pointIDs []string) error {
	var ids, reps, statuses, checkers []string
	var due []time.Time
	var states [][]byte
	for _, id := range pointIDs {
		p, ok := w.mem.Calls.PointRecord(id)
		if !ok {
			continue
		}
		js, err := json.Marshal(p)
		if err != nil {
			return err
		}
		checker := ""
		if n := len(p.History); n > 0 {
			checker = p.History[n-1].CheckerID
		}
		ids, reps, statuses, checkers = append(ids, id), append(reps, p.RepID), append(statuses, p.Status), append(checkers, checker)
		due, states = append(due, p.FollowUpDue), append(states, js)
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_coaching_points (id, rep_id, status, last_checker, due_at, state)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
			ON CONFLICT (id) DO UPDATE SET rep_id = EXCLUDED.rep_id, status = EXCLUDED.status,
				last_checker = EXCLUDED.last_checker, due_at = EXCLUDED.due_at, state = EXCLUDED.state`,
			ids, reps, statuses, checkers, due, states)
	}
	return nil
}

// followUp is the stored form of a follow-up check: FollowUpResult hides
// the rep from the API's JSON, the coaching report needs it.
type followUp struct {
	projections.FollowUpResult
	RepID string `json:"repId"`
}

// logs appends the review scores and follow-up checks past those stored.
func (w *writer) logs(b *pgx.Batch) error {
	add := func(table string, from int, n int, enc func(i int) ([]byte, error)) error {
		if n <= from {
			return nil
		}
		seqs := make([]int64, 0, n-from)
		states := make([][]byte, 0, n-from)
		for i := from; i < n; i++ {
			js, err := enc(i)
			if err != nil {
				return err
			}
			seqs, states = append(seqs, int64(i)), append(states, js)
		}
		b.Queue(`INSERT INTO `+table+` (seq, state) SELECT * FROM unnest($1::int8[], $2::jsonb[])`, seqs, states)
		return nil
	}
	rs, fs := w.mem.Calls.Reviews(), w.mem.Calls.FollowUps()
	if err := add("rm_reviews", w.reviews, len(rs), func(i int) ([]byte, error) { return json.Marshal(rs[i]) }); err != nil {
		return err
	}
	return add("rm_followups", w.follows, len(fs), func(i int) ([]byte, error) {
		return json.Marshal(followUp{FollowUpResult: fs[i], RepID: fs[i].RepID})
	})
}

// aggCounters is the rm_aggregates row of the pitch and request counters.
const aggCounters = "counters"

func (w *writer) aggregates(b *pgx.Batch) error {
	return aggregate(b, w.dirty.aggregates, aggCounters, w.mem.Counters)
}

// aggregate queues the upsert of the rm_aggregates row name holding v, if
// the batch touched it (dirty).
func aggregate(b *pgx.Batch, dirty bool, name string, v any) error {
	if !dirty {
		return nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO rm_aggregates (name, state) VALUES ($1, $2::jsonb)
		ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state`, name, js)
	return nil
}

// aggregateRow returns the state of the rm_aggregates row name, or nil if
// there is none.
func (s *Store) aggregateRow(ctx context.Context, name string) ([]byte, error) {
	var js []byte
	err := s.retry(ctx, func() error {
		err := s.pool.QueryRow(ctx, "SELECT state FROM rm_aggregates WHERE name = $1", name).Scan(&js)
		if errors.Is(err, pgx.ErrNoRows) {
			js = nil
			return nil
		}
		return err
	})
	if err != nil {
		return nil, unavailable("read models: "+name, err)
	}
	return js, nil
}

// restore returns the reactors of this term and the position the runner
// starts after: the folds (w.mem and the reactors) restored from the
// stored snapshot when it is usable — at or before the table checkpoint,
// whole, of this log and of folds like this binary's — so that only the
// log after it is replayed (in memory up to the checkpoint); else fresh
// ones and the log's start. A refused snapshot is logged.
func (w *writer) restore(ctx context.Context, l Log) ([]projections.Reactor, events.Position, error) {
	reactors := func() []projections.Reactor {
		if l.Reactors == nil {
			return nil
		}
		return l.Reactors()
	}
	rs := reactors()
	var at events.Position
	var size int64
	err := w.conn.QueryRow(ctx, "SELECT commit_pos, prepare_pos, bytes FROM rm_snapshot").Scan(&at.Commit, &at.Prepare, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return rs, events.Position{}, nil
	}
	if err != nil {
		return nil, events.Position{}, unavailable("read models: snapshot", err)
	}
	info, err := w.readSnapshot(ctx, l.Source, rs, at, size)
	if err == nil {
		w.log.Info("read-model writer restored its folds from a snapshot", "position", info.Position.String(), "checkpoint", w.last.String())
		return rs, info.Position, nil
	}
	if events.ErrorCode(err) == events.Unavailable {
		return nil, events.Position{}, err
	}
	w.log.Warn("read-model snapshot refused; replaying the whole log", "position", at.String(), "err", err.Error())
	w.mem = projections.NewMemory()
	w.mem.Marketing.OnChange(w.dirty.changed)
	return reactors(), events.Position{}, nil
}

func (w *writer) readSnapshot(ctx context.Context, src projections.Source, rs []projections.Reactor, at events.Position, size int64) (projections.SnapshotInfo, error) {
	if w.last.Less(at) {
		return projections.SnapshotInfo{}, fmt.Errorf("snapshot at %s is past the checkpoint %s", at, w.last)
	}
	rows, err := w.conn.Query(ctx, "SELECT data FROM rm_snapshot_chunks ORDER BY seq")
	if err != nil {
		return projections.SnapshotInfo{}, unavailable("read models: snapshot", err)
	}
	defer rows.Close()
	h, err := projections.OpenSnapshot(ctx, &chunkReader{rows: rows, size: size}, size, src, projections.SnapshotRoots(w.mem.Projections(), rs), w.keys)
	if rerr := rows.Err(); rerr != nil {
		return h.Info, unavailable("read models: snapshot", rerr)
	}
	if err != nil {
		return h.Info, err
	}
	if h.Info.Position != at {
		return h.Info, fmt.Errorf("snapshot rows at %s hold one at %s", at, h.Info.Position)
	}
	return h.Info, nil
}

// chunkReader reads the snapshot's chunks in order as one stream of size
// bytes (rm_snapshot.bytes).
type chunkReader struct {
	rows pgx.Rows
	cur  []byte
	size int64
}

// Size returns the snapshot's size, which bounds the lengths it holds.
func (c *chunkReader) Size() int64 { return c.size }

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if !c.rows.Next() {
			return 0, io.EOF
		}
		if err := c.rows.Scan(&c.cur); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// snapshotChunk is the size of a stored snapshot's rows.
const snapshotChunk = 8 << 20

// snapshotter returns the runner's AfterBatch: every `every` events, and
// at once after an erasure, it replaces the stored snapshot by one of
// roots at the batch's last event, in one transaction on the writer's
// connection. With every 0 (none stored) an erasure removes the stored
// snapshot an earlier writer left, its key destroyed. Until *caughtUp
// (the runner's CaughtUp, set once the runner is made) is closed it
// writes none: the batch that catches up writes one if the replay met the
// count or held an erasure. A failure is logged; the writer goes on.
func (w *writer) snapshotter(every uint64, roots []projections.Projection, caughtUp *<-chan struct{}) func(events.Position, []projections.Event, func(func())) {
	var since uint64
	erased := false
	return func(prev events.Position, batch []projections.Event, view func(func())) {
		if len(batch) == 0 {
			return
		}
		since += uint64(len(batch))
		info, erasure := projections.SnapshotAfter(prev, batch)
		erased = erased || erasure
		if (every == 0 || since < every) && !erased {
			return
		}
		select {
		case <-*caughtUp:
		default:
			return // replaying
		}
		var err error
		if every == 0 {
			err = w.dropSnapshot(context.Background())
		} else {
			view(func() { err = w.writeSnapshot(context.Background(), info, roots) })
		}
		if err != nil {
			w.log.Warn("read-model snapshot not stored", "position", info.Position.String(), "err", err.Error())
			return
		}
		since, erased = 0, false
		if every == 0 {
			w.log.Info("read-model snapshot removed after an erasure", "position", info.Position.String())
			return
		}
		w.log.Info("read-model snapshot stored", "position", info.Position.String())
	}
}

// writeSnapshot replaces the stored snapshot by one of roots at info,
// sealed under a new data key, and destroys the replaced one's key before
// the commit: every copy of an older snapshot (old row versions, WAL,
// backups) is then ciphertext under a destroyed key. Should the commit
// fail, the rows left hold a snapshot whose key is gone: refused, a full
// replay.
func (w *writer) writeSnapshot(ctx context.Context, info projections.SnapshotInfo, roots []projections.Projection) (err error) {
	var key string // the new snapshot's, destroyed unless it is committed
	defer func() {
		if err != nil && key != "" {
			w.keys.Destroy(context.WithoutCancel(ctx), key)
		}
	}()
	return w.replaceSnapshot(ctx, func(tx pgx.Tx) error {
		cw := &chunkWriter{ctx: ctx, tx: tx}
		h, err := projections.SealSnapshot(ctx, cw, info, roots, w.keys, false)
		if err != nil {
			return err // SealSnapshot destroyed its key
		}
		key = h.Key
		if err := cw.flush(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO rm_snapshot (id, commit_pos, prepare_pos, chunks, bytes) VALUES (1, $1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET commit_pos = EXCLUDED.commit_pos, prepare_pos = EXCLUDED.prepare_pos,
			chunks = EXCLUDED.chunks, bytes = EXCLUDED.bytes, written_at = now()`,
			int64(info.Position.Commit), int64(info.Position.Prepare), cw.seq, cw.bytes)
		return err
	})
}

// dropSnapshot removes the stored snapshot, its key destroyed before the
// commit.
func (w *writer) dropSnapshot(ctx context.Context) error { return w.replaceSnapshot(ctx, nil) }

// replaceSnapshot destroys the stored snapshot's key and deletes its
// chunks, then has write store the new one (nil: none, the snapshot's row
// deleted too), in one transaction.
func (w *writer) replaceSnapshot(ctx context.Context, write func(pgx.Tx) error) error {
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := destroySnapshotKey(ctx, tx, "rm_snapshot_chunks", w.keys); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "DELETE FROM rm_snapshot_chunks"); err != nil {
		return err
	}
	if write == nil {
		_, err = tx.Exec(ctx, "DELETE FROM rm_snapshot")
	} else {
		err = write(tx)
	}
	if err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// destroySnapshotKey destroys in keys the data key of the snapshot that
// table (rm_snapshot_chunks, qualified or not) holds, read from its clear
// header through q. None stored, no keys, or a header that is not a sealed
// snapshot's (one written before snapshots were sealed: it has no key):
// nothing to destroy.
func destroySnapshotKey(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string, keys projections.SnapshotKeys) error {
	var head []byte
	err := q.QueryRow(ctx, "SELECT substring(data from 1 for 65536) FROM "+table+" WHERE seq = 0").Scan(&head)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || keys == nil:
		return nil
	case err != nil:
		return unavailable("read models: snapshot", err)
	}
	h, err := projections.ReadSealedHeader(bytes.NewReader(head))
	if err != nil {
		return nil
	}
	if err := keys.Destroy(ctx, h.Key); err != nil {
		return fmt.Errorf("destroy the replaced snapshot's key: %w", err)
	}
	return nil
}

// chunkWriter stores what is written to it as rm_snapshot_chunks rows.
type chunkWriter struct {
	ctx   context.Context
	tx    pgx.Tx
	buf   bytes.Buffer
	seq   int
	bytes int64
	err   error
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf.Write(p)
	for c.err == nil && c.buf.Len() >= snapshotChunk {
		c.err = c.insert(c.buf.Next(snapshotChunk))
	}
	return len(p), c.err
}

func (c *chunkWriter) insert(b []byte) error {
	_, err := c.tx.Exec(c.ctx, "INSERT INTO rm_snapshot_chunks (seq, data) VALUES ($1, $2)", c.seq, b)
	c.seq++
	c.bytes += int64(len(b))
	return err
}

func (c *chunkWriter) flush() error {
	if c.err == nil && c.buf.Len() > 0 {
		c.err = c.insert(c.buf.Bytes())
	}
	return c.err
}
