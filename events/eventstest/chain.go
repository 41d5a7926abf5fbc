package eventstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// fields returns a copy of e built from its exported fields only, so that it
// carries no stored record: verifying it re-encodes the fields.
func fields(e events.Envelope) events.Envelope {
	return events.Envelope{ID: e.ID, Stream: e.Stream, Version: e.Version, Position: e.Position, Type: e.Type,
		Schema: e.Schema, RecordedAt: e.RecordedAt, OccurredAt: e.OccurredAt, Actor: e.Actor,
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, Data: bytes.Clone(e.Data),
		PrevHash: e.PrevHash, Hash: e.Hash}
}

// testChain proves that the store builds the per-stream SHA-256 chain of
// shared/DESIGN.md over the canonical record, that reads give back exactly
// what was hashed, and that altering any of it is detected.
func testChain(t *testing.T, s events.Store, opt Options) {
	streams := []string{"customer-H0", "call-H1", "staff-H2"}
	for i := range 12 {
		e := evs(1 + (i/3)%3)
		e[0].OccurredAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		e[0].CorrelationID = fmt.Sprintf("corr-%d", i)
		mustAppend(t, s, streams[i%3], events.Any, e...)
	}
	// A longer chain, on the bare stream name the sealer uses.
	for range 4 {
		mustAppend(t, s, "ledger", events.Any, evs(10)...)
	}
	streams = append(streams, "ledger")

	all := readAll(t, s)
	v := events.NewChainVerifier()
	for i := range all {
		if err := v.Add(&all[i]); err != nil {
			t.Fatalf("ChainVerifier over ReadAll: %v", err)
		}
	}
	if v.Checked() != uint64(len(all)) {
		t.Fatalf("ChainVerifier checked %d of %d events", v.Checked(), len(all))
	}

	hashes := map[events.Hash]string{}
	var h0 []events.Envelope
	for _, name := range streams {
		one := mustReadStream(t, s, name, 0, events.Forward, 1000)
		if name == streams[0] {
			h0 = one
		}
		if err := events.VerifyStream(one); err != nil {
			t.Fatalf("VerifyStream(%s): %v", name, err)
		}
		if one[0].PrevHash != (events.Hash{}) {
			t.Errorf("%s: the first event's prevHash is %s, want 32 zero bytes", name, one[0].PrevHash)
		}
		for i, e := range one {
			if i > 0 && e.PrevHash != one[i-1].Hash {
				t.Errorf("%s@%d: prevHash %s is not the hash of version %d, %s", name, i, e.PrevHash, i-1, one[i-1].Hash)
			}
			if prev, dup := hashes[e.Hash]; dup || e.Hash == (events.Hash{}) {
				t.Errorf("%s has hash %s, zero or shared with %s", describe(e), e.Hash, prev)
			}
			hashes[e.Hash] = describe(e)
			// The hash is over the canonical encoding of the fields as read:
			// a backend that stores fields and loses any precision fails here.
			rebuilt := fields(e)
			if err := rebuilt.Verify(e.PrevHash); err != nil {
				t.Errorf("%s: its fields, re-encoded, do not match its hash: %v", describe(e), err)
			}
			if rec := events.EncodeRecord(&rebuilt); !bytes.Equal(rec, e.Record()) {
				t.Errorf("%s: its record is not the canonical encoding of its fields", describe(e))
			}
		}
	}
	if len(h0) < 3 {
		t.Fatalf("%s has %d events, the tamper checks need 3", streams[0], len(h0))
	}

	// A flipped byte of the stored data.
	e := h0[2]
	rec := bytes.Clone(e.Record())
	i := bytes.LastIndex(rec[:len(rec)-32], e.Data)
	if i < 0 {
		t.Fatal("the record does not contain the data bytes")
	}
	rec[i+2] ^= 0x01 // inside the object, after `{"`
	var bad events.Envelope
	if err := events.DecodeRecord(rec, &bad); err != nil {
		t.Fatalf("decode the tampered record: %v", err)
	}
	if bytes.Equal(bad.Data, e.Data) {
		t.Fatal("suite bug: the flipped byte is not in the data")
	}
	if err := bad.Verify(e.PrevHash); err == nil {
		t.Error("a flipped byte of the data went unnoticed by Verify")
	}
	bad.Position = e.Position
	if err := verifyWith(all, e.ID, bad); err == nil {
		t.Error("a flipped byte of the data went unnoticed by ChainVerifier")
	}

	// Any altered field of a copy.
	for name, alter := range map[string]func(*events.Envelope){
		"id":            func(c *events.Envelope) { c.ID = events.NewID() },
		"stream":        func(c *events.Envelope) { c.Stream = "customer-H9" },
		"version":       func(c *events.Envelope) { c.Version++ },
		"type":          func(c *events.Envelope) { c.Type = "ProductPitched" },
		"schema":        func(c *events.Envelope) { c.Schema++ },
		"recordedAt":    func(c *events.Envelope) { c.RecordedAt = c.RecordedAt.Add(time.Microsecond) },
		"occurredAt":    func(c *events.Envelope) { c.OccurredAt = time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC) },
		"actor":         func(c *events.Envelope) { c.Actor.ID = "staff-other" },
		"role":          func(c *events.Envelope) { c.Actor.Role = "admin" },
		"correlationId": func(c *events.Envelope) { c.CorrelationID += "x" },
		"causationId":   func(c *events.Envelope) { c.CausationID = "cause" },
		"data":          func(c *events.Envelope) { c.Data = json.RawMessage(`{"tampered":true}`) },
		"prevHash":      func(c *events.Envelope) { c.PrevHash[0] ^= 1 },
		"hash":          func(c *events.Envelope) { c.Hash[31] ^= 1 },
	} {
		c := fields(e)
		alter(&c)
		if err := c.Verify(e.PrevHash); err == nil {
			t.Errorf("a copy with an altered %s passed Verify", name)
		}
	}

	// A removed event and a reordered stream.
	if err := events.VerifyStream(append(h0[:2:2], h0[3:]...)); err == nil {
		t.Error("VerifyStream missed a removed event")
	}
	swapped := append([]events.Envelope(nil), h0...)
	swapped[1], swapped[2] = swapped[2], swapped[1]
	if err := events.VerifyStream(swapped); err == nil {
		t.Error("VerifyStream missed two swapped events")
	}
}

// verifyWith runs a ChainVerifier over log with the event id replaced by e.
func verifyWith(log []events.Envelope, id [16]byte, e events.Envelope) error {
	v := events.NewChainVerifier()
	for i := range log {
		x := log[i]
		if x.ID == id {
			x = e
		}
		if err := v.Add(&x); err != nil {
			return err
		}
	}
	return nil
}
