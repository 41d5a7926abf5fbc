package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// requestCounts returns dangol_http_requests_total by status for route.
func requestCounts(t *testing.T, reg *prometheus.Registry, route string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "dangol_http_requests_total" {
			continue
		}
		for _, m := range mf.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route {
				out[labels["status"]] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestClientAbortIsNotAServerError: a real HTTP request whose client goes
// away while the server waits for the read side (the store call is cut
// short with Unavailable, which would answer 503) is counted and logged as
// 499, not as a server error.
func TestClientAbortIsNotAServerError(t *testing.T) {
	ctx := t.Context()
	clock := eventstest.Clock(eventstest.Epoch)
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendStaff := func(id string, tok *api.Token) events.Position {
		t.Helper()
		meta := events.Meta{Actor: events.System("cli"), CorrelationID: events.NewID().String()}
		evs := []events.Event{}
		reg, err := events.NewEvent(&events.StaffRegistered{StaffID: id, Name: "Rep " + id, Role: "rep"}, meta)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, reg)
		if tok != nil {
			issued, err := events.NewEvent(&events.TokenIssued{TokenID: tok.ID, TokenHash: tok.Hash, ExpiresAt: clock().Add(24 * time.Hour).Truncate(time.Second)}, meta)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, issued)
		}
		res, err := store.Append(ctx, events.StaffStream(id), events.NoStream, evs...)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	tok := api.NewToken()
	appendStaff("R1", &tok)

	// The read side applies the rep and its token, then stops: an event
	// appended after that is never applied, so a read asking for it waits.
	mem := projections.NewMemory()
	runner := projections.NewRunner(store, func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) },
		mem.Projections(), nil, projections.RunnerOptions{Now: clock})
	mem.Attach(runner)
	runCtx, stopRunner := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- runner.Run(runCtx) }()
	select {
	case <-runner.CaughtUp():
	case <-time.After(hang):
		t.Fatal("hang: the read side did not catch up")
	}
	stopRunner()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	unapplied := appendStaff("R2", nil)

	reg := prometheus.NewRegistry()
	var logged bytes.Buffer
	srv := api.New(api.Config{Store: store, Queries: mem, Progress: runner, Metrics: api.NewMetrics(reg), Now: clock,
		Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	inner := srv.Handler()
	entered := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		inner.ServeHTTP(w, r)
	}))
	defer ts.Close()

	reqCtx, abort := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, "GET", ts.URL+"/v1/worklist", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Secret)
	req.Header.Set(api.MinPositionHeader, unapplied.String())
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case <-entered:
	case <-time.After(hang):
		t.Fatal("hang: the request did not reach the server")
	}
	abort()
	if err := <-answered; err == nil {
		t.Fatal("the aborted request was answered")
	}

	const route = "GET /v1/worklist"
	deadline := time.Now().Add(hang)
	var got map[string]float64
	for got = requestCounts(t, reg, route); len(got) == 0 && time.Now().Before(deadline); got = requestCounts(t, reg, route) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(got) != 1 || got["499"] != 1 {
		t.Fatalf("dangol_http_requests_total{route=%q} by status: %v, want one 499", route, got)
	}
	ts.Close() // waits for the handler, and its log line
	var line struct {
		Msg    string `json:"msg"`
		Status int    `json:"status"`
	}
	for _, l := range bytes.Split(bytes.TrimSpace(logged.Bytes()), []byte("\n")) {
		if json.Unmarshal(l, &line) == nil && line.Msg == "request" && line.Status != api.StatusClientClosedRequest {
			t.Fatalf("request log line %s, want status 499", l)
		}
	}
}
