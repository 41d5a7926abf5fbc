package importer_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/importer"
)

// between is a real store that runs another writer's append (first) just
// before the importer's first append reaches it: what lands between the
// importer's look at a customer and its append.
type between struct {
	events.Store
	once  sync.Once
	first func(context.Context, events.Store) error
	err   error
}

func (b *between) cut(ctx context.Context) {
	b.once.Do(func() { b.err = b.first(ctx, b.Store) })
}

func (b *between) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	b.cut(ctx)
	return b.Store.Append(ctx, stream, expected, evs...)
}

func (b *between) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	b.cut(ctx)
	return events.AppendBatch(ctx, b.Store, batch)
}

func appendOne(stream string, d events.Data) func(context.Context, events.Store) error {
	return func(ctx context.Context, s events.Store) error {
		ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "H1", Role: "centre_head"}})
		if err != nil {
			return err
		}
		_, err = s.Append(ctx, stream, events.StreamExists, ev)
		return err
	}
}

// TestMergeBetweenLookAndAppend, on each store: a merge, or an ordinary
// write, lands on a customer's stream after the importer looked at it
// (not merged) and before its batch is appended. A merge: that
// customer's rows are rejected naming the survivor and nothing lands
// after the CustomerMergedInto — two rows of theirs in one batch
// included. An ordinary write: the rows land after it, in file order.
func TestMergeBetweenLookAndAppend(t *testing.T) {
	const rows = `{"customerId":"C0000001","ref":"APP-1","version":"1","observedAt":"2026-10-10T14:00:00+09:00","phone":"010-5550-9999"}
{"customerId":"C0000003","ref":"APP-2","version":"1","observedAt":"2026-10-11T14:00:00+09:00","email":"a@example.com"}
{"customerId":"C0000001","ref":"APP-3","version":"1","observedAt":"2026-10-12T14:00:00+09:00","email":"b@example.com"}
{"customerId":"C0000003","ref":"APP-4","version":"1","observedAt":"2026-10-13T14:00:00+09:00","phone":"010-5550-1234"}
`
	merge := appendOne(events.CustomerStream("C0000001"), &events.CustomerMergedInto{SurvivorID: "C0000002", Reason: "same phone and birth date"})
	contact := appendOne(events.CustomerStream("C0000003"), &events.ProfileVerified{Channel: "branch", Fields: []string{"phone"}})
	for name, open := range map[string]func(testing.TB) *ledger{"segment log": embedded, "bbolt": onBolt, "postgres": onPostgres} {
		l := open(t)
		importFile(t, l, "core", importer.Customers, "core_customers.csv")
		before := map[string]uint64{}
		for _, c := range []string{"C0000001", "C0000003"} {
			before[c] = lastVersion(t, l.store, c)
		}
		b := &between{Store: l.store, first: func(ctx context.Context, s events.Store) error {
			if err := merge(ctx, s); err != nil {
				return err
			}
			return contact(ctx, s)
		}}
		got, err := importFrom(t, &ledger{store: b, sealer: l.sealer, keys: l.keys},
			importer.Config{System: "card", Kind: importer.Profiles, Format: importer.JSONL, Batch: 4, InFlight: 1}, strings.NewReader(rows))
		if err != nil || b.err != nil {
			t.Fatalf("%s: import: %v; the other writer: %v", name, err, b.err)
		}
		wantRejects(t, name, got.rejects, map[int]string{1: "merged into customer C0000002", 3: "merged into customer C0000002"})
		if got.stats.Appended != 2 {
			t.Errorf("%s: appended %d, want C0000003's two rows", name, got.stats.Appended)
		}
		merged := readStream(t, l.store, "C0000001")
		if n := len(merged); merged[n-1].Type != "CustomerMergedInto" || uint64(n-1) != before["C0000001"]+1 {
			t.Errorf("%s: C0000001's stream: %d events, the last %s, want the merge last, right after the %d before", name, n, merged[n-1].Type, before["C0000001"]+1)
		}
		other := readStream(t, l.store, "C0000003")
		tail := other[before["C0000003"]+1:]
		if len(tail) != 3 || tail[0].Type != "ProfileVerified" || tail[1].Type != "ProfileReported" || tail[2].Type != "ProfileReported" {
			t.Fatalf("%s: C0000003's stream after the import: %d new events, want the other writer's then two reports", name, len(tail))
		}
		var first, second events.ProfileReported
		if err := decodeOpened(t, l, &tail[1], &first); err != nil {
			t.Fatal(err)
		}
		if err := decodeOpened(t, l, &tail[2], &second); err != nil {
			t.Fatal(err)
		}
		if first.Source.Ref != "APP-2" || second.Source.Ref != "APP-4" {
			t.Errorf("%s: C0000003's reports in the order %s, %s, want the file's", name, first.Source.Ref, second.Source.Ref)
		}
	}
}

func readStream(t *testing.T, s events.Store, customer string) []events.Envelope {
	t.Helper()
	evs, err := s.ReadStream(t.Context(), events.CustomerStream(customer), 0, events.Forward, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func lastVersion(t *testing.T, s events.Store, customer string) uint64 {
	t.Helper()
	evs := readStream(t, s, customer)
	return evs[len(evs)-1].Version
}

func decodeOpened(t *testing.T, l *ledger, e *events.Envelope, into *events.ProfileReported) error {
	t.Helper()
	d, err := l.sealer.OpenEnvelope(t.Context(), e)
	if err != nil {
		return err
	}
	p, ok := d.(*events.ProfileReported)
	if !ok {
		t.Fatalf("%s@%d is %T", e.Stream, e.Version, d)
	}
	*into = *p
	return nil
}
