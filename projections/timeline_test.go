package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// day returns noon UTC of a day of 2026.
func day(month time.Month, d int) time.Time { return time.Date(2026, month, d, 12, 0, 0, 0, time.UTC) }

// logged is one event of a fold test: its data and when the store
// recorded it; the envelope's occurredAt comes from the data, as NewEvent
// sets it.
type logged struct {
	d        events.Data
	recorded time.Time
}

// foldCustomer folds a customer stream (registered on 2026-01-05, then
// evs, at positions 1, 2, ...) and returns the view at now.
func foldCustomer(t *testing.T, now time.Time, evs ...logged) projections.CustomerView {
	t.Helper()
	cs := projections.NewCustomers()
	all := append([]logged{{&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", BranchID: "B1",
		Source: events.Source{System: "core"}}, day(1, 5)}}, evs...)
	for i, l := range all {
		stream := "customer-C1"
		if c, ok := l.d.(*events.CallRecorded); ok {
			stream = events.CallStream(c.CallID)
		}
		ev, err := events.NewEvent(l.d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}})
		if err != nil {
			t.Fatalf("%T: %v", l.d, err)
		}
		env := &events.Envelope{ID: ev.ID, Stream: stream, Version: uint64(i), Position: events.At(uint64(i + 1)), Type: ev.Type,
			Schema: ev.Schema, RecordedAt: l.recorded, OccurredAt: ev.OccurredAt, Actor: ev.Actor, Data: ev.Data}
		cs.Apply(projections.Event{Envelope: env, Data: l.d})
	}
	v, ok := cs.Customer("C1", now)
	if !ok {
		t.Fatal("no customer")
	}
	return v
}

func contact(at time.Time) *events.ContactLogged {
	return &events.ContactLogged{Channel: "branch", Purpose: "advice", OccurredAt: at}
}

func pitch(product, outcome, followUp string, at time.Time) *events.ProductPitched {
	return &events.ProductPitched{Product: product, Channel: "phone_outbound", Outcome: outcome, FollowUpOn: followUp, OccurredAt: at}
}

// entries renders a timeline as "kind@MM-DD#position", newest first.
func entries(tl []projections.TimelineEntry) []string {
	out := make([]string, len(tl))
	for i, e := range tl {
		out[i] = fmt.Sprintf("%s@%s#%d", e.Kind, e.At.Format("01-02"), e.Position)
	}
	return out
}

func TestTimelineInOrderOfOccurrence(t *testing.T) {
	now := day(12, 20)
	for _, tc := range []struct {
		name string
		evs  []logged
		want []string
	}{
		{"an August contact entered after a December pitch", []logged{
			{pitch("LOAN", "considering", "2026-12-24", day(12, 10)), day(12, 10)},
			{contact(day(8, 14)), day(12, 11)},
		}, []string{"pitch@12-10#2", "contact@08-14#3"}},
		{"a pitch without occurredAt happened when it was recorded", []logged{
			{contact(day(12, 12)), day(12, 12)},
			{pitch("LOAN", "declined", "", time.Time{}), day(12, 11)}, // a store clock behind: still ordered by time
			{contact(day(12, 1)), day(12, 13)},
		}, []string{"contact@12-12#2", "pitch@12-11#3", "contact@12-01#4"}},
		{"the same moment: the later recorded first", []logged{
			{contact(day(11, 3)), day(11, 3)},
			{pitch("ISA", "accepted", "", day(11, 3)), day(11, 4)},
		}, []string{"pitch@11-03#3", "contact@11-03#2"}},
		{"profile changes and calls take their place", []logged{
			{&events.ProfileChanged{Changes: map[string]string{"phone": "010-5550-1234"}, Source: "branch", OccurredAt: day(9, 1)}, day(12, 1)},
			{&events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R1", Direction: "outbound", StartedAt: day(10, 2), DurationSec: 60,
				Recording: events.Recording{SHA256: strings.Repeat("a", 64), ContentType: "audio/wav", Bytes: 1}}, day(12, 2)},
			{&events.ProfileChanged{Changes: map[string]string{"phone": "010-5550-9999"}, Source: "phone_inbound"}, day(12, 3)},
		}, []string{"profile@12-03#4", "call@10-02#3", "profile@09-01#2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := entries(foldCustomer(t, now, tc.evs...).Timeline)
			if !slices.Equal(got, tc.want) {
				t.Errorf("timeline\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestRecentTimelineKeepsTheLatest fills the recent timeline, then enters
// older contacts late: one older than every entry stays out, one in the
// middle pushes out the oldest.
func TestRecentTimelineKeepsTheLatest(t *testing.T) {
	var evs []logged
	for i := range projections.TimelineDepth {
		evs = append(evs, logged{contact(day(11, 1+i)), day(11, 1+i)})
	}
	full := foldCustomer(t, day(12, 1), evs...)
	if len(full.Timeline) != projections.TimelineDepth || full.Timeline[0].At != day(11, projections.TimelineDepth) {
		t.Fatalf("full timeline %q", entries(full.Timeline))
	}
	late := foldCustomer(t, day(12, 1), append(slices.Clone(evs), logged{contact(day(8, 14)), day(12, 1)})...)
	if !slices.Equal(entries(late.Timeline), entries(full.Timeline)) {
		t.Errorf("an entry older than all was kept:\n got %q\nwant %q", entries(late.Timeline), entries(full.Timeline))
	}
	mid := foldCustomer(t, day(12, 1), append(slices.Clone(evs), logged{contact(day(11, 3).Add(time.Hour)), day(12, 1)})...)
	want := append(entries(full.Timeline[:5]), "contact@11-03#10", "contact@11-03#4", "contact@11-02#3")
	if got := entries(mid.Timeline); !slices.Equal(got, want) {
		t.Errorf("an entry in the middle:\n got %q\nwant %q", got, want)
	}
}

// TestLatePitchDoesNotReplaceANewerOne: the last pitch per product (and so
// the worklist's follow-up) is the latest made, not the latest entered.
func TestLatePitchDoesNotReplaceANewerOne(t *testing.T) {
	v := foldCustomer(t, day(12, 20),
		logged{pitch("LOAN", "considering", "2026-12-24", day(12, 10)), day(12, 10)},
		logged{pitch("LOAN", "declined", "", day(8, 14)), day(12, 11)},
		logged{pitch("ISA", "declined", "", day(8, 1)), day(12, 11)},
		logged{pitch("ISA", "accepted", "", time.Time{}), day(12, 12)},
	)
	got := map[string]string{}
	for _, p := range v.Pitches {
		got[p.Product] = p.Outcome + " " + p.At.Format(time.DateOnly) + " " + p.FollowUpOn
	}
	want := map[string]string{"LOAN": "considering 2026-12-10 2026-12-24", "ISA": "accepted 2026-12-12 "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("last pitch per product %v, want %v", got, want)
	}
}

// TestFreshnessRunsFromTheConfirmation: a verification entered late
// counts from when the customer confirmed, and never makes the data older.
func TestFreshnessRunsFromTheConfirmation(t *testing.T) {
	now := day(12, 20)
	for _, tc := range []struct {
		name     string
		evs      []logged
		verified time.Time
		stale    bool
	}{
		{"confirmed in August, entered in December", []logged{{&events.ProfileVerified{Channel: "branch", OccurredAt: day(8, 14)}, day(12, 19)}},
			day(8, 14), true},
		{"confirmed when entered", []logged{{&events.ProfileVerified{Channel: "branch"}, day(12, 19)}}, day(12, 19), false},
		{"an older confirmation entered after a newer one", []logged{
			{&events.ProfileVerified{Channel: "branch", OccurredAt: day(12, 1)}, day(12, 1)},
			{&events.ProfileVerified{Channel: "branch", OccurredAt: day(8, 14)}, day(12, 19)},
		}, day(12, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := foldCustomer(t, now, tc.evs...)
			if !v.VerifiedAt.Equal(tc.verified) || v.Stale != tc.stale {
				t.Errorf("verified %v stale %v, want %v %v", v.VerifiedAt, v.Stale, tc.verified, tc.stale)
			}
		})
	}
}

// TestRequestAtWhenMade: a request's time is when the customer made it.
func TestRequestAtWhenMade(t *testing.T) {
	v := foldCustomer(t, day(12, 20),
		logged{&events.CustomerRequestNoted{Text: "토요일 영업", OccurredAt: day(9, 9)}, day(12, 1)},
		logged{&events.CustomerRequestNoted{Text: "앱 개선"}, day(12, 2)})
	if len(v.Requests) != 2 || !v.Requests[0].At.Equal(day(9, 9)) || !v.Requests[1].At.Equal(day(12, 2)) {
		t.Errorf("requests %+v", v.Requests)
	}
}

// TestRestoredTimelineInOrder: a record stored by a release that kept the
// recent timeline in log order is shown in order of occurrence.
func TestRestoredTimelineInOrder(t *testing.T) {
	state := `{"id":"C1","branchId":"B1","name":"김민지","registeredAt":1767600000,"version":3,"timeline":[` +
		`{"kind":"pitch","at":"2026-12-10T12:00:00Z","position":2},{"kind":"contact","at":"2026-08-14T12:00:00Z","position":3},` +
		`{"kind":"contact","at":"2026-12-12T12:00:00Z","position":4}]}`
	var r projections.CustomerRecord
	if err := json.Unmarshal([]byte(state), &r); err != nil {
		t.Fatal(err)
	}
	v, _ := projections.RestoreCustomers([]projections.CustomerRecord{r}).Customer("C1", day(12, 20))
	want := []string{"contact@12-12#4", "pitch@12-10#2", "contact@08-14#3"}
	if got := entries(v.Timeline); !slices.Equal(got, want) {
		t.Errorf("restored timeline\n got %q\nwant %q", got, want)
	}
}

// TestTimelinePage pages through a stream's full timeline in a real store,
// in order of occurrence, with late entries among older ones.
func TestTimelinePage(t *testing.T) {
	ctx := context.Background()
	s := leadStore(t) // records at leadNow, 2026-11-25, and on
	leadAppend(t, s, "customer-C1", events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", BranchID: "B1", Source: events.Source{System: "core"}}, // v0, recorded 11-25
		contact(day(11, 20)),                      // v1
		pitch("LOAN", "declined", "", day(8, 14)), // v2, entered late
		&events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: new(bool)}, // v3, recorded 11-25
		contact(day(1, 2)), // v4, before the registration
		&events.ProfileVerified{Channel: "branch", OccurredAt: day(11, 20)}, // v5, the same moment as v1
	)
	// Newest first: v3 and v0 (recorded together now, the later position
	// first),
	// v5 and v1 (11-20; v5 recorded later), v2 (08-14), v4 (01-02).
	want := []uint64{3, 0, 5, 1, 2, 4}
	for _, limit := range []int{1, 2, 4, 6, 50} {
		var got []uint64
		var after *uint64
		for pages := 0; ; pages++ {
			if pages > len(want) {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, more, err := projections.TimelinePage(ctx, s, "customer-C1", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit || (more && len(page) != limit) {
				t.Fatalf("limit %d: page of %d, more %v", limit, len(page), more)
			}
			for _, e := range page {
				got = append(got, e.Version)
			}
			if !more {
				break
			}
			v := page[len(page)-1].Version
			after = &v
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: versions %v, want %v", limit, got, want)
		}
	}
	beyond := uint64(6)
	if _, _, err := projections.TimelinePage(ctx, s, "customer-C1", &beyond, 10); events.ErrorCode(err) != events.Invalid {
		t.Errorf("a cursor past the stream: %v, want invalid", err)
	}
	if _, _, err := projections.TimelinePage(ctx, s, "customer-C2", nil, 10); events.ErrorCode(err) != events.NotFound {
		t.Errorf("no such stream: %v, want not_found", err)
	}
}

// BenchmarkTimelinePage reads the first page of 50 of a 2,000-event
// customer stream whose contacts were entered in shuffled order.
func BenchmarkTimelinePage(b *testing.B) {
	ctx := context.Background()
	s := leadStore(b)
	leadAppend(b, s, "customer-C1", events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", BranchID: "B1", Source: events.Source{System: "core"}})
	for i := range 20 {
		ds := make([]events.Data, 100)
		for j := range ds {
			ds[j] = contact(day(1, 1).Add(time.Duration((i*37+j*101)%2000) * time.Hour))
		}
		leadAppend(b, s, "customer-C1", events.Any, ds...)
	}
	b.ResetTimer()
	for b.Loop() {
		page, more, err := projections.TimelinePage(ctx, s, "customer-C1", nil, 50)
		if err != nil || len(page) != 50 || !more {
			b.Fatal(len(page), more, err)
		}
	}
}
