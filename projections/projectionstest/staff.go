package projectionstest

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// testStaff expects staff members with their latest role and their
// stream's version.
func testStaff(t *testing.T, f *fixture) {
	r01, x1 := events.StaffStream("R01"), events.StaffStream("X1")
	f.at(T0).add(r01, &events.StaffRegistered{StaffID: "R01", Name: "Lee Seoyeon", Role: "rep", BranchIDs: []string{"B01", "B02"}})
	f.add(x1, &events.StaffRegistered{StaffID: "X1", Name: "Admin", Role: "admin"})
	f.add(events.StaffStream("GHOST"), &events.StaffRoleChanged{Role: "auditor"}) // never registered
	rs := f.sync()
	checkMember(t, rs, "R01", projections.StaffMember{ID: "R01", Name: "Lee Seoyeon", Role: "rep", BranchIDs: []string{"B01", "B02"}, RegisteredAt: T0, Active: true})
	f.at(hours(24)).add(r01, &events.StaffRoleChanged{Role: "supervisor"})
	f.add(r01, &events.TokenIssued{TokenID: "TK1", TokenHash: hash(1)}) // a token event moves the version too
	rs = f.sync()
	checkMember(t, rs, "R01", projections.StaffMember{ID: "R01", Name: "Lee Seoyeon", Role: "supervisor", BranchIDs: []string{"B01", "B02"},
		RegisteredAt: T0, Version: 2, Active: true})
	checkMember(t, rs, "X1", projections.StaffMember{ID: "X1", Name: "Admin", Role: "admin", RegisteredAt: T0, Active: true})
	if _, err := rs.StaffMember(t.Context(), "GHOST"); events.ErrorCode(err) != events.NotFound {
		t.Errorf("StaffMember(GHOST), whose stream has no StaffRegistered: %v, want not_found", err)
	}
}

// checkMember compares StaffMember(id) with want, the fields the JSON
// leaves out included (sameMember).
func checkMember(t *testing.T, rs ReadStore, id string, want projections.StaffMember) {
	t.Helper()
	m, err := rs.StaffMember(t.Context(), id)
	ok(t, "StaffMember("+id+")", err)
	sameMember(t, "StaffMember("+id+")", m, want)
}

// checkToken compares Token(want.ID) with want, its hash (which the JSON
// leaves out) included.
func checkToken(t *testing.T, rs ReadStore, want projections.TokenInfo) {
	t.Helper()
	got, err := rs.Token(t.Context(), want.ID)
	ok(t, "Token("+want.ID+")", err)
	same(t, "Token("+want.ID+")", got, want)
	if got.Hash != want.Hash {
		t.Errorf("Token(%s).Hash = %q, want %q", want.ID, got.Hash, want.Hash)
	}
}

// testTokens expects issued tokens with their hash, expiry and revocation;
// a revocation in another member's stream does not revoke.
func testTokens(t *testing.T, f *fixture) {
	r01, r02 := events.StaffStream("R01"), events.StaffStream("R02")
	f.at(T0).add(r01, &events.StaffRegistered{StaffID: "R01", Name: "Lee", Role: "rep"})
	f.add(r02, &events.StaffRegistered{StaffID: "R02", Name: "Choi", Role: "rep"})
	expires := T0.AddDate(0, 0, 30)
	f.at(hours(1)).add(r01, &events.TokenIssued{TokenID: "TK1", TokenHash: hash(1), ExpiresAt: expires})
	f.sync()
	f.at(hours(2)).add(r01, &events.TokenIssued{TokenID: "TK2", TokenHash: hash(2)})
	f.at(hours(3)).add(r01, &events.TokenRevoked{TokenID: "TK2", Reason: "lost"})
	f.add(r02, &events.TokenRevoked{TokenID: "TK1", Reason: "not theirs"})
	rs := f.sync()
	for _, want := range []projections.TokenInfo{
		{ID: "TK1", StaffID: "R01", Hash: hash(1), IssuedAt: hours(1), ExpiresAt: expires, Kind: projections.KindToken},
		{ID: "TK2", StaffID: "R01", Hash: hash(2), IssuedAt: hours(2), Revoked: true, Kind: projections.KindToken},
	} {
		checkToken(t, rs, want)
	}
	tk1, err := rs.Token(t.Context(), "TK1")
	ok(t, "Token(TK1)", err)
	if !tk1.ValidAt(expires.Add(-time.Nanosecond)) || tk1.ValidAt(expires) {
		t.Errorf("Token(TK1) expiry read back as %v, want %v to the nanosecond", tk1.ExpiresAt, expires)
	}
}

// testNotFound asks an empty read store every query: lookups by id are
// NotFound, existence is false, lists and reports are empty (and encode
// as [] rather than null).
func testNotFound(t *testing.T, f *fixture) {
	rs := f.sync()
	ctx := t.Context()
	now := T0
	for what, err := range map[string]error{
		"Customer":           second(rs.Customer(ctx, "nope", now)),
		"Customer(\"\")":     second(rs.Customer(ctx, "", now)),
		"Call":               second(rs.Call(ctx, "nope")),
		"CoachingPoint":      second(rs.CoachingPoint(ctx, "nope", now)),
		"StaffMember":        second(rs.StaffMember(ctx, "nope")),
		"Token":              second(rs.Token(ctx, "nope")),
		"Report(nope)":       second(rs.Report(ctx, "nope", now)),
		"Report(\"\")":       second(rs.Report(ctx, "", now)),
		"Report(TIERS)":      second(rs.Report(ctx, "TIERS", now)),
		"Report(qa/../qa)":   second(rs.Report(ctx, "qa/../qa", now)),
		"Customer(a'b)":      second(rs.Customer(ctx, "a'b", now)),
		"Call(with space)":   second(rs.Call(ctx, "with space")),
		"Token(very long)":   second(rs.Token(ctx, string(make([]byte, 300)))),
		"StaffMember(\\x00)": second(rs.StaffMember(ctx, "\x00")),
		"Customer(\\xff)":    second(rs.Customer(ctx, "\xff", now)),
	} {
		if events.ErrorCode(err) != events.NotFound {
			t.Errorf("%s of an unknown id: %v, want not_found", what, err)
		}
	}
	for _, id := range []string{"nope", "\x00", "\xff"} {
		if yes, err := rs.CustomerExists(ctx, id); err != nil || yes {
			t.Errorf("CustomerExists(%q) = %v, %v; want false, nil", id, yes, err)
		}
	}
	// Filter values no store can hold match nothing either.
	for _, f := range []projections.CustomerFilter{{Advisor: "\x00"}, {Tier: "\xff"}, {After: "C\x00"}} {
		page, next, err := rs.CustomerList(ctx, f, now)
		ok(t, "CustomerList", err)
		same(t, "CustomerList("+describeFilter(f)+") of an empty store", []any{page, next}, []any{[]any{}, ""})
	}
	page, next, err := rs.CustomerList(ctx, projections.CustomerFilter{}, now)
	ok(t, "CustomerList", err)
	same(t, "CustomerList of an empty store", []any{page, next}, []any{[]any{}, ""})
	for what, get := range map[string]func(context.Context) (any, error){
		"Worklist": func(ctx context.Context) (any, error) {
			return rs.Worklist(ctx, "R01", now, projections.WorklistOptions{})
		},
		"QAQueue":  func(ctx context.Context) (any, error) { return rs.QAQueue(ctx, "") },
		"Coaching": func(ctx context.Context) (any, error) { return rs.Coaching(ctx, projections.CoachingFilter{}, now) },
	} {
		v, err := get(ctx)
		ok(t, what, err)
		same(t, what+" of an empty store", v, []any{})
	}
	for name, want := range map[string]string{
		"tiers":     `{"customers":0,"byTier":{},"withFinancials":0,"totalProfit":0,"profitConcentration":[{"topPercent":1,"shareOfProfit":0},{"topPercent":7,"shareOfProfit":0},{"topPercent":20,"shareOfProfit":0},{"topPercent":50,"shareOfProfit":0}]}`,
		"pitches":   `{"advisor":[],"campaign":[],"channel":[],"product":[]}`,
		"qa":        `[]`,
		"coaching":  `{"points":0,"byStatus":{},"checks":0,"improved":0,"notImproved":0,"improvementRate":0,"overdue":0,"byRep":[]}`,
		"freshness": `[]`,
		"requests":  `[]`,
	} {
		v, err := rs.Report(ctx, name, now)
		ok(t, "Report("+name+")", err)
		same(t, "Report("+name+") of an empty store", v, rawJSON(want))
	}
}

func second[T any](_ T, err error) error { return err }

// rawJSON is JSON text that encodes as itself.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
