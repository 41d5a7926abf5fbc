package seglog_test

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

func ev(data string) events.Event { return eventstest.NewEvent("ContactLogged", data) }

// TestAppendBatch: each entry is answered as its own Append would be —
// entries to one stream in order, a conflict or an invalid entry refused
// alone and writing nothing, a retried entry a duplicate — and the whole
// batch lands in order in the log.
func TestAppendBatch(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), seglog.Options{})
	old := ev(`{"n":0}`)
	if _, err := s.Append(ctx, "customer-B0", events.NoStream, old); err != nil {
		t.Fatal(err)
	}
	repeated := ev(`{"n":9}`)
	batch := []events.StreamAppend{
		{Stream: "customer-B1", Expected: events.NoStream, Events: []events.Event{ev(`{"n":1}`), ev(`{"n":2}`)}},
		{Stream: "customer-B1", Expected: events.Exact(1), Events: []events.Event{repeated}},
		{Stream: "customer-B2", Expected: events.Exact(5), Events: []events.Event{ev(`{"n":3}`)}}, // conflict
		{Stream: "not a stream", Expected: events.Any, Events: []events.Event{ev(`{"n":4}`)}},     // invalid
		{Stream: "customer-B3", Expected: events.Any, Events: []events.Event{ev(`not json`)}},     // invalid
		{Stream: "customer-B0", Expected: events.NoStream, Events: []events.Event{old}},           // retry of the log
		{Stream: "customer-B1", Expected: events.Exact(0), Events: []events.Event{repeated}},      // retry within the batch
		{Stream: "customer-B4", Expected: events.Any, Events: []events.Event{old}},                // id of another stream
	}
	res, errs := s.AppendBatch(ctx, batch)
	for i, want := range []string{"", "", events.Conflict, events.Invalid, events.Invalid, "", "", events.Invalid} {
		if got := events.ErrorCode(errs[i]); got != want {
			t.Errorf("entry %d: err %v (code %q), want code %q", i, errs[i], got, want)
		}
	}
	if res[0].Version != 1 || res[1].Version != 2 || res[1].Position.Seq() != res[0].Position.Seq()+1 {
		t.Errorf("entries to one stream: %+v then %+v; want versions 1 and 2, adjacent positions", res[0], res[1])
	}
	if !res[5].Duplicate || res[5].Position != events.At(1) {
		t.Errorf("retry of a logged append answered %+v, want the original (position 1, duplicate)", res[5])
	}
	if !res[6].Duplicate || res[6].Position != res[1].Position {
		t.Errorf("retry of an entry of the same batch answered %+v, want %+v as a duplicate", res[6], res[1])
	}
	all := readAll(t, s)
	if len(all) != 4 {
		t.Fatalf("the log has %d events, want 4 (1 before, 3 of the batch)", len(all))
	}
	for _, stream := range []string{"customer-B2", "customer-B3", "customer-B4"} {
		if _, err := s.ReadStream(ctx, stream, 0, events.Forward, 10); events.ErrorCode(err) != events.NotFound {
			t.Errorf("%s was refused yet reads %v", stream, err)
		}
	}
}

// TestAppendBatchAfterClose: every entry is ErrClosed and nothing is written.
func TestAppendBatchAfterClose(t *testing.T) {
	s := open(t, t.TempDir(), seglog.Options{})
	s.Close()
	_, errs := s.AppendBatch(context.Background(), []events.StreamAppend{{Stream: "customer-C1", Events: []events.Event{ev(`{}`)}}})
	if errs[0] != events.ErrClosed {
		t.Fatalf("AppendBatch after Close: %v, want ErrClosed", errs[0])
	}
}

// TestRecordedAtNeverGoesBack: a clock set back (a stepped system clock)
// stamps the next append with the previous event's recordedAt, so that log
// order and recordedAt order agree; a clock moving on stamps its own time.
func TestRecordedAtNeverGoesBack(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := open(t, t.TempDir(), seglog.Options{Now: clock.Now})
	first := appendN(t, s, "customer-T1", 1)
	clock.Set(eventstest.Epoch.Add(-time.Hour))
	appendN(t, s, "customer-T2", 1)
	clock.Set(eventstest.Epoch.Add(time.Minute))
	appendN(t, s, "customer-T1", 1)
	got := readAll(t, s)
	want := []time.Time{eventstest.Epoch, eventstest.Epoch, eventstest.Epoch.Add(time.Minute)}
	for i, e := range got {
		if !e.RecordedAt.Equal(want[i]) {
			t.Errorf("event %d (position %s) recorded at %s, want %s", i, e.Position, e.RecordedAt, want[i])
		}
	}
	if first.Position != events.At(1) {
		t.Fatalf("first append at %s", first.Position)
	}
}
