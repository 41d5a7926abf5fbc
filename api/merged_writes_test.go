package api_test

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
)

// mergeC2IntoC1 merges C2 into C1 (seedPair's pair) as the centre head,
// again while writes to C2 racing with it make it conflict.
func (s *stack) mergeC2IntoC1() {
	s.t.Helper()
	for range 500 {
		a := s.req("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"},
			"If-Match", fmt.Sprintf(`"%d"`, len(s.customerLog("C1"))-1))
		if a.status == 201 {
			return
		}
		if a.status != 409 || a.errCode() != "conflict" {
			s.t.Fatalf("merge C2 into C1: %d %s", a.status, a.raw)
		}
	}
	s.t.Fatal("merge C2 into C1: 500 conflicts")
}

// TestMergedWritesRefused: once C2 is merged into C1, every customer write
// route naming C2 is refused 409 merged with the survivor's id, with or
// without If-Match, appending nothing; a retry of a write made before the
// merge still gets its first answer, and the erasure (which removes data)
// is still taken.
func TestMergedWritesRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	key := "01KBGZ3XJ7Q0W8N5M2D4C6B9AF"
	before := newContact("before the merge")
	first := s.must("R1", "POST", "/v1/customers/C2/contacts", before, 201, "Idempotency-Key", key)
	s.mergeC2IntoC1()
	merged := fmt.Sprintf(`"%d"`, len(s.customerLog("C2"))-1)

	writes := []struct {
		path string
		body map[string]any
		who  string
	}{
		{"contacts", newContact("after the merge"), "R1"},
		{"profile", map[string]any{"changes": map[string]any{"email": "a@example.com"}, "source": "phone_inbound", "reason": "email"}, "R1"},
		{"verifications", map[string]any{"channel": "phone_inbound", "fields": []string{"phone"}}, "R1"},
		{"consents", map[string]any{"channel": "sms", "purpose": "marketing", "granted": true}, "R1"},
		{"life-events", map[string]any{"kind": "child_wedding", "expectedOn": "2026-12-20"}, "R1"},
		{"pitches", pitch("DEP-12M", "phone_outbound"), "R1"},
		{"pitches", pitch("DEP-12M", "phone_outbound", "purpose", "marketing"), "R1"},
		{"requests", map[string]any{"text": "금리 문의"}, "R1"},
		{"assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, "S1"},
	}
	for _, w := range writes {
		for _, hdr := range [][]string{nil, {"If-Match", merged}, {"Idempotency-Key", events.NewID().String()}} {
			a := s.refuse(w.who, "POST", "/v1/customers/C2/"+w.path, w.body, 409, "merged", hdr...)
			if d := a.errDetails(); d["survivorId"] != "C1" || d["stream"] != "customer-C2" {
				t.Errorf("%s %v: details %v, want survivorId C1 on customer-C2", w.path, hdr, d)
			}
		}
	}
	if again := s.must("R1", "POST", "/v1/customers/C2/contacts", before, 201, "Idempotency-Key", key); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the retry of the contact logged before the merge: %v, first %v", again, first)
	}
	s.must("A001", "POST", "/v1/customers/C2/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	log := s.customerLog("C2")
	if got := log[len(log)-1].Type; got != "PersonalDataErased" || log[len(log)-2].Type != "CustomerMergedInto" {
		t.Errorf("C2's stream ends %s, want CustomerMergedInto then PersonalDataErased", got)
	}
}

// TestMergedWritesRace: writers keep logging contacts on C2 while C2 is
// merged into C1, each until it is refused: every contact lands before the
// merge's CustomerMergedInto or is refused 409 merged; none lands after it.
func TestMergedWritesRace(t *testing.T) {
	for round := range 3 {
		s := newStack(t, stackOptions{})
		s.seedPair()
		done := make(chan struct{}, 4)
		start := make(chan struct{})
		for w := range cap(done) {
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				for i := range 300 {
					a, err := s.send("R1", "POST", "/v1/customers/C2/contacts", newContact(fmt.Sprintf("race %d %d", w, i)))
					switch {
					case err != nil:
						t.Error(err)
						return
					case a.status == 409 && a.errCode() == "merged":
						return
					case a.status != 201:
						t.Errorf("round %d: a contact answered %d %s", round, a.status, a.raw)
						return
					}
				}
			}()
		}
		close(start)
		s.mergeC2IntoC1()
		for range cap(done) {
			<-done
		}
		log := s.customerLog("C2")
		if last := log[len(log)-1].Type; last != "CustomerMergedInto" {
			t.Errorf("round %d: C2's stream ends with %s after its CustomerMergedInto", round, last)
		}
	}
}
