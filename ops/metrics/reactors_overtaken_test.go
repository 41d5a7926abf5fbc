package metrics_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/projections"
)

// holdFirst is the real store, holding the first reactor append until
// release is closed (held is closed once it waits): a decision slow to
// land, as when the store is busy.
type holdFirst struct {
	*bolt.Store
	once          sync.Once
	held, release chan struct{}
}

func (h *holdFirst) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	h.once.Do(func() {
		close(h.held)
		select {
		case <-h.release:
		case <-ctx.Done():
		}
	})
	return h.Store.Append(ctx, stream, exp, evs...)
}

// TestReactorOvertakenScraped: a tier decision held on its way to the store
// while an advisor is assigned to the customer is overtaken (its expected
// version is gone); a scrape of /metrics over HTTP counts it in
// dangol_reactor_overtaken_total, a counter, and the tier lands once,
// decided again.
func TestReactorOvertakenScraped(t *testing.T) {
	ctx := t.Context()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c1 := events.CustomerStream("C1")
	appendData(t, store, c1, events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: ptr(int64(40_000_000)), ProfitContribution: ptr(int64(0)), Currency: "KRW"})

	hold := &holdFirst{Store: store, held: make(chan struct{}), release: make(chan struct{})}
	decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	// One append worker: the held decision is tried before its re-decision.
	runner := projections.NewRunner(store, decode, nil, []projections.Reactor{projections.NewSegmenter(projections.DefaultTierRule(), hold)},
		projections.RunnerOptions{Appender: hold, AppendWorkers: 1, Now: eventstest.Clock(eventstest.Epoch)})
	reg := prometheus.NewRegistry()
	metrics.RegisterReactors(reg, runner)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	defer srv.Close()

	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-hold.held:
	case <-time.After(30 * time.Second): // only a hang exceeds it
		t.Fatal("hang: the tier decision never reached the store")
	}
	if v, typ := scrape(t, srv.URL, "dangol_reactor_overtaken_total"); v != 0 || typ != "counter" {
		t.Fatalf("before: dangol_reactor_overtaken_total %v (%s), want a counter at 0", v, typ)
	}
	appendData(t, store, c1, events.Exact(1), &events.AdvisorAssigned{AdvisorID: "R1", Kind: "private_banker"})
	close(hold.release)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if h, err := store.Head(ctx); err != nil {
		t.Fatal(err)
	} else if err := runner.WaitFor(wctx, h); err != nil {
		t.Fatal(err)
	}
	if err := runner.WaitReactorsIdle(wctx); err != nil {
		t.Fatal(err)
	}

	v, typ := scrape(t, srv.URL, "dangol_reactor_overtaken_total")
	if v != 1 || typ != "counter" {
		t.Errorf("dangol_reactor_overtaken_total %v (%s), want a counter at 1", v, typ)
	}
	if st := runner.ReactorStats(); float64(st.Overtaken) != v || st.Refused != 0 {
		t.Errorf("ReactorStats %+v: the scrape says %v overtaken", st, v)
	}
	if a, _ := scrape(t, srv.URL, "dangol_reactor_appended_total"); a != 1 {
		t.Errorf("dangol_reactor_appended_total %v, want 1 (the tier decided again)", a)
	}
	log, err := store.ReadStream(ctx, c1, 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n, last := len(log), log[len(log)-1].Type; n != 4 || last != "TierAssigned" {
		t.Errorf("C1: %d events ending with %s; want 4 ending with the one TierAssigned", n, last)
	}
}

// scrape GETs url/metrics's text exposition and returns name's value (of
// its single unlabelled sample) and its TYPE; it fails t if there is none.
func scrape(t *testing.T, url, name string) (float64, string) {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", res.Status)
	}
	var typ string
	value, found := 0.0, false
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "+name+" "); ok {
			typ = rest
		}
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			if value, err = strconv.ParseFloat(rest, 64); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("/metrics has no %s sample", name)
	}
	return value, typ
}

func appendData(t *testing.T, s events.Store, stream string, exp events.ExpectedVersion, ds ...events.Data) {
	t.Helper()
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}})
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = e
	}
	if _, err := s.Append(context.Background(), stream, exp, evs...); err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
}

func ptr[T any](v T) *T { return &v }
