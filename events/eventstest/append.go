package eventstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// testRoundTrip proves that every envelope field survives an append and the
// reads, byte for byte, and that the AppendResult says where the events landed.
func testRoundTrip(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	kst := time.FixedZone("KST", 9*60*60)
	in := evs(3)
	in[0].OccurredAt = time.Date(2026, 11, 1, 9, 30, 15, 123456789, kst) // nanoseconds and a zone: no rounding allowed
	in[0].CorrelationID = strings.Repeat("c", 64)                        // the longest allowed
	in[0].CausationID = events.NewID().String()
	in[1].Actor = events.System("sampler") // no role
	in[1].Type, in[1].Schema = "ProfileChanged", 3
	// Data is stored as given: key order, spacing, escapes and non-ASCII text
	// untouched (a jsonb column would reformat it and break the hash).
	in[1].Data = json.RawMessage("{\"z\": 1,  \"a\":\"\\u00e9 단골 \\\"q\\\"\",\n\"n\":null}")
	in[2].Data = json.RawMessage(`{"big":"` + strings.Repeat("x", 32<<10) + `"}`)

	if h := head(t, s); !h.IsZero() {
		t.Fatalf("a fresh store has head %s, want Start", h)
	}
	if got, err := s.ReadAll(ctx, events.Start, 10); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll on a fresh store: %d events, %v; want none and no error", len(got), err)
	}

	// recordedAt is the store's clock at the append, in UTC, to the
	// microsecond (what every backend can store).
	first := time.Date(2031, 2, 3, 4, 5, 6, 789123456, kst)
	opt.clock.Set(first)
	res := mustAppend(t, s, "customer-C123", events.NoStream, in...)
	later := first.Add(90 * time.Minute)
	opt.clock.Set(later)
	more := ev(3)
	second := mustAppend(t, s, "customer-C123", events.Exact(2), more)

	got := mustReadStream(t, s, "customer-C123", 0, events.Forward, 10)
	if len(got) != 4 {
		t.Fatalf("ReadStream returned %d events, want 4", len(got))
	}
	for i, w := range append(slices.Clone(in), more) {
		e := got[i]
		if d := diffEvent(e, w); d != "" {
			t.Errorf("event %d did not survive the round trip: %s", i, d)
		}
		if e.Stream != "customer-C123" || e.Version != uint64(i) {
			t.Errorf("event %d is %s, want customer-C123@%d", i, describe(e), i)
		}
		if e.Position.IsZero() || (i > 0 && !got[i-1].Position.Less(e.Position)) {
			t.Errorf("event %d has position %s, not after the previous event's", i, e.Position)
		}
		if e.RecordedAt.Location() != time.UTC {
			t.Errorf("event %d: recordedAt %v is not in UTC", i, e.RecordedAt)
		}
		if e.Hash == (events.Hash{}) {
			t.Errorf("event %d has no hash", i)
		}
	}
	for i := range 4 {
		want := first
		if i == 3 {
			want = later
		}
		want = want.UTC().Truncate(time.Microsecond)
		if r := got[i].RecordedAt; !r.Equal(want) {
			t.Errorf("event %d: recordedAt %v, want the store's clock at the append, %v", i, r, want)
		}
	}
	if !got[0].OccurredAt.Equal(in[0].OccurredAt) || !got[1].OccurredAt.IsZero() {
		t.Errorf("occurredAt read back as %v and %v, want %v and unset", got[0].OccurredAt, got[1].OccurredAt, in[0].OccurredAt)
	}

	checkResult(t, "first append", res, "customer-C123", got[:3])
	checkResult(t, "second append", second, "customer-C123", got[3:])
	if res.Duplicate || second.Duplicate {
		t.Errorf("a first append reported Duplicate")
	}

	all := readAll(t, s)
	checkSameLog(t, "ReadAll after a round trip", all, got)
	back := mustReadStream(t, s, "customer-C123", events.LastVersion, events.Backward, 10)
	slices.Reverse(back)
	checkSameLog(t, "ReadStream backward after a round trip", back, got)
	if h := head(t, s); h != got[3].Position {
		t.Errorf("head %s, want the last event's position %s", h, got[3].Position)
	}
}

// checkResult fails unless res describes exactly the envelopes written.
func checkResult(t *testing.T, what string, res events.AppendResult, stream string, written []events.Envelope) {
	t.Helper()
	last := written[len(written)-1]
	ids := make([]string, len(written))
	for i, e := range written {
		ids[i] = e.ID.String()
	}
	if res.Stream != stream || res.Version != last.Version || res.Position != last.Position || !slices.Equal(res.EventIDs, ids) {
		t.Errorf("%s: result {stream %s, version %d, position %s, ids %v}; the read says {%s, %d, %s, %v}",
			what, res.Stream, res.Version, res.Position, res.EventIDs, stream, last.Version, last.Position, ids)
	}
}

// testAtomic proves that one append's events are written together, at
// consecutive versions, and that one bad event keeps all of them out.
func testAtomic(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	mustAppend(t, s, "call-X0", events.NoStream, ev(0))
	res := mustAppend(t, s, "customer-A1", events.NoStream, evs(3)...)
	got := mustReadStream(t, s, "customer-A1", 0, events.Forward, 10)
	if len(got) != 3 || res.Version != 2 || len(res.EventIDs) != 3 {
		t.Fatalf("a 3-event append: stream has %d events, result version %d with %d ids; want 3, 2, 3", len(got), res.Version, len(res.EventIDs))
	}
	for i := 1; i < 3; i++ {
		if got[i].Version != got[i-1].Version+1 || !got[i-1].Position.Less(got[i].Position) {
			t.Errorf("events of one append are not consecutive: %s then %s", describe(got[i-1]), describe(got[i]))
		}
	}
	checkResult(t, "a 3-event append", res, "customer-A1", got)

	badType, notObject := evs(3), evs(3)
	badType[1].Type = "not a type"
	notObject[2].Data = json.RawMessage(`[1,2]`)
	for _, tc := range []struct {
		name, stream string
		exp          events.ExpectedVersion
		evs          []events.Event
	}{
		{"bad type in the middle, existing stream", "customer-A1", events.Exact(2), badType},
		{"data not an object at the end, existing stream", "customer-A1", events.Any, notObject},
		{"bad type in the middle, new stream", "customer-A2", events.NoStream, badType},
		{"data not an object at the end, new stream", "customer-A2", events.Any, notObject},
	} {
		before := stateOf(t, s)
		_, err := s.Append(ctx, tc.stream, tc.exp, tc.evs...)
		wantCode(t, err, events.Invalid, tc.name)
		wantUnchanged(t, s, before, tc.name)
	}
	if _, err := s.ReadStream(ctx, "customer-A2", 0, events.Forward, 10); events.ErrorCode(err) != events.NotFound {
		t.Errorf("a stream whose only appends failed: ReadStream err = %v, want not_found", err)
	}
	if now := mustReadStream(t, s, "customer-A1", 0, events.Forward, 10); len(now) != 3 {
		t.Errorf("failed appends changed customer-A1: %d events, want 3", len(now))
	}
}

// wantConflict fails unless err is a Conflict naming stream and its actual version.
func wantConflict(t testing.TB, err error, stream string, actual int64, what string) {
	t.Helper()
	if events.ErrorCode(err) != events.Conflict {
		t.Errorf("%s: err = %v (code %q), want conflict", what, err, events.ErrorCode(err))
		return
	}
	var e *events.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: conflict %v is not an *events.Error", what, err)
		return
	}
	if e.Stream != stream || e.ActualVersion != actual {
		t.Errorf("%s: conflict names stream %q at version %d, want %q at %d", what, e.Stream, e.ActualVersion, stream, actual)
	}
}

// testExpected proves every expected-version form, on a missing and on an
// existing stream, and that a conflict writes nothing and tells the truth.
func testExpected(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	const name = "customer-E1"
	none := events.NoStreamVersion
	for _, tc := range []struct {
		exp    events.ExpectedVersion
		n      int   // events in the append
		actual int64 // stream version before the append
		ok     bool
	}{
		{events.StreamExists, 1, none, false},
		{events.Exact(0), 1, none, false},
		{events.Exact(3), 2, none, false},
		{events.NoStream, 1, none, true},
		{events.NoStream, 1, 0, false},
		{events.NoStream, 3, 0, false},
		{events.StreamExists, 1, 0, true},
		{events.Exact(1), 2, 1, true},
		{events.Exact(1), 1, 3, false},
		{events.Exact(7), 2, 3, false},
		{events.Exact(3), 1, 3, true},
		{events.Any, 1, 4, true},
		{events.StreamExists, 3, 5, true},
	} {
		what := fmt.Sprintf("append %d events expecting %s to a stream at %d", tc.n, tc.exp, tc.actual)
		before := stateOf(t, s)
		res, err := s.Append(ctx, name, tc.exp, evs(tc.n)...)
		if !tc.ok {
			wantConflict(t, err, name, tc.actual, what)
			wantUnchanged(t, s, before, what)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if want := uint64(tc.actual + int64(tc.n)); res.Version != want {
			t.Errorf("%s: result version %d, want %d", what, res.Version, want)
		}
	}
	mustAppend(t, s, "customer-E2", events.Any, ev(0)) // Any creates a stream
	if got := mustReadStream(t, s, name, 0, events.Forward, 100); len(got) != 9 {
		t.Errorf("%s has %d events, want 9", name, len(got))
	}
	if n := len(readAll(t, s)); n != 10 {
		t.Errorf("log has %d events, want 10", n)
	}
}

// testRace proves that of many appends racing on one stream with the same
// expected version exactly one wins and every other gets a Conflict.
func testRace(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	const name = "customer-R1"
	mustAppend(t, s, name, events.NoStream, ev(0))
	type outcome struct {
		ev  events.Event
		res events.AppendResult
		err error
	}
	for round := range opt.RaceRounds {
		at := uint64(round)
		before := stateOf(t, s)
		out := make([]outcome, opt.Racers) // each racer writes only its own element
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		for i := range out {
			out[i].ev = ev(i)
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-start
				out[i].res, out[i].err = s.Append(ctx, name, events.Exact(at), out[i].ev)
			})
		}
		ready.Wait() // every racer is at the barrier
		close(start)
		within(t, opt.Timeout, fmt.Sprintf("round %d: %d racing appends", round, opt.Racers),
			func() error { done.Wait(); return nil })

		winner := -1
		for i, o := range out {
			switch events.ErrorCode(o.err) {
			case "":
				if winner >= 0 {
					t.Errorf("round %d: racers %d and %d both won (versions %d and %d)", round, winner, i, out[winner].res.Version, o.res.Version)
				}
				winner = i
				if o.res.Version != at+1 || o.res.Stream != name {
					t.Errorf("round %d: the winner's result is %s@%d, want %s@%d", round, o.res.Stream, o.res.Version, name, at+1)
				}
			case events.Conflict:
				wantConflict(t, o.err, name, int64(at+1), fmt.Sprintf("round %d, racer %d", round, i))
			default:
				t.Errorf("round %d, racer %d: %v (code %q), want success or conflict", round, i, o.err, events.ErrorCode(o.err))
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer won", round)
		}
		now := stateOf(t, s)
		got := mustReadStream(t, s, name, at+1, events.Forward, opt.Racers+1)
		if len(got) != 1 || now.n != before.n+1 {
			t.Fatalf("round %d: %d new events in the stream, %d in the log; want exactly 1", round, len(got), now.n-before.n)
		}
		if got[0].ID != out[winner].ev.ID {
			t.Fatalf("round %d: the stored event %s is not the winner's %s", round, got[0].ID, out[winner].ev.ID)
		}
	}
}

// testIdempotent proves that repeating an append with the same event ids
// returns the original result and writes nothing, whatever happened since
// and whatever version the retry expects, even when the retries race.
func testIdempotent(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	const name = "customer-I1"
	batch := evs(2)
	first := mustAppend(t, s, name, events.NoStream, batch...)
	if first.Duplicate {
		t.Errorf("the first append reported Duplicate")
	}
	same := func(what string, got events.AppendResult) {
		t.Helper()
		if got.Stream != first.Stream || got.Version != first.Version || got.Position != first.Position ||
			!slices.Equal(got.EventIDs, first.EventIDs) {
			t.Errorf("%s answered {%s, %d, %s, %v}, the original was {%s, %d, %s, %v}", what,
				got.Stream, got.Version, got.Position, got.EventIDs, first.Stream, first.Version, first.Position, first.EventIDs)
		}
		if !got.Duplicate {
			t.Errorf("%s: result does not report Duplicate", what)
		}
	}

	before := stateOf(t, s)
	again := mustAppend(t, s, name, events.NoStream, batch...) // NoStream is now stale
	same("an immediate retry", again)
	wantUnchanged(t, s, before, "an immediate retry")

	mustAppend(t, s, name, events.Any, ev(9))
	mustAppend(t, s, "customer-I2", events.Any, ev(9))
	before = stateOf(t, s)
	for _, exp := range []events.ExpectedVersion{events.Exact(0), events.Exact(1), events.Exact(2), events.Any, events.StreamExists, events.NoStream} {
		what := fmt.Sprintf("a retry after other appends, expecting %s", exp)
		res, err := s.Append(ctx, name, exp, batch...)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		same(what, res)
	}
	wantUnchanged(t, s, before, "retries after other appends")

	for what, overlap := range map[string][]events.Event{
		"an old id then a new one": {batch[0], ev(10)},
		"a new id then an old one": {ev(11), batch[1]},
	} {
		_, err := s.Append(ctx, name, events.Any, overlap...)
		wantCode(t, err, events.Invalid, "partially repeated append, "+what)
		wantUnchanged(t, s, before, "partially repeated append, "+what)
	}

	// The contract speaks of the same stream only. Reusing an id in another
	// stream may be refused (Invalid, nothing written) or be a new event;
	// it must never answer with the other stream's result.
	if res, err := s.Append(ctx, "customer-I3", events.Any, batch[0]); err != nil {
		wantCode(t, err, events.Invalid, "an id reused in another stream")
		wantUnchanged(t, s, before, "an id reused in another stream")
	} else if res.Stream != "customer-I3" || res.Duplicate {
		t.Errorf("an id reused in another stream answered %+v", res)
	}

	// Retries racing each other (a client retrying while its first attempt
	// is in flight): one writes, all get the same answer.
	const racers = 8
	cur := mustReadStream(t, s, name, events.LastVersion, events.Backward, 1)[0].Version
	before = stateOf(t, s)
	racing := evs(3)
	results := make([]events.AppendResult, racers)
	errs := make([]error, racers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			<-start
			results[i], errs[i] = s.Append(ctx, name, events.Exact(cur), racing...)
		})
	}
	ready.Wait()
	close(start)
	within(t, opt.Timeout, "racing retries", func() error { done.Wait(); return nil })
	writers := 0
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("racing retry %d: %v (code %q), want the original result", i, errs[i], events.ErrorCode(errs[i]))
		}
		r, r0 := results[i], results[0]
		if r.Version != cur+3 || r.Position != r0.Position || !slices.Equal(r.EventIDs, r0.EventIDs) {
			t.Errorf("racing retry %d answered version %d position %s, retry 0 version %d position %s", i, r.Version, r.Position, r0.Version, r0.Position)
		}
		if !r.Duplicate {
			writers++
		}
	}
	if writers != 1 {
		t.Errorf("%d racing retries reported writing (Duplicate false), want exactly 1", writers)
	}
	if now := stateOf(t, s); now.n != before.n+3 {
		t.Errorf("racing retries of a 3-event append wrote %d events", now.n-before.n)
	}
}

// testInvalid proves that malformed appends are Invalid and write nothing.
func testInvalid(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	mustAppend(t, s, "customer-C1", events.NoStream, ev(0))
	with := func(f func(*events.Event)) []events.Event {
		e := ev(1)
		f(&e)
		return []events.Event{e}
	}
	dup := ev(0)
	cases := []struct {
		name   string
		stream string
		evs    []events.Event
	}{
		{"empty stream name", "", evs(1)},
		{"stream name with a space", "customer C1", evs(1)},
		{"upper-case category", "Customer-C1", evs(1)},
		{"category without id", "customer-", evs(1)},
		{"id without category", "-C1", evs(1)},
		{"stream name with a slash", "customer-C1/2", evs(1)},
		{"stream name with a newline", "customer-C1\n", evs(1)},
		{"category too long", strings.Repeat("c", 33) + "-C1", evs(1)},
		{"stream id too long", "customer-" + strings.Repeat("9", 129), evs(1)},
		{"no events", "customer-C1", nil},
		{"empty events", "customer-C1", []events.Event{}},
		{"zero id", "customer-C1", with(func(e *events.Event) { e.ID = [16]byte{} })},
		{"duplicate id in one append", "customer-C1", []events.Event{dup, ev(1), dup}},
		{"schema 0", "customer-C1", with(func(e *events.Event) { e.Schema = 0 })},
		{"negative schema", "customer-C1", with(func(e *events.Event) { e.Schema = -1 })},
		{"empty type", "customer-C1", with(func(e *events.Event) { e.Type = "" })},
		{"lower-case type", "customer-C1", with(func(e *events.Event) { e.Type = "contactLogged" })},
		{"type with a space", "customer-C1", with(func(e *events.Event) { e.Type = "Contact Logged" })},
		{"no actor", "customer-C1", with(func(e *events.Event) { e.Actor = events.Actor{} })},
		{"empty data", "customer-C1", with(func(e *events.Event) { e.Data = nil })},
		{"data a string", "customer-C1", with(func(e *events.Event) { e.Data = json.RawMessage(`"x"`) })},
		{"data an array", "customer-C1", with(func(e *events.Event) { e.Data = json.RawMessage(`[]`) })},
		{"data not UTF-8", "customer-C1", with(func(e *events.Event) { e.Data = json.RawMessage("{\"a\":\"\xff\"}") })},
		{"oversized data", "customer-C1", with(func(e *events.Event) {
			e.Data = json.RawMessage(`{"x":"` + strings.Repeat("a", events.MaxEventSize) + `"}`)
		})},
		{"a valid event before an invalid one", "customer-C1", append(evs(1), with(func(e *events.Event) { e.Schema = 0 })...)},
	}
	for _, tc := range cases {
		if strings.Contains(tc.name, "stream") || strings.Contains(tc.name, "category") {
			if events.ValidStream(tc.stream) {
				t.Fatalf("suite bug: %q is a valid stream name", tc.stream)
			}
		}
		before := stateOf(t, s)
		for _, exp := range []events.ExpectedVersion{events.Any, events.Exact(0)} {
			what := fmt.Sprintf("%s, expecting %s", tc.name, exp)
			_, err := s.Append(ctx, tc.stream, exp, tc.evs...)
			wantCode(t, err, events.Invalid, what)
			wantUnchanged(t, s, before, what)
		}
	}
}
