package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// qaT0 is the first instant of the QA tests' logs.
var qaT0 = time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)

// qaLog is a log whose clock moves a minute before every append, so that
// each event has its own recordedAt.
type qaLog struct {
	t     testing.TB
	s     *bolt.Store
	clock *eventstest.ManualClock
}

func newQALog(t testing.TB) *qaLog {
	c := eventstest.NewManualClock(qaT0)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &qaLog{t: t, s: s, clock: c}
}

// add appends ds to stream in one append, as actor.
func (l *qaLog) add(stream, actor string, ds ...events.Data) {
	l.t.Helper()
	l.clock.Set(l.clock.Now().Add(time.Minute))
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: actor, Role: "supervisor"}})
		if err != nil {
			l.t.Fatalf("%T: %v", d, err)
		}
		evs[i] = e
	}
	if _, err := l.s.Append(context.Background(), stream, events.Any, evs...); err != nil {
		l.t.Fatalf("append %s: %v", stream, err)
	}
}

func score(n int) *int { return &n }

// qaForm is the items of form F1: a critical item and one that may be N/A.
var qaForm = []events.FormItem{
	{ItemID: "greet", Label: "Greeting", Weight: 1, Max: 5},
	{ItemID: "acc", Label: "Accuracy", Weight: 3, Max: 5},
	{ItemID: "disc", Label: "Disclosure", Weight: 2, Max: 1, Critical: true},
	{ItemID: "close", Label: "Closing", Weight: 1, Max: 5, NAAllowed: true},
}

// scored returns qaForm's items scored greet, acc, disc; close N/A.
func scored(greet, acc, disc int) []events.ReviewItem {
	return projectionstest.ScoreItems(qaForm, greet, acc, disc, -1)
}

// reviewed returns a review by reviewer on F1 version 2.
func reviewed(reviewer string, items []events.ReviewItem, points ...events.CoachingPointRaised) *events.CallReviewed {
	return &events.CallReviewed{ReviewerID: reviewer, FormID: "F1", FormVersion: 2, Items: items, Total: events.ReviewTotal(items),
		CriticalFailed: events.CriticalFailed(items), CoachingPoints: points}
}

func point(id string, at int, item string) events.CoachingPointRaised {
	return events.CoachingPointRaised{PointID: id, Criterion: "Accuracy", Note: "check the rate sheet",
		FollowUpDue: events.AddOneMonth(qaT0), AtSec: &at, ItemID: item}
}

func call(id, rep string) *events.CallRecorded {
	return &events.CallRecorded{CallID: id, CustomerID: "C1", StaffID: rep, Direction: "inbound", StartedAt: qaT0.Add(-time.Hour),
		DurationSec: 300, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", len(id)), ContentType: "audio/wav", Bytes: 10}}
}

// qaFirstHalf appends forms, a plan, calls and their first reviews,
// acknowledgements and disputes.
func qaFirstHalf(l *qaLog) {
	l.add(events.QAFormStream("F1"), "S1", &events.ScorecardFormPublished{FormID: "F1", Version: 1, Name: "Calls", Items: qaForm[:3]})
	l.add(events.QAFormStream("F1"), "H1", &events.ScorecardFormPublished{FormID: "F1", Version: 2, Name: "Calls", Items: qaForm,
		Note: "closing, N/A allowed"})
	l.add(events.SamplingSettingsStream, "H1", &events.SamplingPlanPublished{Version: 1, NewRepCalls: 5, PerRepWeek: 2,
		LongCallSec: 900, ComplaintDays: 3})
	l.add(events.CallStream("K1"), "R000", call("K1", "R000"))
	l.add(events.CallStream("K1"), "S1", &events.CallSelectedForReview{Reason: "random_sample", PlanVersion: 1})
	l.add(events.CallStream("K1"), "S1", reviewed("S1", scored(4, 2, 1), point("P1", 83, "acc"), point("P2", 10, "")))
	l.add(events.CallStream("K1"), "R000", &events.ReviewAcknowledged{Evaluation: 1, RepID: "R000", Comment: "noted"})
	l.add(events.CallStream("K1"), "R000", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 1, RepID: "R000", Reason: "the rate was right"})
	l.add(events.CallStream("K2"), "R002", call("K2", "R002"))
	l.add(events.CallStream("K2"), "S2", reviewed("S2", scored(5, 5, 0)))
	l.add(events.CallStream("K2"), "R002", &events.ReviewDisputed{DisputeID: "D2", Evaluation: 1, RepID: "R002", Reason: "it was disclosed"})
	l.add(events.CallStream("K3"), "R000", call("K3", "R000"))
	l.add(events.CallStream("K3"), "S1", reviewed("S1", scored(3, 3, 1), point("P3", 0, "greet")))
	l.add(events.CallStream("K3"), "R000", &events.ReviewDisputed{DisputeID: "D3", Evaluation: 1, RepID: "R000", Reason: "too low"})
	l.add(events.CallStream("K4"), "R002", call("K4", "R002"))
	l.add(events.CallStream("K4"), "S1", &events.CallSelectedForReview{Reason: "long_call", SupervisorID: "S1", PlanVersion: 1})
	l.add(events.CalibrationStream("CAL1"), "S1", &events.CalibrationOpened{SessionID: "CAL1", CallID: "K1", FormID: "F1",
		FormVersion: 2, OpenerID: "S1", Evaluators: []string{"S1", "S2", "H1"}, Note: "monthly"})
	l.add(events.CalibrationStream("CAL1"), "S2", &events.CalibrationScored{SessionID: "CAL1", EvaluatorID: "S2",
		Items: scored(4, 3, 1), Total: events.ReviewTotal(scored(4, 3, 1))})
}

// qaSecondHalf resolves the disputes (one re-scored in one append with its
// review), corrects a review, scores and closes one session and opens
// another.
func qaSecondHalf(l *qaLog) {
	l.add(events.CallStream("K1"), "S2",
		&events.CallReviewed{ReviewerID: "S2", FormID: "F1", FormVersion: 2, Items: scored(4, 4, 1), Total: events.ReviewTotal(scored(4, 4, 1)),
			Supersedes: 1, DisputeID: "D1", CoachingPoints: []events.CoachingPointRaised{point("P4", 120, "acc")}},
		&events.DisputeResolved{DisputeID: "D1", ResolverID: "S2", Resolution: "rescored", Note: "agreed", Evaluation: 2})
	l.add(events.CallStream("K3"), "S2", &events.DisputeResolved{DisputeID: "D3", ResolverID: "S2", Resolution: "upheld", Note: "fair"})
	l.add(events.CallStream("K3"), "S2", &events.CallReviewed{ReviewerID: "S2", FormID: "F1", FormVersion: 2, Items: scored(3, 4, 1),
		Total: events.ReviewTotal(scored(3, 4, 1)), Supersedes: 1})
	l.add(events.QAFormStream("F2"), "H1", &events.ScorecardFormPublished{FormID: "F2", Version: 1, Name: "Complaints", Items: qaForm[:2]})
	l.add(events.SamplingSettingsStream, "S1", &events.SamplingPlanPublished{Version: 2, NewRepCalls: 3, PerRepWeek: 1, ComplaintDays: 1,
		Note: "fewer"})
	l.add(events.CalibrationStream("CAL1"), "S1", &events.CalibrationScored{SessionID: "CAL1", EvaluatorID: "S1",
		Items: scored(4, 2, 1), Total: events.ReviewTotal(scored(4, 2, 1))})
	l.add(events.CalibrationStream("CAL1"), "H1", &events.CalibrationScored{SessionID: "CAL1", EvaluatorID: "H1",
		Items: scored(5, 4, 0), Total: events.ReviewTotal(scored(5, 4, 0)), CriticalFailed: true})
	l.add(events.CalibrationStream("CAL1"), "H1", &events.CalibrationClosed{SessionID: "CAL1", CloserID: "H1", Note: "discuss disclosure"})
	// A dispute the API would refuse (not the call's rep, no evaluation):
	// the fold keeps it, and so must the tables.
	l.add(events.CallStream("K4"), "R000", &events.ReviewDisputed{DisputeID: "D4", Evaluation: 1, RepID: "R000", Reason: "mine"})
	l.add(events.CalibrationStream("CAL2"), "S2", &events.CalibrationOpened{SessionID: "CAL2", CallID: "K2", FormID: "F1",
		FormVersion: 1, OpenerID: "S2", Evaluators: []string{"S1", "S2"}})
	l.add(events.CalibrationStream("CAL2"), "S1", &events.CalibrationScored{SessionID: "CAL2", EvaluatorID: "S1",
		Items: scored(5, 5, 1)[:3], Total: events.ReviewTotal(scored(5, 5, 1)[:3])})
}

// sameQA compares every answer of the read store (the QA queries under
// the filters and for the ids projectionstest.Answers asks) with the
// reference fold's at now.
func sameQA(t testing.TB, st projections.Queries, log events.Store, now time.Time) {
	t.Helper()
	x := logIDs(t, log)
	sameAnswers(t, render(t, memory(t, log), x, now), render(t, st, x, now))
}

// TestQAQueries holds the store's answers to the QA queries to the
// reference fold's, on a log of every QA event, caught up on and then
// followed live in small batches (the QA aggregate and calls rewritten
// across commits).
func TestQAQueries(t *testing.T) {
	l := newQALog(t)
	qaFirstHalf(l)
	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{MaxBatch: 3})
	run(t, st, l.s)
	waitHead(t, st, l.s)
	now := qaT0.AddDate(0, 0, 3)
	sameQA(t, st, l.s, now)
	// The answers must not be trivially equal: the first half has forms,
	// plans, disputes and an open session.
	if ds, err := st.Disputes(t.Context(), projections.DisputeFilter{Status: "open"}); err != nil || len(ds) != 3 {
		t.Fatalf("open disputes after the first half = %v, %v; want D1, D2, D3", ds, err)
	}
	qaSecondHalf(l)
	waitHead(t, st, l.s)
	sameQA(t, st, l.s, now)
	sameQA(t, st, l.s, qaT0.AddDate(0, 2, 0)) // the points overdue
	checkColumns(t, url)
}

// checkColumns fails the test if a call row's filter columns disagree with
// the state beside them.
func checkColumns(t testing.TB, url string) {
	t.Helper()
	conn := connect(t, url)
	rows, err := conn.Query(context.Background(), `SELECT id FROM rm_calls WHERE
		rep_id IS DISTINCT FROM state->>'staffId'
		OR reviewer_id IS DISTINCT FROM coalesce(state->'review'->>'reviewerId', '')
		OR reviewed_at IS DISTINCT FROM (state->'review'->>'reviewedAt')::timestamptz
		OR open_dispute IS DISTINCT FROM coalesce(state->'disputes' @> '[{"status": "open"}]', false)
		OR dispute_ids IS DISTINCT FROM ARRAY(SELECT d->>'id' FROM jsonb_array_elements(
			CASE jsonb_typeof(state->'disputes') WHEN 'array' THEN state->'disputes' ELSE '[]' END) AS d)`)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM rm_calls WHERE reviewed_at IS NOT NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 || n == 0 {
		t.Errorf("call rows whose columns disagree with their state: %v (%d reviewed rows)", bad, n)
	}
}

// connect returns a connection to url with the read models' schema on
// its search path, closed when t ends.
func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	c := conn(t, url)
	exec(t, c, "SET search_path TO "+postgres.DefaultSchema)
	return c
}

// exec runs each statement on conn.
func exec(t testing.TB, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// downgrade turns the tables into what the release before 0006 wrote: the
// calls' state without evaluations and disputes, reviews without their
// number and critical flag, points and review scores without the
// evaluation that raised them; no 0006 columns or indexes.
var downgrade = []string{
	`UPDATE rm_calls SET state = (state - 'evaluations' - 'disputes') ||
		CASE WHEN state ? 'review' THEN jsonb_build_object('review', (state->'review') - 'evaluation' - 'criticalFailed') ELSE '{}' END`,
	`UPDATE rm_coaching_points SET state = state - 'evaluation'`,
	`UPDATE rm_reviews SET state = state - 'CallID' - 'Evaluation' - 'CriticalFailed'`,
	`DROP INDEX rm_calls_old_shape, rm_coaching_points_old_shape, rm_reviews_old_shape`,
	`ALTER TABLE rm_calls DROP COLUMN rep_id, DROP COLUMN reviewer_id, DROP COLUMN reviewed_at, DROP COLUMN open_dispute, DROP COLUMN dispute_ids`,
	`DELETE FROM rm_schema_migrations WHERE version = 6`,
}

// callColumns returns every call row's 0006 columns, as text.
func callColumns(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT concat_ws(' ', id, rep_id, reviewer_id, reviewed_at, open_dispute, dispute_ids)
		FROM rm_calls ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// TestMigration0006 starts from tables as the release before 0006 left
// them (a log of that release's events: reviews without forms' versions,
// a call reviewed twice, points followed up) and expects the migration's
// columns to be what this release's writer writes, readers to answer the
// evaluation queries right before any writer has run, and a writer to
// bring every row to this release's state (then every answer is the
// reference fold's) without moving the checkpoint.
func TestMigration0006(t *testing.T) {
	l := newQALog(t)
	old := func(reviewer string, s int, points ...events.CoachingPointRaised) *events.CallReviewed {
		items := []events.ReviewItem{{Criterion: "accuracy", Weight: 1, Score: score(s), Max: 5}}
		return &events.CallReviewed{ReviewerID: reviewer, FormID: "F-old", Items: items, Total: events.ReviewTotal(items),
			CoachingPoints: points}
	}
	oldPoint := func(id string) events.CoachingPointRaised {
		return events.CoachingPointRaised{PointID: id, Criterion: "accuracy", Note: "check", FollowUpDue: events.AddOneMonth(qaT0)}
	}
	l.add(events.CallStream("K1"), "R000", call("K1", "R000"))
	l.add(events.CallStream("K1"), "S1", old("S1", 3, oldPoint("P1")))
	l.add(events.CallStream("K2"), "R002", call("K2", "R002"))
	l.add(events.CallStream("K2"), "S1", &events.CallSelectedForReview{Reason: "random_sample"})
	l.add(events.CallStream("K2"), "S1", old("S1", 2, oldPoint("P2")))
	l.add(events.CallStream("K2"), "S2", old("S2", 5, oldPoint("P3")))
	l.add(events.CallStream("K2"), "H1", &events.CoachingFollowedUp{PointID: "P2", CheckerID: "H1", Outcome: "improved"})
	l.add(events.CallStream("K3"), "R000", call("K3", "R000"))
	l.add(events.CallStream("K3"), "S2", &events.CallSelectedForReview{Reason: "requested", SupervisorID: "S2"})
	now := qaT0.AddDate(0, 0, 1)

	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{MaxBatch: 4})
	stop := run(t, st, l.s)
	waitHead(t, st, l.s)
	stop()
	st.Close()
	conn := connect(t, url)
	written := callColumns(t, conn)
	var checkpoint string
	if err := conn.QueryRow(context.Background(), "SELECT concat(commit_pos, '/', prepare_pos) FROM rm_checkpoint").Scan(&checkpoint); err != nil {
		t.Fatal(err)
	}
	exec(t, conn, downgrade...)

	// A reader opening the schema applies 0006: its columns are the
	// writer's, and the evaluation queries answer right from rows of the
	// earlier release.
	reader := openStore(t, url, postgres.Options{})
	if got := callColumns(t, conn); !slices.Equal(got, written) {
		t.Errorf("0006's columns of the earlier release's rows:\n%q\nthe writer's:\n%q", got, written)
	}
	ref := memory(t, l.s)
	for _, f := range []projections.EvaluationFilter{{}, {Rep: "R000"}, {Rep: "R002"}, {Reviewer: "S1"}, {Reviewer: "S2"}, {Disputed: true}} {
		want, err := ref.Evaluations(t.Context(), f)
		ok(t, err)
		got, err := reader.Evaluations(t.Context(), f)
		ok(t, err)
		if w, g := callIDs(want), callIDs(got); !slices.Equal(w, g) {
			t.Errorf("Evaluations(%+v) before a writer ran: %v, want %v", f, g, w)
		}
	}
	k1, err := reader.Call(t.Context(), "K1")
	ok(t, err)
	if want, _ := ref.Call(t.Context(), "K1"); !sameJSON(k1, want) {
		t.Errorf("Call(K1), reviewed once, before a writer ran:\n got %s\nwant %s", js(k1), js(want))
	}
	// A writer of the earlier release rewrites a row after the migration:
	// its columns stay as they were, and the row is read whatever they say.
	exec(t, conn, `UPDATE rm_calls SET state = jsonb_set(state, '{review,reviewerId}', '"S9"') WHERE id = 'K1'`)
	if got, err := reader.Evaluations(t.Context(), projections.EvaluationFilter{Reviewer: "S9"}); err != nil || !slices.Equal(callIDs(got), []string{"K1"}) {
		t.Errorf("Evaluations(reviewer S9) after an earlier release's writer rewrote K1 = %v, %v; want K1", callIDs(got), err)
	}

	// This release's writer rewrites the rows from its folds.
	w := openStore(t, url, postgres.Options{})
	run(t, w, l.s)
	waitHead(t, w, l.s)
	waitFilled(t, conn)
	sameQA(t, reader, l.s, now)
	var after string
	if err := conn.QueryRow(context.Background(), "SELECT concat(commit_pos, '/', prepare_pos) FROM rm_checkpoint").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != checkpoint {
		t.Errorf("the checkpoint moved from %s to %s while the writer rewrote the rows", checkpoint, after)
	}
	if got := callColumns(t, conn); !slices.Equal(got, written) {
		t.Errorf("the columns after the rewrite:\n%q\nbefore:\n%q", got, written)
	}

	// And follows this release's events.
	l.add(events.CallStream("K2"), "R002", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 2, RepID: "R002", Reason: "fair?"})
	l.add(events.CallStream("K1"), "S2", &events.CallReviewed{ReviewerID: "S2", FormID: "F-old",
		Items: old("S2", 4).Items, Total: 80, Supersedes: 1})
	waitHead(t, w, l.s)
	sameQA(t, reader, l.s, now)
	checkColumns(t, url)
}

// waitFilled waits until no row lacks this release's state.
func waitFilled(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var missing bool
		err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM rm_calls WHERE NOT state ? 'evaluations')
			OR EXISTS (SELECT 1 FROM rm_coaching_points WHERE NOT state ? 'evaluation')
			OR EXISTS (SELECT 1 FROM rm_reviews WHERE NOT state ? 'CallID')`).Scan(&missing)
		if err != nil {
			t.Fatal(err)
		}
		if !missing {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer left rows of the earlier release after a minute")
		}
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func callIDs(vs []projections.CallView) []string {
	ids := []string{}
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sameJSON(a, b any) bool { return js(a) == js(b) }
