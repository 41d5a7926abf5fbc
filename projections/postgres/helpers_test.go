package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// seedEnd is the simulated "today" of the generated bank.
var seedEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func decode(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }

// logStore returns an embedded event store holding a generated bank of n
// customers and the hand-made events seed does not make (tokens, role
// changes, erasure, a reassignment that empties a book, an unassigned
// review selection).
func logStore(t testing.TB, n int) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if n > 0 {
		if _, err := seed.Generate(context.Background(), seed.Config{Customers: n, Seed: 7}, s); err != nil {
			t.Fatal(err)
		}
		extras(t, s)
	}
	return s
}

func appendData(t testing.TB, s events.Store, stream string, ds ...events.Data) {
	t.Helper()
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
		if err != nil {
			t.Fatalf("%T: %v", d, err)
		}
		evs[i] = e
	}
	if _, err := s.Append(context.Background(), stream, events.Any, evs...); err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
}

func extras(t testing.TB, s events.Store) {
	appendData(t, s, events.StaffStream("R000"),
		&events.TokenIssued{TokenID: "TK1", TokenHash: fmt.Sprintf("%064x", 1), ExpiresAt: seedEnd.AddDate(1, 0, 0)},
		&events.TokenIssued{TokenID: "TK2", TokenHash: fmt.Sprintf("%064x", 2)},
		&events.TokenRevoked{TokenID: "TK2", Reason: "lost"},
		&events.StaffRoleChanged{Role: "supervisor"})
	appendData(t, s, events.CustomerStream("C0000001"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	// C0000002 moves to a new advisor and back: NEW01's book is left empty.
	appendData(t, s, events.CustomerStream("C0000002"),
		&events.AdvisorAssigned{AdvisorID: "NEW01", Kind: "call_centre_rep"},
		&events.AdvisorAssigned{AdvisorID: "R000", Kind: "call_centre_rep"})
	appendData(t, s, events.CallStream("KX1"), &events.CallRecorded{CallID: "KX1", CustomerID: "C0000003", StaffID: "R000",
		Direction: "inbound", StartedAt: seedEnd.Add(-time.Hour), DurationSec: 61,
		Recording: events.Recording{SHA256: fmt.Sprintf("%064x", 9), ContentType: "audio/wav", Bytes: 10}},
		&events.CallSelectedForReview{Reason: "requested"})
}

// memory folds the whole log of s into a projections.Memory.
func memory(t testing.TB, s events.Store) *projections.Memory {
	t.Helper()
	m := projections.NewMemory()
	all, err := s.ReadAll(context.Background(), events.Start, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		d, _ := events.Decode(&all[i])
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
	}
	return m
}

// openStore opens a read store on url with fast polling for tests.
func openStore(t testing.TB, url string, opt postgres.Options) *postgres.Store {
	t.Helper()
	if opt.PollInterval == 0 {
		opt.PollInterval = 50 * time.Millisecond
	}
	if opt.ElectionInterval == 0 {
		opt.ElectionInterval = 100 * time.Millisecond
	}
	st, err := postgres.Open(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// run runs st.Run over s until the test ends; it returns a stop function
// that cancels Run and waits for it.
func run(t testing.TB, st *postgres.Store, s events.Store) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, postgres.Log{Source: s, Decode: decode}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitHead waits until st's checkpoint reaches the log's head.
func waitHead(t testing.TB, st *postgres.Store, s events.Store) {
	t.Helper()
	head, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := st.WaitFor(ctx, head); err != nil {
		t.Fatalf("read store did not reach head %v (at %v): %v", head, st.Position(), err)
	}
}

// queries is the query interface both read stores offer (api.Queries).
type queries interface {
	Customer(ctx context.Context, id string, now time.Time) (projections.CustomerView, error)
	CustomerExists(ctx context.Context, id string) (bool, error)
	CustomerList(ctx context.Context, f projections.CustomerFilter, now time.Time) ([]projections.CustomerSummary, string, error)
	Worklist(ctx context.Context, advisor string, now time.Time, opt projections.WorklistOptions) ([]projections.WorkItem, error)
	Call(ctx context.Context, id string) (projections.CallView, error)
	QAQueue(ctx context.Context, supervisor string) ([]projections.QueueItem, error)
	Coaching(ctx context.Context, f projections.CoachingFilter, now time.Time) ([]projections.CoachingPoint, error)
	CoachingPoint(ctx context.Context, id string, now time.Time) (projections.CoachingPoint, error)
	Report(ctx context.Context, name string, now time.Time) (any, error)
	StaffMember(ctx context.Context, id string) (projections.StaffMember, error)
	Token(ctx context.Context, id string) (projections.TokenInfo, error)
}

var (
	_ queries = (*projections.Memory)(nil)
	_ queries = (*postgres.Store)(nil)
)

// ids lists the ids the log names, by kind, for enumerating queries.
type ids struct {
	customers, calls, points, staff, tokens, advisors, supervisors []string
}

func logIDs(t testing.TB, s events.Store) ids {
	all, err := s.ReadAll(context.Background(), events.Start, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out ids
	seen := map[string]bool{}
	add := func(list *[]string, id string) {
		if k := fmt.Sprintf("%p/%s", list, id); !seen[k] {
			seen[k] = true
			*list = append(*list, id)
		}
	}
	for i := range all {
		cat, id := events.StreamID(all[i].Stream)
		switch cat {
		case events.CategoryCustomer:
			add(&out.customers, id)
		case events.CategoryCall:
			add(&out.calls, id)
		case events.CategoryStaff:
			add(&out.staff, id)
		}
		d, _ := events.Decode(&all[i])
		switch x := d.(type) {
		case *events.CallReviewed:
			for _, p := range x.CoachingPoints {
				add(&out.points, p.PointID)
			}
			add(&out.supervisors, x.ReviewerID)
		case *events.CallSelectedForReview:
			add(&out.supervisors, x.SupervisorID)
		case *events.TokenIssued:
			add(&out.tokens, x.TokenID)
		case *events.AdvisorAssigned:
			add(&out.advisors, x.AdvisorID)
		}
	}
	return out
}

// render returns every query's answer at now as JSON lines, errors
// included (code and message), so two read stores can be compared.
func render(t testing.TB, q queries, x ids, now time.Time) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	put := func(what string, v any, err error) {
		if err != nil {
			out = append(out, fmt.Sprintf("%s: error %s: %v", what, events.ErrorCode(err), err))
			return
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			t.Fatal(jerr)
		}
		out = append(out, what+": "+string(b))
	}
	unknown := []string{"nope", ""}
	for _, id := range append(slices.Clone(x.customers), unknown...) {
		v, err := q.Customer(ctx, id, now)
		put("customer "+id, v, err)
		ok, err := q.CustomerExists(ctx, id)
		put("exists "+id, ok, err)
	}
	yes, no := true, false
	for _, f := range []projections.CustomerFilter{{}, {Limit: 7}, {Tier: "vip"}, {Tier: "potential_vip", Limit: 5},
		{Stale: &yes, Limit: 13}, {Stale: &no}, {Advisor: "R000", Limit: 3}, {Advisor: "PB000", Stale: &yes}, {Advisor: "NEW01"}, {After: "C0000100", Limit: 10}} {
		for page := 0; page < 1000; page++ {
			l, next, err := q.CustomerList(ctx, f, now)
			stale := "any"
			if f.Stale != nil {
				stale = fmt.Sprint(*f.Stale)
			}
			put(fmt.Sprintf("list %s/%s/%s/%s/%d", f.Advisor, f.Tier, stale, f.After, f.Limit), []any{l, next}, err)
			if next == "" || err != nil {
				break
			}
			f.After = next
		}
	}
	for _, a := range append(slices.Clone(x.advisors), unknown...) {
		for _, opt := range []projections.WorklistOptions{{}, {LifeEventWithinDays: 200, NoContactDays: 10}} {
			w, err := q.Worklist(ctx, a, now, opt)
			put("worklist "+a, w, err)
		}
	}
	for _, id := range append(slices.Clone(x.calls), unknown...) {
		v, err := q.Call(ctx, id)
		put("call "+id, v, err)
	}
	for _, sup := range append(slices.Clone(x.supervisors), unknown...) {
		v, err := q.QAQueue(ctx, sup)
		put("queue "+sup, v, err)
	}
	for _, id := range append(slices.Clone(x.points), unknown...) {
		v, err := q.CoachingPoint(ctx, id, now)
		put("point "+id, v, err)
	}
	for _, f := range []projections.CoachingFilter{{}, {Rep: "R000"}, {Status: "improved"}, {Status: "not_improved", Rep: "R001"},
		{Checker: "X0"}, {DueBefore: now}, {DueBefore: now.AddDate(0, -1, 0)}} {
		v, err := q.Coaching(ctx, f, now)
		put(fmt.Sprintf("coaching %+v", f), v, err)
	}
	for _, name := range append(slices.Clone(projections.ReportNames), unknown...) {
		v, err := q.Report(ctx, name, now)
		put("report "+name, v, err)
	}
	for _, id := range append(slices.Clone(x.staff), unknown...) {
		v, err := q.StaffMember(ctx, id)
		put("staff "+id, v, err)
	}
	for _, id := range append(slices.Clone(x.tokens), unknown...) {
		v, err := q.Token(ctx, id)
		put("token "+id, v, err)
		if err == nil {
			out = append(out, "token hash "+id+": "+v.Hash)
		}
	}
	return out
}

// sameAnswers fails the test at the first query whose answer differs.
func sameAnswers(t testing.TB, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d answers from memory, %d from postgres", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("answers differ:\nmemory:   %.2000s\npostgres: %.2000s", want[i], got[i])
		}
	}
}
