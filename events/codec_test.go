package events_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

func sampleEnvelope(version uint64, prev events.Hash) events.Envelope {
	return events.Envelope{
		ID:            events.NewID(),
		Stream:        "customer-C1",
		Version:       version,
		Type:          "ContactLogged",
		Schema:        1,
		RecordedAt:    time.Date(2026, 11, 25, 9, 30, 0, 123000, time.UTC),
		OccurredAt:    time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
		Actor:         events.Actor{ID: "R017", Role: "rep"},
		CorrelationID: "01JDCORRELATION",
		CausationID:   "",
		Data:          json.RawMessage(`{"channel":"phone_outbound","purpose":"advice"}`),
		PrevHash:      prev,
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := sampleEnvelope(0, events.Hash{})
	rec := events.EncodeRecord(&in)
	if in.Hash == (events.Hash{}) {
		t.Fatal("EncodeRecord did not set the hash")
	}
	var out events.Envelope
	if err := events.DecodeRecord(bytes.Clone(rec), &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Stream != in.Stream || out.Version != in.Version || out.Type != in.Type ||
		out.Schema != in.Schema || !out.RecordedAt.Equal(in.RecordedAt) || !out.OccurredAt.Equal(in.OccurredAt) ||
		out.Actor != in.Actor || out.CorrelationID != in.CorrelationID || out.CausationID != in.CausationID ||
		!bytes.Equal(out.Data, in.Data) || out.PrevHash != in.PrevHash || out.Hash != in.Hash {
		t.Fatalf("round trip differs:\n in: %+v\nout: %+v", in, out)
	}
	if err := out.Verify(events.Hash{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestRecordZeroOccurredAt(t *testing.T) {
	in := sampleEnvelope(0, events.Hash{})
	in.OccurredAt = time.Time{}
	var out events.Envelope
	if err := events.DecodeRecord(events.EncodeRecord(&in), &out); err != nil {
		t.Fatal(err)
	}
	if !out.OccurredAt.IsZero() {
		t.Fatalf("occurredAt = %v, want zero", out.OccurredAt)
	}
}

func TestVerifyDetectsEveryFlippedByte(t *testing.T) {
	in := sampleEnvelope(0, events.Hash{})
	rec := events.EncodeRecord(&in)
	for i := 1; i < len(rec); i++ {
		bad := bytes.Clone(rec)
		bad[i] ^= 0x01
		var e events.Envelope
		if err := events.DecodeRecord(bad, &e); err != nil {
			continue // a flipped length prefix is caught by decoding
		}
		if err := e.Verify(events.Hash{}); err == nil {
			t.Fatalf("flipping byte %d of %d went unnoticed", i, len(rec))
		}
	}
}

func TestDecodeRejectsTruncated(t *testing.T) {
	in := sampleEnvelope(0, events.Hash{})
	rec := events.EncodeRecord(&in)
	for n := 0; n < len(rec); n++ {
		var e events.Envelope
		if err := events.DecodeRecord(rec[:n], &e); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(rec))
		}
	}
}

func TestChainVerifier(t *testing.T) {
	var log []events.Envelope
	var prev events.Hash
	for v := uint64(0); v < 5; v++ {
		e := sampleEnvelope(v, prev)
		e.Position = events.At(v + 1)
		events.EncodeRecord(&e)
		prev = e.Hash
		log = append(log, e)
	}
	cv := events.NewChainVerifier()
	for i := range log {
		if err := cv.Add(&log[i]); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if cv.Checked() != 5 {
		t.Fatalf("checked %d", cv.Checked())
	}
	if err := events.VerifyStream(log); err != nil {
		t.Fatal(err)
	}

	t.Run("removed event", func(t *testing.T) {
		cut := append(append([]events.Envelope{}, log[:2]...), log[3:]...)
		if err := events.VerifyStream(cut); err == nil {
			t.Fatal("a removed event went unnoticed")
		}
	})
	t.Run("reordered positions", func(t *testing.T) {
		cv := events.NewChainVerifier()
		a, b := log[0], log[1]
		b.Position = events.At(0)
		_ = cv.Add(&a)
		if err := cv.Add(&b); err == nil {
			t.Fatal("a non-increasing position went unnoticed")
		}
	})
	t.Run("rehashed forgery", func(t *testing.T) {
		// Altering data and recomputing that event's hash breaks the next link.
		forged := append([]events.Envelope{}, log...)
		f := forged[2]
		f.Data = json.RawMessage(`{"channel":"branch","purpose":"sale"}`)
		events.EncodeRecord(&f)
		forged[2] = f
		if err := events.VerifyStream(forged); err == nil {
			t.Fatal("a re-hashed forged event went unnoticed")
		}
	})
}

func TestPosition(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want events.Position
		ok   bool
	}{
		{"", events.Start, true},
		{"42", events.At(42), true},
		{"7/5", events.Position{Commit: 7, Prepare: 5}, true},
		{"x", events.Position{}, false},
		{"-1", events.Position{}, false},
		{"1/", events.Position{}, false},
	} {
		got, err := events.ParsePosition(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParsePosition(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && events.ErrorCode(err) != events.Invalid {
			t.Errorf("ParsePosition(%q) code %s", tc.in, events.ErrorCode(err))
		}
	}
	for _, p := range []events.Position{events.At(0), events.At(99), {Commit: 10, Prepare: 3}} {
		b, _ := json.Marshal(p)
		var q events.Position
		if err := json.Unmarshal(b, &q); err != nil || q != p {
			t.Errorf("json round trip of %v via %s = %v, %v", p, b, q, err)
		}
	}
	if !events.At(1).Less(events.At(2)) || events.At(2).Less(events.At(2)) ||
		!(events.Position{Commit: 5, Prepare: 1}).Less(events.Position{Commit: 5, Prepare: 2}) {
		t.Error("Less")
	}
}

func TestExpectedVersionAllows(t *testing.T) {
	for _, tc := range []struct {
		e      events.ExpectedVersion
		actual int64
		want   bool
	}{
		{events.Any, events.NoStreamVersion, true},
		{events.Any, 3, true},
		{events.NoStream, events.NoStreamVersion, true},
		{events.NoStream, 0, false},
		{events.StreamExists, events.NoStreamVersion, false},
		{events.StreamExists, 0, true},
		{events.Exact(0), 0, true},
		{events.Exact(0), events.NoStreamVersion, false},
		{events.Exact(4), 3, false},
	} {
		if got := tc.e.Allows(tc.actual); got != tc.want {
			t.Errorf("%s.Allows(%d) = %v", tc.e, tc.actual, got)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if events.ErrorCode(nil) != "" {
		t.Error("nil")
	}
	wrapped := fmtErr(events.ConflictError("customer-C1", events.Exact(2), 5))
	if events.ErrorCode(wrapped) != events.Conflict {
		t.Errorf("wrapped conflict code = %s", events.ErrorCode(wrapped))
	}
	if events.ErrorCode(bytes.ErrTooLarge) != events.Internal {
		t.Error("foreign errors are internal")
	}
}

func fmtErr(err error) error { return &wrapErr{err} }

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "append: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

func BenchmarkDecodeVerify(b *testing.B) {
	in := sampleEnvelope(0, events.Hash{})
	in.Data = json.RawMessage(`{"channel":"phone_outbound","purpose":"advice","summary":"` + string(bytes.Repeat([]byte("x"), 400)) + `"}`)
	rec := events.EncodeRecord(&in)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		var e events.Envelope
		if err := events.DecodeRecord(rec, &e); err != nil {
			b.Fatal(err)
		}
		if err := e.Verify(events.Hash{}); err != nil {
			b.Fatal(err)
		}
	}
}
