package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
)

// schema1 holds data of the interaction types as the release before schema
// 2 wrote it: no occurredAt.
var schema1 = map[string]string{
	"ProfileChanged":       `{"changes":{"phone":"+82 10-5550-9999"},"source":"phone_inbound"}`,
	"ProfileVerified":      `{"channel":"branch","fields":["phone"]}`,
	"ProductPitched":       `{"product":"LOAN-WED","channel":"phone_outbound","outcome":"considering","followUpOn":"2026-12-10"}`,
	"CustomerRequestNoted": `{"text":"Saturday opening, please","category":"branch-hours"}`,
}

// TestInteractionsAreAtSchema2 pins the schema of every type: a bump
// needs an upcaster and a line here.
func TestInteractionsAreAtSchema2(t *testing.T) {
	for _, typ := range catalogTypes() {
		want := 1
		if _, ok := schema1[typ]; ok {
			want = 2
		}
		if got := events.Schema(typ); got != want {
			t.Errorf("Schema(%s) = %d, want %d", typ, got, want)
		}
	}
}

// TestSchema1InteractionsReadAsSchema2 stores schema 1 interactions the
// way the previous release appended them, next to schema 2 ones, in a real
// store: they keep their bytes, schema and hashes (the chains verify as
// dangol verify checks them), and Decode reads them as the schema 2 type
// with no occurredAt.
func TestSchema1InteractionsReadAsSchema2(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	actor := events.Actor{ID: "R017", Role: "rep"}
	reg, err := events.NewEvent(mustParse(t, "CustomerRegistered", []byte(examples["CustomerRegistered"])), events.Meta{Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	in := []events.Event{reg}
	for _, typ := range []string{"ProfileChanged", "ProfileVerified", "ProductPitched", "CustomerRequestNoted"} {
		in = append(in, events.Event{ID: events.NewID(), Type: typ, Schema: 1, Actor: actor, Data: json.RawMessage(schema1[typ])})
		ev, err := events.NewEvent(mustParse(t, typ, []byte(examples[typ])), events.Meta{Actor: actor})
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, ev)
	}
	// Schema 1 bytes holding the key, which only a raw append could write:
	// schema 1 never said when, so the key is not read as a time.
	in = append(in, events.Event{ID: events.NewID(), Type: "ProductPitched", Schema: 1, Actor: actor,
		Data: json.RawMessage(`{"product":"ISA","channel":"branch","outcome":"declined","OccurredAt":"2026-01-01T00:00:00Z"}`)})
	if _, err := st.Append(ctx, "customer-C1001", events.NoStream, in...); err != nil {
		t.Fatal(err)
	}

	got, err := st.ReadStream(ctx, "customer-C1001", 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.VerifyStream(got); err != nil {
		t.Fatalf("the chain of a stream with schema 1 events: %v", err)
	}
	v := events.NewChainVerifier()
	log, err := st.ReadAll(ctx, events.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range log {
		if err := v.Add(&log[i]); err != nil {
			t.Fatal(err)
		}
	}
	if v.Checked() != uint64(len(in)) {
		t.Fatalf("verified %d events, want %d", v.Checked(), len(in))
	}
	for i := range got {
		e := &got[i]
		if e.Schema != in[i].Schema || !bytes.Equal(e.Data, in[i].Data) {
			t.Errorf("@%d: stored as schema %d %s, appended as schema %d %s", i, e.Schema, e.Data, in[i].Schema, in[i].Data)
		}
		d, err := events.Decode(e)
		if err != nil {
			t.Fatalf("@%d %s schema %d: %v", i, e.Type, e.Schema, err)
		}
		if d.EventType() != e.Type {
			t.Errorf("@%d: decoded as %s", i, d.EventType())
		}
		occ, ok := d.(interface{ Occurred() time.Time })
		if !ok {
			continue
		}
		if e.Schema == 1 && !occ.Occurred().IsZero() {
			t.Errorf("@%d %s schema 1 decoded with occurredAt %v", i, e.Type, occ.Occurred())
		}
		if e.Schema == 2 && (occ.Occurred().IsZero() || !occ.Occurred().Equal(e.OccurredAt)) {
			t.Errorf("@%d %s schema 2: data occurredAt %v, envelope %v", i, e.Type, occ.Occurred(), e.OccurredAt)
		}
	}
	// What schema 1 said is read back whole.
	p, err := events.Decode(&got[5])
	if err != nil {
		t.Fatal(err)
	}
	if pp := p.(*events.ProductPitched); pp.Product != "LOAN-WED" || pp.Outcome != "considering" || pp.FollowUpOn != "2026-12-10" {
		t.Errorf("schema 1 pitch read as %+v", pp)
	}
}

// TestSchema1OccurredAtKeyIgnored checks that schema 1 data is never read
// as saying when it happened, however a raw append spelled the key.
func TestSchema1OccurredAtKeyIgnored(t *testing.T) {
	for _, data := range []string{
		`{"text":"x","occurredAt":"2026-01-01T00:00:00Z"}`,
		`{"text":"x","occurred\u0041t":"2026-01-01T00:00:00Z"}`,
		`{"text":"x","OCCURREDAT":"not even a time"}`,
	} {
		d, err := events.Decode(&events.Envelope{Stream: "customer-C1", Type: "CustomerRequestNoted", Schema: 1, Data: json.RawMessage(data)})
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if r := d.(*events.CustomerRequestNoted); r.Text != "x" || !r.OccurredAt.IsZero() {
			t.Errorf("%s: read as %+v, want occurredAt unset", data, r)
		}
	}
	_, err := events.Decode(&events.Envelope{Stream: "customer-C1", Type: "ProductPitched", Schema: 1, Data: json.RawMessage(`["occurredAt"]`)})
	if events.ErrorCode(err) != events.Internal {
		t.Errorf("undecodable schema 1 data: %v, want internal", err)
	}
}
