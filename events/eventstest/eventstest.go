// Package eventstest is the conformance suite of events.Store: every
// promise of the contract is a subtest, and every backend's test file calls
// TestStore with a function that opens a fresh, empty store.
package eventstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// Options tune the suite for slower backends.
type Options struct {
	Racers        int // goroutines racing on one stream (default 32)
	SlowEvents    int // events appended while a subscriber does not read (default 20000)
	LiveWriters   int // concurrent appenders during the subscription test (default 8)
	LivePerWriter int // appends per writer (default 200)
}

func (o *Options) defaults() {
	if o.Racers == 0 {
		o.Racers = 32
	}
	if o.SlowEvents == 0 {
		o.SlowEvents = 20000
	}
	if o.LiveWriters == 0 {
		o.LiveWriters = 8
	}
	if o.LivePerWriter == 0 {
		o.LivePerWriter = 200
	}
}

// TestStore runs the whole suite with default options.
func TestStore(t *testing.T, open func(testing.TB) events.Store) {
	TestStoreWith(t, open, Options{})
}

// NewEvent returns an event of type typ with the JSON object data, a fresh
// ULID, schema 1 and a test actor.
func NewEvent(typ, data string) events.Event {
	return events.Event{ID: events.NewID(), Type: typ, Schema: 1, Actor: events.Actor{ID: "staff-test", Role: "rep"},
		Data: json.RawMessage(data)}
}

func ev(n int) events.Event { return NewEvent("ContactLogged", fmt.Sprintf(`{"n":%d}`, n)) }

func evs(n int) []events.Event {
	out := make([]events.Event, n)
	for i := range out {
		out[i] = ev(i)
	}
	return out
}

// hang bounds waits that only a hang would exceed; it never measures speed.
const hang = 30 * time.Second

// TestStoreWith runs the whole suite.
func TestStoreWith(t *testing.T, open func(testing.TB) events.Store, opt Options) {
	opt.defaults()
	ctx := context.Background()
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, ctx, open(t)) })
	t.Run("AtomicMultiEvent", func(t *testing.T) { testAtomic(t, ctx, open(t)) })
	t.Run("ExpectedVersion", func(t *testing.T) { testExpected(t, ctx, open(t)) })
	t.Run("RaceSameStream", func(t *testing.T) { testRace(t, ctx, open(t), opt.Racers) })
	t.Run("IdempotentRetry", func(t *testing.T) { testIdempotent(t, ctx, open(t)) })
	t.Run("ReadStream", func(t *testing.T) { testReadStream(t, ctx, open(t)) })
	t.Run("ReadAll", func(t *testing.T) { testReadAll(t, ctx, open(t)) })
	t.Run("SubscribeCatchUpThenLive", func(t *testing.T) { testSubscribe(t, ctx, open(t), opt) })
	t.Run("SlowSubscriberNeverSkips", func(t *testing.T) { testSlow(t, ctx, open(t), opt.SlowEvents) })
	t.Run("ContextCancellation", func(t *testing.T) { testCancel(t, ctx, open(t)) })
	t.Run("HashChain", func(t *testing.T) { testChain(t, ctx, open(t)) })
	t.Run("InvalidInput", func(t *testing.T) { testInvalid(t, ctx, open(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, ctx, open(t)) })
}

func mustAppend(t testing.TB, s events.Store, stream string, exp events.ExpectedVersion, e ...events.Event) events.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, e...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res
}

func readAll(t testing.TB, s events.Store) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	from := events.Start
	for {
		page, err := s.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatalf("read all: %v", err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out
		}
		from = page[len(page)-1].Position
	}
}

func head(t testing.TB, s events.Store) events.Position {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

func testRoundTrip(t *testing.T, ctx context.Context, s events.Store) {
	in := []events.Event{ev(1), ev(2)}
	in[0].OccurredAt = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	in[0].CorrelationID, in[0].CausationID = "corr-1", "cause-1"
	in[1].Actor = events.System("sampler")
	before := time.Now().Add(-time.Minute)
	res := mustAppend(t, s, "customer-C1", events.NoStream, in...)
	if res.Stream != "customer-C1" || res.Version != 1 || len(res.EventIDs) != 2 || res.EventIDs[0] != in[0].ID.String() {
		t.Fatalf("result %+v", res)
	}
	got, err := s.ReadStream(ctx, "customer-C1", 0, events.Forward, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("read: %d events, %v", len(got), err)
	}
	for i, e := range got {
		w := in[i]
		if e.ID != w.ID || e.Stream != "customer-C1" || e.Version != uint64(i) || e.Type != w.Type || e.Schema != w.Schema ||
			!e.OccurredAt.Equal(w.OccurredAt) || e.Actor != w.Actor || e.CorrelationID != w.CorrelationID ||
			e.CausationID != w.CausationID || !bytes.Equal(e.Data, w.Data) {
			t.Errorf("event %d differs:\n got %+v\nwant %+v", i, e, w)
		}
		if e.RecordedAt.Location() != time.UTC || e.RecordedAt.Before(before) || e.RecordedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("event %d recordedAt %v is not a UTC time of the append", i, e.RecordedAt)
		}
		if !e.RecordedAt.Equal(got[0].RecordedAt) {
			t.Errorf("events of one append have different recordedAt")
		}
	}
	if got[1].Position != res.Position || !got[0].Position.Less(got[1].Position) {
		t.Errorf("positions %v %v, result %v", got[0].Position, got[1].Position, res.Position)
	}
	all := readAll(t, s)
	if len(all) != 2 || all[1].ID != got[1].ID || all[1].Hash != got[1].Hash {
		t.Errorf("ReadAll disagrees with ReadStream")
	}
}

func testAtomic(t *testing.T, ctx context.Context, s events.Store) {
	res := mustAppend(t, s, "customer-A", events.NoStream, evs(3)...)
	got, _ := s.ReadStream(ctx, "customer-A", 0, events.Forward, 10)
	if len(got) != 3 || res.Version != 2 {
		t.Fatalf("got %d events, version %d", len(got), res.Version)
	}
	for i := 1; i < 3; i++ {
		if !got[i-1].Position.Less(got[i].Position) || got[i].Version != got[i-1].Version+1 {
			t.Fatalf("not consecutive: %+v", got)
		}
	}
	h := head(t, s)
	bad := evs(3)
	bad[2].Data = json.RawMessage(`[1,2]`)
	if _, err := s.Append(ctx, "customer-A", events.Any, bad...); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("append with an invalid event: %v, want invalid", err)
	}
	if head(t, s) != h || len(readAll(t, s)) != 3 {
		t.Fatal("a failed multi-event append wrote something")
	}
}

func wantConflict(t *testing.T, err error, stream string, actual int64) {
	t.Helper()
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.Conflict {
		t.Fatalf("err = %v, want conflict", err)
	}
	if e.Stream != stream || e.ActualVersion != actual {
		t.Fatalf("conflict on %q actual %d, want %q actual %d", e.Stream, e.ActualVersion, stream, actual)
	}
}

func testExpected(t *testing.T, ctx context.Context, s events.Store) {
	_, err := s.Append(ctx, "customer-E", events.StreamExists, ev(0))
	wantConflict(t, err, "customer-E", events.NoStreamVersion)
	_, err = s.Append(ctx, "customer-E", events.Exact(0), ev(0))
	wantConflict(t, err, "customer-E", events.NoStreamVersion)
	if n := len(readAll(t, s)); n != 0 {
		t.Fatalf("failed appends wrote %d events", n)
	}
	mustAppend(t, s, "customer-E", events.NoStream, ev(0))
	_, err = s.Append(ctx, "customer-E", events.NoStream, ev(1))
	wantConflict(t, err, "customer-E", 0)
	mustAppend(t, s, "customer-E", events.StreamExists, ev(1))
	mustAppend(t, s, "customer-E", events.Exact(1), ev(2))
	_, err = s.Append(ctx, "customer-E", events.Exact(1), ev(3))
	wantConflict(t, err, "customer-E", 2)
	_, err = s.Append(ctx, "customer-E", events.Exact(7), ev(3))
	wantConflict(t, err, "customer-E", 2)
	mustAppend(t, s, "customer-E", events.Any, ev(3))
	mustAppend(t, s, "customer-F", events.Any, ev(4))
	if n := len(readAll(t, s)); n != 5 {
		t.Fatalf("log has %d events, want 5", n)
	}
}

func testRace(t *testing.T, ctx context.Context, s events.Store, racers int) {
	mustAppend(t, s, "customer-R", events.NoStream, ev(0))
	start := make(chan struct{})
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Append(ctx, "customer-R", events.Exact(0), ev(i))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch events.ErrorCode(err) {
		case "":
			wins++
		case events.Conflict:
			wantConflict(t, err, "customer-R", 1)
		default:
			t.Errorf("racer %d: %v, want success or conflict", i, err)
		}
	}
	got, _ := s.ReadStream(ctx, "customer-R", 0, events.Forward, 100)
	if wins != 1 || len(got) != 2 {
		t.Fatalf("%d winners, stream has %d events; want exactly 1 winner and 2 events", wins, len(got))
	}
}

func testIdempotent(t *testing.T, ctx context.Context, s events.Store) {
	batch := evs(2)
	first := mustAppend(t, s, "customer-I", events.NoStream, batch...)
	again := mustAppend(t, s, "customer-I", events.NoStream, batch...)
	if again.Version != first.Version || again.Position != first.Position || strings.Join(again.EventIDs, ",") != strings.Join(first.EventIDs, ",") {
		t.Fatalf("retry answered %+v, first %+v", again, first)
	}
	mustAppend(t, s, "customer-I", events.Any, ev(9))
	mustAppend(t, s, "customer-J", events.Any, ev(9))
	later, err := s.Append(ctx, "customer-I", events.Exact(0), batch...) // stale expectation, same ids
	if err != nil || later.Position != first.Position {
		t.Fatalf("later retry: %+v %v", later, err)
	}
	if n := len(readAll(t, s)); n != 4 {
		t.Fatalf("log has %d events after retries, want 4", n)
	}
	partial := []events.Event{batch[0], ev(10)}
	if _, err := s.Append(ctx, "customer-I", events.Any, partial...); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("partially repeated append: %v, want invalid", err)
	}
	if _, err := s.Append(ctx, "customer-K", events.Any, batch[0]); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("event id reused in another stream: %v, want invalid", err)
	}
	if n := len(readAll(t, s)); n != 4 {
		t.Fatalf("log has %d events after rejected appends, want 4", n)
	}
}

func versions(es []events.Envelope) []uint64 {
	v := make([]uint64, len(es))
	for i, e := range es {
		v[i] = e.Version
	}
	return v
}

func testReadStream(t *testing.T, ctx context.Context, s events.Store) {
	mustAppend(t, s, "customer-S", events.NoStream, evs(10)...)
	mustAppend(t, s, "customer-S2", events.NoStream, evs(3)...)
	for _, tc := range []struct {
		from  uint64
		dir   events.Direction
		limit int
		want  string
	}{
		{0, events.Forward, 100, "[0 1 2 3 4 5 6 7 8 9]"},
		{4, events.Forward, 3, "[4 5 6]"},
		{events.LastVersion, events.Backward, 3, "[9 8 7]"},
		{5, events.Backward, 100, "[5 4 3 2 1 0]"},
		{10, events.Forward, 5, "[]"},
	} {
		got, err := s.ReadStream(ctx, "customer-S", tc.from, tc.dir, tc.limit)
		if err != nil || fmt.Sprint(versions(got)) != tc.want {
			t.Errorf("ReadStream(from %d, dir %d, limit %d) = %v, %v; want %s", tc.from, tc.dir, tc.limit, versions(got), err, tc.want)
		}
		for _, e := range got {
			if e.Stream != "customer-S" {
				t.Errorf("read another stream's event %s", e.Stream)
			}
		}
	}
	if _, err := s.ReadStream(ctx, "customer-missing", 0, events.Forward, 10); events.ErrorCode(err) != events.NotFound {
		t.Errorf("missing stream: %v, want not_found", err)
	}
}

func testReadAll(t *testing.T, ctx context.Context, s events.Store) {
	for i := range 25 {
		mustAppend(t, s, fmt.Sprintf("customer-L%d", i%4), events.Any, evs(1+i%3)...)
	}
	all := readAll(t, s)
	for i := 1; i < len(all); i++ {
		if !all[i-1].Position.Less(all[i].Position) {
			t.Fatalf("positions not increasing at %d", i)
		}
	}
	if h := head(t, s); h != all[len(all)-1].Position {
		t.Fatalf("head %v, last event %v", h, all[len(all)-1].Position)
	}
	var paged []events.Envelope
	from := events.Start
	for {
		page, err := s.ReadAll(ctx, from, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		from = page[len(page)-1].Position
	}
	if len(paged) != len(all) {
		t.Fatalf("paging read %d events, whole read %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i].ID != all[i].ID {
			t.Fatalf("paging differs at %d", i)
		}
	}
	mid, err := s.ReadAll(ctx, all[9].Position, 1000)
	if err != nil || len(mid) != len(all)-10 || mid[0].ID != all[10].ID {
		t.Fatalf("from a middle position: %d events, %v", len(mid), err)
	}
}

// collect reads n events from sub or fails on hang.
func collect(t *testing.T, sub events.Subscription, n int) []events.Envelope {
	t.Helper()
	var got []events.Envelope
	timeout := time.After(hang)
	for len(got) < n {
		select {
		case e, ok := <-sub.Events():
			if !ok {
				t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, sub.Err())
			}
			got = append(got, e)
		case <-timeout:
			t.Fatalf("hang: %d of %d events after %s", len(got), n, hang)
		}
	}
	return got
}

func checkSameOrder(t *testing.T, got, want []events.Envelope) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	seen := map[[16]byte]bool{}
	for i := range got {
		if seen[got[i].ID] {
			t.Fatalf("event %s delivered twice", got[i].ID)
		}
		seen[got[i].ID] = true
		if got[i].ID != want[i].ID || got[i].Position != want[i].Position {
			t.Fatalf("event %d: got %s@%v, want %s@%v", i, got[i].ID, got[i].Position, want[i].ID, want[i].Position)
		}
	}
}

func testSubscribe(t *testing.T, ctx context.Context, s events.Store, opt Options) {
	for i := range 50 {
		mustAppend(t, s, fmt.Sprintf("customer-P%d", i%5), events.Any, ev(i))
	}
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var wg sync.WaitGroup
	for w := range opt.LiveWriters {
		wg.Go(func() {
			for i := range opt.LivePerWriter {
				stream := fmt.Sprintf("customer-W%d", w)
				if i%3 == 0 {
					stream = "customer-shared"
				}
				if _, err := s.Append(ctx, stream, events.Any, ev(i)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	total := 50 + opt.LiveWriters*opt.LivePerWriter
	got := collect(t, sub, total)
	wg.Wait()
	checkSameOrder(t, got, readAll(t, s))

	mid := got[total/2].Position
	sub2, err := s.Subscribe(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	rest := collect(t, sub2, total-total/2-1)
	checkSameOrder(t, rest, got[total/2+1:])
}

func testSlow(t *testing.T, ctx context.Context, s events.Store, n int) {
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := 0; i < n; i += 100 {
		mustAppend(t, s, fmt.Sprintf("customer-Q%d", i%7), events.Any, evs(100)...)
	}
	all := readAll(t, s)
	var got []events.Envelope
	timeout := time.After(hang)
	for len(got) < len(all) {
		select {
		case e, ok := <-sub.Events():
			if ok {
				got = append(got, e)
				continue
			}
			if !errors.Is(sub.Err(), events.ErrFellBehind) {
				t.Fatalf("subscription ended with %v after %d events, want ErrFellBehind or everything", sub.Err(), len(got))
			}
			checkSameOrder(t, got, all[:len(got)]) // a gap-free prefix
			from := events.Start
			if len(got) > 0 {
				from = got[len(got)-1].Position
			}
			if sub, err = s.Subscribe(ctx, from); err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
		case <-timeout:
			t.Fatalf("hang after %d of %d events", len(got), len(all))
		}
	}
	checkSameOrder(t, got, all)
}

func testCancel(t *testing.T, ctx context.Context, s events.Store) {
	mustAppend(t, s, "customer-X", events.NoStream, ev(0))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Append(cctx, "customer-X", events.Any, ev(1)); err == nil {
		t.Error("append with a cancelled ctx succeeded")
	}
	if _, err := s.ReadAll(cctx, events.Start, 10); err == nil {
		t.Error("ReadAll with a cancelled ctx succeeded")
	}
	if _, err := s.ReadStream(cctx, "customer-X", 0, events.Forward, 10); err == nil {
		t.Error("ReadStream with a cancelled ctx succeeded")
	}
	sctx, scancel := context.WithCancel(ctx)
	sub, err := s.Subscribe(sctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, sub, 1)
	scancel()
	timeout := time.After(hang)
	for {
		select {
		case _, ok := <-sub.Events():
			if ok {
				continue
			}
			if !errors.Is(sub.Err(), context.Canceled) {
				t.Fatalf("Err() = %v, want context.Canceled", sub.Err())
			}
			sub.Close()
			return
		case <-timeout:
			t.Fatal("hang: cancelling the subscription's ctx did not end it")
		}
	}
}

func testChain(t *testing.T, ctx context.Context, s events.Store) {
	for i := range 12 {
		mustAppend(t, s, fmt.Sprintf("customer-H%d", i%3), events.Any, evs(1+i%2)...)
	}
	one, _ := s.ReadStream(ctx, "customer-H0", 0, events.Forward, 100)
	if one[0].PrevHash != (events.Hash{}) {
		t.Error("the first event's prevHash is not zero")
	}
	for i := 1; i < len(one); i++ {
		if one[i].PrevHash != one[i-1].Hash {
			t.Fatalf("prevHash of version %d is not the hash of version %d", i, i-1)
		}
	}
	if err := events.VerifyStream(one); err != nil {
		t.Fatal(err)
	}
	v := events.NewChainVerifier()
	for _, e := range readAll(t, s) {
		if err := v.Add(&e); err != nil {
			t.Fatal(err)
		}
	}
	rec := bytes.Clone(one[2].Record())
	i := bytes.Index(rec, one[2].Data)
	if i < 0 {
		t.Fatal("the record does not contain the data bytes")
	}
	rec[i+2] ^= 0x20 // a byte of the data
	var bad events.Envelope
	if err := events.DecodeRecord(rec, &bad); err != nil {
		t.Fatal(err)
	}
	if err := bad.Verify(one[1].Hash); err == nil {
		t.Fatal("a flipped byte went unnoticed")
	}
}

func testInvalid(t *testing.T, ctx context.Context, s events.Store) {
	dup := ev(0)
	big := NewEvent("ContactLogged", `{"x":"`+strings.Repeat("a", events.MaxEventSize)+`"}`)
	noID := ev(0)
	noID.ID = [16]byte{}
	noSchema := ev(0)
	noSchema.Schema = 0
	badType := NewEvent("not a type", `{}`)
	for name, tc := range map[string]struct {
		stream string
		evs    []events.Event
	}{
		"stream with space":   {"customer C1", []events.Event{ev(0)}},
		"empty stream":        {"", []events.Event{ev(0)}},
		"upper-case category": {"Customer-C1", []events.Event{ev(0)}},
		"no events":           {"customer-C1", nil},
		"zero id":             {"customer-C1", []events.Event{noID}},
		"duplicate id":        {"customer-C1", []events.Event{dup, dup}},
		"schema 0":            {"customer-C1", []events.Event{noSchema}},
		"bad type":            {"customer-C1", []events.Event{badType}},
		"data not an object":  {"customer-C1", []events.Event{NewEvent("ContactLogged", `"x"`)}},
		"oversized":           {"customer-C1", []events.Event{big}},
	} {
		if _, err := s.Append(ctx, tc.stream, events.Any, tc.evs...); events.ErrorCode(err) != events.Invalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if h := head(t, s); !h.IsZero() {
		t.Fatalf("invalid appends wrote events: head %v", h)
	}
}

func testClose(t *testing.T, ctx context.Context, s events.Store) {
	mustAppend(t, s, "customer-Z", events.NoStream, ev(0))
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	collect(t, sub, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(hang)
	for open := true; open; {
		select {
		case _, open = <-sub.Events():
		case <-timeout:
			t.Fatal("hang: Close did not end the subscription")
		}
	}
	if _, err := s.Append(ctx, "customer-Z", events.Any, ev(1)); err == nil {
		t.Error("append after Close succeeded")
	}
	if _, err := s.ReadAll(ctx, events.Start, 10); err == nil {
		t.Error("read after Close succeeded")
	}
}
