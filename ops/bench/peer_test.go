package bench_test

import (
	"os"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/bench"
	"github.com/dangol/dangol/ops/pgtest"
)

// TestMessageDBPeer: Message DB's write path installs into an empty
// database, the append load writes every event through write_message, and
// its expected-version check answers a stale version as a conflict that
// writes nothing. The project ships none of Message DB's code: the test
// runs where DANGOL_MESSAGEDB_DIR names the database/ directory of a
// checkout of it, and says it did not run elsewhere (CI has none).
func TestMessageDBPeer(t *testing.T) {
	dir := os.Getenv("DANGOL_MESSAGEDB_DIR")
	if dir == "" {
		t.Skip("not run: DANGOL_MESSAGEDB_DIR does not name a checkout of github.com/message-db/message-db's database/ directory")
	}
	ctx := t.Context()
	url, err := pgtest.New(t).CreateDatabase(ctx, "peer")
	if err != nil {
		t.Fatal(err)
	}
	m, err := bench.OpenMessageDB(ctx, url, dir, 4)
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

// TestMessageDBPeerWithoutCheckout: a directory that is not Message DB's
// database/ is a clear error before anything connects.
func TestMessageDBPeerWithoutCheckout(t *testing.T) {
	_, err := bench.OpenMessageDB(t.Context(), "postgres://127.0.0.1:1/none", t.TempDir(), 1)
	if err == nil || !strings.Contains(err.Error(), "checkout of github.com/message-db/message-db") {
		t.Fatalf("an empty directory: %v, want an error naming the checkout it needs", err)
	}
}
