package api_test

import "testing"

// TestStaffTokenDeactivated: a deactivated member is issued no token (409,
// as for a setup code), and nothing is appended: the token could never
// authenticate, so it would be a credential on record that nobody can use.
func TestStaffTokenDeactivated(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("A001", "POST", "/v1/staff/R2/deactivation", nil, 201)
	v := s.staffVersion("R2")
	if a := s.req("A001", "POST", "/v1/staff/R2/tokens", nil); a.status != 409 || a.body["token"] != nil {
		t.Errorf("a token for a deactivated member: %d %s", a.status, a.raw)
	}
	if s.staffVersion("R2") != v {
		t.Error("a token for a deactivated member was appended")
	}
	if a := s.req("A001", "POST", "/v1/staff/NOPE/tokens", nil); a.status != 404 {
		t.Errorf("a token for an unknown member: %d %s", a.status, a.raw)
	}
}
