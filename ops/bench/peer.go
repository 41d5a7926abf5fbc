package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
)

// messageDBFiles are the files of Message DB's database/ directory that
// its write path needs, in the order its install scripts apply them. The
// project ships none of Message DB's code: the operator points the bench at
// a checkout of it (github.com/message-db/message-db). Left out: the
// pgcrypto extension (gen_random_uuid is built in since PostgreSQL 13), the
// read functions, views, role and privileges.
var messageDBFiles = []string{
	"schema/message-store.sql",
	"tables/messages.sql",
	"functions/hash-64.sql",
	"functions/acquire-lock.sql",
	"functions/category.sql",
	"functions/stream-version.sql",
	"functions/write-message.sql",
	"indexes/messages-id.sql",
	"indexes/messages-stream.sql",
	"indexes/messages-category.sql",
}

// messageDBSQL reads Message DB's write path from dir, the database/
// directory of a checkout of it.
func messageDBSQL(dir string) (string, error) {
	var b strings.Builder
	for _, f := range messageDBFiles {
		sql, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return "", fmt.Errorf("message db: %w (want the database/ directory of a checkout of github.com/message-db/message-db)", err)
		}
		b.Write(sql)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// MessageDB is Message DB (github.com/message-db/message-db 1.3.0) as a peer
// for Appends: each event is one call of its write_message, in autocommit as
// its clients call it, with the expected version of the stream. It only
// appends; the events.Store reads answer an Invalid error.
type MessageDB struct {
	pool *pgxpool.Pool
}

var _ events.Store = (*MessageDB)(nil)

// OpenMessageDB installs Message DB's write path, read from dir (the
// database/ directory of a checkout of it), into the empty database at url
// and connects up to maxConns sessions (one per writer, as a process of
// its clients holds one).
func OpenMessageDB(ctx context.Context, url, dir string, maxConns int32) (*MessageDB, error) {
	install, err := messageDBSQL(dir)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("message db: %w", err)
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = "message_store"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("message db: %w", err)
	}
	// Several statements in one simple-protocol Exec, as psql -f runs them.
	if _, err := pool.Exec(ctx, install, pgx.QueryExecModeSimpleProtocol); err != nil {
		pool.Close()
		return nil, fmt.Errorf("message db: install: %w", err)
	}
	return &MessageDB{pool: pool}, nil
}

// Append writes evs with write_message, one call per event, all in one
// transaction when there are several. expected maps to write_message's
// expected_version: Exact(v) is v, NoStream -1, Any none; StreamExists is
// refused (Message DB has no such check).
func (m *MessageDB) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if err := events.CheckAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	var want *int64
	switch v, exact := expected.IsExact(); {
	case exact:
		w := int64(v)
		want = &w
	case expected == events.NoStream:
		w := int64(-1)
		want = &w
	case expected != events.Any:
		return events.AppendResult{}, events.Errorf(events.Invalid, "message db: expected version %s is not supported", expected)
	}
	b := &pgx.Batch{}
	if len(evs) > 1 {
		b.Queue(`BEGIN`)
	}
	var last int64
	ids := make([]string, len(evs))
	for i, ev := range evs {
		meta, err := json.Marshal(map[string]any{"schema": ev.Schema, "occurredAt": ev.OccurredAt, "actor": ev.Actor,
			"correlationId": ev.CorrelationID, "causationId": ev.CausationID})
		if err != nil {
			return events.AppendResult{}, err
		}
		var ev0 *int64
		if want != nil {
			w := *want + int64(i)
			ev0 = &w
		}
		ids[i] = ev.ID.String()
		b.Queue(`SELECT write_message($1::varchar, $2::varchar, $3::varchar, $4::jsonb, $5::jsonb, $6::bigint)`,
			uuid.UUID(ev.ID).String(), stream, ev.Type, []byte(ev.Data), meta, ev0).QueryRow(func(row pgx.Row) error {
			return row.Scan(&last)
		})
	}
	if len(evs) > 1 {
		b.Queue(`COMMIT`)
	}
	if err := m.pool.SendBatch(ctx, b).Close(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Message, "Wrong expected version") {
			return events.AppendResult{}, events.Errorf(events.Conflict, "message db: %s", pgErr.Message)
		}
		return events.AppendResult{}, fmt.Errorf("message db: write_message: %w", err)
	}
	return events.AppendResult{Stream: stream, Version: uint64(last), EventIDs: ids}, nil
}

var errAppendOnly = events.Errorf(events.Invalid, "message db peer: only appends are measured")

// ReadStream is not measured: it answers Invalid.
func (m *MessageDB) ReadStream(context.Context, string, uint64, events.Direction, int) ([]events.Envelope, error) {
	return nil, errAppendOnly
}

// ReadAll is not measured: it answers Invalid.
func (m *MessageDB) ReadAll(context.Context, events.Position, int) ([]events.Envelope, error) {
	return nil, errAppendOnly
}

// Subscribe is not measured: it answers Invalid.
func (m *MessageDB) Subscribe(context.Context, events.Position) (events.Subscription, error) {
	return nil, errAppendOnly
}

// Head is not measured: it answers Invalid.
func (m *MessageDB) Head(context.Context) (events.Position, error) {
	return events.Position{}, errAppendOnly
}

// Close closes the connections.
func (m *MessageDB) Close() error {
	m.pool.Close()
	return nil
}

// Messages counts the messages stored, for a check that a load wrote them.
func (m *MessageDB) Messages(ctx context.Context) (int64, error) {
	var n int64
	err := m.pool.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&n)
	return n, err
}
