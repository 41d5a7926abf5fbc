package projections_test

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
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

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
// fold is shared), after a collection outside the timing: the previous
// iteration's quarter-gigabyte list is garbage a server would not have.
func BenchmarkCampaignLaunch(b *testing.B) {
	cs, now := benchBank(b)
	for _, name := range []string{"everyone", "criteria", "lifeEvents"} {
		b.Run(name, func(b *testing.B) {
			var c projections.Campaign
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				cm := projections.NewCampaigns(cs)
				before := cpuTime()
				cm.Apply(launchEvent("K1", benchCriteria[name], now))
				cpu += cpuTime() - before
				c, _ = cm.Campaign("K1", now)
			}
			b.ReportMetric(float64(c.Targets), "targets")
			b.ReportMetric(float64(c.HoldOut), "holdout")
			// The machine may be shared: the process's CPU time (every
			// thread, the collector's included) tells the work from the wait.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkCampaignCustomerEvent measures one customer event (a contact,
// then a tier change, alternately) applied to Customers and to Campaigns
// over a million customers: with no campaign (the customers' fold alone,
// the baseline) and with five running campaigns holding 0.1 to 0.7
// million targets each; the difference is the campaigns' cost.
func BenchmarkCampaignCustomerEvent(b *testing.B) {
	cs, now := benchBank(b)
	for _, n := range []int{0, 5} {
		b.Run(fmt.Sprintf("campaigns=%d", n), func(b *testing.B) {
			cm := projections.NewCampaigns(cs)
			for i, name := range []string{"everyone", "criteria", "lifeEvents", "everyone", "criteria"}[:n] {
				cm.Apply(launchEvent(fmt.Sprintf("K%d", i), benchCriteria[name], now))
			}
			customerEvents(b, cs, cm, now)
		})
	}
}

// customerEvents applies b.N customer events to cs and cm, a second apart
// from now on, to customers spread over the bank.
func customerEvents(b *testing.B, cs *projections.Customers, cm *projections.Campaigns, now time.Time) {
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = events.CustomerStream(fmt.Sprintf("C%07d", (i*7919)%benchCustomers))
	}
	env := &events.Envelope{Actor: events.Actor{ID: "R1", Role: "rep"}, Version: 100}
	bal := int64(50_000_000)
	contact := &events.ContactLogged{Channel: "sms", Purpose: "sale"}
	tiers := []*events.TierAssigned{
		{Tier: "general", Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "r"}},
		{Tier: "vip", Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "r"}},
	}
	i := 0
	before := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-before).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		env.Stream, env.RecordedAt = ids[i%len(ids)], now.Add(time.Duration(i)*time.Second)
		e := projections.Event{Envelope: env, Data: contact}
		if i%2 == 1 {
			e.Data = tiers[i%4/2]
		} else {
			contact.OccurredAt = env.RecordedAt
		}
		cs.Apply(e)
		cm.Apply(e)
		i++
	}
}

// BenchmarkCampaignQueries measures the queries over a campaign of 0.72
// million targets in a million customers: its report (funnels, breakdowns
// and lift), the first page of its targets after the launch (which sorts
// the ids) and a later page, and a preview of the same criteria.
func BenchmarkCampaignQueries(b *testing.B) {
	cs, now := benchBank(b)
	cm := projections.NewCampaigns(cs)
	launched := launchEvent("K1", benchCriteria["everyone"], now)
	cm.Apply(launched)
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			cm.Report("K1", now)
		}
	})
	b.Run("targetsSort", func(b *testing.B) { // the first page after the launch sorts the ids
		for b.Loop() {
			b.StopTimer()
			fresh := projections.NewCampaigns(cs)
			fresh.Apply(launched)
			b.StartTimer()
			fresh.Targets("K1", projections.TargetFilter{Limit: 100})
		}
	})
	cm.Targets("K1", projections.TargetFilter{Limit: 1})
	b.Run("targetsPage", func(b *testing.B) {
		for b.Loop() {
			cm.Targets("K1", projections.TargetFilter{After: "C0500000", Limit: 100})
		}
	})
	b.Run("preview", func(b *testing.B) {
		for b.Loop() {
			cm.Preview(launched.Data.(*events.CampaignLaunched), now)
		}
	})
}
