package projections_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// benchCustomers is how many customers the campaign benchmarks build: the
// bank's size.
const benchCustomers = 1_000_000

var (
	benchOnce sync.Once
	benchCS   *projections.Customers
	benchNow  time.Time
)

// benchBank builds benchCustomers customers by applying their events to a
// Customers fold directly: a third general, potential VIP or VIP, ten
// branches, marketing consent by sms for four in five (do-not-contact the
// rest), financials, a contact in the last 200 days for most, a life event
// for one in ten.
func benchBank(tb testing.TB) (*projections.Customers, time.Time) {
	benchOnce.Do(func() {
		cs := projections.NewCustomers()
		now := eventstest.Epoch
		env := &events.Envelope{RecordedAt: now.Add(-400 * 24 * time.Hour), Actor: events.Actor{ID: "R1", Role: "rep"}}
		yes, no := true, false
		tiers := []string{"general", "potential_vip", "vip"}
		for i := range benchCustomers {
			id := fmt.Sprintf("C%07d", i)
			env.Stream, env.Version = events.CustomerStream(id), 0
			apply := func(d events.Data) {
				cs.Apply(projections.Event{Envelope: env, Data: d})
				env.Version++
			}
			apply(&events.CustomerRegistered{CustomerID: id, Name: "고객", BranchID: fmt.Sprintf("B%02d", i%10), Source: events.Source{System: "core"}})
			apply(&events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%03d", i%500), Kind: "call_centre_rep"})
			apply(&events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: map[bool]*bool{true: &yes, false: &no}[i%5 != 0]})
			bal := int64(i%100) * 1_000_000
			apply(&events.TierAssigned{Tier: tiers[i%3], Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "r"}})
			apply(&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: &bal, ProfitContribution: &bal, Currency: "KRW"})
			if i%7 != 0 {
				apply(&events.ContactLogged{Channel: "phone_outbound", Purpose: "advice", OccurredAt: now.Add(-time.Duration(i%200) * 24 * time.Hour)})
			}
			if i%10 == 1 {
				apply(&events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: now.AddDate(0, 0, i%120).Format(time.DateOnly)})
			}
		}
		benchCS, benchNow = cs, now
	})
	return benchCS, benchNow
}

var benchCriteria = map[string]events.CampaignCriteria{
	"everyone":   {},
	"criteria":   {Tiers: []string{"potential_vip", "vip"}, MinBalance: ptr(int64(20_000_000)), NoContactDays: 90},
	"lifeEvents": {LifeEvents: []string{"child_wedding"}, LifeEventWithinDays: 60},
}

func ptr[T any](v T) *T { return &v }

func launchEvent(id string, cr events.CampaignCriteria, at time.Time) projections.Event {
	d := &events.CampaignLaunched{CampaignID: id, Name: id, Product: "LOAN-WED", Criteria: &cr, Channel: "sms",
		StartsOn: "2026-11-25", EndsOn: "2027-03-31", HoldOutPercent: 10}
	return projections.Event{Envelope: &events.Envelope{Stream: "campaign-" + id, RecordedAt: at,
		Actor: events.Actor{ID: "M1", Role: "marketer"}}, Data: d}
}

// BenchmarkCampaignLaunch applies one CampaignLaunched over a million
// customers: every customer judged, the targets listed, the time queue
// built. Each iteration launches into a fresh Campaigns (the customers'
// fold is shared).
func BenchmarkCampaignLaunch(b *testing.B) {
	cs, now := benchBank(b)
	for _, name := range []string{"everyone", "criteria", "lifeEvents"} {
		b.Run(name, func(b *testing.B) {
			var c projections.Campaign
			for b.Loop() {
				cm := projections.NewCampaigns(cs)
				cm.Apply(launchEvent("K1", benchCriteria[name], now))
				c, _ = cm.Campaign("K1", now)
			}
			b.ReportMetric(float64(c.Targets), "targets")
			b.ReportMetric(float64(c.HoldOut), "holdout")
		})
	}
}

// BenchmarkCampaignCustomerEvent measures one customer event (a contact,
// then a tier change, alternately) applied to Customers and to Campaigns
// with five running campaigns over a million customers.
func BenchmarkCampaignCustomerEvent(b *testing.B) {
	cs, now := benchBank(b)
	cm := projections.NewCampaigns(cs)
	for i, name := range []string{"everyone", "criteria", "lifeEvents", "everyone", "criteria"} {
		cm.Apply(launchEvent(fmt.Sprintf("K%d", i), benchCriteria[name], now))
	}
	env := &events.Envelope{Actor: events.Actor{ID: "R1", Role: "rep"}, Version: 100}
	bal := int64(50_000_000)
	tiers := []string{"general", "vip"}
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("C%07d", (i*7919)%benchCustomers)
		env.Stream, env.RecordedAt = events.CustomerStream(id), now.Add(time.Duration(i)*time.Second)
		var d events.Data = &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: env.RecordedAt}
		if i%2 == 1 {
			d = &events.TierAssigned{Tier: tiers[i%4/2], Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "r"}}
		}
		e := projections.Event{Envelope: env, Data: d}
		cs.Apply(e)
		cm.Apply(e)
		i++
	}
}
