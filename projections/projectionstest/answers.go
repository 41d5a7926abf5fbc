package projectionstest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
)

// Generate appends to log a generated bank of n customers (ops/seed, seed
// 7, with end as its simulated today) and the hand-made events the
// generator does not make: tokens, a role change, sign-in events and the
// sign-in policy, an erasure, a reassignment that empties a book, an
// unassigned review selection.
func Generate(tb testing.TB, log events.Store, n int, end time.Time) {
	tb.Helper()
	ctx := context.Background()
	if _, err := seed.Generate(ctx, seed.Config{Customers: n, Seed: 7, End: end}, log); err != nil {
		tb.Fatal(err)
	}
	add := func(stream string, ds ...events.Data) {
		evs := make([]events.Event, len(ds))
		for i, d := range ds {
			e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
			if err != nil {
				tb.Fatalf("%T: %v", d, err)
			}
			evs[i] = e
		}
		if _, err := log.Append(ctx, stream, events.Any, evs...); err != nil {
			tb.Fatalf("append %s: %v", stream, err)
		}
	}
	add(events.StaffStream("R000"),
		&events.TokenIssued{TokenID: "TK1", TokenHash: hash(1), ExpiresAt: end.AddDate(1, 0, 0)},
		&events.TokenIssued{TokenID: "TK2", TokenHash: hash(2)},
		&events.TokenRevoked{TokenID: "TK2", Reason: "lost"},
		&events.StaffRoleChanged{Role: "supervisor"},
		&events.PasswordSetupIssued{SetupID: "SET1", CodeHash: hash(3), ExpiresAt: end.Add(72*time.Hour + time.Microsecond)},
		&events.SignInFailed{Reason: "no_password"},
		&events.PasswordSet{PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", SetupID: "SET1"},
		&events.SecondFactorEnrolled{SecretSealed: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
		&events.SignedIn{SessionID: "SES1", SessionHash: hash(4), ExpiresAt: end.Add(12 * time.Hour), SecondFactor: true},
		&events.SignedIn{SessionID: "SES2", SessionHash: hash(5), ExpiresAt: end.Add(12 * time.Hour)},
		&events.SignedOut{SessionID: "SES2", Reason: "signed_out"},
		&events.SignInFailed{Reason: "bad_password", Address: "10.0.0.1"},
		&events.SignInFailed{Reason: "bad_second_factor"})
	add(events.StaffStream("R001"), &events.StaffDeactivated{Reason: "left"})
	add(events.SignInSettingsStream, &events.SecondFactorPolicySet{Roles: []string{"admin", "private_banker"}})
	add(events.CustomerStream("C0000001"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	// C0000002 moves to a new advisor and back: NEW01's book is left empty.
	add(events.CustomerStream("C0000002"),
		&events.AdvisorAssigned{AdvisorID: "NEW01", Kind: "call_centre_rep"},
		&events.AdvisorAssigned{AdvisorID: "R000", Kind: "call_centre_rep"})
	add(events.CallStream("KX1"), &events.CallRecorded{CallID: "KX1", CustomerID: "C0000003", StaffID: "R000",
		Direction: "inbound", StartedAt: end.Add(-time.Hour), DurationSec: 61,
		Recording: events.Recording{SHA256: hash(9), ContentType: "audio/wav", Bytes: 10}},
		&events.CallSelectedForReview{Reason: "requested"})
	generateQA(add, end)
	generateProvenance(add, end)
}

// Fold folds the whole of log into a fresh projections.Memory, directly
// (no Runner): the reference answers a read store is compared with.
func Fold(tb testing.TB, log projections.Source) *projections.Memory {
	tb.Helper()
	m := projections.NewMemory()
	FoldInto(tb, log, m)
	return m
}

// FoldInto folds the whole of log into m, as Fold does into a fresh one.
func FoldInto(tb testing.TB, log projections.Source, m *projections.Memory) {
	tb.Helper()
	for _, e := range readAll(tb, log) {
		d, err := events.Decode(&e)
		if err != nil && events.ErrorCode(err) != events.NotFound {
			tb.Fatalf("decode %s@%d: %v", e.Stream, e.Version, err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &e, Data: d})
		}
	}
}

func readAll(tb testing.TB, log projections.Source) []events.Envelope {
	tb.Helper()
	all, err := log.ReadAll(context.Background(), events.Start, 1<<30)
	if err != nil {
		tb.Fatal(err)
	}
	return all
}

// IDs are the ids a log names, by kind, for asking every query.
type IDs struct {
	customers, calls, points, staff, tokens, advisors, supervisors []string
	disputes, forms, sessions                                      []string
	campaigns                                                      []string
}

// LogIDs returns the ids log names.
func LogIDs(tb testing.TB, log projections.Source) IDs {
	tb.Helper()
	var out IDs
	seen := map[string]bool{}
	add := func(list *[]string, id string) {
		if k := fmt.Sprintf("%p/%s", list, id); !seen[k] {
			seen[k] = true
			*list = append(*list, id)
		}
	}
	for _, e := range readAll(tb, log) {
		cat, id := events.StreamID(e.Stream)
		switch cat {
		case events.CategoryCustomer:
			add(&out.customers, id)
		case events.CategoryCall:
			add(&out.calls, id)
		case events.CategoryStaff:
			add(&out.staff, id)
		case events.CategoryQAForm:
			add(&out.forms, id)
		case events.CategoryCalibration:
			add(&out.sessions, id)
		case events.CategoryCampaign:
			add(&out.campaigns, id)
		}
		d, _ := events.Decode(&e)
		switch x := d.(type) {
		case *events.CallReviewed:
			for _, p := range x.CoachingPoints {
				add(&out.points, p.PointID)
			}
			add(&out.supervisors, x.ReviewerID)
		case *events.CallSelectedForReview:
			add(&out.supervisors, x.SupervisorID)
		case *events.ReviewDisputed:
			add(&out.disputes, x.DisputeID)
		case *events.CalibrationOpened:
			for _, ev := range x.Evaluators {
				add(&out.supervisors, ev)
			}
		case *events.TokenIssued:
			add(&out.tokens, x.TokenID)
		case *events.SignedIn:
			add(&out.tokens, x.SessionID)
		case *events.AdvisorAssigned:
			add(&out.advisors, x.AdvisorID)
		}
	}
	return out
}

// Answers returns every query's answer at now as lines of JSON, errors
// included (code and message), for every id in x and two unknown ones, for
// a set of list and coaching filters (following list cursors to the end),
// and for every report: two read stores that give the same lines give the
// same answers.
func Answers(tb testing.TB, q projections.Queries, x IDs, now time.Time) []string {
	tb.Helper()
	ctx := context.Background()
	var out []string
	put := func(what string, v any, err error) {
		if err != nil {
			out = append(out, fmt.Sprintf("%s: error %s: %v", what, events.ErrorCode(err), err))
			return
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			tb.Fatal(jerr)
		}
		out = append(out, what+": "+string(b))
	}
	unknown := []string{"nope", ""}
	for _, id := range append(slices.Clone(x.customers), unknown...) {
		v, err := q.Customer(ctx, id, now)
		put("customer "+id, v, err)
		ok, err := q.CustomerExists(ctx, id)
		put("exists "+id, ok, err)
	}
	yes, no := true, false
	for _, f := range []projections.CustomerFilter{{}, {Limit: 7}, {Tier: "vip"}, {Tier: "potential_vip", Limit: 5},
		{Stale: &yes, Limit: 13}, {Stale: &no}, {Advisor: "R000", Limit: 3}, {Advisor: "PB000", Stale: &yes}, {Advisor: "NEW01"}, {After: "C0000100", Limit: 10}} {
		start := describeFilter(f)
		for page := 0; page < 1000; page++ {
			l, next, err := q.CustomerList(ctx, f, now)
			put(fmt.Sprintf("list %s page %d", start, page), []any{l, next}, err)
			if next == "" || err != nil {
				break
			}
			f.After = next
		}
	}
	for _, a := range append(slices.Clone(x.advisors), unknown...) {
		for _, opt := range []projections.WorklistOptions{{}, {LifeEventWithinDays: 200, NoContactDays: 10}} {
			w, err := q.Worklist(ctx, a, now, opt)
			put("worklist "+a+" "+describeOptions(opt), w, err)
		}
	}
	for _, id := range append(slices.Clone(x.calls), unknown...) {
		v, err := q.Call(ctx, id)
		put("call "+id, v, err)
	}
	for _, sup := range append(slices.Clone(x.supervisors), unknown...) {
		v, err := q.QAQueue(ctx, sup)
		put("queue "+sup, v, err)
	}
	for _, id := range append(slices.Clone(x.points), unknown...) {
		v, err := q.CoachingPoint(ctx, id, now)
		put("point "+id, v, err)
	}
	for _, f := range []projections.CoachingFilter{{}, {Rep: "R000"}, {Status: "improved"}, {Status: "not_improved", Rep: "R001"},
		{Checker: "X0"}, {DueBefore: now}, {DueBefore: now.AddDate(0, -1, 0)}} {
		v, err := q.Coaching(ctx, f, now)
		put("coaching "+describeCoaching(f), v, err)
	}
	qaAnswers(ctx, q, x, put)
	campaignAnswers(ctx, q, x.campaigns, x.customers, nil, now, put) // the worklists are asked above
	for _, name := range append(slices.Clone(projections.ReportNames), unknown...) {
		v, err := q.Report(ctx, name, now)
		put("report "+name, v, err)
	}
	dups, err := q.Duplicates(ctx)
	put("duplicates", dups, err)
	withheld, err := q.WithheldValues(ctx)
	put("duplicates withheld", withheld, err)
	hidden := func(m projections.StaffMember) []any { // what the JSON leaves out
		return []any{m.PasswordHash, m.SetupID, m.SetupHash, m.SetupExpiresAt.UTC(), m.SecondFactorSealed, m.FailedSignIns}
	}
	for _, id := range append(slices.Clone(x.staff), unknown...) {
		v, err := q.StaffMember(ctx, id)
		put("staff "+id, v, err)
		if err == nil {
			put("staff hidden "+id, hidden(v), nil)
		}
	}
	staff, err := q.StaffList(ctx)
	put("staff list", staff, err)
	for _, m := range staff {
		put("staff list hidden "+m.ID, hidden(m), nil)
	}
	policy, err := q.SignInPolicy(ctx)
	put("sign-in policy", policy, err)
	for _, id := range append(slices.Clone(x.tokens), unknown...) {
		v, err := q.Token(ctx, id)
		put("token "+id, v, err)
		if err == nil {
			out = append(out, "token hash "+id+": "+v.Hash)
		}
	}
	return out
}

// SameAnswers fails the test at the first answer that differs between
// want (the reference's Answers) and got (the read store's).
func SameAnswers(tb testing.TB, want, got []string) {
	tb.Helper()
	if len(want) != len(got) {
		tb.Fatalf("%d answers from the reference, %d from the read store", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			tb.Fatalf("answers differ:\nreference:  %.2000s\nread store: %.2000s", want[i], got[i])
		}
	}
}

// testGenerated compares every answer of the read store with the
// reference fold's on a generated bank, at clocks where stale and overdue
// flags differ; the store catches up on the bank and follows a live append.
func testGenerated(t *testing.T, f *fixture) {
	Generate(t, f.log, f.opt.Customers, T0)
	f.sync()
	f.at(T0.Add(time.Minute)).add(events.CustomerStream("C0000005"), &events.ProfileVerified{Channel: "branch"})
	rs := f.sync()
	ref, x := Fold(t, f.log), LogIDs(t, f.log)
	if len(x.customers) < f.opt.Customers {
		t.Fatalf("the generated log names %d customers, want %d", len(x.customers), f.opt.Customers)
	}
	for _, now := range []time.Time{T0, T0.AddDate(0, 0, -45).Add(time.Nanosecond), T0.AddDate(0, 3, 0)} {
		want, got := Answers(t, ref, x, now), Answers(t, rs, x, now)
		SameAnswers(t, want, got)
		if min := 2 * f.opt.Customers; len(want) < min { // a view and an existence check per customer, at least
			t.Fatalf("only %d answers compared, want at least %d", len(want), min)
		}
	}
	// The default page is 50 customers, with a cursor when more follow.
	page, next, err := rs.CustomerList(t.Context(), projections.CustomerFilter{}, T0)
	ok(t, "CustomerList", err)
	if f.opt.Customers > 50 && (len(page) != 50 || next != page[49].ID) {
		t.Errorf("the default page of %d customers has %d rows and cursor %q, want 50 and the 50th id", f.opt.Customers, len(page), next)
	}
}
