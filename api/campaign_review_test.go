package api_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// TestReviewPitchStaleCampaign: a campaign closed in the log while the
// read side still shows it running takes no pitch for it: the pitch is
// checked against the campaign as the log has it (the read side caught
// up), refused, and nothing is appended. The customer stream's expected
// version guards consent, not the campaign's stream.
func TestReviewPitchStaleCampaign(t *testing.T) {
	lag := &staleCustomers{views: map[string]projections.CustomerView{}, campaigns: map[string]projections.Campaign{}}
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		lag.Queries = c.Queries
		c.Queries = lag
	}})
	s.campaignBook(bookEntry{"C1", "R1", true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	running, err := lag.Queries.Campaign(t.Context(), "CMP1", s.now())
	if err != nil {
		t.Fatal(err)
	}
	s.must("H1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "예산 소진"}, 201)
	lag.mu.Lock()
	lag.campaigns["CMP1"] = running
	lag.mu.Unlock()
	head := s.head()
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C1/pitches",
		pitch("LOAN-WED", "phone_outbound", "campaignId", "CMP1"), 400, "invalid"), "campaignId", "not running")
	if h := s.head(); h != head {
		t.Errorf("a pitch for a closed campaign appended %v", s.appendedSince(head))
	}
}

// TestReviewPitchRetryAfterWithdrawal: a marketing pitch appended with an
// Idempotency-Key and retried after the customer withdrew consent gets the
// first answer (the pitch is in the log, made under the consent then in
// force), not a refusal the caller would read as "not recorded"; nothing
// more is appended. A new request (another key) is refused.
func TestReviewPitchRetryAfterWithdrawal(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true})
	path := "/v1/customers/C1/pitches"
	body := pitch("FUND01", "phone_outbound", "purpose", "marketing")
	key := events.NewID().String()
	first := s.req("R1", "POST", path, body, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("the pitch: %d %s", first.status, first.raw)
	}
	s.grant("R1", "C1", "phone", false)
	head := s.head()
	if again := s.req("R1", "POST", path, body, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("the pitch retried after the withdrawal: %d %s, first %s", again.status, again.raw, first.raw)
	}
	refusedOn(t, s.refuse("R1", "POST", path, body, 400, "invalid", "Idempotency-Key", events.NewID().String()),
		"channel", "do-not-contact")
	if h := s.head(); h != head {
		t.Errorf("appended %v", s.appendedSince(head))
	}
}

// TestReviewTargetsFollowReassignment: a rep reads the targets of their
// own book as it is now: a customer reassigned to another rep leaves the
// first rep's part of the list and joins the second's; a rep may not ask
// for another's book.
func TestReviewTargetsFollowReassignment(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true}, bookEntry{"C2", "R1", true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R2", "kind": "call_centre_rep"}, 201)
	if got := targetIDs(s.must("R1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)); !slices.Equal(got, []string{"C2"}) {
		t.Errorf("R1 reads the targets %v, want [C2]", got)
	}
	if got := targetIDs(s.must("R2", "GET", "/v1/campaigns/CMP1/targets", nil, 200)); !slices.Equal(got, []string{"C1"}) {
		t.Errorf("R2 reads the targets %v, want [C1]", got)
	}
	s.refuse("R2", "GET", "/v1/campaigns/CMP1/targets?advisor=R1", nil, 403, "forbidden")
	if got := s.campaignReasons("R1", "C1"); len(got) != 0 {
		t.Errorf("C1 still on R1's worklist for the campaign: %v", got)
	}
}

// TestReviewPitchBeforeConsent: a marketing pitch dated before the
// marketing consent it relies on was given is refused on occurredAt (it
// happened when the customer had not consented) and nothing is appended;
// dated after it, it is taken. Over a channel without a consent channel
// of its own (branch) it may rely on an earlier grant still in force,
// and records that grant.
func TestReviewPitchBeforeConsent(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{noReactors: true, now: clock.Now})
	s.campaignBook(bookEntry{"C1", "R1", false})
	path := "/v1/customers/C1/pitches"
	at := func(d time.Duration) string { return eventstest.Epoch.Add(d).Format(time.RFC3339) }

	clock.Set(eventstest.Epoch.Add(time.Hour))
	s.grant("R1", "C1", "email", true)
	emailV := s.consentVersion("C1")
	clock.Set(eventstest.Epoch.Add(3 * time.Hour))
	s.grant("R1", "C1", "phone", true)
	clock.Set(eventstest.Epoch.Add(4 * time.Hour))

	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "marketing", "occurredAt", at(2*time.Hour)), 400, "invalid"),
		"occurredAt", "before")
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "branch", "purpose", "marketing", "occurredAt", at(30*time.Minute)), 400, "invalid"),
		"occurredAt", "before")
	s.must("R1", "POST", path, pitch("FUND01", "branch", "purpose", "marketing", "occurredAt", at(2*time.Hour)), 201)
	if d := s.lastPitch("C1"); d["consentVersion"] != emailV {
		t.Errorf("the branch pitch between the grants recorded %v, want the email grant's version %v", d, emailV)
	}
	s.must("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "marketing", "occurredAt", at(3*time.Hour+time.Minute)), 201)
	s.must("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "service", "occurredAt", at(0)), 201)
}

// TestReviewTargetsAccessRecorded: a target list names customers with
// what they matched (a balance, a life event's date) and their progress:
// each customer on a page read is in the access record, as on a customer
// list ("list"), whoever reads it (a marketer, a centre head, a rep's own
// book).
func TestReviewTargetsAccessRecorded(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true}, bookEntry{"C2", "R2", true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	s.must("M1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)
	s.must("R1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)
	got := map[string][]string{}
	for _, a := range s.accessReads(events.AccessMonth(s.now())) {
		if a.Action == "list" && strings.Contains(a.Detail, "CMP1") {
			got[a.StaffID] = append(got[a.StaffID], a.CustomerID)
		}
	}
	if !slices.Equal(got["M1"], []string{"C1", "C2"}) || !slices.Equal(got["R1"], []string{"C1"}) {
		t.Errorf("the target lists' reads in the access record: %v, want M1 [C1 C2], R1 [C1]", got)
	}
}

// TestReviewLaunchIfMatch: a launch makes a new campaign stream, so it
// takes no If-Match: one naming the version of an existing campaign
// appended a second CampaignLaunched to it (another product, another
// hold-out). 400 on If-Match, nothing appended.
func TestReviewLaunchIfMatch(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns", withField(launch("CMP1"), "product", "FUND01"), 400, "invalid", "If-Match", `"0"`),
		"If-Match", "new campaign")
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns", launch("CMP2"), 400, "invalid", "If-Match", `"0"`),
		"If-Match", "new campaign")
	if c := s.must("M1", "GET", "/v1/campaigns/CMP1", nil, 200); c["product"] != "LOAN-WED" || c["version"] != float64(0) {
		t.Errorf("CMP1 after the launches with If-Match: %v", c)
	}
}

// TestReviewConsoleAmendBase: the console's amendment sends If-Match the
// version its form was opened at (the hidden base); a form whose base is
// not a version, or missing, was taken as version 0 and amended a campaign
// never amended before. It is refused; nothing is appended.
func TestReviewConsoleAmendBase(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.givePassword("M1", "marketer", testPassword)
	s.seedMarketing()
	m := newWebUser(s)
	m.login("M1", testPassword, "")
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	m.mustStatus(m.get("/campaigns/CMP1"), 200, "the campaign")
	head := s.head()
	for _, base := range []string{"x", ""} {
		f := with(builderForm("CMP1", "amend"), "base", base)
		if base == "" {
			f.Del("base")
		}
		if a := m.post("/campaigns/CMP1/amendments", f); a.status != 400 {
			t.Errorf("an amendment with base %q: %d", base, a.status)
		}
	}
	if h := s.head(); h != head {
		t.Errorf("appended %v", s.appendedSince(head))
	}
	f := with(builderForm("CMP1", "amend"), "base", "0")
	m.mustStatus(m.post("/campaigns/CMP1/amendments", f), 303, "the amendment at its base")
}

// TestReviewTargetsMarketerSeesNoValues: a target's matched list holds the
// customer's own values (the date of a child's wedding, when they were
// last contacted, a balance); a marketer, who reads no customer's data,
// gets what was matched without them ("lifeEvent:child_wedding",
// "noContactSince"); a centre head, who may read the customer, gets them.
func TestReviewTargetsMarketerSeesNoValues(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true})
	s.must("R1", "POST", "/v1/customers/C1/life-events", map[string]any{"kind": "child_wedding", "expectedOn": "2026-12-20"}, 201)
	body := withField(launch("CMP1"), "criteria", map[string]any{"lifeEvents": []string{"child_wedding"}, "lifeEventWithinDays": 60, "noContactDays": 30})
	s.must("M1", "POST", "/v1/campaigns", body, 201)
	matched := func(who string) []string {
		items := s.must(who, "GET", "/v1/campaigns/CMP1/targets", nil, 200)["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%s reads %d targets", who, len(items))
		}
		return asStrings(items[0].(map[string]any)["matched"])
	}
	if got := matched("M1"); !slices.Equal(got, []string{"lifeEvent:child_wedding", "noContactSince"}) {
		t.Errorf("the marketer reads matched %v", got)
	}
	if got := matched("H1"); !slices.Equal(got, []string{"lifeEvent:child_wedding:2026-12-20", "noContactSince:never"}) {
		t.Errorf("the centre head reads matched %v", got)
	}
}
