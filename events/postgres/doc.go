// Package postgres is the events.Store on PostgreSQL (jackc/pgx/v5), for
// deployments that run several stateless `dangol serve` processes on one
// database. It passes events/eventstest like every backend.
//
// # Schema
//
// Versioned migrations are embedded (migrations/NNNN_*.sql) and applied by
// Migrate — at Open with Options.Migrate, or by `dangol migrate` — under an
// advisory lock, each step in one transaction with its row in
// dangol_schema_migrations. Tables:
//
//   - dangol_events: one row per event, keyed by its global sequence number
//     seq; record holds the canonical bytes the hash chain covers (the same
//     bytes on every backend), unique (stream, version) and unique id.
//     Triggers refuse UPDATE, DELETE and TRUNCATE.
//   - dangol_streams: each stream's last version and last hash; its row is
//     the stream's append lock.
//   - dangol_log_head: one row, the last sequence number assigned.
//
// # Global order: serialised sequence assignment
//
// A bigserial position can commit out of order (a reader of seq > n skips an
// event numbered below n that commits later). The known fixes are a
// serialising lock (Message DB), gap detection with a high-water mark
// (Marten), and ordering by transaction id below the oldest running one
// (Emmett). This store serialises: an append's transaction ends by taking
// the row lock of dangol_log_head (UPDATE ... seq = seq + n), inserting its
// events at the numbers it reserved and committing. PostgreSQL makes a
// transaction visible before it releases its locks, so the next appender
// gets the lock only after the previous one is visible: numbers are
// assigned in commit order, a rollback returns its numbers, and the log is
// dense. A reader of seq > n therefore can never skip an event, and a
// position is a single number as on the embedded store.
//
// Why this one: positions stay plain dense numbers (the API, the
// projections' lag and every client keep working unchanged), readers need
// no snapshot arithmetic and are not held back by unrelated long
// transactions (the weakness of the xmin approach), and there is no gap
// timeout to tune (Marten's). The cost is that commits of the whole
// cluster go through one lock, held only for the last round trip and the
// WAL flush; within a process, group commit amortises it: one committer
// goroutine coalesces every queued append into one transaction. Subscriptions
// still check that positions are dense and wait at a hole rather than skip
// it, so a violated invariant is an error, never a silent skip.
//
// # One round trip per append
//
// The committer holds the head (version and hash) of each stream its
// committed transactions wrote or locked last (up to 65,536 streams). When
// it holds the head of every stream of a batch, or the batch starts the
// stream (NoStream), it checks the expected versions and chains the hashes
// against the held heads and commits in one statement, dangol_append_held
// (migration 0003): check that each head is still the one held, move it,
// take the log head's row lock, insert — the same order as below,
// so positions keep their commit order. A head another process moved
// meanwhile (versions only grow, so a held head is stale or right, never
// wrong) or an event id already stored makes the statement write nothing
// and raise; the batch is then committed the locking way, in a transaction
// of two round trips: lock the batch's stream rows in byte order and look
// up its event ids; then reserve numbers, insert, move the heads and
// commit. Conflicts and retries are always answered that way, from the
// true heads.
//
// # Live subscriptions
//
// Commits are announced with NOTIFY dangol_events; each Store keeps one
// connection LISTENing and wakes its subscriptions, which then read the
// rows after their position. A store sends its NOTIFYs by themselves,
// after the commits they announce and Options.NotifyInterval apart
// (20ms): a commit that long after the last NOTIFY is announced at once,
// one sooner when the interval ends, so other processes' subscriptions wake
// at most one interval and a round trip late (the store's own subscriptions
// are woken at each commit). No append's transaction carries one, so none
// waits for it. Every NOTIFY wakes every listening session of the cluster,
// this store's own listener too: one in each commit cost a single writer
// about a tenth of its rate, and one every 5ms, sent by itself, still about
// 150 µs of the client's and 100 µs of the server's CPU per append on a
// loaded machine whose appends came that far apart.
// Subscriptions are pull-based (a slow consumer only slows its own
// reads) and also poll every Options.PollInterval, so a lost LISTEN
// connection delays delivery but loses nothing.
//
// # Failures
//
// Driver errors become events.Error values: a lost or refused connection is
// Unavailable (the API answers 503), racing appends are Conflict, an id
// already used elsewhere is Invalid; a unique violation or deadlock from a
// concurrent writer re-runs the transaction. While the database is away,
// subscriptions retry with backoff and resume from their position when it
// returns. An append whose commit outcome is unknown (connection lost
// during COMMIT) answers Unavailable; retrying it with the same event ids
// returns the original result if it did commit.
package postgres
