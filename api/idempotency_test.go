package api_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestIdempotentRetries: a retry with the same Idempotency-Key gets
// the first answer and appends nothing, for every kind of write, even
// after other writes and when the retries race.
func TestIdempotentRetries(t *testing.T) {
	s := newStack(t, stackOptions{})
	f := setupInputs(t, s)
	for _, w := range writeEndpoints(f) {
		if w.name == "token" {
			continue // checked below: the secret is not shown twice
		}
		key := events.NewID().String()
		head := s.head()
		first := s.req(w.who, w.method, w.path, w.body, "Idempotency-Key", key)
		if first.status != 201 || first.body["eventIds"].([]any)[0] != key {
			t.Fatalf("%s: %d %s", w.name, first.status, first.raw)
		}
		// Another write in between: the retry still answers as the first time.
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("사이"), 201)
		second := s.req(w.who, w.method, w.path, w.body, "Idempotency-Key", key)
		if second.status != 201 || !bytes.Equal(second.raw, first.raw) {
			t.Errorf("%s retry: %d %s, first %s", w.name, second.status, second.raw, first.raw)
		}
		// The sampler's own selection of a new call may come too.
		var ids []string
		for _, e := range s.logEvents(head) {
			if !strings.HasPrefix(e["actor"].(map[string]any)["id"].(string), "system:") {
				ids = append(ids, e["id"].(string))
			}
		}
		if len(ids) != 2 || ids[0] != key {
			t.Errorf("%s: the log got %v, want the event %s and the contact in between", w.name, ids, key)
		}
	}

	// A retried check that closed the point answers as the first time,
	// though the point is closed now; a new check of it is refused.
	key := events.NewID().String()
	improved := map[string]any{"outcome": "improved"}
	first := s.req("H1", "POST", "/v1/coaching/"+f.points[0]+"/follow-up", improved, "Idempotency-Key", key)
	second := s.req("H1", "POST", "/v1/coaching/"+f.points[0]+"/follow-up", improved, "Idempotency-Key", key)
	if first.status != 201 || second.status != 201 || !bytes.Equal(first.raw, second.raw) {
		t.Errorf("retried improved check: %d %s, then %d %s", first.status, first.raw, second.status, second.raw)
	}
	if a := s.req("H1", "POST", "/v1/coaching/"+f.points[0]+"/follow-up", improved); a.status != 400 {
		t.Errorf("a new check of a closed point: %d %s", a.status, a.raw)
	}

	// The same key used on another stream is a conflict, not silently answered.
	key = events.NewID().String()
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("a"), 201, "Idempotency-Key", key)
	if a := s.req("R1", "POST", "/v1/customers/C9/contacts", newContact("a"), "Idempotency-Key", key); a.status != 409 || a.errCode() != "conflict" {
		t.Errorf("a key reused on another stream: %d %s", a.status, a.raw)
	}

	// A token's secret is shown once: its retry is a conflict.
	key = events.NewID().String()
	s.must("A001", "POST", "/v1/staff/R2/tokens", nil, 201, "Idempotency-Key", key)
	if a := s.req("A001", "POST", "/v1/staff/R2/tokens", nil, "Idempotency-Key", key); a.status != 409 || a.errCode() != "conflict" ||
		bytes.Contains(a.raw, []byte("dgl_")) {
		t.Errorf("token retry: %d %s", a.status, a.raw)
	}

	// Ten racing retries of one write: one event, ten identical answers.
	key = events.NewID().String()
	head := s.head()
	answers := make([][]byte, 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			a, err := s.send("P1", "POST", "/v1/customers/C1/pitches",
				map[string]any{"product": "CARD01", "channel": "branch", "outcome": "declined"}, "Idempotency-Key", key)
			if err != nil || a.status != 201 {
				t.Errorf("racing retry %d: %v %d %s", i, err, a.status, a.raw)
			}
			answers[i] = a.raw
		})
	}
	wg.Wait()
	for i := range answers {
		if !bytes.Equal(answers[i], answers[0]) {
			t.Errorf("racing retries answered differently: %s vs %s", answers[i], answers[0])
		}
	}
	if evs := s.logEvents(head); len(evs) != 1 || evs[0]["id"] != key {
		t.Fatalf("racing retries appended %d events", len(evs))
	}
}
