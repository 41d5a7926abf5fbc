package postgres

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// DefaultSchema is the schema the read-model tables live in unless
// Options.Schema says otherwise.
const DefaultSchema = "dangol_rm"

// Options configure a Store.
type Options struct {
	// Schema holds the rm_* tables (default DefaultSchema). Rebuild builds
	// into Schema+"_next" and swaps it in.
	Schema string
	// Logger receives role changes and retried failures; never personal data.
	Logger *slog.Logger
	// PollInterval is how often a process re-reads the checkpoint when no
	// NOTIFY arrives (default 1s).
	PollInterval time.Duration
	// ElectionInterval is how often a process that is not the writer tries
	// to become it, and how long the writer waits after a failure before
	// standing again (default 2s).
	ElectionInterval time.Duration
	// MaxBatch is how many events the writer applies and commits per
	// transaction (default 1024).
	MaxBatch int
	// Cipher, if set, seals each customer's row with that customer's data
	// key (pii.Sealer.SealBlob), so that destroying the key for an erasure
	// also makes every stored copy of the row unreadable: old row
	// versions, WAL, backups. Every process of a deployment must use the
	// same setting.
	Cipher RowCipher
	// SearchIndex, if set, keeps rm_search: each customer's search terms
	// (pii.BlindIndex.Terms, keyed HMACs of the name and phone), which
	// FindCustomers looks up; nil keeps none, and FindCustomers finds no
	// one. Every process of a deployment must use the same index: a
	// writer with another (or none) rewrites the table whole.
	SearchIndex projections.SearchIndex
	// Survivorship is the rule the writer picks each profile field's
	// surviving claim by (nil: projections.DefaultSurvivorship). The rows
	// hold what it picked: every process of a deployment should use the
	// same rule, and a changed one reaches every customer with Rebuild.
	Survivorship *projections.Survivorship
	// Now is the clock lag is measured with (default events.SystemClock).
	Now events.Clock
	// SnapshotEvery is how many events the writer folds between the
	// snapshots of its folds it stores (rm_snapshot; a new writer restores
	// the latest and replays the log after it): default 1,000,000; a
	// negative value stores none (the one an earlier writer stored is
	// still restored, and removed, its key destroyed, at an erasure).
	SnapshotEvery int
	// SnapshotKeys is where each stored snapshot's data key is created and
	// destroyed (the customers' key store): the rows hold the snapshot
	// sealed under it. Nil: no snapshot is stored or restored.
	SnapshotKeys projections.SnapshotKeys
}

// RowCipher seals and opens customer rows.
type RowCipher interface {
	// Seal returns the sealed row, or nil and no error when the customer's
	// key has been destroyed: the row is then stored in clear, the fold
	// having already erased its personal fields.
	Seal(ctx context.Context, customerID string, plain []byte) ([]byte, error)
	// Open returns the row Seal sealed.
	Open(ctx context.Context, customerID string, sealed []byte) ([]byte, error)
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = events.SystemClock
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.ElectionInterval <= 0 {
		o.ElectionInterval = 2 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
}

// Store is the PostgreSQL read store: the queries of projections.Memory
// answered from the rm_* tables, and the progress (api.Progress) of the
// table checkpoint. Run keeps the tables current when this process is the
// elected writer and follows the checkpoint otherwise.
type Store struct {
	pool *pgxpool.Pool
	cfg  *pgxpool.Config
	opt  Options
	log  *slog.Logger

	mark     projections.Watermark // the table checkpoint as last seen
	src      atomic.Pointer[projections.Source]
	head     atomic.Pointer[events.Position] // the log's head when Run started
	caughtUp chan struct{}
	caught   sync.Once
	writer   atomic.Bool
	runner   atomic.Pointer[projections.Runner] // the writer's, while this process writes (run.go)
}

// Open connects to the database at url, creates the schema and applies the
// embedded migrations it lacks, and reads the checkpoint. Open does not
// write read models; Run does.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt.defaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, events.Errorf(events.Invalid, "read models: database url: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "dangol-read-models"
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, unavailable("read models: connect", err)
	}
	err = migrate(ctx, conn, opt.Schema)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable("read models: pool", err)
	}
	s := &Store{pool: pool, cfg: cfg, opt: opt, log: opt.Logger, caughtUp: make(chan struct{})}
	pos, err := readCheckpoint(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.advance(pos)
	return s, nil
}

// Close closes the connection pool. Stop Run first.
func (s *Store) Close() { s.pool.Close() }

// Schema returns the schema the tables live in.
func (s *Store) Schema() string { return s.opt.Schema }

// IsWriter reports whether this process currently holds the writer lease.
func (s *Store) IsWriter() bool { return s.writer.Load() }

// Position returns the checkpoint of the tables as this process last saw
// it: every query answers from tables at least this current.
func (s *Store) Position() events.Position { return s.mark.Position() }

// CaughtUp is closed once the tables' checkpoint has reached the log's head
// as it was when Run started.
func (s *Store) CaughtUp() <-chan struct{} { return s.caughtUp }

// WaitFor blocks until the tables include the event at pos (so a reader
// sees its own write), or ctx ends.
func (s *Store) WaitFor(ctx context.Context, pos events.Position) error {
	return s.mark.WaitFor(ctx, pos)
}

// Waiters returns how many WaitFor calls are waiting (Watermark.Waiters).
func (s *Store) Waiters() int { return s.mark.Waiters() }

// Lag returns how far the tables are behind the log's head
// (projections.LagBehind); zero until Run has started.
func (s *Store) Lag(ctx context.Context) (behind uint64, seconds float64, err error) {
	src := s.src.Load()
	if src == nil {
		return 0, 0, nil
	}
	return projections.LagBehind(ctx, *src, s.Position(), s.opt.Now())
}

// advance raises the known checkpoint to pos (never lowers it), wakes the
// waiters it satisfies and marks the store caught up once it reaches the
// head Run started at.
func (s *Store) advance(pos events.Position) {
	if s.mark.Advance(pos) {
		s.checkCaughtUp()
	}
}

func (s *Store) checkCaughtUp() {
	if h := s.head.Load(); h != nil && !s.Position().Less(*h) {
		s.caught.Do(func() { close(s.caughtUp) })
	}
}

// querier is a pool, a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readCheckpoint(ctx context.Context, q querier) (events.Position, error) {
	var c, p int64
	if err := q.QueryRow(ctx, "SELECT commit_pos, prepare_pos FROM rm_checkpoint").Scan(&c, &p); err != nil {
		return events.Position{}, unavailable("read models: checkpoint", err)
	}
	return events.Position{Commit: uint64(c), Prepare: uint64(p)}, nil
}

// unavailable wraps a database failure with code Unavailable; the cause
// stays reachable (errors.Is(err, context.Canceled) still works).
func unavailable(what string, err error) error {
	return &events.Error{Code: events.Unavailable, Message: what, Err: err}
}
