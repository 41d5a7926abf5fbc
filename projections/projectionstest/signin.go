package projectionstest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The sign-in read side: a member's password, setup code, second factor,
// failed sign-ins and deactivation; sessions beside tokens; the list of
// members; the sign-in policy.

const (
	phc1 = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$aGFzaDE"
	phc2 = "$argon2id$v=19$m=65536,t=3,p=4$b3RoZXJzYWx0$aGFzaDI"
	// sealed1 is 32 bytes in standard base64, as SecondFactorEnrolled wants.
	sealed1 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

func hash(n int) string { return fmt.Sprintf("%064x", n) }

// testSignIn follows one member from registration to deactivation.
func testSignIn(t *testing.T, f *fixture) {
	r01 := events.StaffStream("R01")
	f.at(T0).add(r01, &events.StaffRegistered{StaffID: "R01", Name: "Lee", Role: "rep", BranchIDs: []string{"B01"}})
	f.add(events.StaffStream("X1"), &events.StaffRegistered{StaffID: "X1", Name: "Admin", Role: "admin"})
	f.add(events.StaffStream("GHOST"), &events.SignInFailed{Reason: "no_password"}) // never registered
	setup1 := hours(72).Add(123456 * time.Microsecond)
	f.at(hours(1)).add(r01, &events.PasswordSetupIssued{SetupID: "SET1", CodeHash: hash(11), ExpiresAt: setup1})
	f.at(hours(2)).add(r01, &events.SignInFailed{Reason: "no_password", Address: "203.0.113.7"})
	setup2 := hours(96)
	f.at(hours(3)).add(r01, &events.PasswordSetupIssued{SetupID: "SET2", CodeHash: hash(12), ExpiresAt: setup2})
	// A password set through the replaced code leaves the pending one.
	f.at(hours(4)).add(r01, &events.PasswordSet{PasswordHash: phc1, SetupID: "SET1"})
	rs := f.sync()
	want := projections.StaffMember{ID: "R01", Name: "Lee", Role: "rep", BranchIDs: []string{"B01"}, RegisteredAt: T0, Version: 4,
		Active: true, PasswordHash: phc1, PasswordSetAt: hours(4), SetupID: "SET2", SetupHash: hash(12), SetupExpiresAt: setup2}
	checkMember(t, rs, "R01", want)
	checkMember(t, rs, "X1", projections.StaffMember{ID: "X1", Name: "Admin", Role: "admin", RegisteredAt: T0, Active: true})
	if _, err := rs.StaffMember(t.Context(), "GHOST"); events.ErrorCode(err) != events.NotFound {
		t.Errorf("StaffMember(GHOST), whose stream has no StaffRegistered: %v, want not_found", err)
	}

	f.at(hours(5)).add(r01, &events.PasswordSet{PasswordHash: phc2, SetupID: "SET2"})
	f.at(hours(6)).add(r01, &events.SecondFactorEnrolled{SecretSealed: sealed1})
	var failed []time.Time
	for i := range projections.MaxFailedSignIns + 2 {
		at := hours(7).Add(time.Duration(i) * time.Second)
		f.at(at).add(r01, &events.SignInFailed{Reason: "bad_password"})
		failed = append(failed, at)
	}
	rs = f.sync()
	want.Version, want.PasswordHash, want.PasswordSetAt = 5+1+22, phc2, hours(5)
	want.SetupID, want.SetupHash, want.SetupExpiresAt = "", "", time.Time{}
	want.SecondFactorSealed, want.SecondFactorAt = sealed1, hours(6)
	want.FailedSignIns = failed[2:] // the latest 20, oldest first
	checkMember(t, rs, "R01", want)

	f.at(hours(8)).add(r01, &events.SignedIn{SessionID: "S1", SessionHash: hash(21), ExpiresAt: hours(20), SecondFactor: true})
	f.at(hours(9)).add(r01, &events.SignInFailed{Reason: "bad_second_factor"})
	f.at(hours(10)).add(r01, &events.SecondFactorReset{Reason: "phone lost"})
	rs = f.sync()
	want.Version, want.LastSignInAt, want.FailedSignIns = 31, hours(8), []time.Time{hours(9)}
	want.SecondFactorSealed, want.SecondFactorAt = "", time.Time{}
	checkMember(t, rs, "R01", want)

	// A new password forgets the failures too; deactivation keeps the rest.
	f.at(hours(11)).add(r01, &events.PasswordSet{PasswordHash: phc1})
	f.at(hours(12)).add(r01, &events.StaffDeactivated{Reason: "left the bank"})
	f.at(hours(13)).add(r01, &events.StaffRoleChanged{Role: "supervisor"})
	rs = f.sync()
	want.Version, want.PasswordHash, want.PasswordSetAt, want.FailedSignIns = 34, phc1, hours(11), nil
	want.Active, want.DeactivatedAt, want.Role = false, hours(12), "supervisor"
	checkMember(t, rs, "R01", want)
	s1, err := rs.Token(t.Context(), "S1")
	ok(t, "Token(S1)", err)
	if s1.Revoked || s1.Kind != projections.KindSession {
		t.Errorf("a deactivation revokes no session in the read model (the member's Active decides): %+v", s1)
	}
}

// testSessions expects sessions beside tokens, each kind ended only by its
// own event from its own member's stream, and no record taken over by the
// other kind.
func testSessions(t *testing.T, f *fixture) {
	r01, r02 := events.StaffStream("R01"), events.StaffStream("R02")
	f.at(T0).add(r01, &events.StaffRegistered{StaffID: "R01", Name: "Lee", Role: "rep"})
	f.add(r02, &events.StaffRegistered{StaffID: "R02", Name: "Choi", Role: "rep"})
	f.at(hours(1)).add(r01, &events.TokenIssued{TokenID: "TK1", TokenHash: hash(1)})
	e1 := hours(13).Add(time.Microsecond)
	f.at(hours(2)).add(r01, &events.SignedIn{SessionID: "S1", SessionHash: hash(2), ExpiresAt: e1, SecondFactor: true, Address: "10.0.0.1"})
	f.sync()
	f.at(hours(3)).add(r02, &events.SignedIn{SessionID: "S2", SessionHash: hash(3), ExpiresAt: hours(15)})
	f.add(r02, &events.SignedIn{SessionID: "S3", SessionHash: hash(4), ExpiresAt: hours(15)})
	f.at(hours(4)).add(r02, &events.SignedOut{SessionID: "S1", Reason: "revoked"}) // not R02's
	f.add(r02, &events.TokenRevoked{TokenID: "S2"})                                // a session is not a token
	f.add(r01, &events.SignedOut{SessionID: "TK1", Reason: "signed_out"})          // a token is not a session
	f.add(r01, &events.SignedIn{SessionID: "TK1", SessionHash: hash(5), ExpiresAt: hours(5)})
	f.add(r01, &events.TokenIssued{TokenID: "S1", TokenHash: hash(6)})
	f.at(hours(5)).add(r02, &events.SignedOut{SessionID: "S3", Reason: "idle"})
	rs := f.sync()
	for _, want := range []projections.TokenInfo{
		{ID: "TK1", StaffID: "R01", Hash: hash(1), IssuedAt: hours(1), Kind: projections.KindToken},
		{ID: "S1", StaffID: "R01", Hash: hash(2), IssuedAt: hours(2), ExpiresAt: e1, Kind: projections.KindSession, SecondFactor: true},
		{ID: "S2", StaffID: "R02", Hash: hash(3), IssuedAt: hours(3), ExpiresAt: hours(15), Kind: projections.KindSession},
		{ID: "S3", StaffID: "R02", Hash: hash(4), IssuedAt: hours(3), ExpiresAt: hours(15), Kind: projections.KindSession, Revoked: true},
	} {
		checkToken(t, rs, want)
	}
	s1, err := rs.Token(t.Context(), "S1")
	ok(t, "Token(S1)", err)
	if !s1.ValidAt(e1.Add(-time.Microsecond)) || s1.ValidAt(e1) {
		t.Errorf("session S1's expiry read back as %v, want %v to the microsecond", s1.ExpiresAt, e1)
	}
	checkMember(t, rs, "R02", projections.StaffMember{ID: "R02", Name: "Choi", Role: "rep", RegisteredAt: T0, Version: 5,
		Active: true, LastSignInAt: hours(3)})
}

// testStaffList expects every registered member by id, the fields the
// JSON leaves out included, in slices the caller owns.
func testStaffList(t *testing.T, f *fixture) {
	rs := f.sync()
	list, err := rs.StaffList(t.Context())
	ok(t, "StaffList", err)
	same(t, "StaffList of an empty store", list, []any{})
	f.at(T0).add(events.StaffStream("R10"), &events.StaffRegistered{StaffID: "R10", Name: "Kang", Role: "rep", BranchIDs: []string{"B01", "B02"}})
	f.add(events.StaffStream("A01"), &events.StaffRegistered{StaffID: "A01", Name: "Admin", Role: "admin"})
	f.add(events.StaffStream("R02"), &events.StaffRegistered{StaffID: "R02", Name: "Yoon", Role: "private_banker"})
	f.add(events.StaffStream("GHOST"), &events.PasswordSet{PasswordHash: phc1})
	f.at(hours(1)).add(events.StaffStream("R10"), &events.PasswordSet{PasswordHash: phc1})
	f.at(hours(2)).add(events.StaffStream("R10"), &events.SignInFailed{Reason: "bad_password"})
	f.add(events.StaffStream("R02"), &events.StaffDeactivated{})
	rs = f.sync()
	want := []projections.StaffMember{
		{ID: "A01", Name: "Admin", Role: "admin", RegisteredAt: T0, Active: true},
		{ID: "R02", Name: "Yoon", Role: "private_banker", RegisteredAt: T0, Version: 1, DeactivatedAt: hours(2)},
		{ID: "R10", Name: "Kang", Role: "rep", BranchIDs: []string{"B01", "B02"}, RegisteredAt: T0, Version: 2, Active: true,
			PasswordHash: phc1, PasswordSetAt: hours(1), FailedSignIns: []time.Time{hours(2)}},
	}
	list, err = rs.StaffList(t.Context())
	ok(t, "StaffList", err)
	if len(list) != len(want) {
		t.Fatalf("StaffList has %d members, want %d: %+v", len(list), len(want), list)
	}
	for i := range want {
		sameMember(t, "StaffList["+fmt.Sprint(i)+"]", list[i], want[i])
	}
	list[2].BranchIDs[0], list[2].FailedSignIns[0] = "MINE", T0
	m, err := rs.StaffMember(t.Context(), "R10")
	ok(t, "StaffMember(R10)", err)
	m.BranchIDs[1] = "MINE"
	again, err := rs.StaffList(t.Context())
	ok(t, "StaffList", err)
	sameMember(t, "StaffList[2] after the caller changed its copies", again[2], want[2])
	checkMember(t, rs, "R10", want[2])
}

// testSignInPolicy expects the latest SecondFactorPolicySet of
// settings-signin, and none from any other stream.
func testSignInPolicy(t *testing.T, f *fixture) {
	rs := f.sync()
	checkPolicy(t, rs, "before any policy", "[]")
	f.at(T0).add(events.SignInSettingsStream, &events.SecondFactorPolicySet{Roles: []string{"private_banker", "admin"}})
	rs = f.sync()
	checkPolicy(t, rs, "a policy", `["private_banker","admin"]`)
	p, err := rs.SignInPolicy(t.Context())
	ok(t, "SignInPolicy", err)
	p.SecondFactorRoles[0] = "rep"
	checkPolicy(t, rs, "after the caller changed its copy", `["private_banker","admin"]`)

	f.add(events.StaffStream("R01"), &events.SecondFactorPolicySet{Roles: []string{"rep"}})
	f.add("settings-other", &events.SecondFactorPolicySet{Roles: []string{"auditor"}})
	rs = f.sync()
	checkPolicy(t, rs, "policies on other streams", `["private_banker","admin"]`)
	f.add(events.SignInSettingsStream, &events.SecondFactorPolicySet{Roles: []string{}})
	rs = f.sync()
	checkPolicy(t, rs, "an emptied policy", "[]")
}

func checkPolicy(t *testing.T, rs ReadStore, what, roles string) {
	t.Helper()
	p, err := rs.SignInPolicy(t.Context())
	ok(t, "SignInPolicy", err)
	same(t, "SignInPolicy "+what, p, rawJSON(`{"secondFactorRoles":`+roles+`}`))
}

// sameMember compares two members as the API serves them (same) and the
// fields that JSON leaves out, times to the nanosecond, nil failures as
// nil.
func sameMember(t *testing.T, what string, got, want projections.StaffMember) {
	t.Helper()
	same(t, what, got, want)
	type hidden struct {
		PasswordHash, SetupID, SetupHash, SecondFactorSealed string
		SetupExpiresAt                                       string
		FailedSignIns                                        []string
	}
	hide := func(m projections.StaffMember) hidden {
		h := hidden{PasswordHash: m.PasswordHash, SetupID: m.SetupID, SetupHash: m.SetupHash,
			SecondFactorSealed: m.SecondFactorSealed, SetupExpiresAt: m.SetupExpiresAt.UTC().Format(time.RFC3339Nano)}
		if m.FailedSignIns != nil {
			h.FailedSignIns = []string{}
		}
		for _, at := range m.FailedSignIns {
			h.FailedSignIns = append(h.FailedSignIns, at.UTC().Format(time.RFC3339Nano))
		}
		return h
	}
	if g, w := hide(got), hide(want); g.PasswordHash != w.PasswordHash || g.SetupID != w.SetupID || g.SetupHash != w.SetupHash ||
		g.SecondFactorSealed != w.SecondFactorSealed || g.SetupExpiresAt != w.SetupExpiresAt ||
		(g.FailedSignIns == nil) != (w.FailedSignIns == nil) || !slices.Equal(g.FailedSignIns, w.FailedSignIns) {
		t.Errorf("%s, the fields the API does not serve:\n got %+v\nwant %+v", what, g, w)
	}
}
