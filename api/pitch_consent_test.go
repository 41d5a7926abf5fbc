package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// pitch is the body of a pitch of product over channel.
func pitch(product, channel string, fields ...any) map[string]any {
	b := map[string]any{"product": product, "channel": channel, "outcome": "considering", "reason": "금리 문의"}
	for i := 0; i+1 < len(fields); i += 2 {
		b[fields[i].(string)] = fields[i+1]
	}
	return b
}

// lastPitch returns the data of customer's latest event, a ProductPitched.
func (s *stack) lastPitch(customer string) map[string]any {
	s.t.Helper()
	log := s.customerLog(customer)
	e := &log[len(log)-1]
	if e.Type != "ProductPitched" {
		s.t.Fatalf("%s's latest event is %s", customer, e.Type)
	}
	return s.openedData(e)
}

// consentVersion returns the stream version of customer's latest
// ConsentChanged.
func (s *stack) consentVersion(customer string) float64 {
	s.t.Helper()
	log := s.customerLog(customer)
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Type == "ConsentChanged" {
			return float64(log[i].Version)
		}
	}
	s.t.Fatalf("%s has no ConsentChanged", customer)
	return 0
}

// refusedOn checks that a is 400 invalid on field with a message holding msg.
func refusedOn(t *testing.T, a answer, field, msg string) {
	t.Helper()
	e, _ := a.body["error"].(map[string]any)
	if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != field || !strings.Contains(e["message"].(string), msg) {
		t.Errorf("got %d %s, want invalid on %s: %q", a.status, a.raw, field, msg)
	}
}

// TestPitchConsentGate: a pitch of purpose marketing needs the customer's
// marketing consent for its channel (for a channel without one, on some
// channel), else 400 naming the consent and nothing appended; the server
// records the consent relied on, and refuses a client setting it; service
// pitches and pitches of neither purpose are not gated; an erased
// customer takes no marketing pitch.
func TestPitchConsentGate(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", false})
	path := "/v1/customers/C1/pitches"

	// Do-not-contact: no marketing consent on any channel.
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "marketing"), 400, "invalid"),
		"channel", "the customer is do-not-contact")
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "branch", "purpose", "marketing"), 400, "invalid"),
		"channel", "the customer is do-not-contact")
	// Consent by email, not by phone.
	s.grant("R1", "C1", "email", true)
	emailV := s.consentVersion("C1")
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "marketing"), 400, "invalid"),
		"channel", "needs the customer's marketing consent by phone")
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "sms", "purpose", "marketing"), 400, "invalid"),
		"channel", "needs the customer's marketing consent by sms")
	// The server sets the consent fields.
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "email", "purpose", "marketing", "consentChannel", "email"), 400, "invalid"),
		"consentChannel", "is set by the server")
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "email", "purpose", "marketing", "consentVersion", 3), 400, "invalid"),
		"consentVersion", "is set by the server")
	s.refuse("R1", "POST", path, pitch("FUND01", "email", "purpose", "advertising"), 400, "invalid")

	// By email: appended, relying on the email grant.
	s.must("R1", "POST", path, pitch("FUND01", "email", "purpose", "marketing"), 201)
	if d := s.lastPitch("C1"); d["consentChannel"] != "email" || d["consentVersion"] != emailV || d["purpose"] != "marketing" {
		t.Errorf("the pitch by email recorded %v, want consent email at version %v", d, emailV)
	}
	// In the branch: any marketing grant in force, the latest.
	s.grant("R1", "C1", "phone", true)
	phoneV := s.consentVersion("C1")
	s.must("R1", "POST", path, pitch("FUND01", "branch", "purpose", "marketing"), 201)
	if d := s.lastPitch("C1"); d["consentChannel"] != nil || d["consentVersion"] != phoneV {
		t.Errorf("the pitch in the branch recorded %v, want the phone grant's version %v", d, phoneV)
	}

	// Withdrawn everywhere: marketing refused, service and unmarked pitches not gated.
	s.grant("R1", "C1", "phone", false)
	s.grant("R1", "C1", "email", false)
	refusedOn(t, s.refuse("R1", "POST", path, pitch("FUND01", "phone_outbound", "purpose", "marketing"), 400, "invalid"),
		"channel", "the customer is do-not-contact")
	s.must("R1", "POST", path, pitch("FUND01", "phone_inbound", "purpose", "service"), 201)
	if d := s.lastPitch("C1"); d["consentChannel"] != nil || d["consentVersion"] != nil {
		t.Errorf("a service pitch recorded a consent: %v", d)
	}
	s.must("R1", "POST", path, pitch("FUND01", "phone_inbound"), 201)
	s.refuse("R1", "POST", "/v1/customers/NOBODY/pitches", pitch("FUND01", "email", "purpose", "marketing"), 404, "not_found")

	// An erased customer takes no marketing, whatever consent was on record.
	s.campaignBook(bookEntry{"C2", "R1", true})
	s.must("A001", "POST", "/v1/customers/C2/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C2/pitches", pitch("FUND01", "phone_outbound", "purpose", "marketing"), 400, "invalid"),
		"channel", "erased")
}

// TestCampaignPitch: a campaign's pitch is marketing, for a running
// campaign's product, to an active member of its target group; a
// hold-out member, a removed target, a closed campaign, another product
// are refused and append nothing; a retry with the same Idempotency-Key
// gets the first answer; the target's progress shows the pitch.
func TestCampaignPitch(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	// Customers on either side of a 50% hold-out of campaign CMPH.
	var inHold, inTarget string
	for i := 1; inHold == "" || inTarget == ""; i++ {
		id := fmt.Sprintf("H%02d", i)
		if events.InHoldOut("CMPH", id, 50) {
			inHold = cmpOr(inHold, id)
		} else {
			inTarget = cmpOr(inTarget, id)
		}
	}
	s.campaignBook(bookEntry{inHold, "R1", true}, bookEntry{inTarget, "R1", true}, bookEntry{"C9", "R1", false})
	body := withField(launch("CMPH"), "holdOutPercent", 50)
	s.must("M1", "POST", "/v1/campaigns", body, 201)
	if c := s.must("M1", "GET", "/v1/campaigns/CMPH", nil, 200); c["targets"] != float64(1) || c["holdOut"] != float64(1) {
		t.Fatalf("CMPH's groups: %v", c)
	}
	if got := s.campaignReasons("R1", inHold); len(got) != 0 {
		t.Errorf("the hold-out member %s on the worklist: %v", inHold, got)
	}
	if got := s.campaignReasons("R1", inTarget); len(got) != 1 {
		t.Errorf("the target %s not on the worklist: %v", inTarget, got)
	}

	camp := func(fields ...any) map[string]any {
		return pitch("LOAN-WED", "phone_outbound", append([]any{"campaignId", "CMPH"}, fields...)...)
	}
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/"+inHold+"/pitches", camp(), 400, "invalid"), "campaignId", "hold-out")
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C9/pitches", camp(), 400, "invalid"), "channel", "do-not-contact")
	s.grant("R1", "C9", "phone", true) // C9 joins
	s.grant("R1", "C9", "phone", false)
	s.grant("R1", "C9", "email", true) // removed from the phone campaign, not do-not-contact
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C9/pitches", pitch("LOAN-WED", "email", "campaignId", "CMPH"), 400, "invalid"),
		"campaignId", "not on campaign CMPH's target list")
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/"+inTarget+"/pitches", withField(camp(), "product", "FUND01"), 400, "invalid"),
		"product", "must be LOAN-WED")
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/"+inTarget+"/pitches", withField(camp(), "campaignId", "NOCAMPAIGN"), 400, "invalid"),
		"campaignId", "no campaign NOCAMPAIGN")
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/"+inTarget+"/pitches", camp("purpose", "service"), 400, "invalid"),
		"purpose", "must be marketing")

	key := events.NewID().String()
	first := s.req("R1", "POST", "/v1/customers/"+inTarget+"/pitches", camp("outcome", "accepted"), "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("the campaign's pitch: %d %s", first.status, first.raw)
	}
	if d := s.lastPitch(inTarget); d["purpose"] != "marketing" || d["campaignId"] != "CMPH" || d["consentChannel"] != "phone" {
		t.Errorf("the campaign's pitch recorded %v", d)
	}
	head := s.head()
	if again := s.req("R1", "POST", "/v1/customers/"+inTarget+"/pitches", camp("outcome", "accepted"), "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("the pitch retried: %d %s, first %s", again.status, again.raw, first.raw)
	}
	if h := s.head(); h != head {
		t.Errorf("the retry appended %v", s.appendedSince(head))
	}
	tg := s.must("M1", "GET", "/v1/campaigns/CMPH/targets?group=target&status=active", nil, 200)["items"].([]any)[0].(map[string]any)
	if tg["customerId"] != inTarget || tg["outcome"] != "accepted" || tg["pitchedAt"] == nil || tg["pitchChannel"] != "phone_outbound" {
		t.Errorf("the target's progress: %v", tg)
	}
	if got := s.campaignReasons("R1", inTarget); len(got) != 0 {
		t.Errorf("an accepted target still on the worklist: %v", got)
	}

	s.must("H1", "POST", "/v1/campaigns/CMPH/closure", map[string]any{"reason": "종료"}, 201)
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/"+inTarget+"/pitches", camp(), 400, "invalid"), "campaignId", "not running")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// staleCustomers answers the next read of a customer (or campaign) with
// the view set for it (once), as a read side that has not applied the
// latest events.
type staleCustomers struct {
	projections.Queries
	mu        sync.Mutex
	views     map[string]projections.CustomerView
	campaigns map[string]projections.Campaign
}

func (q *staleCustomers) Campaign(ctx context.Context, id string, now time.Time) (projections.Campaign, error) {
	if c, ok := takeOnce(&q.mu, q.campaigns, id); ok {
		return c, nil
	}
	return q.Queries.Campaign(ctx, id, now)
}

// takeOnce removes and returns m's value for id, under mu.
func takeOnce[V any](mu *sync.Mutex, m map[string]V, id string) (V, bool) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[id]
	delete(m, id)
	return v, ok
}

func (q *staleCustomers) Customer(ctx context.Context, id string, now time.Time) (projections.CustomerView, error) {
	if v, ok := takeOnce(&q.mu, q.views, id); ok {
		return v, nil
	}
	return q.Queries.Customer(ctx, id, now)
}

// lagOnce makes the next read of customer id answer v.
func (q *staleCustomers) lagOnce(id string, v projections.CustomerView) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.views[id] = v
}

// TestPitchConsentRace: a withdrawal appended while the read side still
// shows the consent granted refuses the pitch (the append expects the
// version the check read, conflicts, and the check made again sees the
// withdrawal); nothing is appended. With If-Match of a version the read
// side has not reached, the pitch is 409. A campaign closure checked on a
// stale read (the campaign still running) is refused the same way.
func TestPitchConsentRace(t *testing.T) {
	lag := &staleCustomers{views: map[string]projections.CustomerView{}, campaigns: map[string]projections.Campaign{}}
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		lag.Queries = c.Queries
		c.Queries = lag
	}})
	s.campaignBook(bookEntry{"C1", "R1", true})
	granted, err := lag.Queries.Customer(t.Context(), "C1", s.now())
	if err != nil {
		t.Fatal(err)
	}
	s.grant("R1", "C1", "phone", false)
	lag.lagOnce("C1", granted)
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C1/pitches", pitch("FUND01", "phone_outbound", "purpose", "marketing"), 400, "invalid"),
		"channel", "the customer is do-not-contact")

	s.grant("R1", "C1", "phone", true)
	now, err := lag.Queries.Customer(t.Context(), "C1", s.now())
	if err != nil {
		t.Fatal(err)
	}
	ahead := fmt.Sprintf(`"%d"`, now.Version+1)
	s.refuse("R1", "POST", "/v1/customers/C1/pitches", pitch("FUND01", "phone_outbound", "purpose", "marketing"), 409, "conflict", "If-Match", ahead)
	s.must("R1", "POST", "/v1/customers/C1/pitches", pitch("FUND01", "phone_outbound", "purpose", "marketing"), 201)

	// A closure racing another: the second, checked on a campaign the read
	// side still shows running, conflicts, reads again and is refused.
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	running, err := lag.Queries.Campaign(t.Context(), "CMP1", s.now())
	if err != nil {
		t.Fatal(err)
	}
	s.must("H1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "먼저"}, 201)
	lag.mu.Lock()
	lag.campaigns["CMP1"] = running
	lag.mu.Unlock()
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "나중"}, 400, "invalid"), "id", "closed already")
}
