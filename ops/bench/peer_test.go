package bench_test

import (
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/bench"
	"github.com/dangol/dangol/ops/pgtest"
)

// TestMessageDBPeer: Message DB's write path installs into an empty
// database, the append load writes every event through write_message, and
// its expected-version check answers a stale version as a conflict that
// writes nothing.
func TestMessageDBPeer(t *testing.T) {
	ctx := t.Context()
	url, err := pgtest.New(t).CreateDatabase(ctx, "peer")
	if err != nil {
		t.Fatal(err)
	}
	m, err := bench.OpenMessageDB(ctx, url, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r, err := bench.Appends(ctx, m, bench.AppendConfig{Writers: 3, Events: 60, Batch: 2, DataBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := m.Messages(ctx); err != nil || n != int64(r.Events) || n != 60 {
		t.Fatalf("Message DB holds %d messages (%v), the load reported %d, want 60", n, err, r.Events)
	}
	ev := events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, Actor: events.Actor{ID: "bench"}, Data: []byte(`{}`)}
	if _, err := m.Append(ctx, "customer-W0", events.Exact(3), ev); events.ErrorCode(err) != events.Conflict {
		t.Fatalf("append at a stale version: %v, want Conflict", err)
	}
	if _, err := m.Append(ctx, "customer-W0", events.StreamExists, ev); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("append with StreamExists: %v, want Invalid", err)
	}
	if n, err := m.Messages(ctx); err != nil || n != 60 {
		t.Fatalf("Message DB holds %d messages (%v) after refused appends, want 60", n, err)
	}
}
