package api_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// TestStaffSigninSetupCodes: POST /v1/staff/{id}/setup-codes answers a
// code once (Crockford base32 in groups of four, valid 72 hours) and
// stores only the SHA-256 of its normalised form; a retry with the same
// Idempotency-Key is 409; an unknown member 404, a deactivated one 409,
// any role but admin 403.
func TestStaffSigninSetupCodes(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	key := events.NewID().String()
	res := s.must("A001", "POST", "/v1/staff/R1/setup-codes", nil, 201, "Idempotency-Key", key)
	code := res["code"].(string)
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`).MatchString(code) {
		t.Errorf("code %q is not 16 Crockford characters in groups of four", code)
	}
	if res["expiresAt"] != clock.Now().Add(72*time.Hour).Format(time.RFC3339) {
		t.Errorf("expiresAt %v, want 72 hours after %v", res["expiresAt"], clock.Now())
	}
	m, err := s.queries.StaffMember(t.Context(), "R1")
	if err != nil || m.SetupHash != api.HashSetupCode(code) || m.SetupID != res["setupId"] || m.SetupHash == api.HashToken(code) {
		t.Errorf("the read side holds %q %q, want the hash of the normalised code (%v)", m.SetupID, m.SetupHash, err)
	}
	evs := s.staffSince("R1", s.staffVersion("R1")-1)
	if evs[0].data["codeHash"] != api.HashSetupCode(code) || len(evs[0].data) != 3 {
		t.Errorf("PasswordSetupIssued holds %v", evs[0].data)
	}
	v := s.staffVersion("R1")
	if a := s.req("A001", "POST", "/v1/staff/R1/setup-codes", nil, "Idempotency-Key", key); a.status != 409 || a.body["code"] != nil {
		t.Errorf("a retry: %d %s", a.status, a.raw)
	}
	if s.staffVersion("R1") != v {
		t.Error("a retry appended")
	}
	if a := s.req("A001", "POST", "/v1/staff/R1/setup-codes", "{}"); a.status != 201 || a.body["code"] == code {
		t.Errorf("a second code: %d %s", a.status, a.raw)
	}
	if a := s.req("A001", "POST", "/v1/staff/R1/setup-codes", `{"ttlHours":1}`); a.status != 400 {
		t.Errorf("an unknown field: %d %s", a.status, a.raw)
	}
	if a := s.req("A001", "POST", "/v1/staff/NOPE/setup-codes", nil); a.status != 404 {
		t.Errorf("an unknown member: %d %s", a.status, a.raw)
	}
	for _, who := range []string{"R1", "S1", "H1", "U1"} {
		if a := s.req(who, "POST", "/v1/staff/R2/setup-codes", nil); a.status != 403 {
			t.Errorf("%s issuing a code: %d", who, a.status)
		}
	}
	s.must("A001", "POST", "/v1/staff/R2/deactivation", nil, 201)
	if a := s.req("A001", "POST", "/v1/staff/R2/setup-codes", nil); a.status != 409 {
		t.Errorf("a code for a deactivated member: %d %s", a.status, a.raw)
	}
}

// TestStaffSigninDeactivation: deactivating is done once (a repeat, with
// or without the same key, answers the first deactivation and appends
// nothing); the member's token stops working; an admin cannot deactivate
// themselves.
func TestStaffSigninDeactivation(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "GET", "/v1/worklist", nil, 200)
	first := s.must("A001", "POST", "/v1/staff/R1/deactivation", map[string]any{"reason": "left the bank"}, 201)
	again := s.must("A001", "POST", "/v1/staff/R1/deactivation", nil, 201)
	if first["eventIds"].([]any)[0] != again["eventIds"].([]any)[0] {
		t.Errorf("a repeat answered %v, the first %v", again, first)
	}
	evs := s.staffAll("R1")
	n := 0
	for _, e := range evs {
		if e.typ == "StaffDeactivated" {
			n++
			if e.data["reason"] != "left the bank" || e.actor != "A001" {
				t.Errorf("StaffDeactivated %v by %s", e.data, e.actor)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d StaffDeactivated", n)
	}
	if a := s.req("R1", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("the deactivated member's token: %d", a.status)
	}
	if a := s.req("A001", "POST", "/v1/staff/A001/deactivation", nil); a.status != 409 {
		t.Errorf("an admin deactivating themselves: %d %s", a.status, a.raw)
	}
	if a := s.req("A001", "POST", "/v1/staff/NOPE/deactivation", nil); a.status != 404 {
		t.Errorf("an unknown member: %d", a.status)
	}
	if a := s.req("R2", "POST", "/v1/staff/P1/deactivation", nil); a.status != 403 {
		t.Errorf("a rep deactivating: %d", a.status)
	}
}

// TestStaffSigninPolicy: PUT /v1/signin-policy replaces the roles that
// require a second factor; unknown or repeated roles are refused with
// nothing appended; the reset of a second factor is 409 when there is
// none.
func TestStaffSigninPolicy(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, bad := range []any{map[string]any{"roles": []string{"rep", "rep"}}, map[string]any{"roles": []string{"boss"}}, map[string]any{"role": []string{}}} {
		if a := s.req("A001", "PUT", "/v1/signin-policy", bad); a.status != 400 {
			t.Errorf("policy %v: %d %s", bad, a.status, a.raw)
		}
	}
	if a := s.req("A001", "PUT", "/v1/signin-policy", nil); a.status != 400 {
		t.Errorf("no body: %d %s", a.status, a.raw)
	}
	s.must("A001", "PUT", "/v1/signin-policy", map[string]any{"roles": []string{"private_banker", "admin"}}, 201)
	pol, err := s.queries.SignInPolicy(t.Context())
	if err != nil || len(pol.SecondFactorRoles) != 2 || pol.SecondFactorRoles[0] != "private_banker" {
		t.Errorf("the policy read back: %v %v", pol, err)
	}
	s.must("A001", "PUT", "/v1/signin-policy", map[string]any{"roles": []string{}}, 201)
	if pol, _ := s.queries.SignInPolicy(t.Context()); len(pol.SecondFactorRoles) != 0 {
		t.Errorf("the emptied policy: %v", pol)
	}
	if a := s.req("S1", "PUT", "/v1/signin-policy", map[string]any{"roles": []string{}}); a.status != 403 {
		t.Errorf("a supervisor setting the policy: %d", a.status)
	}
	if a := s.req("A001", "POST", "/v1/staff/R1/second-factor/reset", nil); a.status != 409 {
		t.Errorf("resetting no second factor: %d %s", a.status, a.raw)
	}
}

// TestStaffSigninCodes: setup codes as people type them.
func TestStaffSigninCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := api.NewSetupCode()
		if seen[c] {
			t.Fatalf("code %s twice in 1000", c)
		}
		seen[c] = true
		n, ok := api.NormalizeSetupCode(c)
		if !ok || len(n) != 16 {
			t.Fatalf("%s normalises to %q %v", c, n, ok)
		}
	}
	for in, want := range map[string]string{
		"7KQ2-M9XD-0RTA-4HVE":      "7KQ2M9XD0RTA4HVE",
		"7kq2 m9xd 0rta 4hve":      "7KQ2M9XD0RTA4HVE",
		"7KQ2M9XDORTA4HVE":         "7KQ2M9XD0RTA4HVE", // O read as 0
		"ilIL-0000-0000-0000":      "1111000000000000",
		" 7KQ2-M9XD-0RTA-4HVE\t":   "7KQ2M9XD0RTA4HVE",
		"7KQ2-M9XD-0RTA-4HV":       "",
		"7KQ2-M9XD-0RTA-4HVEE":     "",
		"7KQ2-M9XD-0RTA-4HVU":      "", // U is no Crockford digit
		"7KQ2-M9XD-0RTA-4HV!":      "",
		"７KQ2-M9XD-0RTA-4HVE":      "",
		"7KQ2-M9XD-0RTA-4HVE-0000": "",
	} {
		got, ok := api.NormalizeSetupCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeSetupCode(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	if api.HashSetupCode("7kq2m9xd0rta4hve") != api.HashSetupCode("7KQ2-M9XD-0RTA-4HVE") || api.HashSetupCode("nope") != "" {
		t.Error("HashSetupCode does not hash the normalised form")
	}
}
