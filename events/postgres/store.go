package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/groupcommit"
)

// Options tune a Store. Zero values take the defaults.
type Options struct {
	// Migrate applies missing schema migrations at Open. Without it, Open
	// refuses a database whose schema is behind (run `dangol migrate`).
	Migrate bool
	// MaxConns bounds the connection pool (default 16).
	MaxConns int32
	// MaxBatch bounds the Append and AppendBatch calls committed in one
	// transaction (default 512).
	MaxBatch int
	// PollInterval is how often an idle subscription reads the log when no
	// notification arrives: the fallback for a lost LISTEN connection
	// (default 500ms).
	PollInterval time.Duration
	// NotifyInterval is the least time between two NOTIFYs of this store,
	// which wake other processes' subscriptions. They are sent by
	// themselves after the commits they announce, so a commit waits for
	// none: a commit this long after the last NOTIFY is announced at once,
	// one sooner when the interval ends (default 20ms; negative: every
	// commit notifies in its transaction).
	NotifyInterval time.Duration
	// Logger receives connection-loss and recovery messages.
	Logger *slog.Logger
	// Now stamps each append's recordedAt (default events.SystemClock).
	Now events.Clock

	tracer pgx.QueryTracer // traces the pool's connections (tests count round trips)
}

func (o *Options) defaults() {
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.NotifyInterval == 0 {
		o.NotifyInterval = 20 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = events.SystemClock
	}
}

// notifyChannel is the LISTEN/NOTIFY channel an append notifies on commit.
const notifyChannel = "dangol_events"

// Store is the PostgreSQL events.Store. It is safe for concurrent use, and
// any number of Stores (in any number of processes) may share a database.
type Store struct {
	pool *pgxpool.Pool
	opt  Options

	q    *groupcommit.Queue[[]*appendReq] // an Append's request, or an AppendBatch's
	held heldHeads                        // under committing
	// committing is held by whoever commits: the committer goroutine, or
	// an Append that was the only one in flight (inflight).
	committing sync.Mutex
	inflight   atomic.Int64
	notes      *notifier
	closing    chan struct{} // closed by Close
	bg         sync.WaitGroup
	cancel     context.CancelFunc // stops the listener
	once       sync.Once

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced whenever the log may have grown
}

var _ events.Store = (*Store)(nil)

// Open connects to the database at url (a PostgreSQL connection string),
// checks or applies the schema, and starts the committer and the
// notification listener. An unreachable database is an error with code
// Unavailable.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt.defaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, events.Errorf(events.Invalid, "postgres url: %v", redact(err))
	}
	cfg.MaxConns = opt.MaxConns
	cfg.ConnConfig.Tracer = opt.tracer
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable("connect", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, unavailable("connect", err)
	}
	if err := checkSchema(ctx, pool, opt.Migrate); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, opt: opt, q: groupcommit.New[[]*appendReq](opt.MaxBatch),
		closing: make(chan struct{}), wake: make(chan struct{})}
	s.notes = &notifier{every: opt.NotifyInterval, send: s.notifyAlone}
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.bg.Add(1)
	go s.listen(lctx, cfg.ConnConfig.Copy())
	go s.q.Run(s.commitCalls)
	return s, nil
}

func checkSchema(ctx context.Context, pool *pgxpool.Pool, migrate bool) error {
	if migrate {
		_, err := Migrate(ctx, pool)
		return err
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('dangol_schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return unavailable("read schema", err)
	}
	v := 0
	if exists {
		var err error
		if v, err = schemaVersion(ctx, pool); err != nil {
			return err
		}
	}
	if v != SchemaVersion() {
		return fmt.Errorf("postgres: the database schema is at version %d, this build needs %d: run `dangol migrate`", v, SchemaVersion())
	}
	return nil
}

// Pool is the store's connection pool, for read models kept in the same
// database.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops the committer (queued appends fail with ErrClosed), ends
// subscriptions with ErrClosed and closes the pool. Closing twice is harmless.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closing)
		s.q.Close()
		s.notes.close()
		s.cancel()
		s.bg.Wait()
		s.pool.Close()
	})
	return nil
}

func (s *Store) alive(ctx context.Context) error {
	select {
	case <-s.closing:
		return events.ErrClosed
	default:
	}
	return ctx.Err()
}

// Head returns the position of the last committed event.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.alive(ctx); err != nil {
		return events.Position{}, err
	}
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT seq FROM dangol_log_head`).Scan(&seq); err != nil {
		return events.Position{}, s.translate(ctx, "read head", err)
	}
	return events.At(uint64(seq)), nil
}

// ReadStream returns up to limit events of stream from version from, in
// direction dir. A stream that does not exist is NotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT seq, record FROM dangol_events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3`
	start := int64(min(from, 1<<62))
	if dir == events.Backward {
		q = `SELECT seq, record FROM dangol_events WHERE stream = $1 AND version <= $2 ORDER BY version DESC LIMIT $3`
	}
	out, err := s.query(ctx, limit, q, stream, start, limit)
	if err != nil || len(out) > 0 {
		return out, err
	}
	var version int64
	err = s.pool.QueryRow(ctx, `SELECT version FROM dangol_streams WHERE stream = $1`, stream).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && version < 0 {
		return nil, events.Errorf(events.NotFound, "stream %s not found", stream)
	}
	if err != nil {
		return nil, s.translate(ctx, "read stream", err)
	}
	return out, nil
}

// ReadAll returns up to limit events with position after from, in order.
func (s *Store) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	return s.query(ctx, limit, `SELECT seq, record FROM dangol_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
		int64(min(from.Seq(), 1<<62)), limit)
}

// query runs a (seq, record) query and decodes the rows. Records are copied
// into shared arenas (one allocation per ~1 MiB instead of one per row).
func (s *Store) query(ctx context.Context, hint int, sql string, args ...any) ([]events.Envelope, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.translate(ctx, "read", err)
	}
	defer rows.Close()
	out := make([]events.Envelope, 0, min(hint, 4096))
	var arena []byte
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != 2 || len(raw[0]) != 8 {
			return nil, events.Errorf(events.Internal, "postgres: unexpected row shape")
		}
		seq := binary.BigEndian.Uint64(raw[0]) // bigint, binary format
		rec := raw[1]
		if cap(arena)-len(arena) < len(rec) {
			arena = make([]byte, 0, max(1<<20, len(rec)))
		}
		at := len(arena)
		arena = append(arena, rec...)
		var env events.Envelope
		if err := events.DecodeRecord(arena[at:len(arena):len(arena)], &env); err != nil {
			return nil, fmt.Errorf("postgres: event at %d: %w", seq, err)
		}
		env.Position = events.At(seq)
		out = append(out, env)
	}
	if err := rows.Err(); err != nil {
		return nil, s.translate(ctx, "read", err)
	}
	return out, nil
}

// translate turns a driver error into an events.Error: a cancelled ctx is
// returned as is, a closed store is ErrClosed, and anything from the
// connection or server is Unavailable.
func (s *Store) translate(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case <-s.closing:
		return events.ErrClosed
	default:
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code[:2] != "08" && pgErr.Code[:2] != "57" && pgErr.Code[:2] != "53" {
		return &events.Error{Code: events.Internal, Message: "postgres: " + what, Err: err}
	}
	return unavailable(what, err)
}

func unavailable(what string, err error) error {
	return &events.Error{Code: events.Unavailable, Message: "postgres unavailable: " + what, Err: redact(err)}
}

// redact keeps a connection error's message but drops the connection
// string, which may carry a password.
func redact(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errors.New("cannot connect to the database: " + errors.Unwrap(ce).Error())
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// signal wakes every subscription waiting for the log to grow.
func (s *Store) signal() {
	s.wakeMu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.wakeMu.Unlock()
}

func (s *Store) waitCh() <-chan struct{} {
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	return s.wake
}

// listen keeps one connection LISTENing for commits of any process and
// wakes the subscriptions on each. When the connection is lost it wakes
// them anyway (they fall back to polling) and reconnects with backoff.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer s.bg.Done()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg, &backoff)
		if ctx.Err() != nil {
			return
		}
		s.opt.Logger.Warn("postgres: notification listener lost; subscriptions poll until it is back", "err", redact(err).Error())
		s.signal()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, backoff *time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	*backoff = 50 * time.Millisecond
	s.signal() // anything committed while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.signal()
	}
}

// UsedBytes is the size of the log's tables with their indexes and TOAST.
func (s *Store) UsedBytes() (int64, error) {
	var n int64
	err := s.pool.QueryRow(context.Background(),
		`SELECT pg_total_relation_size('dangol_events') + pg_total_relation_size('dangol_streams')`).Scan(&n)
	return n, err
}
