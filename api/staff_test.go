package api_test

import (
	"testing"
	"time"
)

// TestStaffAndTokens: an admin registers a member, issues a token with a
// lifetime, and revokes it, which stops it working at once.
func TestStaffAndTokens(t *testing.T) {
	s := newStack(t, stackOptions{})
	// Staff and tokens: a new member, a second token, its revocation.
	s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": "R3", "name": "Rep Three", "role": "rep"}, 201)
	tok := s.must("A001", "POST", "/v1/staff/R3/tokens", map[string]any{"ttlHours": 2}, 201)
	exp, _ := time.Parse(time.RFC3339, tok["expiresAt"].(string))
	if d := exp.Sub(s.now()); d < time.Hour || d > 2*time.Hour {
		t.Fatalf("token expires at %v", exp)
	}
	s.tok["R3"] = tok["token"].(string)
	s.must("R3", "GET", "/v1/worklist", nil, 200)
	rv := s.must("A001", "DELETE", "/v1/staff/R3/tokens/"+tok["tokenId"].(string), nil, 201)
	if rv["stream"] != "staff-R3" {
		t.Fatalf("revoke %v", rv)
	}
	if a := s.req("R3", "GET", "/v1/worklist", nil); a.status != 401 || a.errCode() != "unauthenticated" {
		t.Fatalf("a revoked token: %d %s", a.status, a.raw)
	}
}
