package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// TestMergedCallRefused: once C2 is merged into C1, POST /v1/calls naming
// C2 is refused 409 merged with the survivor's id, with or without an
// Idempotency-Key, appending nothing (and leaving the upload staged, so
// the call can be recorded on C1); a retry of a call recorded on C2
// before the merge still gets its first answer.
func TestMergedCallRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	early := testWAV(3)
	earlyKey := "01KBGZ3XJ7Q0W8N5M2D4C6B9AG"
	earlyCall := newCall("K0", "C2", s.upload("R1", early), len(early))
	first := s.must("R1", "POST", "/v1/calls", earlyCall, 201, "Idempotency-Key", earlyKey)
	audio := testWAV(4)
	digest := s.upload("R1", audio)
	s.mergeC2IntoC1()

	for _, hdr := range [][]string{nil, {"Idempotency-Key", "01KBGZ3XJ7Q0W8N5M2D4C6B9AH"}} {
		a := s.refuse("R1", "POST", "/v1/calls", newCall("K1", "C2", digest, len(audio)), 409, "merged", hdr...)
		if d := a.errDetails(); d["survivorId"] != "C1" || d["stream"] != "customer-C2" {
			t.Errorf("%v: details %v, want survivorId C1 on customer-C2", hdr, d)
		}
	}
	if a := s.req("R1", "GET", "/v1/calls/K1", nil); a.status != 404 {
		t.Errorf("the refused call K1: %d %s", a.status, a.raw)
	}
	if again := s.must("R1", "POST", "/v1/calls", earlyCall, 201, "Idempotency-Key", earlyKey); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the retry of the call recorded before the merge: %v, first %v", again, first)
	}
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
}

// mergeWhileSealing is the server's sealer with C2 merged into C1 (both
// events appended to the log directly) while the first recording of C2 is
// being sealed.
type mergeWhileSealing struct {
	api.Sealer
	store api.Store
	once  sync.Once
	err   error
}

func (m *mergeWhileSealing) SealBlob(ctx context.Context, customerID, purpose string, plain []byte) ([]byte, error) {
	if customerID == "C2" {
		m.once.Do(func() {
			meta := events.Meta{Actor: events.Actor{ID: "H1", Role: "centre_head"}}
			for _, a := range []struct {
				stream string
				d      events.Data
			}{{"customer-C1", &events.CustomerMerged{MergedID: "C2", Reason: "same person"}}, {"customer-C2", &events.CustomerMergedInto{SurvivorID: "C1", Reason: "same person"}}} {
				ev, err := events.NewEvent(a.d, meta)
				if err == nil {
					_, err = m.store.Append(ctx, a.stream, events.StreamExists, ev)
				}
				if err != nil {
					m.err = err
					return
				}
			}
		})
	}
	return m.Sealer.SealBlob(ctx, customerID, purpose, plain)
}

// TestMergedCallWhileSealing: a merge of C2 landing while the recording of
// a call of C2 is sealed refuses the call (409 merged): the check is made
// again after the seal, right before the append.
func TestMergedCallWhileSealing(t *testing.T) {
	m := &mergeWhileSealing{}
	s := newStack(t, stackOptions{configure: func(c *api.Config) { m.Sealer, m.store = c.Sealer, c.Store; c.Sealer = m }})
	s.seedPair()
	audio := testWAV(4)
	digest := s.upload("R1", audio)
	a := s.req("R1", "POST", "/v1/calls", newCall("K1", "C2", digest, len(audio)))
	if m.err != nil {
		t.Fatalf("the merge while sealing: %v", m.err)
	}
	if a.status != 409 || a.errCode() != "merged" || a.errDetails()["survivorId"] != "C1" {
		t.Errorf("the call of C2 merged while sealing: %d %s, want 409 merged naming C1", a.status, a.raw)
	}
	if n := s.countTypes()["CallRecorded"]; n != 0 {
		t.Errorf("%d CallRecorded in the log", n)
	}
}
