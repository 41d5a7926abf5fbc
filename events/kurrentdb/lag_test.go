package kurrentdb

import (
	"context"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// recorded is what the server would hand back for env at the $all
// position commit (prepare the same: one event per write).
func recorded(t *testing.T, prefix string, env events.Envelope, commit uint64) *esdb.RecordedEvent {
	t.Helper()
	return &esdb.RecordedEvent{EventID: uuid.UUID(env.ID), EventType: env.Type, StreamID: prefix + env.Stream, EventNumber: env.Version,
		Data: events.EncodeRecord(&env), Position: esdb.Position{Commit: commit, Prepare: commit}}
}

// decodedLog is the read side's view of a ledger whose events the adapter
// decoded: a projections.Source over them, as the store's Head and ReadAll
// answer (no server can run here).
type decodedLog []events.Envelope

func (l decodedLog) Head(context.Context) (events.Position, error) { return l[len(l)-1].Position, nil }

func (l decodedLog) ReadAll(_ context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	var out []events.Envelope
	for _, e := range l {
		if from.Less(e.Position) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (decodedLog) Subscribe(context.Context, events.Position) (events.Subscription, error) {
	return nil, events.Errorf(events.Unavailable, "not used")
}

// TestLagCountsBytesOfAll runs everywhere, on the adapter's own decoding
// and not against a server (none can run here): the positions it gives
// events are $all's commit positions, byte offsets in KurrentDB's
// transaction log, so the read side's lag over them (projections.LagBehind,
// what dangol_projection_lag_* report) is the bytes between two of them,
// other ledgers' and system records included, never a count of events;
// and the store says so (LagUnit "bytes"), which ops/metrics names the
// lag by.
func TestLagCountsBytesOfAll(t *testing.T) {
	s := &Store{opt: Options{Prefix: "dangol-"}}
	if u := s.LagUnit(); u != "bytes" {
		t.Fatalf("LagUnit %q, want bytes", u)
	}
	var log decodedLog
	stream := events.CustomerStream("C1")
	// Three of this ledger's events; between the first two, 4 KiB of another
	// ledger's records and system events in $all.
	for i, commit := range []uint64{1_000, 5_396, 5_917} {
		env := events.Envelope{ID: events.NewID(), Stream: stream, Version: uint64(i), Type: "ContactLogged", Schema: 1,
			RecordedAt: eventstest.Epoch, Data: []byte(`{"n":1}`)}
		if i > 0 {
			env.PrevHash = log[i-1].Hash
		}
		got, err := s.decode(recorded(t, "dangol-", env, commit))
		if err != nil {
			t.Fatal(err)
		}
		if got.Position.Seq() != commit {
			t.Fatalf("event %d decoded at %v, want commit position %d", i, got.Position, commit)
		}
		log = append(log, got)
	}
	behind, seconds, err := projections.LagBehind(t.Context(), log, log[0].Position, eventstest.Epoch.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if behind != 4_917 || seconds != 60 {
		t.Fatalf("a read side at the first event is %d behind, %v s; want 4917 bytes of $all (2 events), 60 s", behind, seconds)
	}
}
