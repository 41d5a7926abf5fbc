package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// TestReadyWaitsForCatchUp: /readyz is 503 while the read side has not yet
// applied the log as it was at start, even when the lag is within the
// bound, because the API answers 503 until then; it is 200 once caught up.
func TestReadyWaitsForCatchUp(t *testing.T) {
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Append(t.Context(), events.CustomerStream("C1"), events.Any, eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
		t.Fatal(err)
	}
	mem := projections.NewMemory()
	decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	runner := projections.NewRunner(store, decode, mem.Projections(), nil, projections.RunnerOptions{})
	mem.Attach(runner)
	srv := api.New(api.Config{Store: store, Queries: mem, Progress: runner})
	health := httptest.NewServer(srv.Health(1000))
	defer health.Close()
	ready := func() (int, string) {
		resp, err := http.Get(health.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Reason string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Reason
	}
	if code, reason := ready(); code != 503 || reason == "" {
		t.Fatalf("before the read side ran (1 event behind, bound 1000): %d %q, want 503 with a reason", code, reason)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	<-runner.CaughtUp()
	if code, reason := ready(); code != 200 {
		t.Fatalf("caught up: %d %q, want 200", code, reason)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
