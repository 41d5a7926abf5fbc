package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/pgkeys"
	"github.com/dangol/dangol/events/pii/piitest"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/events/seglog"
	"github.com/dangol/dangol/ops/importer"
	"github.com/dangol/dangol/ops/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// ledger is a real store with the key store and sealer beside it.
type ledger struct {
	store  events.Store
	sealer *pii.Sealer
	keys   pii.KeyStore
}

// embedded opens the embedded store of a new data dir (the segment log)
// and keys.db in a temporary directory.
func embedded(t testing.TB) *ledger {
	return local(t, func(dir string) (events.Store, error) {
		return seglog.Open(filepath.Join(dir, "log"), seglog.Options{Now: eventstest.Clock(eventstest.Epoch)})
	})
}

// onBolt is embedded on the bbolt store of earlier releases.
func onBolt(t testing.TB) *ledger {
	return local(t, func(dir string) (events.Store, error) {
		return bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	})
}

func local(t testing.TB, open func(dir string) (events.Store, error)) *ledger {
	t.Helper()
	dir := t.TempDir()
	s, err := open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	k, err := boltkeys.Open(filepath.Join(dir, "keys.db"), piitest.NewMaster(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return &ledger{store: s, sealer: pii.NewSealer(k), keys: k}
}

// onPostgres opens the PostgreSQL store and its key tables in a fresh database.
func onPostgres(t testing.TB) *ledger {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.Database(t), postgres.Options{Migrate: true, Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	k, err := pgkeys.Open(t.Context(), s.Pool(), piitest.NewMaster(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return &ledger{store: s, sealer: pii.NewSealer(k), keys: k}
}

// imported is what one import of a test file did.
type imported struct {
	stats   importer.Stats
	rejects []rejected
}

type rejected struct {
	Line   int    `json:"line"`
	Raw    string `json:"raw"`
	Reason string `json:"reason"`
}

// importFile imports testdata/name as kind records of system into l (a
// dry run when l is nil) and reads back the rejects file.
func importFile(t *testing.T, l *ledger, system string, kind importer.Kind, name string, tune ...func(*importer.Config)) imported {
	t.Helper()
	path := filepath.Join("testdata", name)
	f, err := importer.FormatOf(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cfg := importer.Config{System: system, Kind: kind, Format: f, Batch: 3, InFlight: 2}
	for _, f := range tune {
		f(&cfg)
	}
	got, err := importFrom(t, l, cfg, in)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return got
}

// importFrom runs cfg on in into l (a dry run when l is nil), sealing
// with l's sealer, with a rejects file of its own, which it reads back.
func importFrom(t *testing.T, l *ledger, cfg importer.Config, in io.Reader) (imported, error) {
	t.Helper()
	rej, err := importer.CreateRejects(filepath.Join(t.TempDir(), "rejects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rejects = rej
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return eventstest.Epoch } // the stores' clock
	}
	var store events.Store
	if l != nil {
		store = l.store
		cfg.Seal = func(id string) func(events.Personal) error { return l.sealer.SealFor(t.Context(), id) }
		cfg.Open = l.sealer.OpenEnvelope
	} else {
		cfg.DryRun = true
	}
	st, err := importer.Run(t.Context(), cfg, store, in)
	if cerr := rej.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return imported{stats: st, rejects: readRejects(t, rej.Path())}, err
}

// readRejects reads a rejects file, sorted by line (the workers write in
// the order they meet rows), checking its mode; a file that is not there
// holds no rejects.
func readRejects(t *testing.T, path string) []rejected {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("rejects file mode %v, want 0600 (it holds personal data)", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []rejected
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r rejected
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("rejects line %q: %v", line, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b rejected) int { return a.Line - b.Line })
	return out
}

// wantRejects checks the rejected lines and that each reason holds its
// words.
func wantRejects(t *testing.T, name string, got []rejected, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rejects %v, want %d", name, len(got), got, len(want))
	}
	for _, r := range got {
		w, ok := want[r.Line]
		if !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("%s line %d rejected for %q, want a reason with %q", name, r.Line, r.Reason, w)
		}
		if r.Raw == "" && w != "" {
			t.Errorf("%s line %d: the rejects file lacks the raw row", name, r.Line)
		}
	}
}

// The test files, in the order an operator imports them (the master first).
var files = []struct {
	system string
	kind   importer.Kind
	name   string
	stats  importer.Stats
	reject map[int]string
}{
	{"core", importer.Customers, "core_customers.csv",
		importer.Stats{Rows: 10, Rejected: 5, Events: 10, Appended: 10},
		map[int]string{6: "name: is required", 7: "phone: must be a phone number", 8: "observedAt: is required",
			9: "has 6 fields, the header 11", 10: "not CSV"}},
	{"core", importer.Financials, "core_financials.jsonl",
		importer.Stats{Rows: 10, Rejected: 6, Events: 5, Appended: 4},
		map[int]string{5: "customer C9999999 is not registered", 6: "depositBalance: must be a whole number",
			7: "asOf: must be a valid date", 8: `"note" is not a column of financials records`,
			9: "asOf must be a string, a number", 10: "is not a JSON object"}},
	{"core", importer.Holdings, "core_holdings.csv",
		importer.Stats{Rows: 5, Rejected: 1, Events: 4, Appended: 4},
		map[int]string{5: "change: must be one of opened, closed"}},
	{"card", importer.Profiles, "card_applications.jsonl",
		importer.Stats{Rows: 4, Rejected: 2, Events: 3, Appended: 2},
		map[int]string{3: "fields: at least one field is required", 4: "customer C0000404 is not registered"}},
	{"internet", importer.Profiles, "internet_changes.csv",
		importer.Stats{Rows: 3, Rejected: 1, Events: 2, Appended: 2},
		map[int]string{3: "verified: must be true or false"}},
}

// importAll imports every test file into l, checking each one's counts
// and rejects.
func importAll(t *testing.T, l *ledger) {
	t.Helper()
	for _, f := range files {
		got := importFile(t, l, f.system, f.kind, f.name)
		if got.stats != f.stats {
			t.Errorf("%s: %+v, want %+v", f.name, got.stats, f.stats)
		}
		wantRejects(t, f.name, got.rejects, f.reject)
	}
}

// TestImportEmbedded, TestImportBolt and TestImportPostgres import every
// kind of record from real files into a real store, then import them all
// again: the second run appends nothing (each event's id is the source
// record's) and rejects the same rows. The segment log and PostgreSQL
// take batches (events.BatchAppender), bbolt one append at a time.
func TestImportEmbedded(t *testing.T) { testImport(t, embedded(t)) }

func TestImportBolt(t *testing.T) { testImport(t, onBolt(t)) }

func TestImportPostgres(t *testing.T) { testImport(t, onPostgres(t)) }

func testImport(t *testing.T, l *ledger) {
	importAll(t, l)
	checkLedger(t, l)
	head, err := l.store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got := importFile(t, l, f.system, f.kind, f.name, func(c *importer.Config) { c.Batch, c.InFlight = 1000, 1 })
		want := f.stats
		want.Duplicates, want.Appended = want.Appended, 0
		if f.kind == importer.Customers {
			// The master's registrations and reports are all duplicates.
			want.Duplicates = want.Events
		}
		if got.stats != want {
			t.Errorf("%s again: %+v, want %+v", f.name, got.stats, want)
		}
		wantRejects(t, f.name+" again", got.rejects, f.reject)
	}
	if again, _ := l.store.Head(t.Context()); again != head {
		t.Fatalf("the second import moved the head from %v to %v", head, again)
	}
}

// checkLedger reads back what the test files made: C0000001's stream in
// file order, actors, and every personal value sealed in the log.
func checkLedger(t *testing.T, l *ledger) {
	t.Helper()
	evs, err := l.store.ReadStream(t.Context(), events.CustomerStream("C0000001"), 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.Actor.ID != "system:import:core" && e.Actor.ID != "system:import:card" {
			t.Errorf("%s@%d appended by %q", e.Stream, e.Version, e.Actor.ID)
		}
		if e.OccurredAt.IsZero() || e.OccurredAt.After(time.Date(2026, 10, 21, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s@%d occurred at %v, want its record's observedAt (before the store's clock, %v)", e.Stream, e.Version, e.OccurredAt, eventstest.Epoch)
		}
		for _, plain := range []string{"김민준", "010-5550-0101", "minjun@example.com", "테헤란로", "010-5550-9999"} {
			if bytes.Contains(e.Data, []byte(plain)) {
				t.Errorf("%s@%d holds a personal value in clear: %s", e.Stream, e.Version, e.Data)
			}
		}
	}
	want := []string{"CustomerRegistered", "ProfileReported", "FinancialsReported", "ProductHoldingChanged",
		"ProductHoldingChanged", "ProductHoldingChanged", "ProfileReported"}
	if !slices.Equal(types, want) {
		t.Fatalf("C0000001's stream: %v, want %v", types, want)
	}
	d, err := l.sealer.OpenEnvelope(t.Context(), &evs[1])
	if err != nil {
		t.Fatal(err)
	}
	p := d.(*events.ProfileReported)
	if p.Fields["phone"] != "010-5550-0101" || p.Fields["name"] != "김민준" || !p.Source.Verified ||
		p.Source.System != "core" || p.Source.Ref != "CIF000000001" || p.Source.Version != "3" ||
		!p.Source.ObservedAt.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the master's report of C0000001 opens as %+v", p)
	}
	r, err := l.sealer.OpenEnvelope(t.Context(), &evs[0])
	if err != nil {
		t.Fatal(err)
	}
	if reg := r.(*events.CustomerRegistered); reg.Name != "김민준" || reg.BranchID != "B001" || reg.Source != (events.Source{System: "core", Ref: "CIF000000001"}) {
		t.Errorf("C0000001 registered as %+v", reg)
	}
}

// TestRejectsHoldTheRows: a rejected row is in the rejects file as the
// file holds it, a broken CSV row and a JSON line alike, and the rows
// after a broken one are still read.
func TestRejectsHoldTheRows(t *testing.T) {
	l := embedded(t)
	for _, f := range files[:2] { // a CSV file and a JSON Lines file
		got := importFile(t, l, f.system, f.kind, f.name)
		lines := fileLines(t, f.name)
		for _, r := range got.rejects {
			if r.Raw != lines[r.Line-1] {
				t.Errorf("%s line %d in the rejects file as %q, the file has %q", f.name, r.Line, r.Raw, lines[r.Line-1])
			}
		}
	}
	if _, err := l.store.ReadStream(t.Context(), events.CustomerStream("C0000010"), 0, events.Forward, 10); err != nil {
		t.Errorf("C0000010, after the broken row, was not imported: %v", err)
	}
}

func fileLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// TestDryRunAppendsNothing: a dry run validates and counts as an import
// would, rejecting the same rows, and appends nothing and creates no key.
func TestDryRunAppendsNothing(t *testing.T) {
	l := embedded(t)
	for _, f := range files {
		got := importFile(t, l, f.system, f.kind, f.name, func(c *importer.Config) { c.DryRun = true })
		want := f.stats
		want.Appended = 0
		if f.name == "core_financials.jsonl" || f.name == "card_applications.jsonl" {
			// Unregistered customers are found only by the store.
			want.Rejected--
		}
		if got.stats != want {
			t.Errorf("dry run of %s: %+v, want %+v", f.name, got.stats, want)
		}
	}
	if h, _ := l.store.Head(t.Context()); h != events.Start {
		t.Fatalf("a dry run appended: head %v", h)
	}
	if _, err := l.keys.DataKey(t.Context(), "C0000001", false); !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("a dry run created a data key (or failed otherwise): %v", err)
	}
}

// TestBadFileAppendsNothing: a CSV header naming a column the kind does
// not have, a header repeated, an empty file: a clear error, no row read,
// nothing appended.
func TestBadFileAppendsNothing(t *testing.T) {
	l := embedded(t)
	for name, body := range map[string]string{
		"unknown column": "customerId,ref,version,observedAt,phone,salary\nC1,R1,1,2026-10-01,010-1234-5678,100\n",
		"twice":          "customerId,ref,version,observedAt,phone,phone\nC1,R1,1,2026-10-01,010-1234-5678,010\n",
		"empty":          "",
	} {
		cfg := importer.Config{System: "internet", Kind: importer.Profiles, Format: importer.CSV}
		got, err := importFrom(t, l, cfg, strings.NewReader(body))
		if events.ErrorCode(err) != events.Invalid || got.stats.Rows != 0 {
			t.Errorf("%s: %+v, %v; want Invalid and no row", name, got.stats, err)
		}
		if err != nil && strings.Contains(err.Error(), "010") {
			t.Errorf("%s: the error repeats a value: %v", name, err)
		}
	}
	if h, _ := l.store.Head(t.Context()); h != events.Start {
		t.Fatalf("a bad file appended: head %v", h)
	}
}

// TestErasedCustomerRejected: nothing is imported for an erased
// customer; the row is rejected saying so.
func TestErasedCustomerRejected(t *testing.T) {
	l := embedded(t)
	importFile(t, l, "core", importer.Customers, "core_customers.csv")
	if err := l.sealer.Erase(t.Context(), "C0000003"); err != nil {
		t.Fatal(err)
	}
	got := importFile(t, l, "card", importer.Profiles, "card_applications.jsonl")
	want := map[int]string{2: "personal data erased", 3: "fields: at least one field is required", 4: "customer C0000404 is not registered"}
	wantRejects(t, "card_applications.jsonl", got.rejects, want)
	if got.stats.Appended != 1 {
		t.Errorf("appended %d, want C0000001's report only", got.stats.Appended)
	}
}

// TestCustomerOrderKept: with several batches in flight, each customer's
// events are appended in the file's order (the rows of one customer go to
// one worker), whatever the interleaving of customers in the file.
func TestCustomerOrderKept(t *testing.T) {
	l := embedded(t)
	const customers, versions = 40, 6
	var master, changes strings.Builder
	master.WriteString("customerId,ref,version,observedAt,branchId,name\n")
	changes.WriteString("customerId,ref,version,observedAt,email\n")
	for c := range customers {
		fmt.Fprintf(&master, "C%04d,CIF%04d,1,2026-10-01,B001,고객%d\n", c, c, c)
	}
	for v := range versions {
		for c := range customers {
			fmt.Fprintf(&changes, "C%04d,IB-C%04d,%d,2026-10-%02dT10:00:00Z,c%d.v%d@example.com\n", c, c, v, 20-v, c, v)
		}
	}
	for _, in := range []struct {
		kind importer.Kind
		body string
	}{{importer.Customers, master.String()}, {importer.Profiles, changes.String()}} {
		cfg := importer.Config{System: "core", Kind: in.kind, Format: importer.CSV, Batch: 5, InFlight: 4}
		got, err := importFrom(t, l, cfg, strings.NewReader(in.body))
		if err != nil || got.stats.Rejected != 0 {
			t.Fatalf("%s: %+v, %v", in.kind, got.stats, err)
		}
	}
	for c := range customers {
		evs, err := l.store.ReadStream(t.Context(), events.CustomerStream(fmt.Sprintf("C%04d", c)), 2, events.Forward, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := range evs {
			d, err := l.sealer.OpenEnvelope(t.Context(), &evs[i])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, d.(*events.ProfileReported).Source.Version)
		}
		if want := []string{"0", "1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
			t.Fatalf("C%04d's reports in versions %v, want the file's order %v", c, got, want)
		}
	}
}

// TestRecordOfTwoCustomers: one source record (system, ref, version)
// imported for a second customer, in a later import, is refused by the
// store, and its row rejected, on every store (in one batch the importer
// refuses it first: TestReview15RecordOfTwoCustomersInOneBatch).
func TestRecordOfTwoCustomers(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *ledger{"embedded": embedded, "bolt": onBolt, "postgres": onPostgres} {
		l := open(t)
		importFile(t, l, "core", importer.Customers, "core_customers.csv")
		header := "customerId,ref,version,observedAt,email\n"
		cfg := importer.Config{System: "loan", Kind: importer.Profiles, Format: importer.CSV, InFlight: 1}
		if got, err := importFrom(t, l, cfg, strings.NewReader(header+"C0000001,APP-1,1,2026-10-05,a@example.com\n")); err != nil || got.stats.Appended != 1 {
			t.Fatalf("%s: C0000001's record: %+v, %v", name, got.stats, err)
		}
		got, err := importFrom(t, l, cfg, strings.NewReader(header+"C0000002,APP-1,1,2026-10-05,a@example.com\n"))
		if err != nil || got.stats.Appended != 0 || got.stats.Rejected != 1 {
			t.Errorf("%s: %+v, %v; want the row rejected", name, got.stats, err)
		}
		wantRejects(t, name, got.rejects, map[int]string{2: "another stream"})
	}
}

// TestStoreFailureStops: a store that fails (here closed) stops the
// import with its error; no row is rejected for the store's sake.
func TestStoreFailureStops(t *testing.T) {
	l := embedded(t)
	l.store.Close()
	in, err := os.Open(filepath.Join("testdata", "internet_changes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	got, err := importFrom(t, l, importer.Config{System: "internet", Kind: importer.Profiles, Format: importer.CSV}, in)
	if events.ErrorCode(err) != events.Unavailable || got.stats.Appended != 0 || got.stats.Rejected > 1 {
		t.Fatalf("import into a closed store: %+v, %v; want Unavailable, and only the bad row rejected", got.stats, err)
	}
}

// TestMasterOfKnownCustomer: a new version of a customer's master record
// registers nobody again (counted as an existing customer) and reports
// its values, on every store.
func TestMasterOfKnownCustomer(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *ledger{"embedded": embedded, "bolt": onBolt, "postgres": onPostgres} {
		l := open(t)
		importFile(t, l, "core", importer.Customers, "core_customers.csv")
		body := "customerId,ref,version,observedAt,branchId,name,phone\nC0000001,CIF000000001,4,2026-11-01,B001,김민준,010-5550-7777\n"
		got, err := importFrom(t, l, importer.Config{System: "core", Kind: importer.Customers, Format: importer.CSV}, strings.NewReader(body))
		if want := (importer.Stats{Rows: 1, Events: 2, Appended: 1, Existing: 1}); err != nil || got.stats != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got.stats, err, want)
		}
		evs, err := l.store.ReadStream(t.Context(), events.CustomerStream("C0000001"), events.LastVersion, events.Backward, 1)
		if err != nil || len(evs) != 1 || evs[0].Type != "ProfileReported" || evs[0].Version != 2 {
			t.Errorf("%s: C0000001's last event %+v, %v; want the new version's ProfileReported at 2", name, evs, err)
		}
	}
}

// TestCancelledImportFails: an import whose context ends is an error,
// whenever it ends (here before the first batch is appended), never a
// success that left rows out.
func TestCancelledImportFails(t *testing.T) {
	l := embedded(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rej, err := importer.CreateRejects(filepath.Join(t.TempDir(), "r.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rej.Close()
	in := strings.NewReader("customerId,ref,version,observedAt,email\nC0000001,APP-1,1,2026-10-05,a@example.com\n")
	cfg := importer.Config{System: "loan", Kind: importer.Profiles, Format: importer.CSV, Rejects: rej}
	if st, err := importer.Run(ctx, cfg, l.store, in); !errors.Is(err, context.Canceled) || st.Appended != 0 {
		t.Fatalf("cancelled import: %+v, %v; want context.Canceled", st, err)
	}
}
