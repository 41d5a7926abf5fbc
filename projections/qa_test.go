package projections_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// The projectionstest suite holds the QA queries' answers; these tests hold
// what it cannot see: the aggregate's JSON round trip, copies that share
// nothing with the fold, no retained read buffers, and old logs.

var qaT0 = time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)

// qaLog is a fold's input: events applied directly, each at its own hour.
type qaLog struct {
	t       *testing.T
	n       int
	version map[string]uint64
}

func newQALog(t *testing.T) *qaLog { return &qaLog{t: t, version: map[string]uint64{}} }

// event returns d on stream as the next event, recorded an hour after
// the previous one, by actor.
func (l *qaLog) event(stream, actor string, d events.Data) projections.Event {
	l.t.Helper()
	if v, ok := d.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			l.t.Fatalf("%T: %v", d, err)
		}
	}
	l.n++
	v := l.version[stream]
	l.version[stream]++
	return projections.Event{Envelope: &events.Envelope{Stream: stream, Version: v, Type: d.EventType(),
		RecordedAt: qaT0.Add(time.Duration(l.n) * time.Hour), Actor: events.Actor{ID: actor, Role: "supervisor"}}, Data: d}
}

var qaItems = []events.FormItem{
	{ItemID: "greet", Label: "Greeting", Weight: 1, Max: 5},
	{ItemID: "disclosure", Label: "Disclosure", Weight: 1, Max: 1, Critical: true},
	{ItemID: "empathy", Label: "Empathy", Weight: 2, Max: 5, NAAllowed: true},
}

// qaScored scores qaItems; -1 marks N/A.
func qaScored(scores ...int) []events.ReviewItem {
	return projectionstest.ScoreItems(qaItems, scores...)
}

// qaEvents returns a log of every QA event type: a form's two versions,
// two plans, a call reviewed, acknowledged, disputed and re-scored, and a
// closed and an open calibration.
func qaEvents(l *qaLog) []projections.Event {
	k1, cs1, cs2 := events.CallStream("K1"), events.CalibrationStream("CS1"), events.CalibrationStream("CS2")
	first := &events.CallReviewed{ReviewerID: "S1", FormID: "F1", FormVersion: 1, Items: qaScored(4, 0, 3),
		CoachingPoints: []events.CoachingPointRaised{{PointID: "P1", Criterion: "Disclosure", Note: "read it",
			FollowUpDue: qaT0.AddDate(0, 1, 0), AtSec: pint(83), ItemID: "disclosure"}}}
	rescore := &events.CallReviewed{ReviewerID: "S2", FormID: "F1", FormVersion: 1, Items: qaScored(4, 1, 3), Supersedes: 1, DisputeID: "D1"}
	for _, d := range []*events.CallReviewed{first, rescore} {
		d.Total, d.CriticalFailed = events.ReviewTotal(d.Items), events.CriticalFailed(d.Items)
	}
	score := func(session, evaluator string, scores ...int) *events.CalibrationScored {
		items := qaScored(scores...)
		return &events.CalibrationScored{SessionID: session, EvaluatorID: evaluator, Items: items, Total: events.ReviewTotal(items),
			CriticalFailed: events.CriticalFailed(items)}
	}
	return []projections.Event{
		l.event(events.QAFormStream("F1"), "S1", &events.ScorecardFormPublished{FormID: "F1", Version: 1, Name: "Outbound", Items: qaItems}),
		l.event(events.QAFormStream("F1"), "H1", &events.ScorecardFormPublished{FormID: "F1", Version: 2, Name: "Outbound", Items: qaItems[:2], Note: "shorter"}),
		l.event(events.QAFormStream("F0"), "S1", &events.ScorecardFormPublished{FormID: "F0", Version: 1, Name: "Inbound", Items: qaItems[1:]}),
		l.event(events.SamplingSettingsStream, "S1", &events.SamplingPlanPublished{Version: 1, NewRepCalls: 10, PerRepWeek: 2}),
		l.event(events.SamplingSettingsStream, "H1", &events.SamplingPlanPublished{Version: 2, PerRepWeek: 4, LongCallSec: 600, ComplaintDays: 3}),
		l.event(k1, "R1", &events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R1", Direction: "inbound", StartedAt: qaT0,
			DurationSec: 300, Recording: events.Recording{SHA256: strings.Repeat("a", 64), ContentType: "audio/wav", Bytes: 10}}),
		l.event(k1, "S1", first),
		l.event(k1, "R1", &events.ReviewAcknowledged{Evaluation: 1, RepID: "R1", Comment: "seen"}),
		l.event(k1, "R1", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 1, RepID: "R1", Reason: "it was read"}),
		l.event(k1, "S2", rescore),
		l.event(k1, "S2", &events.DisputeResolved{DisputeID: "D1", ResolverID: "S2", Resolution: "rescored", Note: "right", Evaluation: 2}),
		l.event(cs1, "S1", &events.CalibrationOpened{SessionID: "CS1", CallID: "K1", FormID: "F1", FormVersion: 1, OpenerID: "S1",
			Evaluators: []string{"S1", "S2", "H1"}}),
		l.event(cs1, "S1", score("CS1", "S1", 5, 1, 5)),
		l.event(cs1, "S2", score("CS1", "S2", 3, 1, -1)),
		l.event(cs1, "H1", score("CS1", "H1", 1, 0, 2)),
		l.event(cs1, "S1", &events.CalibrationClosed{SessionID: "CS1", CloserID: "S1", Note: "done"}),
		l.event(cs2, "H1", &events.CalibrationOpened{SessionID: "CS2", CallID: "K1", FormID: "F0", FormVersion: 1, OpenerID: "H1",
			Evaluators: []string{"S1", "S2"}}),
		l.event(cs2, "S2", score("CS2", "S2", 2, 1, 5)),
	}
}

// qaAnswers renders every QA query of m as JSON.
func qaAnswers(t *testing.T, m *projections.Memory) string {
	t.Helper()
	var parts []any
	add := func(v any, err error) {
		if err != nil && events.ErrorCode(err) != events.NotFound {
			t.Fatal(err)
		}
		parts = append(parts, v, events.ErrorCode(err))
	}
	ctx := t.Context()
	add(m.ScorecardForms(ctx))
	for _, id := range []string{"F0", "F1", "F9"} {
		for v := range 4 {
			add(m.ScorecardForm(ctx, id, v))
		}
	}
	add(m.SamplingPlans(ctx))
	for _, id := range []string{"CS1", "CS2", "CS9"} {
		add(m.Calibration(ctx, id))
	}
	add(m.Calibrations(ctx, projections.CalibrationFilter{}))
	add(m.Report(ctx, "calibration", qaT0))
	add(m.Call(ctx, "K1"))
	add(m.Evaluations(ctx, projections.EvaluationFilter{}))
	add(m.Disputes(ctx, projections.DisputeFilter{}))
	add(m.Dispute(ctx, "D1"))
	add(m.Report(ctx, "qa", qaT0))
	add(m.Coaching(ctx, projections.CoachingFilter{}, qaT0))
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fold(m *projections.Memory, evs []projections.Event) {
	for _, e := range evs {
		for _, p := range m.Projections() {
			p.Apply(e)
		}
	}
}

// TestQARestore holds MarshalJSON and RestoreQA to a round trip: the
// restored aggregate answers every query as the fold does, encodes to the
// same bytes, and folds further events the same.
func TestQARestore(t *testing.T) {
	l := newQALog(t)
	evs := qaEvents(l)
	m := projections.NewMemory()
	fold(m, evs[:len(evs)-1])
	b, err := m.QA.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	q, err := projections.RestoreQA(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := q.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("the restored aggregate encodes differently:\n got %s\nwant %s", again, b)
	}
	restored := projections.NewMemory()
	fold(restored, evs[5:len(evs)-1]) // the calls; QA comes from the JSON
	restored.QA = q
	if got, want := qaAnswers(t, restored), qaAnswers(t, m); got != want {
		t.Errorf("restored answers:\n got %s\nwant %s", got, want)
	}
	last := evs[len(evs)-1:]
	fold(m, last)
	q.Apply(last[0])
	if got, want := qaAnswers(t, restored), qaAnswers(t, m); got != want {
		t.Errorf("answers after one more event:\n got %s\nwant %s", got, want)
	}
	empty, err := projections.NewQA().MarshalJSON()
	if err != nil || string(empty) != `{"forms":[],"plans":[],"calibrations":[]}` {
		t.Errorf("an empty aggregate encodes as %s (%v)", empty, err)
	}
}

// TestRestoreQARefusesBadInput expects an error, not a half-built
// aggregate, for what MarshalJSON never writes.
func TestRestoreQARefusesBadInput(t *testing.T) {
	session := func(id, status string) string {
		return `{"id":"` + id + `","status":"` + status + `","evaluators":[],"scored":[],"scores":[],"items":[]}`
	}
	for _, in := range []string{``, `{`, `[]`, `null`, `{}`, `{"forms":{}}`, `{"forms":[{"id":"F1","version":2}]}`,
		`{"forms":[{"id":"F1","version":1},{"id":"F1","version":1}]}`,
		`{"forms":[],"plans":[]}`, `{"forms":[],"calibrations":[]}`, `{"plans":[],"calibrations":[]}`,
		`{"forms":[{"id":"","version":1}],"plans":[],"calibrations":[]}`,
		`{"forms":[],"plans":[],"calibrations":[` + session("", "open") + `]}`,
		`{"forms":[],"plans":[],"calibrations":[` + session("CS1", "open") + `,` + session("CS1", "closed") + `]}`,
		`{"forms":[],"plans":[],"calibrations":[` + session("CS1", "") + `]}`,
		`{"forms":[],"plans":[],"calibrations":[` + session("CS1", "done") + `]}`} {
		if q, err := projections.RestoreQA([]byte(in)); err == nil {
			t.Errorf("RestoreQA(%s) = %v, want an error", in, q)
		}
	}
	if _, err := projections.RestoreQA([]byte(`{"forms":[],"plans":[],"calibrations":[` + session("CS1", "open") + `,` +
		session("CS2", "closed") + `]}`)); err != nil {
		t.Errorf("RestoreQA of two sessions: %v", err)
	}
}

// TestQACopiesShareNothing expects an answer taken before further events
// to stay as it was: the fold writes into evaluations, disputes and
// sessions, never into what it handed out.
func TestQACopiesShareNothing(t *testing.T) {
	l := newQALog(t)
	evs := qaEvents(l)
	m := projections.NewMemory()
	ctx := t.Context()
	// Up to the first review on K1, and CS1 open with its three scores
	// (closing it writes each one's distance).
	fold(m, evs[:7])
	fold(m, evs[11:15])
	call, _ := m.Call(ctx, "K1")
	list, _ := m.Evaluations(ctx, projections.EvaluationFilter{})
	session, _ := m.Calibration(ctx, "CS1")
	sessions, _ := m.Calibrations(ctx, projections.CalibrationFilter{})
	plans, _ := m.SamplingPlans(ctx)
	before := mustJSON(t, []any{call, list, session, sessions, plans})
	fold(m, evs[7:11])
	fold(m, evs[15:])
	if after := mustJSON(t, []any{call, list, session, sessions, plans}); string(after) != string(before) {
		t.Errorf("answers changed under later events:\n got %s\nwant %s", after, before)
	}
	call, _ = m.Call(ctx, "K1")
	if len(call.Evaluations) != 2 || call.Evaluations[0].SupersededBy != 2 || call.Review.Evaluation != 2 ||
		call.Evaluations[0].AcknowledgedAt == nil || len(call.Disputes) != 1 || call.Disputes[0].Status != "rescored" {
		t.Errorf("K1 after the re-score: %s", mustJSON(t, call))
	}
}

// TestQAFoldsKeepNoReadBuffer applies every QA event with its envelope's
// strings in one buffer, as the store's decoder shares a record, then
// overwrites the buffer: the answers must not change.
func TestQAFoldsKeepNoReadBuffer(t *testing.T) {
	l := newQALog(t)
	evs := qaEvents(l)
	var bufs [][]byte
	shared := func(s string) string {
		if s == "" {
			return s
		}
		b := []byte(s)
		bufs = append(bufs, b)
		return unsafe.String(&b[0], len(b))
	}
	m, ref := projections.NewMemory(), projections.NewMemory()
	fold(ref, evs)
	for _, e := range evs {
		env := *e.Envelope
		env.Stream, env.Type, env.Actor.ID, env.Actor.Role = shared(env.Stream), shared(env.Type), shared(env.Actor.ID), shared(env.Actor.Role)
		fold(m, []projections.Event{{Envelope: &env, Data: e.Data}})
	}
	for _, b := range bufs {
		for i := range b {
			b[i] = '#'
		}
	}
	if got, want := qaAnswers(t, m), qaAnswers(t, ref); got != want {
		t.Errorf("answers after the read buffers were reused:\n got %s\nwant %s", got, want)
	}
}

// TestEvaluationsOfOldLogs folds reviews from before forms were versioned:
// no form version, no item ids, a second review of a call without
// supersedes. Each is an evaluation, none superseded; the QA report counts
// the call once, with its latest; review scores a read store kept without
// a call id (an earlier release) each count.
func TestEvaluationsOfOldLogs(t *testing.T) {
	l := newQALog(t)
	k := events.CallStream("K1")
	old := func(score int) *events.CallReviewed {
		items := []events.ReviewItem{{Criterion: "accuracy", Weight: 1, Score: pint(score), Max: 5}}
		return &events.CallReviewed{ReviewerID: "S1", FormID: "qa-v1", Items: items, Total: events.ReviewTotal(items)}
	}
	m := projections.NewMemory()
	fold(m, []projections.Event{
		l.event(k, "R1", &events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R1", Direction: "inbound", StartedAt: qaT0,
			DurationSec: 60, Recording: events.Recording{SHA256: strings.Repeat("b", 64), ContentType: "audio/wav", Bytes: 10}}),
		l.event(k, "S1", old(2)), l.event(k, "S1", old(4)),
	})
	call, err := m.Call(t.Context(), "K1")
	if err != nil {
		t.Fatal(err)
	}
	if len(call.Evaluations) != 2 || call.Review.Evaluation != 2 || call.Review.Total != 80 ||
		call.Evaluations[0].SupersededAt != nil || call.Evaluations[0].FormVersion != 0 {
		t.Errorf("K1: %s", mustJSON(t, call))
	}
	r, _ := m.Report(t.Context(), "qa", qaT0)
	want := []projections.QAScore{{RepID: "R1", Month: "2030-03", Reviews: 1, Average: 80, Min: 80, Max: 80}}
	if string(mustJSON(t, r)) != string(mustJSON(t, want)) {
		t.Errorf("QA report: %s, want %s", mustJSON(t, r), mustJSON(t, want))
	}
	kept := projections.RestoreCalls(nil, nil, nil, []projections.ReviewScore{
		{RepID: "R1", At: qaT0, Total: 40}, {RepID: "R1", At: qaT0, Total: 80}}, nil)
	want[0].Reviews, want[0].Average, want[0].Min = 2, 60, 40
	if got := kept.QAReport(); string(mustJSON(t, got)) != string(mustJSON(t, want)) {
		t.Errorf("QA report of scores without call ids: %s, want %s", mustJSON(t, got), mustJSON(t, want))
	}
}

// TestQAFoldIgnoresWhatTheAPIRefuses folds events Validate accepts but the
// API never appends: a form version repeated or skipped, a second
// ReviewDisputed with a dispute id already used, a review superseding its
// own number or a later one. The fold keeps what came first and marks
// nothing superseded.
func TestQAFoldIgnoresWhatTheAPIRefuses(t *testing.T) {
	l := newQALog(t)
	k1, k2, form := events.CallStream("K1"), events.CallStream("K2"), events.QAFormStream("F1")
	rec := func(id string) *events.CallRecorded {
		return &events.CallRecorded{CallID: id, CustomerID: "C1", StaffID: "R1", Direction: "inbound", StartedAt: qaT0,
			DurationSec: 60, Recording: events.Recording{SHA256: strings.Repeat("c", 64), ContentType: "audio/wav", Bytes: 10}}
	}
	review := func(supersedes int) *events.CallReviewed {
		items := qaScored(4, 1, -1)
		return &events.CallReviewed{ReviewerID: "S1", FormID: "F1", FormVersion: 1, Items: items, Total: events.ReviewTotal(items),
			Supersedes: supersedes}
	}
	m := projections.NewMemory()
	fold(m, []projections.Event{
		l.event(form, "S1", &events.ScorecardFormPublished{FormID: "F1", Version: 1, Name: "First", Items: qaItems}),
		l.event(form, "S1", &events.ScorecardFormPublished{FormID: "F1", Version: 1, Name: "Repeated", Items: qaItems[:1]}),
		l.event(form, "S1", &events.ScorecardFormPublished{FormID: "F1", Version: 3, Name: "Skipped", Items: qaItems[:1]}),
		l.event(k1, "R1", rec("K1")), l.event(k2, "R1", rec("K2")),
		l.event(k1, "S1", review(1)), // supersedes itself
		l.event(k1, "S1", review(5)), // supersedes one to come
		l.event(k1, "R1", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 2, RepID: "R1", Reason: "first"}),
		l.event(k1, "R1", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 1, RepID: "R1", Reason: "again"}),
		l.event(k2, "S1", review(0)),
		l.event(k2, "R1", &events.ReviewDisputed{DisputeID: "D1", Evaluation: 1, RepID: "R1", Reason: "elsewhere"}),
	})
	ctx := t.Context()
	if f, err := m.ScorecardForm(ctx, "F1", 0); err != nil || f.Version != 1 || f.Name != "First" || f.Latest != 1 || len(f.Items) != 3 {
		t.Errorf("F1: %s (%v), want version 1 as first published, the only one", mustJSON(t, f), err)
	}
	call, _ := m.Call(ctx, "K1")
	if len(call.Evaluations) != 2 || call.Evaluations[0].SupersededBy != 0 || call.Evaluations[0].SupersededAt != nil ||
		call.Evaluations[1].SupersededBy != 0 || call.Review.Evaluation != 2 {
		t.Errorf("K1: %s, want two evaluations, none superseded", mustJSON(t, call))
	}
	if len(call.Disputes) != 1 || call.Disputes[0].Reason != "first" {
		t.Errorf("K1's disputes: %s, want the first D1 only", mustJSON(t, call.Disputes))
	}
	if other, _ := m.Call(ctx, "K2"); len(other.Disputes) != 0 {
		t.Errorf("K2's disputes: %s, want none (D1 is K1's)", mustJSON(t, other.Disputes))
	}
	if d, err := m.Dispute(ctx, "D1"); err != nil || d.CallID != "K1" || d.Reason != "first" {
		t.Errorf("D1: %s (%v), want K1's first", mustJSON(t, d), err)
	}
}

// TestRestoredCallsFindDisputes: a read store's calls, restored, answer
// Dispute and Disputes by the disputes their rows hold.
func TestRestoredCallsFindDisputes(t *testing.T) {
	d := projections.Dispute{ID: "D1", CallID: "K1", Evaluation: 1, RepID: "R1", Reason: "why", RaisedAt: qaT0, Status: projections.DisputeOpen}
	cs := projections.RestoreCalls([]projections.CallView{{ID: "K1", StaffID: "R1", Disputes: []projections.Dispute{d}}}, nil, nil, nil, nil)
	if got, ok := cs.Dispute("D1"); !ok || got.Reason != "why" {
		t.Errorf("Dispute(D1) = %v, %v", got, ok)
	}
	if got := cs.Disputes(projections.DisputeFilter{Status: projections.DisputeOpen}); len(got) != 1 || got[0].ID != "D1" {
		t.Errorf("Disputes(open) = %v", got)
	}
}

// TestQARestoreAtEveryEvent restores the aggregate after each event of
// the QA log and folds the rest into it: the answers are the uncut
// fold's, whether a session was open, half scored or closed at the cut.
func TestQARestoreAtEveryEvent(t *testing.T) {
	evs := qaEvents(newQALog(t))
	ref := projections.NewMemory()
	fold(ref, evs)
	want := qaAnswers(t, ref)
	for cut := range len(evs) + 1 {
		m := projections.NewMemory()
		fold(m, evs[:cut])
		b, err := m.QA.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		q, err := projections.RestoreQA(b)
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		for _, e := range evs[cut:] {
			m.Staff.Apply(e)
			m.Calls.Apply(e)
			q.Apply(e)
		}
		m.QA = q
		if got := qaAnswers(t, m); got != want {
			t.Errorf("restored after %d events:\n got %s\nwant %s", cut, got, want)
		}
	}
}
