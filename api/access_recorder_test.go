package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// The access recorder over the real embedded store; an outage is the real
// store behind a switch that refuses appends (flakyStore).

// flakyStore refuses appends while down, as a store that cannot be reached.
type flakyStore struct {
	Store
	mu      sync.Mutex
	down    bool
	appends int // appends tried
}

func (f *flakyStore) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	f.mu.Lock()
	f.appends++
	down := f.down
	f.mu.Unlock()
	if down {
		return events.AppendResult{}, events.Errorf(events.Unavailable, "store down")
	}
	return f.Store.Append(ctx, stream, exp, evs...)
}

func (f *flakyStore) setDown(d bool) { f.mu.Lock(); f.down = d; f.mu.Unlock() }

// recorderFixture is a Server with only what the recorder needs.
type recorderFixture struct {
	t     testing.TB
	store *flakyStore
	clock *eventstest.ManualClock
	srv   *Server
	reg   *prometheus.Registry
	logs  *lockedWriter
}

func newRecorderFixture(t testing.TB) *recorderFixture {
	t.Helper()
	clock := eventstest.NewManualClock(time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC))
	raw, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	f := &recorderFixture{t: t, store: &flakyStore{Store: raw}, clock: clock, reg: prometheus.NewRegistry(), logs: &lockedWriter{}}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	m := NewMetrics(f.reg)
	f.srv = &Server{Config: Config{Store: f.store, Now: clock.Now, Logger: log, Metrics: m}}
	f.srv.access = newAccessRecorder(f.store, log, m)
	return f
}

// lockedWriter keeps what the recorder logs, from any goroutine.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// logText is what the recorder logged so far.
func (f *recorderFixture) logText() string {
	f.logs.mu.Lock()
	defer f.logs.mu.Unlock()
	return f.logs.b.String()
}

var rep1 = Principal{StaffID: "R1", Role: roleRep}

// read records n reads of customers C<first>.. by p.
func (f *recorderFixture) read(p Principal, first, n int) {
	for i := range n {
		f.srv.RecordRead(context.Background(), p, netip.MustParseAddr("203.0.113.7"), "customer_view", fmt.Sprintf("C%d", first+i), "")
	}
}

// stream returns the PersonalDataRead events of an access stream.
func (f *recorderFixture) stream(month string) []*events.PersonalDataRead {
	f.t.Helper()
	evs, err := f.store.ReadStream(context.Background(), events.AccessStream(month), 0, events.Forward, 10000)
	if events.ErrorCode(err) == events.NotFound {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*events.PersonalDataRead
	for i := range evs {
		if evs[i].Type != "PersonalDataRead" || evs[i].Actor != accessActor {
			f.t.Fatalf("event %s by %v in the access stream", evs[i].Type, evs[i].Actor)
		}
		d, err := events.Decode(&evs[i])
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, d.(*events.PersonalDataRead))
	}
	return out
}

func reads(batches []*events.PersonalDataRead) []events.AccessRead {
	var out []events.AccessRead
	for _, b := range batches {
		out = append(out, b.Reads...)
	}
	return out
}

// counterValue is c's count.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// dropped is the count of reads dropped for reason.
func (f *recorderFixture) dropped(reason string) float64 {
	return counterValue(f.srv.access.metrics.droppedTotal.WithLabelValues(reason))
}

// TestAccessRecorderMonthBoundary: reads on the last second of November
// (UTC) land in access-2026-11, those a second later in access-2026-12,
// with who, when, where from, whose data and what, in order; nothing is
// appended before the flush.
func TestAccessRecorderMonthBoundary(t *testing.T) {
	f := newRecorderFixture(t)
	f.read(rep1, 1, 3)
	f.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	f.srv.RecordRead(context.Background(), Principal{StaffID: "S1", Role: roleSupervisor}, netip.MustParseAddr("::ffff:10.0.0.9"), "recording_play", "C9", "recording x")
	if got := f.stream("2026-11"); got != nil {
		t.Fatalf("appended before a flush: %v", got)
	}
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	nov := reads(f.stream("2026-11"))
	if len(nov) != 3 {
		t.Fatalf("November: %d reads, want 3", len(nov))
	}
	last := time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)
	for i, r := range nov {
		want := events.AccessRead{StaffID: "R1", Role: "rep", At: last, From: "203.0.113.7", CustomerID: fmt.Sprintf("C%d", 1+i), Action: "customer_view"}
		if r != want {
			t.Errorf("read %d = %+v, want %+v", i, r, want)
		}
	}
	dec := reads(f.stream("2026-12"))
	want := events.AccessRead{StaffID: "S1", Role: "supervisor", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), From: "10.0.0.9",
		CustomerID: "C9", Action: "recording_play", Detail: "recording x"}
	if len(dec) != 1 || dec[0] != want {
		t.Errorf("December: %+v, want [%+v]", dec, want)
	}
	if got := counterValue(f.srv.access.metrics.appendedTotal); got != 4 {
		t.Errorf("appended metric %v, want 4", got)
	}
}

// TestAccessRecorderSplits: a batch holds at most MaxAccessReads reads and
// fits in one event; a flush of more appends several events, in order.
func TestAccessRecorderSplits(t *testing.T) {
	f := newRecorderFixture(t)
	f.read(rep1, 0, 1200)
	long := strings.Repeat("d", 300)
	for i := range 300 {
		f.srv.RecordRead(context.Background(), rep1, netip.Addr{}, "export_clear", fmt.Sprintf("C%d", i), long)
	}
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	batches := f.stream("2026-11")
	all := reads(batches)
	if len(all) != 1500 {
		t.Fatalf("%d reads appended, want 1500", len(all))
	}
	for i, b := range batches {
		if len(b.Reads) > events.MaxAccessReads {
			t.Errorf("batch %d holds %d reads", i, len(b.Reads))
		}
	}
	if len(batches) < 4 {
		t.Errorf("%d batches for 1200 short and 300 long reads, want at least 4 (500, 500, 200+, the long ones by size)", len(batches))
	}
	for i := range 1200 {
		if all[i].CustomerID != fmt.Sprintf("C%d", i) {
			t.Fatalf("read %d is of %s: out of order", i, all[i].CustomerID)
		}
	}
}

// TestAccessRecorderRetries: while the store is down a flush fails and
// keeps its reads (logged without personal data, counted); the next
// flush after the store is back appends them once, before newer reads.
func TestAccessRecorderRetries(t *testing.T) {
	f := newRecorderFixture(t)
	f.read(rep1, 1, 2)
	f.store.setDown(true)
	if err := f.srv.FlushAccess(context.Background()); err == nil {
		t.Fatal("a flush to a store that is down succeeded")
	}
	if err := f.srv.FlushAccess(context.Background()); err == nil {
		t.Fatal("a second flush to a store that is down succeeded")
	}
	f.read(rep1, 3, 1)
	f.store.setDown(false)
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := reads(f.stream("2026-11"))
	var ids []string
	for _, r := range got {
		ids = append(ids, r.CustomerID)
	}
	if strings.Join(ids, ",") != "C1,C2,C3" {
		t.Errorf("appended %v, want C1,C2,C3 once each, in order", ids)
	}
	if n := counterValue(f.srv.access.metrics.failures); n != 2 {
		t.Errorf("failures metric %v, want 2", n)
	}
	if n := f.dropped("queue_full"); n != 0 {
		t.Errorf("dropped %v", n)
	}
}

// TestAccessRecorderRetryIsIdempotent: a batch the store wrote but whose
// answer was lost is retried with the same event ids, so it is in the
// record once.
func TestAccessRecorderRetryIsIdempotent(t *testing.T) {
	f := newRecorderFixture(t)
	f.read(rep1, 1, 2)
	batches, err := buildAccessBatches(f.srv.access.queue)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.access.queue = nil
	if _, err := f.store.Append(context.Background(), batches[0].stream, events.Any, batches[0].events...); err != nil {
		t.Fatal(err)
	}
	f.srv.access.keep(batches) // as if that append's answer had been lost
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := reads(f.stream("2026-11")); len(got) != 2 {
		t.Errorf("%d reads in the record, want 2", len(got))
	}
}

// TestAccessRecorderBounded: while the store stays down, the reads held
// stop at maxAccessQueue; the newer ones are dropped and counted, the
// older kept to be appended when it is back.
func TestAccessRecorderBounded(t *testing.T) {
	f := newRecorderFixture(t)
	f.store.setDown(true)
	f.read(rep1, 0, 1000)
	if err := f.srv.FlushAccess(context.Background()); err == nil {
		t.Fatal("flushed to a store that is down")
	}
	f.read(rep1, 1000, maxAccessQueue-1000+25)
	if n := f.dropped("queue_full"); n != 25 {
		t.Errorf("dropped %v, want 25", n)
	}
	if logs := f.logText(); strings.Count(logs, "the queue is full") != 1 {
		t.Errorf("log %q: want the drops said once", logs)
	}
	if w := f.srv.access.waiting(); w != maxAccessQueue {
		t.Errorf("%d reads held, want %d", w, maxAccessQueue)
	}
	f.store.setDown(false)
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := reads(f.stream("2026-11"))
	if len(got) != maxAccessQueue || got[0].CustomerID != "C0" || got[len(got)-1].CustomerID != fmt.Sprintf("C%d", maxAccessQueue-1) {
		t.Errorf("appended %d reads (%s..%s), want the first %d", len(got), got[0].CustomerID, got[len(got)-1].CustomerID, maxAccessQueue)
	}
}

// TestAccessRecorderRefusesInvalid: an entry the catalog refuses is
// dropped at once, logged without its values, and counted; the others
// are appended.
func TestAccessRecorderRefusesInvalid(t *testing.T) {
	f := newRecorderFixture(t)
	f.srv.RecordRead(context.Background(), rep1, netip.Addr{}, "customer_view", "bad id/with slash", "")
	f.srv.RecordRead(context.Background(), rep1, netip.Addr{}, "peek", "C1", "")
	f.read(rep1, 2, 1)
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := reads(f.stream("2026-11")); len(got) != 1 || got[0].CustomerID != "C2" {
		t.Errorf("appended %+v, want C2 only", got)
	}
	if n := f.dropped("invalid"); n != 2 {
		t.Errorf("invalid dropped %v, want 2", n)
	}
	if logs := f.logText(); strings.Contains(logs, "bad id") || !strings.Contains(logs, "entry refused") {
		t.Errorf("log %q: want the refusal, without the value", logs)
	}
}

// appendSignal tells answered of each append the store has answered.
type appendSignal struct {
	Store
	answered chan struct{}
}

func (a *appendSignal) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	res, err := a.Store.Append(ctx, stream, exp, evs...)
	a.answered <- struct{}{}
	return res, err
}

// runRecorder runs f's recorder with ticks until the test ends.
func (f *recorderFixture) runRecorder(t *testing.T, ticks <-chan time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.srv.access.run(ctx, ticks) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAccessRecorderTimer: the recorder appends what is queued at each
// tick of its timer, and nothing before it. The ticks are the test's,
// unbuffered: a tick is taken only when run waits for one, so the second
// tick is taken once the first one's flush is done.
func TestAccessRecorderTimer(t *testing.T) {
	f := newRecorderFixture(t)
	ticks := make(chan time.Time)
	f.runRecorder(t, ticks)
	f.read(rep1, 0, 3)
	if got := reads(f.stream("2026-11")); len(got) != 0 {
		t.Fatalf("%d reads appended before a tick", len(got))
	}
	ticks <- time.Time{}
	ticks <- time.Time{} // the first tick's flush is over
	if got := reads(f.stream("2026-11")); len(got) != 3 {
		t.Errorf("%d reads appended at the tick, want 3", len(got))
	}
}

// TestAccessRecorderFullBatch: a full batch is appended without waiting
// for a timer (the recorder has none here, and nobody flushes).
func TestAccessRecorderFullBatch(t *testing.T) {
	f := newRecorderFixture(t)
	signal := &appendSignal{Store: f.store, answered: make(chan struct{}, 1)}
	f.srv.access.store = signal
	f.runRecorder(t, nil)
	f.read(rep1, 0, events.MaxAccessReads)
	<-signal.answered
	if got := reads(f.stream("2026-11")); len(got) != events.MaxAccessReads {
		t.Errorf("%d reads appended, want the full batch of %d", len(got), events.MaxAccessReads)
	}
}

// TestAccessRecorderShutdown: when run ends (Server.Run's context), what
// is queued is appended before it returns; a read recorded afterwards (a
// request still in flight) is appended at once. If the store refuses the
// last flush, the reads lost are logged and counted, never silently gone.
func TestAccessRecorderShutdown(t *testing.T) {
	f := newRecorderFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.srv.access.run(ctx, nil) }()
	f.read(rep1, 1, 2)
	cancel()
	<-done
	if got := reads(f.stream("2026-11")); len(got) != 2 {
		t.Fatalf("%d reads appended at shutdown, want 2", len(got))
	}
	f.read(rep1, 3, 1)
	if got := reads(f.stream("2026-11")); len(got) != 3 {
		t.Fatalf("a read after the shutdown: %d reads in the record, want 3", len(got))
	}

	g := newRecorderFixture(t)
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { defer close(done); g.srv.access.run(ctx, nil) }()
	g.read(rep1, 1, 2)
	g.store.setDown(true)
	cancel()
	<-done
	if n := g.dropped("shutdown"); n != 2 {
		t.Errorf("dropped at shutdown %v, want 2", n)
	}
	if logs := g.logText(); !strings.Contains(logs, "reads lost at shutdown") || !strings.Contains(logs, "reads=2") {
		t.Errorf("log %q: want the loss, with its count", logs)
	}
}

// TestClientAddr: the peer, unless it is a trusted proxy: then the
// rightmost untrusted X-Forwarded-For address.
func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"203.0.113.7:5000", "", nil, "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", nil, "203.0.113.7"},     // no trusted proxy: the header is ignored
		{"203.0.113.7:5000", "198.51.100.1", proxies, "203.0.113.7"}, // not from a proxy
		{"10.0.0.2:5000", "198.51.100.1, 10.0.0.3", proxies, "198.51.100.1"},
		{"10.0.0.2:5000", "garbage", proxies, "10.0.0.2"},
		{"[::ffff:203.0.113.7]:1", "", nil, "203.0.113.7"},
		{"", "", nil, "invalid IP"},
	} {
		r, _ := newRequestForTest(tc.remote, tc.xff)
		if got := ClientAddr(r, tc.trusted).String(); got != tc.want {
			t.Errorf("ClientAddr(%q, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func newRequestForTest(remote, xff string) (*http.Request, error) {
	r, err := http.NewRequest("GET", "/", nil)
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = remote
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	return r, nil
}

// BenchmarkRecordRead is the cost a customer read pays for its access
// entry: validating and queueing it ("queue": the recorder not running,
// its queue emptied between rounds), and the same with the recorder
// appending to the embedded store in the background on the same cores
// ("recording": what a busy server pays, batching and appends included).
func BenchmarkRecordRead(b *testing.B) {
	r, _ := newRequestForTest("203.0.113.7:5000", "")
	b.Run("queue", func(b *testing.B) {
		f := newRecorderFixture(b)
		b.ReportAllocs()
		for i := range b.N {
			if i%50000 == 0 {
				f.srv.access.queue = f.srv.access.queue[:0]
			}
			f.srv.recordRead(r, rep1, "customer_view", "C"+strconv.Itoa(i%100000), "")
		}
	})
	b.Run("recording", func(b *testing.B) {
		f := newRecorderFixture(b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		ticks, stop := flushTicks(time.Second)
		defer stop()
		go func() { defer close(done); f.srv.access.run(ctx, ticks) }()
		b.ReportAllocs()
		for i := range b.N {
			f.srv.recordRead(r, rep1, "customer_view", "C"+strconv.Itoa(i%100000), "")
		}
		b.StopTimer()
		cancel()
		<-done
		if n := f.dropped("queue_full"); n > 0 {
			b.Logf("%v reads dropped (queue full): the store appends slower than the benchmark records", n)
		}
	})
}

// BenchmarkAccessCheck is the monthly check of a call centre's month: 70
// reps reading 3,000 entries each (600 distinct customers) in the month
// checked and in each of the three before it, 840,000 entries in all:
// "first" reads them all, "again" (the auditor's next look) only what was
// appended since, 500 new entries.
func BenchmarkAccessCheck(b *testing.B) {
	f := newRecorderFixture(b)
	f.srv.Queries = projections.NewMemory()
	ctx := context.Background()
	for _, month := range []string{"2026-08", "2026-09", "2026-10", "2026-11"} {
		start, _ := events.MonthStart(month)
		var reads []events.AccessRead
		for rep := range 70 {
			for i := range 3000 {
				reads = append(reads, events.AccessRead{StaffID: fmt.Sprintf("R%03d", rep), Role: roleRep, At: start.Add(time.Hour),
					From: "10.1.2.3", CustomerID: fmt.Sprintf("C%03d%03d", rep, i%600), Action: "customer_view"})
			}
		}
		batches, err := buildAccessBatches(reads)
		if err != nil {
			b.Fatal(err)
		}
		for _, bt := range batches {
			for i := 0; i < len(bt.events); i += 100 {
				if _, err := f.store.Append(ctx, bt.stream, events.Any, bt.events[i:min(i+100, len(bt.events))]...); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	check := func(b *testing.B) {
		c, err := f.srv.accessCheck(ctx, "2026-11")
		if err != nil || len(c.Staff) != 70 || c.Flagged != 0 {
			b.Fatalf("check: %d members, %d flagged, %v", len(c.Staff), c.Flagged, err)
		}
	}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			f.srv.access.tallies = accessTallies{}
			check(b)
		}
		b.ReportMetric(float64(4*70*3000)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("again", func(b *testing.B) {
		check(b)
		more := accessReadsOf("R000", 500)
		for range b.N {
			b.StopTimer()
			batches, _ := buildAccessBatches(more)
			if _, err := f.store.Append(ctx, batches[0].stream, events.Any, batches[0].events...); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			check(b)
		}
	})
}

// accessReadsOf returns n reads by staff in November, of customers it
// read already.
func accessReadsOf(staff string, n int) []events.AccessRead {
	out := make([]events.AccessRead, n)
	for i := range out {
		out[i] = events.AccessRead{StaffID: staff, Role: roleRep, At: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
			CustomerID: fmt.Sprintf("C000%03d", i%600), Action: "customer_view"}
	}
	return out
}
