// Package postgres is the PostgreSQL read store: dangol's read models kept
// as tables (rm_* in their own schema, DefaultSchema unless configured),
// answering the same queries as projections.Memory (projections.Queries) and
// reporting the tables' progress (api.Progress).
//
// # Writing
//
// The folds of package projections stay the single source of truth: the
// elected writer runs them in memory, exactly as projections.Memory does,
// and a dirty tracker notes which entities each event may have touched
// (customer, call, coaching point, staff member, token or session,
// advisor, the counters, the sign-in policy, the QA aggregate of scorecard
// forms, sampling plans and calibration sessions, the tier migration
// report; for campaigns, the fold itself says which campaigns and targets
// changed, through projections.Campaigns.OnChange, since the log's time
// passing a criterion's instant changes targets no event names). After
// every batch the projections.Runner calls Commit, which
// writes those entities' current fold state as JSONB rows — plus the
// columns queries filter on (advisor, tier, profit, the instant the data
// goes stale, queue and supervisor, rep, status, due date, last checker;
// for calls, their rep, latest reviewer and review time, open dispute and
// dispute ids: qa.go;
// for staff members, what their JSON leaves out: staff.go; for customers,
// their brief, what the worklist and the lists read: briefs.go; for
// campaign targets, advisor, group and whether still on the list, and
// each campaign's report beside it: campaigns.go) —
// and the checkpoint row, in one transaction; append-only review scores and
// follow-up checks are appended past the rows already stored. The SQL never
// computes state of its own: the one exception in form, 0009's report
// aggregates (per-tier counts, profit buckets, customers by advisor and
// stale day), are sums of the customer rows' columns the folds wrote, kept
// by statement-level triggers in the writing statement's transaction, so
// that the tiers and freshness reports read a few rows instead of every
// customer's; they cost the writer about a quarter of its rate (docs/scale.md).
//
// # Reading
//
// Each query loads the rows it needs in one statement (one snapshot),
// decodes them into the read-model types (projections.RestoreCustomers,
// RestoreCalls, RestoreQA, Counters) and runs the very query method
// Memory runs, so answers — stale and overdue flags computed at read time
// from now — are the same. SQL only narrows which rows are loaded. The
// worklist and the customer list load each customer's brief rather than
// its whole state (a 600-customer book would otherwise decode 600
// timelines).
//
// # One writer, many readers
//
// Several `dangol serve` processes may share the database. Each calls Run;
// Run stands for election with pg_try_advisory_lock on a dedicated
// connection, retrying every ElectionInterval. The winner writes all its
// transactions on that same connection: if the process dies or the
// connection breaks, the lock and any open transaction go together and
// another process takes over from the table checkpoint. As a second fence,
// every commit first updates the checkpoint row WHERE it still holds the
// position this writer last wrote: if anything else moved it (another
// writer, a Rebuild swap) the commit fails and the writer stands again.
// Processes that are not the writer only read the tables; their Position
// follows the table checkpoint (LISTEN for the NOTIFY the writer sends in
// each commit, and a poll every PollInterval), so WaitFor(pos) returns once
// every table includes pos, whichever process wrote it. Reactors run only
// in the writer.
//
// # Resuming
//
// A new writer restores its in-memory folds from the stored snapshot
// (rm_snapshot, written by a writer every Options.SnapshotEvery events
// after a commit, so at or before the checkpoint, sealed under a data key
// of its own in Options.SnapshotKeys, the replaced one's key destroyed;
// projections.OpenSnapshot checks it is whole, of this log, under a key
// still there and of folds like this binary's) and
// replays the log after it; without a usable one it replays the log from
// the start. Either way the replay up to the table checkpoint is folded in
// memory only (commits up to it write nothing) and what comes after the
// checkpoint is written. Readers are served from the tables, consistent at
// the checkpoint, all the while.
//
// # Migrations
//
// Open applies the embedded migrations a schema lacks. A writer then
// resumes from the table checkpoint and rewrites only the entities that
// events after it touch, so a migration's new columns must hold, by their
// defaults or an UPDATE, what the folds would have written for the rows
// already there: 0003 (sign-in) adds staff members' active and tokens'
// kind as columns with defaults true and "token", right for every row
// written before the sign-in events existed, and the queries read those
// two from the columns. Where SQL cannot compute the new columns (0005's
// briefs, which a fold makes, sealed), the queries read rows that lack
// them the old way and the writer fills them in once its folds hold the
// tables' checkpoint, in transactions that leave it where it is (as 0004's
// search index is written); a trigger clears a brief that a writer of an
// older release rewrites the state under. 0006 (quality assurance) does
// both: it sets the calls' new columns from their state (rep, latest
// reviewer and review time; no dispute, since none could be raised
// before it), and since a call's earlier reviews are not in its row, the
// writer rewrites the calls, coaching points and review scores whose
// state lacks the evaluations from its folds, the row's JSON telling
// which are left; the queries read such a call whatever its columns say,
// its one known review as its one evaluation (qa.go). 0007 (campaigns)
// creates empty tables: a writer that finds no tier migration row writes
// every campaign, target and that row from its folds once they hold the
// checkpoint (campaigns.go); until then a campaign launched under an
// earlier release is not found. 0009 (report aggregates) counts the rows
// already there when it runs. A change of what a
// fold makes of past events needs a Rebuild instead.
//
// # Rebuild
//
// Rebuild replays the whole log into a fresh schema (Schema+"_next",
// migrated from scratch), then, holding an ACCESS EXCLUSIVE lock on the
// live checkpoint row's table (which waits for the writer's open commit and
// holds back its next one), checks that the new tables are at least as far
// as the live ones, and renames the schemas and drops the old one in one
// transaction. Readers see the old tables until that commit, and the new
// ones after it; a running writer's next commit finds the checkpoint moved
// and it re-elects and resumes from the new tables.
//
// # Personal data
//
// With Options.Cipher (which dangol serve sets) each customer's row is
// sealed under that customer's data key: the state column is NULL and the
// sealed column holds the encrypted state (brief and brief_sealed alike), so destroying the key for an
// erasure shreds every stored copy (old row versions, WAL, backups). The
// erasure event then rewrites the row in clear with the fields erased.
// Without a Cipher the tables hold personal fields in clear, like the
// in-memory views. Logs never include personal data.
package postgres
