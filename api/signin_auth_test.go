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
// There is no API route for either event yet (the console appends them), so
// the test appends them to the log as the console would.
func TestBearerNeedsActiveMemberAndToken(t *testing.T) {
	s := newStack(t, stackOptions{})
	appendStaff := func(id string, d events.Data) {
		t.Helper()
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "A001", Role: "admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.Append(t.Context(), events.StaffStream(id), events.StreamExists, e); err != nil {
			t.Fatalf("append to %s: %v", id, err)
		}
		s.awaitApplied()
	}
	for _, who := range []string{"R1", "R2"} {
		s.must(who, "GET", "/v1/worklist", nil, 200)
	}

	appendStaff("R1", &events.StaffDeactivated{Reason: "left the bank"})
	if a := s.req("R1", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("the token of a deactivated member: %d %s, want 401", a.status, a.raw)
	}
	s.must("R2", "GET", "/v1/worklist", nil, 200) // another member's token still works

	// A session whose id and secret have a bearer token's shape, its hash
	// the secret's, unexpired and not signed out.
	sess := api.NewToken()
	appendStaff("R2", &events.SignedIn{SessionID: sess.ID, SessionHash: sess.Hash, ExpiresAt: s.now().Add(12 * time.Hour)})
	s.tok["session"] = sess.Secret
	if a := s.req("session", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("a session presented as a bearer token: %d %s, want 401", a.status, a.raw)
	}
	s.must("R2", "GET", "/v1/worklist", nil, 200)
}
