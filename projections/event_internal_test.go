package projections

import (
	"context"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestEventStreamIDAsSplit: the stream's category and id the runner marks
// on an Event are events.StreamID's, for every shape of name, and an Event
// built elsewhere (no mark) splits the same.
func TestEventStreamIDAsSplit(t *testing.T) {
	streams := []string{"customer-01HX", "call-C1-2", "log", "-x", "x-", "", "settings-signin"}
	envs := make([]events.Envelope, len(streams))
	for i, s := range streams {
		envs[i].Stream = s
	}
	r := &Runner{decode: func(context.Context, *events.Envelope) (events.Data, error) { return nil, nil }}
	batch, err := r.decodeAll(context.Background(), envs)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range streams {
		wantCat, wantID := events.StreamID(s)
		for _, e := range []Event{batch[i], {Envelope: &envs[i]}} {
			if cat, id := e.StreamID(); cat != wantCat || id != wantID {
				t.Errorf("stream %q (split %d): StreamID() = %q, %q; want %q, %q", s, e.split, cat, id, wantCat, wantID)
			}
		}
	}
}
