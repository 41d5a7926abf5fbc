package api_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
)

// keyConflict reports whether a is the conflict of an Idempotency-Key used
// for another request.
func keyConflict(a answer) bool {
	e, _ := a.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return a.status == 409 && a.errCode() == "conflict" && strings.Contains(msg, "already used for another request")
}

// TestIdempotencyKeyBoundToRequest: an Idempotency-Key answers only a retry
// of the request that first used it: the same caller, method, path and
// body. Used on another endpoint, by another caller, with another body or
// on another customer it is a conflict that appends nothing and shows
// nothing of the first answer; across a restart too, since the binding is
// in the log.
func TestIdempotencyKeyBoundToRequest(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C8"), 201)
	pitch := map[string]any{"product": "CARD01", "channel": "branch", "outcome": "declined", "reason": "has one"}
	assign := map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}

	// A write with personal fields (the contact's summary) and one without.
	contactKey, assignKey := events.NewID().String(), events.NewID().String()
	contact := s.req("R1", "POST", "/v1/customers/C1/contacts", newContact("첫 상담"), "Idempotency-Key", contactKey)
	assigned := s.req("S1", "POST", "/v1/customers/C1/assignment", assign, "Idempotency-Key", assignKey)
	for _, a := range []answer{contact, assigned} {
		if a.status != 201 {
			t.Fatalf("first use of a key: %d %s", a.status, a.raw)
		}
	}

	reused := []struct {
		name, who, method, path string
		body                    any
		key                     string
	}{
		{"the pitches endpoint after a contact", "R1", "POST", "/v1/customers/C1/pitches", pitch, contactKey},
		{"another advisor, same request", "P1", "POST", "/v1/customers/C1/contacts", newContact("첫 상담"), contactKey},
		{"another personal field", "R1", "POST", "/v1/customers/C1/contacts", newContact("다른 상담"), contactKey},
		{"another non-personal field", "R1", "POST", "/v1/customers/C1/contacts", withField(newContact("첫 상담"), "durationSec", 301), contactKey},
		{"another customer", "R1", "POST", "/v1/customers/C8/contacts", newContact("첫 상담"), contactKey},
		{"another body, no personal fields", "S1", "POST", "/v1/customers/C1/assignment", withField(assign, "advisorId", "R2"), assignKey},
		{"another caller (a centre head), same body", "H1", "POST", "/v1/customers/C1/assignment", assign, assignKey},
		{"a token issued with a contact's key", "A001", "POST", "/v1/staff/R2/tokens", nil, contactKey},
	}
	check := func(when string) {
		t.Helper()
		head := s.head()
		for _, c := range reused {
			a := s.req(c.who, c.method, c.path, c.body, "Idempotency-Key", c.key)
			if !keyConflict(a) || bytes.Contains(a.raw, []byte(c.key)) || bytes.Contains(a.raw, []byte("dgl_")) {
				t.Errorf("%s, %s: %d %s, want a 409 conflict saying the key was used for another request", when, c.name, a.status, a.raw)
			}
		}
		if evs := s.appendedSince(head); len(evs) != 0 {
			t.Errorf("%s: reused keys appended %d events, e.g. %v", when, len(evs), evs[0])
		}
		// The same caller repeating the same request gets the first answer.
		head = s.head()
		if a := s.req("R1", "POST", "/v1/customers/C1/contacts", newContact("첫 상담"), "Idempotency-Key", contactKey); a.status != 201 ||
			!bytes.Equal(a.raw, contact.raw) {
			t.Errorf("%s, the contact's retry: %d %s, want %s", when, a.status, a.raw, contact.raw)
		}
		if a := s.req("S1", "POST", "/v1/customers/C1/assignment", assign, "Idempotency-Key", assignKey); a.status != 201 ||
			!bytes.Equal(a.raw, assigned.raw) {
			t.Errorf("%s, the assignment's retry: %d %s, want %s", when, a.status, a.raw, assigned.raw)
		}
		if evs := s.appendedSince(head); len(evs) != 0 {
			t.Errorf("%s: retries appended %d events", when, len(evs))
		}
	}
	check("before a restart")
	s = s.restart()
	check("after a restart")

	// The pitch the client meant is recorded once it sends a new key.
	key := events.NewID().String()
	if a := s.req("R1", "POST", "/v1/customers/C1/pitches", pitch, "Idempotency-Key", key); a.status != 201 || a.body["eventIds"].([]any)[0] != key {
		t.Fatalf("the pitch with its own key: %d %s", a.status, a.raw)
	}
}

// TestRevokeTwice: revoking a token that is already revoked answers the
// revocation on record and appends nothing, however the request is
// repeated (again, with another Idempotency-Key, or racing).
func TestRevokeTwice(t *testing.T) {
	s := newStack(t, stackOptions{})
	path := "/v1/staff/R2/tokens/" + s.tokIDs["R2"]
	first := s.req("A001", "DELETE", path, nil)
	if first.status != 201 {
		t.Fatalf("revoke: %d %s", first.status, first.raw)
	}
	head := s.head()
	for _, hdr := range [][]string{nil, {"Idempotency-Key", events.NewID().String()}} {
		if a := s.req("A001", "DELETE", path, nil, hdr...); a.status != 201 || !bytes.Equal(a.raw, first.raw) {
			t.Errorf("second revocation %v: %d %s, want the first answer %s", hdr, a.status, a.raw, first.raw)
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("revoking again appended %d events, e.g. %v", len(evs), evs[0])
	}
	if a := s.req("R2", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Fatalf("the revoked token: %d", a.status)
	}

	// Racing revocations of a fresh token: one event, one answer.
	tok := s.must("A001", "POST", "/v1/staff/R1/tokens", nil, 201)["tokenId"].(string)
	assertOnce(t, s, "DELETE", "/v1/staff/R1/tokens/"+tok, nil, "TokenRevoked")
}

// TestEraseTwice: erasing a customer already erased answers the erasure on
// record and appends nothing; a bad body is still refused.
func TestEraseTwice(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C5"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C6"), 201)
	erase := map[string]any{"reason": "erasure request (PIPA art. 36)", "requestedBy": "customer"}
	first := s.req("A001", "POST", "/v1/customers/C5/erasure", erase)
	if first.status != 201 {
		t.Fatalf("erase: %d %s", first.status, first.raw)
	}
	head := s.head()
	for _, hdr := range [][]string{nil, {"Idempotency-Key", events.NewID().String()}} {
		if a := s.req("A001", "POST", "/v1/customers/C5/erasure", erase, hdr...); a.status != 201 || !bytes.Equal(a.raw, first.raw) {
			t.Errorf("second erasure %v: %d %s, want the first answer %s", hdr, a.status, a.raw, first.raw)
		}
	}
	if a := s.req("A001", "POST", "/v1/customers/C5/erasure", map[string]any{"reason": "", "requestedBy": "customer"}); a.status != 400 {
		t.Errorf("a bad body for an erased customer: %d %s, want 400", a.status, a.raw)
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("erasing again appended %d events, e.g. %v", len(evs), evs[0])
	}
	assertOnce(t, s, "POST", "/v1/customers/C6/erasure", erase, "PersonalDataErased")
}

// assertOnce sends eight racing requests as A001 and checks that they got
// one answer and appended one event of type typ.
func assertOnce(t *testing.T, s *stack, method, path string, body any, typ string) {
	t.Helper()
	head := s.head()
	answers := make([]answer, 8)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			a, err := s.send("A001", method, path, body)
			if err != nil {
				t.Error(err)
			}
			answers[i] = a
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a.status != 201 || !bytes.Equal(a.raw, answers[0].raw) {
			t.Errorf("racing %s %s: %d %s, first %s", method, path, a.status, a.raw, answers[0].raw)
		}
	}
	var n int
	for _, e := range s.logEvents(head) {
		if e["type"] == typ {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("racing %s %s appended %d %s events, want 1", method, path, n, typ)
	}
}
