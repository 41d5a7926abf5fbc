package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// runBenchCampaigns measures the campaign fold (issue 13's target: a
// launch over 1,000,000 customers computed in under 2 s, kept current
// incrementally): it builds the customers in memory by applying their
// events to the customer fold directly (no store, no decoding), launches
// campaigns one after the other, each timed and its counts checked
// against a preview, and then times customer events applied with every
// campaign running.
func runBenchCampaigns(_ context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench campaigns", "Builds --customers customers in memory (events applied to the customer fold directly),\n"+
		"launches --campaigns campaigns over them, timing each launch (every customer judged,\n"+
		"the target list and the time queue built) and its preview, then times --events\n"+
		"customer events (contacts, tier changes, consent changes, life events, financials)\n"+
		"applied to the customer fold and the campaigns with all of them running.", stderr)
	n := fs.Int("customers", 1_000_000, "customers to build")
	k := fs.Int("campaigns", 5, fmt.Sprintf("campaigns to launch (1 to %d)", len(benchLaunches)))
	m := fs.Int("events", 100_000, "customer events to apply after the launches")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *n < 1 || *k < 1 || *k > len(benchLaunches) || *m < 1 {
		return fmt.Errorf("bench campaigns: want --customers ≥ 1, --campaigns 1 to %d, --events ≥ 1", len(benchLaunches))
	}
	fmt.Fprintf(stdout, "dangol bench campaigns  %s  %s/%s  %d CPUs (%s)  GOMAXPROCS=%d  %s\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(),
		runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(stdout, "command: dangol bench campaigns %s\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "settings: %s\n", flagValues(fs))
	fmt.Fprintf(stdout, "load average (1, 5, 15 min) at the start: %s\n", loadAverage())

	start := time.Now()
	b := newCampaignBank(*n)
	built := time.Since(start)
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	fmt.Fprintf(stdout, "bank: %d customers built in memory in %s (%d events applied to the customer fold directly), live heap %d MiB\n",
		*n, built.Round(time.Millisecond), b.events, mem.HeapAlloc>>20)

	cm := projections.NewCampaigns(b.cs)
	for i, l := range benchLaunches[:*k] {
		if err := b.launch(stdout, cm, i, l); err != nil {
			return err
		}
	}
	b.incremental(stdout, cm, *k, *m)
	return nil
}

// benchNow is the log's time of the bench: the launches are recorded then.
var benchNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// benchLaunch is one campaign the bench launches.
type benchLaunch struct {
	name, channel string
	criteria      events.CampaignCriteria
	holdOut       int
}

var benchLaunches = []benchLaunch{
	{"vip-wedding", "phone_outbound", events.CampaignCriteria{Tiers: []string{"potential_vip", "vip"}, MinBalance: int64p(20_000_000),
		NoContactDays: 30}, 10},
	{"everyone", "sms", events.CampaignCriteria{}, 0},
	{"life-events", "phone_outbound", events.CampaignCriteria{LifeEvents: []string{"child_wedding", "marriage"}, LifeEventWithinDays: 60}, 10},
	{"branches", "email", events.CampaignCriteria{BranchIDs: []string{"B001", "B002", "B003", "B004", "B005"}, NotHolding: []string{"CARD"}}, 20},
	{"general-balance", "branch", events.CampaignCriteria{Tiers: []string{"general"}, MinBalance: int64p(50_000_000)}, 5},
}

func int64p(v int64) *int64 { return &v }

// campaignBank is the bench's customers: their fold and how to make more
// of their events.
type campaignBank struct {
	cs      *projections.Customers
	n       int
	events  int
	version []uint64 // each customer's next stream version
	env     events.Envelope
}

var benchTiers = []string{"general", "general", "general", "general", "general", "general", "general", "potential_vip", "potential_vip", "vip"}

// newCampaignBank builds n customers: 70% general, 20% potential VIPs, 10%
// VIPs, in 200 branches, with reps and private bankers; marketing consent
// by phone for two in five, by SMS for one in three, by e-mail for one in
// four, except for one in five who refuse every channel (those granted none
// are do-not-contact); monthly financials; a contact in the
// last 200 days for six in seven; a life event expected within 180 days
// for one in eight; a card held by one in six.
func newCampaignBank(n int) *campaignBank {
	b := &campaignBank{cs: projections.NewCustomers(), n: n, version: make([]uint64, n)}
	b.env.Actor = events.Actor{ID: "core", Role: "admin"}
	yes, no := true, false
	granted := func(ok bool) *bool {
		if ok {
			return &yes
		}
		return &no
	}
	for i := range n {
		at := benchNow.AddDate(0, 0, -400)
		id := benchCustomerID(i)
		tier := benchTiers[i%len(benchTiers)]
		b.apply(i, at, &events.CustomerRegistered{CustomerID: id, Name: "고객", BranchID: fmt.Sprintf("B%03d", i%200+1),
			Source: events.Source{System: "core"}})
		switch tier {
		case "vip":
			b.apply(i, at, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("PB%03d", i%170), Kind: "private_banker"})
		case "potential_vip":
			b.apply(i, at, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%03d", i%330), Kind: "call_centre_rep"})
		}
		dnc := i%5 == 0
		b.apply(i, at, &events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: granted(!dnc && i%5 < 3)})
		b.apply(i, at, &events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: granted(!dnc && i%3 == 0)})
		b.apply(i, at, &events.ConsentChanged{Channel: "email", Purpose: "marketing", Granted: granted(!dnc && i%4 == 1)})
		bal := int64(i%97) * 1_000_000
		for _, asOf := range []string{"2026-08-31", "2026-09-30", "2026-10-31"} {
			b.apply(i, at, &events.FinancialsReported{AsOf: asOf, DepositBalance: &bal, ProfitContribution: &bal, Currency: "KRW"})
		}
		b.apply(i, at, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "bench"}})
		if i%7 != 0 {
			t := benchNow.Add(-time.Duration(i%200) * 24 * time.Hour)
			b.apply(i, t, &events.ContactLogged{Channel: "phone_outbound", Purpose: "advice", OccurredAt: t})
		}
		if i%8 == 3 {
			b.apply(i, at, &events.LifeEventRecorded{Kind: []string{"child_wedding", "marriage", "birth"}[i%3],
				ExpectedOn: benchNow.AddDate(0, 0, i%180).Format(time.DateOnly)})
		}
		if i%6 == 0 {
			b.apply(i, at, &events.ProductHoldingChanged{Product: "CARD", AccountRef: "A" + id, Change: "opened"})
		}
	}
	return b
}

func benchCustomerID(i int) string { return fmt.Sprintf("C%07d", i) }

// event returns customer i's next event, recorded at.
func (b *campaignBank) event(i int, at time.Time, d events.Data) projections.Event {
	b.env.Stream, b.env.Version, b.env.RecordedAt = events.CustomerStream(benchCustomerID(i)), b.version[i], at
	b.version[i]++
	b.events++
	return projections.Event{Envelope: &b.env, Data: d}
}

// apply applies customer i's next event to the customer fold alone.
func (b *campaignBank) apply(i int, at time.Time, d events.Data) { b.cs.Apply(b.event(i, at, d)) }

// launch times campaign l's launch as the i-th campaign and its preview,
// and errs if they count differently.
func (b *campaignBank) launch(w io.Writer, cm *projections.Campaigns, i int, l benchLaunch) error {
	id := fmt.Sprintf("BENCH-%d", i+1)
	cr := l.criteria
	d := &events.CampaignLaunched{CampaignID: id, Name: l.name, Product: "LOAN", Criteria: &cr, Channel: l.channel,
		StartsOn: benchNow.Format(time.DateOnly), HoldOutPercent: l.holdOut}
	env := &events.Envelope{Stream: events.CampaignStream(id), RecordedAt: benchNow, Actor: events.Actor{ID: "M1", Role: "marketer"}}
	start, cpu := time.Now(), cpuTime()
	cm.Apply(projections.Event{Envelope: env, Data: d})
	took, cpu := time.Since(start), cpuTime()-cpu
	c, _ := cm.Campaign(id, benchNow)
	start = time.Now()
	p := cm.Preview(d, benchNow)
	previewed := time.Since(start)
	verdict := "met"
	if took >= 2*time.Second {
		verdict = "MISSED"
	}
	fmt.Fprintf(w, "launch %d %q (%s, %d%% hold-out): %d customers judged in %s (CPU %s, this process): %d targets, %d held out; target < 2000.00ms: %s\n",
		i+1, l.name, l.channel, l.holdOut, b.n, ms(took), ms(cpu), c.Targets, c.HoldOut, verdict)
	fmt.Fprintf(w, "  preview in %s: %d matching, %d do-not-contact, %d without consent, %d targets, %d held out\n",
		ms(previewed), p.Matching, p.DoNotContact, p.NoConsent, p.Targets, p.HoldOut)
	if p.Targets != c.Targets || p.HoldOut != c.HoldOut {
		return fmt.Errorf("bench campaigns: %s: the launch listed %d targets and %d held out, its preview counts %d and %d",
			id, c.Targets, c.HoldOut, p.Targets, p.HoldOut)
	}
	return nil
}

// incremental applies m customer events, one second of log time apart,
// to the customer fold and the campaigns, and reports the time each took.
func (b *campaignBank) incremental(w io.Writer, cm *projections.Campaigns, campaigns, m int) {
	yes, no := true, false
	bal := int64(60_000_000)
	tiers := []string{"vip", "general", "potential_vip"}
	both := make([]time.Duration, 0, m)
	alone := make([]time.Duration, 0, m)
	for j := range m {
		i := (j * 7919) % b.n
		at := benchNow.Add(time.Duration(j+1) * time.Second)
		var d events.Data
		switch j % 5 {
		case 0:
			d = &events.ContactLogged{Channel: "phone_outbound", Purpose: "sale", OccurredAt: at}
		case 1:
			d = &events.TierAssigned{Tier: tiers[j%3], Basis: events.TierBasis{DepositBalance: &bal, ProfitContribution: &bal, Rule: "bench"}}
		case 2:
			d = &events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: map[bool]*bool{true: &yes, false: &no}[j%2 == 0]}
		case 3:
			d = &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: at.AddDate(0, 0, 30).Format(time.DateOnly)}
		default:
			d = &events.FinancialsReported{AsOf: "2026-11-30", DepositBalance: &bal, ProfitContribution: &bal, Currency: "KRW"}
		}
		e := b.event(i, at, d)
		start := time.Now()
		b.cs.Apply(e)
		mid := time.Now()
		cm.Apply(e)
		end := time.Now()
		both = append(both, end.Sub(start))
		alone = append(alone, end.Sub(mid))
	}
	slices.Sort(both)
	slices.Sort(alone)
	fmt.Fprintf(w, "incremental: %d customer events with %d running campaigns\n", m, campaigns)
	fmt.Fprintf(w, "  customer fold + campaigns  %s  mean=%s\n", micros(both), mean(both))
	fmt.Fprintf(w, "  campaigns alone            %s  mean=%s\n", micros(alone), mean(alone))
	var total int
	for _, c := range cm.List(projections.CampaignFilter{}, benchNow.Add(time.Duration(m)*time.Second)) {
		total += c.Targets + c.HoldOut
	}
	fmt.Fprintf(w, "  afterwards %d customers on the %d lists (both groups, not removed)\n", total, campaigns)
}

// micros formats p50, p90, p99 and max of sorted ds in microseconds.
func micros(ds []time.Duration) string {
	us := func(d time.Duration) string { return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond)) }
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*f))] }
	return fmt.Sprintf("p50=%s p90=%s p99=%s max=%s", us(q(0.5)), us(q(0.9)), us(p99(ds)), us(ds[len(ds)-1]))
}

// loadAverage is /proc/loadavg's first three figures: how busy the machine
// was with other work, which a shared machine's timings depend on.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func mean(ds []time.Duration) string {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return fmt.Sprintf("%.1fµs", float64(sum)/float64(len(ds))/float64(time.Microsecond))
}
