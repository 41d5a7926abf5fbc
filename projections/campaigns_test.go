package projections_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// cmpLog folds events straight into a Memory, each recorded at the log's
// clock, which the test moves.
type cmpLog struct {
	t       testing.TB
	m       *projections.Memory
	now     time.Time
	version map[string]uint64
}

func newCmpLog(t testing.TB) *cmpLog {
	return &cmpLog{t: t, m: projections.NewMemory(), now: eventstest.Epoch, version: map[string]uint64{}}
}

// at moves the log's clock to now.
func (l *cmpLog) at(now time.Time) *cmpLog { l.now = now; return l }

// add advances the clock by d.
func (l *cmpLog) add(d time.Duration) *cmpLog { l.now = l.now.Add(d); return l }

// apply folds d on stream, recorded at the log's clock, by actor.
func (l *cmpLog) apply(stream, actor string, d events.Data) {
	l.t.Helper()
	if v, ok := d.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			l.t.Fatalf("%T: %v", d, err)
		}
	}
	v := l.version[stream]
	l.version[stream]++
	e := projections.Event{Envelope: &events.Envelope{Stream: stream, Version: v, Type: d.EventType(),
		RecordedAt: l.now, Actor: events.Actor{ID: actor, Role: "marketer"}}, Data: d}
	for _, p := range l.m.Projections() {
		p.Apply(e)
	}
}

func (l *cmpLog) customer(id string, ds ...events.Data) {
	l.t.Helper()
	for _, d := range ds {
		l.apply(events.CustomerStream(id), "R1", d)
	}
}

func (l *cmpLog) campaign(id string, d events.Data) {
	l.t.Helper()
	l.apply("campaign-"+id, "M1", d)
}

func granted(ch string, g bool) *events.ConsentChanged {
	return &events.ConsentChanged{Channel: ch, Purpose: "marketing", Granted: &g}
}

// register adds customer id at branch with tier, advisor R1 and marketing
// consent by sms.
func (l *cmpLog) register(id, branch, tier string) {
	l.t.Helper()
	l.customer(id, &events.CustomerRegistered{CustomerID: id, Name: "고객", BranchID: branch, Source: events.Source{System: "core"}},
		&events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"}, granted("sms", true))
	if tier != "" {
		l.customer(id, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: i64(1), ProfitContribution: i64(1), Rule: "r"}})
	}
}

func launch(id string, cr events.CampaignCriteria) *events.CampaignLaunched {
	return &events.CampaignLaunched{CampaignID: id, Name: "Campaign " + id, Product: "LOAN-WED", Criteria: &cr, Channel: "sms",
		StartsOn: "2026-11-25", EndsOn: "2026-12-31"}
}

// targets returns campaign id's targets as "customer:group:reason" (with
// ":removedReason" once removed).
func (l *cmpLog) targets(id string) []string {
	l.t.Helper()
	ts, next, ok := l.m.Marketing.Targets(id, projections.TargetFilter{Limit: 1000})
	if !ok || next != "" {
		l.t.Fatalf("targets of %s: ok %v, next %q", id, ok, next)
	}
	out := []string{}
	for _, t := range ts {
		s := t.CustomerID + ":" + t.Group + ":" + t.Reason
		if t.RemovedReason != "" {
			s += ":" + t.RemovedReason
		}
		out = append(out, s)
	}
	return out
}

func (l *cmpLog) wantTargets(id string, want ...string) {
	l.t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := l.targets(id); !reflect.DeepEqual(got, want) {
		l.t.Errorf("targets of %s:\n got %q\nwant %q", id, got, want)
	}
}

func (l *cmpLog) target(id, customer string) projections.CampaignTarget {
	l.t.Helper()
	t, ok := l.m.Marketing.Target(id, customer)
	if !ok {
		l.t.Fatalf("%s not on %s", customer, id)
	}
	return t
}

func TestCampaignLaunchMatches(t *testing.T) {
	l := newCmpLog(t)
	l.register("C1", "B01", "potential_vip")
	l.register("C2", "B01", "general")
	l.register("C3", "B02", "potential_vip")
	l.register("C4", "B01", "potential_vip")
	l.customer("C4", granted("sms", false), granted("email", true)) // consent on another channel
	l.register("C5", "B01", "potential_vip")
	l.customer("C5", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
	l.register("C6", "B01", "potential_vip")
	l.customer("C6", &events.PersonalDataErased{Reason: "r", RequestedBy: "customer"})
	l.register("C7", "B01", "potential_vip")
	l.customer("C7", &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(40_000_000), ProfitContribution: i64(1), Currency: "KRW"})
	l.register("C8", "B01", "potential_vip")
	l.customer("C8", &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(60_000_000), ProfitContribution: i64(1), Currency: "KRW"})
	l.add(time.Hour)
	cr := events.CampaignCriteria{Tiers: []string{"potential_vip", "vip"}, BranchIDs: []string{"B01"}, NotHolding: []string{"LOAN-WED"}}
	l.campaign("K1", launch("K1", cr))
	l.wantTargets("K1", "C1:target:launch", "C7:target:launch", "C8:target:launch")
	min := int64(50_000_000)
	cr.MinBalance = &min
	l.campaign("K2", launch("K2", cr))
	l.wantTargets("K2", "C8:target:launch")
	if got := l.target("K2", "C8").Matched; !reflect.DeepEqual(got, []string{"tier:potential_vip", "notHolding:LOAN-WED", "branch:B01", "balance:60000000"}) {
		t.Errorf("matched %q", got)
	}
	c, ok := l.m.Marketing.Campaign("K1", l.now)
	if !ok || c.Targets != 3 || c.HoldOut != 0 || c.Status != projections.CampaignRunning || c.AttributionDays != 30 ||
		c.ConsentChannel != "sms" || c.LaunchedBy != "M1" || c.Version != 0 {
		t.Errorf("campaign %+v", c)
	}
	// The channel's consent decides: C4 has email consent only.
	d := launch("K3", events.CampaignCriteria{Tiers: []string{"potential_vip"}})
	d.Channel = "email"
	l.campaign("K3", d)
	l.wantTargets("K3", "C4:target:launch")
	d = launch("K4", events.CampaignCriteria{Tiers: []string{"potential_vip"}})
	d.Channel = "branch" // some channel will do
	l.campaign("K4", d)
	l.wantTargets("K4", "C1:target:launch", "C3:target:launch", "C4:target:launch", "C5:target:launch", "C7:target:launch", "C8:target:launch")
}

func TestCampaignPreview(t *testing.T) {
	l := newCmpLog(t)
	for i := range 40 {
		id := fmt.Sprintf("C%02d", i)
		l.register(id, "B01", []string{"general", "vip"}[i%2])
		switch i % 4 {
		case 1:
			l.customer(id, granted("sms", false)) // do-not-contact
		case 2:
			l.customer(id, granted("sms", false), granted("phone", true)) // no sms consent
		}
	}
	d := launch("K1", events.CampaignCriteria{})
	d.HoldOutPercent = 50
	p := l.m.Marketing.Preview(d, l.now)
	if p.Matching != 40 || p.DoNotContact != 10 || p.NoConsent != 10 || p.Targets+p.HoldOut != 20 || p.HoldOut == 0 ||
		p.ByTier["general"]+p.ByTier["vip"] != 20 {
		t.Errorf("preview %+v", p)
	}
	l.campaign("K1", d)
	c, _ := l.m.Marketing.Campaign("K1", l.now)
	if c.Targets != p.Targets || c.HoldOut != p.HoldOut {
		t.Errorf("launched %d+%d, previewed %d+%d", c.Targets, c.HoldOut, p.Targets, p.HoldOut)
	}
	d.Channel = "branch"
	if p := l.m.Marketing.Preview(d, l.now); p.Matching != 40 || p.DoNotContact != 10 || p.NoConsent != 0 || p.Targets+p.HoldOut != 30 {
		t.Errorf("preview by branch %+v", p)
	}
	d.Criteria = &events.CampaignCriteria{Tiers: []string{"vip"}}
	if p := l.m.Marketing.Preview(d, l.now); p.Matching != 20 || p.ByTier["general"] != 0 || p.ByTier["vip"] != p.Targets+p.HoldOut {
		t.Errorf("preview of vips %+v", p)
	}
}

func TestCampaignWorklistReasons(t *testing.T) {
	l := newCmpLog(t)
	l.register("C1", "B01", "vip")
	l.register("C2", "B01", "vip")
	l.register("C3", "B01", "general")
	l.register("C4", "B01", "vip")
	d := launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}})
	d.StartsOn = "2026-11-26" // tomorrow, KST
	l.campaign("K1", d)
	l.customer("C4", &events.ProductPitched{Product: "LOAN-WED", Channel: "sms", Outcome: "declined", CampaignID: "K1", Purpose: "marketing"})
	reasons := func(now time.Time) map[string]string {
		t.Helper()
		items := l.m.Customers.Worklist("R1", now, projections.WorklistOptions{})
		ts := l.m.Marketing.CustomerTargets([]string{"C1", "C2", "C3", "C4"})
		cs := map[string]projections.Campaign{}
		for _, tg := range ts {
			cs[tg.CampaignID], _ = l.m.Marketing.Campaign(tg.CampaignID, now)
		}
		projections.AddCampaignReasons(items, ts, cs, now)
		out := map[string]string{}
		for _, it := range items {
			if slices.Contains(it.Reasons, projections.ReasonCampaign) {
				out[it.CustomerID] = strings.Join(it.Details, ";")
			}
		}
		return out
	}
	if got := reasons(l.now); len(got) != 0 {
		t.Errorf("scheduled campaign on the worklist: %v", got)
	}
	start := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC) // 2026-11-26 00:00 KST
	if got := reasons(start); !reflect.DeepEqual(got, map[string]string{"C1": "campaign: Campaign K1", "C2": "campaign: Campaign K1"}) {
		t.Errorf("running: %v", got)
	}
	end := time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC) // 2027-01-01 00:00 KST
	if got := reasons(end.Add(-time.Nanosecond)); len(got) != 2 {
		t.Errorf("last instant: %v", got)
	}
	if got := reasons(end); len(got) != 0 {
		t.Errorf("ended: %v", got)
	}
	// Memory's worklist adds them too; the reasons sort the items.
	items, _ := l.m.Worklist(t.Context(), "R1", start, projections.WorklistOptions{})
	if items[0].CustomerID != "C1" || !slices.Contains(items[0].Reasons, projections.ReasonCampaign) {
		t.Errorf("memory worklist %+v", items)
	}
}
