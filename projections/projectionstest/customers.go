package projectionstest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

func hours(n int) time.Time { return T0.Add(time.Duration(n) * time.Hour) }

func recording(n int) events.Recording {
	return events.Recording{SHA256: hash(n), ContentType: "audio/wav", Bytes: int64(1000 + n)}
}

// testCustomerView folds every kind of customer event into one customer
// and expects the whole 360 view, at two clocks.
func testCustomerView(t *testing.T, f *fixture) {
	c1 := events.CustomerStream("C1")
	f.at(T0).add(c1, &events.CustomerRegistered{CustomerID: "C1", Name: "Kim Minjun", BirthDate: "1980-05-17",
		Phone: "010-1234-5678", Email: "minjun@example.com", Address: "1 Sejong-daero, Seoul", BranchID: "B01",
		Source: events.Source{System: "core", Ref: "K-1"}})
	// The read store catches up on what is in the log so far and follows
	// the rest live.
	f.sync()
	f.at(hours(1)).add(c1, &events.ProfileChanged{Changes: map[string]string{"phone": "010-9999-0000", "email": ""}, Source: "branch"})
	f.at(hours(2)).add(c1, &events.ProfileVerified{Channel: "branch"})
	f.at(hours(3))
	f.add(c1, &events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: ptr(true)})
	f.add(c1, &events.ConsentChanged{Channel: "email", Purpose: "service", Granted: ptr(false)})
	f.add(c1, &events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: ptr(true)})
	f.add(c1, &events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: ptr(false)}) // withdrawn
	f.at(hours(4))
	f.add(c1, &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2030-04-20", Note: "daughter's wedding"})
	f.add(c1, &events.LifeEventRecorded{Kind: "retirement", ExpectedOn: "2030-03-01"}) // already past
	f.add(c1, &events.LifeEventRecorded{Kind: "relocation", Note: "moving to Busan"})
	f.add(c1, &events.FinancialsReported{AsOf: "2030-01-31", DepositBalance: ptr(int64(90_000_000)), ProfitContribution: ptr(int64(-5_000)), Currency: "KRW"})
	f.add(c1, &events.FinancialsReported{AsOf: "2030-02-28", DepositBalance: ptr(int64(150_000_000)), ProfitContribution: ptr(int64(2_400_000)), Currency: "KRW"})
	f.add(c1, &events.TierAssigned{Tier: "vip", Basis: events.TierBasis{DepositBalance: ptr(int64(150_000_000)),
		ProfitContribution: ptr(int64(2_400_000)), Rule: "top 7% by profit"}})
	f.add(c1, &events.AdvisorAssigned{AdvisorID: "PB01", Kind: "private_banker", BranchID: "B01"})
	f.add(c1, &events.ProductHoldingChanged{Product: "deposit-1y", AccountRef: "ACC-1", Change: "opened"})
	f.add(c1, &events.ProductHoldingChanged{Product: "fund-k", AccountRef: "ACC-2", Change: "opened"})
	f.add(c1, &events.ProductHoldingChanged{Product: "fund-k", AccountRef: "ACC-2", Change: "closed"})
	f.add(c1, &events.ProductHoldingChanged{Product: "card-x", AccountRef: "ACC-3", Change: "opened"})
	contact := f.at(hours(5)).add(c1, &events.ContactLogged{Channel: "phone_outbound", Purpose: "advice", Summary: "asked about funds",
		OccurredAt: hours(5).Add(-10 * time.Minute), DurationSec: 300, StaffID: "PB01"})
	f.as("PB01", "private_banker")
	pitch1 := f.at(hours(6)).add(c1, &events.ProductPitched{Product: "fund-k", Channel: "branch", Outcome: "considering",
		FollowUpOn: "2030-03-10", CampaignID: "CP1"})
	pitch2 := f.at(hours(7)).add(c1, &events.ProductPitched{Product: "fund-k", Channel: "branch", Outcome: "accepted"})
	pitch3 := f.at(hours(8)).add(c1, &events.ProductPitched{Product: "card-x", Channel: "phone_outbound", Outcome: "declined"})
	request := f.at(hours(9)).add(c1, &events.CustomerRequestNoted{Text: "longer ATM hours", Category: "atm-hours"})
	f.as("R01", "rep")
	call := f.at(hours(10)).add(events.CallStream("K1"), &events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R01",
		Direction: "inbound", StartedAt: hours(10).Add(-5 * time.Minute), DurationSec: 125, Recording: recording(1)})
	// Typed up late: it happened between the profile change and the
	// verification, so it sits there in the timeline.
	late := f.at(hours(11)).add(c1, &events.ContactLogged{Channel: "branch", Purpose: "service", Summary: "card PIN reset",
		OccurredAt: hours(1).Add(30 * time.Minute), StaffID: "R01"})
	sms := f.at(hours(12)).add(c1, &events.ContactLogged{Channel: "sms", Purpose: "inquiry", OccurredAt: hours(12).Add(-time.Minute)})
	last := f.at(hours(13)).add(c1, &events.ContactLogged{Channel: "email", Purpose: "complaint", Summary: "fee on transfer",
		OccurredAt: hours(13).Add(-time.Minute), StaffID: "R01"})
	rs := f.sync()

	// Nine interactions: the oldest by when it happened (the profile
	// change) is not among the TimelineDepth recent ones.
	timeline := []projections.TimelineEntry{
		{Kind: "contact", At: hours(13).Add(-time.Minute), Channel: "email", Purpose: "complaint", Summary: "fee on transfer", StaffID: "R01", Position: last.Position.Seq()},
		{Kind: "contact", At: hours(12).Add(-time.Minute), Channel: "sms", Purpose: "inquiry", Position: sms.Position.Seq()},
		{Kind: "call", At: hours(10).Add(-5 * time.Minute), Channel: "inbound", StaffID: "R01", CallID: "K1", DurationSec: 125, Position: call.Position.Seq()},
		{Kind: "pitch", At: hours(8), Channel: "phone_outbound", Product: "card-x", Outcome: "declined", StaffID: "PB01", Position: pitch3.Position.Seq()},
		{Kind: "pitch", At: hours(7), Channel: "branch", Product: "fund-k", Outcome: "accepted", StaffID: "PB01", Position: pitch2.Position.Seq()},
		{Kind: "pitch", At: hours(6), Channel: "branch", Product: "fund-k", Outcome: "considering", StaffID: "PB01", Position: pitch1.Position.Seq()},
		{Kind: "contact", At: hours(5).Add(-10 * time.Minute), Channel: "phone_outbound", Purpose: "advice", Summary: "asked about funds", StaffID: "PB01", DurationSec: 300, Position: contact.Position.Seq()},
		{Kind: "contact", At: hours(1).Add(30 * time.Minute), Channel: "branch", Purpose: "service", Summary: "card PIN reset", StaffID: "R01", Position: late.Position.Seq()},
	}
	if len(timeline) != projections.TimelineDepth {
		t.Fatalf("the test expects a full timeline of %d entries; TimelineDepth is %d", len(timeline), projections.TimelineDepth)
	}
	want := projections.CustomerView{
		ID: "C1", Version: last.Version, Name: "Kim Minjun", BirthDate: "1980-05-17", Phone: "010-9999-0000",
		Address: "1 Sejong-daero, Seoul", BranchID: "B01", Tier: "vip",
		TierBasis: &projections.TierBasis{DepositBalance: 150_000_000, ProfitContribution: 2_400_000, Rule: "top 7% by profit"},
		Advisor:   &projections.Advisor{ID: "PB01", Kind: "private_banker"},
		// Version: the stream version of the ConsentChanged that last set each.
		Consents: []projections.Consent{{Channel: "phone", Purpose: "marketing", Granted: true, Version: 3},
			{Channel: "sms", Purpose: "marketing", Granted: false, Version: 6}, {Channel: "email", Purpose: "service", Granted: false, Version: 4}},
		DoNotContact: false,
		Holdings:     []projections.Holding{{Product: "deposit-1y", AccountRef: "ACC-1"}, {Product: "card-x", AccountRef: "ACC-3"}},
		Financials:   &projections.Financials{AsOf: "2030-02-28", DepositBalance: 150_000_000, ProfitContribution: 2_400_000, Currency: "KRW"},
		LifeEvents: []projections.LifeEvent{{Kind: "child_wedding", ExpectedOn: "2030-04-20", Note: "daughter's wedding", RecordedAt: hours(4)},
			{Kind: "relocation", Note: "moving to Busan", RecordedAt: hours(4)}},
		RegisteredAt: T0, VerifiedAt: hours(2), Stale: false, LastContact: hours(13).Add(-time.Minute),
		Timeline: timeline,
		Pitches: []projections.PitchOutcome{{Product: "fund-k", Channel: "branch", Outcome: "accepted", At: hours(7), StaffID: "PB01"},
			{Product: "card-x", Channel: "phone_outbound", Outcome: "declined", At: hours(8), StaffID: "PB01"}},
		Requests: []projections.Request{{Text: "longer ATM hours", Category: "atm-hours", At: hours(9), EventID: request.EventIDs[0]}},
	}
	want.Provenance = provenanceOfC1()
	now := T0.AddDate(0, 0, 1)
	v, err := rs.Customer(t.Context(), "C1", now)
	ok(t, "Customer C1", err)
	same(t, "Customer C1 a day after registration", v, want)

	// Two calendar months after the verification the data is not stale
	// yet; a nanosecond later it is. Life events are upcoming as of now's
	// date: the wedding has passed by then.
	staleAt := hours(2).AddDate(0, 2, 0)
	want.LifeEvents = want.LifeEvents[1:]
	v, err = rs.Customer(t.Context(), "C1", staleAt)
	ok(t, "Customer C1", err)
	same(t, "Customer C1 two months after its verification", v, want)
	want.Stale = true
	v, err = rs.Customer(t.Context(), "C1", staleAt.Add(time.Nanosecond))
	ok(t, "Customer C1", err)
	same(t, "Customer C1 a nanosecond after its data went stale", v, want)

	if yes, err := rs.CustomerExists(t.Context(), "C1"); err != nil || !yes {
		t.Errorf("CustomerExists(C1) = %v, %v; want true", yes, err)
	}
}

// testErasure: an erased customer is still found, with every personal
// value gone from the view, the list and the worklist; the rest stays.
func testErasure(t *testing.T, f *fixture) {
	c2 := events.CustomerStream("C2")
	f.at(T0).add(c2, &events.CustomerRegistered{CustomerID: "C2", Name: "Park Jiwoo", BirthDate: "1975-01-02", Phone: "010-2222-3333",
		Email: "jiwoo@example.com", Address: "Busan", BranchID: "B02", Source: events.Source{System: "core"}})
	f.add(c2, &events.ConsentChanged{Channel: "post", Purpose: "service", Granted: ptr(true)})
	f.add(c2, &events.LifeEventRecorded{Kind: "birth", ExpectedOn: "2030-06-01", Note: "expecting twins"})
	f.add(c2, &events.AdvisorAssigned{AdvisorID: "R01", Kind: "call_centre_rep"})
	contact := f.at(hours(1)).add(c2, &events.ContactLogged{Channel: "branch", Purpose: "complaint", Summary: "angry about fees",
		OccurredAt: hours(1), StaffID: "R01"})
	request := f.add(c2, &events.CustomerRequestNoted{Text: "call me after 6pm", Category: "contact-hours"})
	f.sync()
	erased := f.at(hours(2)).add(c2, &events.PersonalDataErased{Reason: "customer request", RequestedBy: "customer"})
	rs := f.sync()

	want := projections.CustomerView{
		ID: "C2", Version: erased.Version, Name: projections.Erased, BranchID: "B02", Erased: true,
		Advisor:      &projections.Advisor{ID: "R01", Kind: "call_centre_rep"},
		Consents:     []projections.Consent{{Channel: "post", Purpose: "service", Granted: true, Version: 1}},
		DoNotContact: true, Holdings: []projections.Holding{},
		LifeEvents:   []projections.LifeEvent{{Kind: "birth", ExpectedOn: "2030-06-01", RecordedAt: T0}},
		RegisteredAt: T0, LastContact: hours(1),
		Timeline: []projections.TimelineEntry{{Kind: "contact", At: hours(1), Channel: "branch", Purpose: "complaint", StaffID: "R01",
			Position: contact.Position.Seq()}},
		Pitches:  []projections.PitchOutcome{},
		Requests: []projections.Request{{Text: projections.Erased, Category: "contact-hours", At: hours(1), EventID: request.EventIDs[0]}},
	}
	v, err := rs.Customer(t.Context(), "C2", hours(3))
	ok(t, "Customer C2", err)
	same(t, "Customer C2 after erasure", v, want)
	for _, p := range []string{"Park", "1975", "2222", "jiwoo", "Busan", "twins", "angry", "6pm"} {
		if b := fmt.Sprintf("%+v", v); strings.Contains(b, p) {
			t.Errorf("the erased customer's view still holds %q: %s", p, b)
		}
	}
	if yes, err := rs.CustomerExists(t.Context(), "C2"); err != nil || !yes {
		t.Errorf("CustomerExists(C2) after erasure = %v, %v; want true", yes, err)
	}
	page, next, err := rs.CustomerList(t.Context(), projections.CustomerFilter{}, hours(3))
	ok(t, "CustomerList", err)
	same(t, "CustomerList after erasure", []any{page, next},
		[]any{[]projections.CustomerSummary{{ID: "C2", Name: projections.Erased, BranchID: "B02", AdvisorID: "R01", Version: erased.Version}}, ""})
	// A reason to call still stands; the name is gone.
	work, err := rs.Worklist(t.Context(), "R01", hours(3), projections.WorklistOptions{LifeEventWithinDays: 120})
	ok(t, "Worklist R01", err)
	same(t, "Worklist R01 after erasure", work, []projections.WorkItem{{CustomerID: "C2", Name: projections.Erased, BranchID: "B02",
		Reasons: []string{projections.ReasonLifeEvent}, LastContact: hours(1), DoNotContact: true, Details: []string{"birth on 2030-06-01"}}})
}
