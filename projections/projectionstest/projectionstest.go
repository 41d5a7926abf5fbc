// Package projectionstest is the conformance suite of projections.Queries,
// the read side's contract, in the manner of events/eventstest: every
// promise of the contract is a subtest, and every read store's test file
// calls TestQueries with a function that starts a fresh read store
// following a log:
//
//	func TestQueriesConformance(t *testing.T) {
//		projectionstest.TestQueries(t, func(tb testing.TB, log projections.Source) projectionstest.ReadStore {
//			// start a read store that follows log until tb ends
//		})
//	}
//
// The suite owns the log: an embedded store in a temporary directory whose
// clock it sets before each append, so recordedAt (and with it
// registration, selection, review and issue times) is known to the second.
// Every query is asked with a fixed now. The same log goes into every read
// store, and the same answers must come out: each subtest states them.
// The last subtest compares every query's answer on a generated bank with
// a reference fold (Fold), at several clocks.
//
// The suite never asserts on wall-clock speed: its timeouts only turn a hang
// into a failure.
package projectionstest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// ReadStore is a read store under test: the queries, and a way to wait
// until it has applied the log up to a position (read-your-writes).
type ReadStore interface {
	projections.Queries
	// WaitFor blocks until the store has applied every event up to pos,
	// or ctx ends.
	WaitFor(ctx context.Context, pos events.Position) error
}

// Open starts a read store that follows log from its start and keeps it
// running until tb ends (registering its own cleanup with tb.Cleanup). It
// decodes with events.Decode: the suite's events carry no sealed fields.
// The suite calls it once per subtest, after some events are in the log
// (the store catches up on them) and before others (it follows them live).
type Open func(tb testing.TB, log projections.Source) ReadStore

// Options tune the suite. A zero field takes its default.
type Options struct {
	// Customers is the size of the generated bank of the GeneratedBank
	// subtest (default 150).
	Customers int
	// Timeout bounds every wait that only a hang would exceed (default 60s).
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.Customers <= 0 {
		o.Customers = 150
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
}

// TestQueries runs the whole conformance suite with default Options.
func TestQueries(t *testing.T, open Open) { TestQueriesWith(t, open, Options{}) }

// TestQueriesWith runs the whole conformance suite with opt. Each subtest
// has its own log and read store.
func TestQueriesWith(t *testing.T, open Open, opt Options) {
	opt.defaults()
	for _, tc := range []struct {
		name string
		test func(*testing.T, *fixture)
	}{
		{"CustomerView", testCustomerView},
		{"Erasure", testErasure},
		{"Search", testSearch},
		{"Duplicates", testDuplicates},
		{"DuplicatesWithheld", testDuplicatesWithheld},
		{"Merge", testMerge},
		{"CustomerList", testCustomerList},
		{"Worklist", testWorklist},
		{"Provenance", testProvenance},
		{"Call", testCall},
		{"QAQueue", testQAQueue},
		{"Coaching", testCoaching},
		{"Reports", testReports},
		{"QAForms", testQAForms},
		{"Evaluations", testEvaluations},
		{"Calibration", testCalibration},
		{"QANotFound", testQANotFound},
		{"Campaigns", testCampaigns},
		{"CampaignTargets", testCampaignTargets},
		{"CampaignWorklist", testCampaignWorklist},
		{"CampaignPreview", testCampaignPreview},
		{"CampaignReport", testCampaignReport},
		{"Staff", testStaff},
		{"Tokens", testTokens},
		{"SignIn", testSignIn},
		{"Sessions", testSessions},
		{"StaffList", testStaffList},
		{"SignInPolicy", testSignInPolicy},
		{"NotFound", testNotFound},
		{"GeneratedBank", testGenerated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, newFixture(t, open, opt))
		})
	}
}

// T0 is the suite's first instant, a Monday; the log's clock starts here.
var T0 = time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)

// fixture is one subtest's log, its clock and the read store under test.
type fixture struct {
	t     *testing.T
	open  Open
	opt   Options
	log   *bolt.Store
	clock *eventstest.ManualClock
	actor events.Actor
	rs    ReadStore // started by the first sync
}

func newFixture(t *testing.T, open Open, opt Options) *fixture {
	c := eventstest.NewManualClock(T0)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &fixture{t: t, open: open, opt: opt, log: s, clock: c, actor: events.Actor{ID: "A01", Role: "admin"}}
}

// at sets the log's clock: the next appends are recorded at t.
func (f *fixture) at(t time.Time) *fixture { f.clock.Set(t); return f }

// as makes id (with role) the actor of the next appends.
func (f *fixture) as(id, role string) *fixture { f.actor = events.Actor{ID: id, Role: role}; return f }

// add appends d to stream as one event and says where it landed.
func (f *fixture) add(stream string, d events.Data) events.AppendResult {
	f.t.Helper()
	e, err := events.NewEvent(d, events.Meta{Actor: f.actor})
	if err != nil {
		f.t.Fatalf("%T: %v", d, err)
	}
	res, err := f.log.Append(context.Background(), stream, events.Any, e)
	if err != nil {
		f.t.Fatalf("append %s: %v", stream, err)
	}
	return res
}

// sync starts the read store on its first call and waits until it has
// applied the whole log.
func (f *fixture) sync() ReadStore {
	f.t.Helper()
	if f.rs == nil {
		f.rs = f.open(f.t, f.log)
	}
	head, err := f.log.Head(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.opt.Timeout)
	defer cancel()
	if err := f.rs.WaitFor(ctx, head); err != nil {
		f.t.Fatalf("the read store did not apply the log up to its head %s: %v", head, err)
	}
	return f.rs
}

// same fails the test unless got and want encode to the same JSON, the
// form the API serves (so time zones and monotonic readings do not count).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// ok fails the test on err, naming the query.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

// day returns the date of t as YYYY-MM-DD.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
