package api_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// TestBearerNeedsActiveMemberAndToken: a bearer token authenticates only
// while its member is active, and a sign-in session's secret is never a
// bearer token, even one shaped exactly like a token whose hash matches.
// A session has no API route (the console signs in), so the test appends
// its SignedIn to the log as the console would.
func TestBearerNeedsActiveMemberAndToken(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, who := range []string{"R1", "R2"} {
		s.must(who, "GET", "/v1/worklist", nil, 200)
	}

	s.must("A001", "POST", "/v1/staff/R1/deactivation", map[string]any{"reason": "left the bank"}, 201)
	if a := s.req("R1", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("the token of a deactivated member: %d %s, want 401", a.status, a.raw)
	}
	s.must("R2", "GET", "/v1/worklist", nil, 200) // another member's token still works

	// A session whose id and secret have a bearer token's shape, its hash
	// the secret's, unexpired and not signed out.
	sess := api.NewToken()
	e, err := events.NewEvent(&events.SignedIn{SessionID: sess.ID, SessionHash: sess.Hash, ExpiresAt: s.now().Add(12 * time.Hour)},
		events.Meta{Actor: events.Actor{ID: "R2", Role: "rep"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Append(t.Context(), events.StaffStream("R2"), events.StreamExists, e); err != nil {
		t.Fatalf("append to staff-R2: %v", err)
	}
	s.awaitApplied()
	s.tok["session"] = sess.Secret
	if a := s.req("session", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("a session presented as a bearer token: %d %s, want 401", a.status, a.raw)
	}
	s.must("R2", "GET", "/v1/worklist", nil, 200)
}
