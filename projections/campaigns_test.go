package projections_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
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
	if o, ok := d.(interface{ Occurred() time.Time }); ok { // as events.NewEvent does
		e.OccurredAt = o.Occurred()
	}
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

// registerEach registers C1, C2, … at branch B01 with the given tiers.
func (l *cmpLog) registerEach(tiers ...string) {
	l.t.Helper()
	for i, tier := range tiers {
		l.register(fmt.Sprintf("C%d", i+1), "B01", tier)
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
	l.registerEach("vip", "vip", "general", "vip")
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

// TestCampaignLateJoiners: after the launch a customer joins when an event
// of theirs makes them match, with the event's reason.
func TestCampaignLateJoiners(t *testing.T) {
	l := newCmpLog(t)
	min := int64(10_000_000)
	l.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}, LifeEvents: []string{"child_wedding"},
		MinBalance: &min, NotHolding: []string{"LOAN-WED"}}))
	fin := &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(20_000_000), ProfitContribution: i64(1), Currency: "KRW"}
	life := &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2027-03-01"}
	tier := &events.TierAssigned{Tier: "vip", Basis: events.TierBasis{DepositBalance: i64(1), ProfitContribution: i64(1), Rule: "r"}}
	open := &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"}
	closed := &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "closed"}
	// Each customer meets every criterion but the last event's.
	l.register("CA", "B01", "")
	l.customer("CA", fin, life, tier) // the tier last
	l.register("CB", "B01", "vip")
	l.customer("CB", life, fin)
	l.register("CC", "B01", "vip")
	l.customer("CC", fin, life)
	l.register("CD", "B01", "vip")
	l.customer("CD", open, fin, life)
	l.wantTargets("K1", "CA:target:tier", "CB:target:financials", "CC:target:life_event")
	l.add(time.Hour)
	l.customer("CD", closed)
	// A new customer has no consent when registered: they join when it is granted.
	l.customer("CE", &events.CustomerRegistered{CustomerID: "CE", Name: "고객", BranchID: "B01", Source: events.Source{System: "core"}},
		tier, fin, life)
	l.customer("CE", granted("sms", true))
	l.wantTargets("K1", "CA:target:tier", "CB:target:financials", "CC:target:life_event", "CD:target:holding", "CE:target:consent")
	if got := l.target("K1", "CD"); !got.JoinedAt.Equal(l.now) || !reflect.DeepEqual(got.Matched,
		[]string{"tier:vip", "lifeEvent:child_wedding:2027-03-01", "notHolding:LOAN-WED", "balance:20000000"}) || got.AdvisorID != "R1" || got.BranchID != "B01" {
		t.Errorf("CD %+v", got)
	}
	// The fold joins a new customer matching at once (a channel needing no
	// consent of its own still needs some: the registered path needs an
	// event that grants none, so it is the consent's).
	d := launch("K2", events.CampaignCriteria{})
	d.Channel = "branch"
	l.campaign("K2", d)
	l.customer("CF", &events.CustomerRegistered{CustomerID: "CF", Name: "고객", BranchID: "B01", Source: events.Source{System: "core"}})
	if _, ok := l.m.Marketing.Target("K2", "CF"); ok {
		t.Error("a customer without consent joined")
	}
	l.customer("CF", granted("post", true))
	if got := l.target("K2", "CF"); got.Reason != projections.JoinedConsent {
		t.Errorf("CF %+v", got)
	}
}

// TestCampaignTimeQueue: a customer who meets every criterion but one of
// time joins when the log's time passes the instant it comes true.
func TestCampaignTimeQueue(t *testing.T) {
	l := newCmpLog(t)
	t0 := eventstest.Epoch // 2026-11-25 09:00 UTC, 18:00 KST
	l.register("C1", "B01", "vip")
	l.customer("C1", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: t0.Add(-20 * 24 * time.Hour)})
	l.register("C2", "B01", "vip")
	l.customer("C2", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: t0.Add(-40 * 24 * time.Hour)})
	l.register("C3", "B01", "general") // not a vip: never queued
	l.customer("C3", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: t0.Add(-20 * 24 * time.Hour)})
	l.register("C4", "B01", "vip") // never contacted
	l.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}, NoContactDays: 30}))
	l.wantTargets("K1", "C2:target:launch", "C4:target:launch")
	if got := l.target("K1", "C4").Matched; !reflect.DeepEqual(got, []string{"tier:vip", "noContactSince:never"}) {
		t.Errorf("C4 matched %q", got)
	}
	// C1 matches once 30×24 h have passed since the contact: an event of
	// anyone's at that instant is not after it, one a nanosecond later is.
	due := t0.Add(10 * 24 * time.Hour)
	l.at(due).customer("C3", &events.ProfileVerified{Channel: "branch"})
	l.wantTargets("K1", "C2:target:launch", "C4:target:launch")
	l.at(due.Add(time.Nanosecond)).customer("C3", &events.ProfileVerified{Channel: "branch"})
	l.wantTargets("K1", "C1:target:time", "C2:target:launch", "C4:target:launch")
	if got := l.target("K1", "C1"); !got.JoinedAt.Equal(due.Add(time.Nanosecond)) ||
		!reflect.DeepEqual(got.Matched, []string{"tier:vip", "noContactSince:2026-11-05"}) {
		t.Errorf("C1 %+v", got)
	}

	// A contact before the instant moves it: the earlier entry is skipped.
	l2 := newCmpLog(t)
	l2.register("C1", "B01", "vip")
	l2.customer("C1", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: t0.Add(-20 * 24 * time.Hour)})
	l2.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}, NoContactDays: 30}))
	l2.at(t0.Add(5*24*time.Hour)).customer("C1", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: t0.Add(5 * 24 * time.Hour)})
	l2.at(due.Add(time.Hour)).customer("C1", &events.ProfileVerified{Channel: "branch"})
	l2.wantTargets("K1")
	l2.at(t0.Add(35*24*time.Hour+time.Second)).apply("customer-X", "R1", &events.ProfileVerified{Channel: "branch"}) // anyone's event moves the time
	l2.wantTargets("K1", "C1:target:time")

	// A life event enters its window at the start of the KST day N days
	// before it.
	l3 := newCmpLog(t)
	l3.register("C1", "B01", "vip")
	l3.customer("C1", &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2027-01-31"})
	l3.register("C2", "B01", "vip")
	l3.customer("C2", &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2026-12-20"})
	l3.register("C3", "B01", "vip")
	l3.customer("C3", &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2026-11-24"}) // yesterday, KST
	d := launch("K1", events.CampaignCriteria{LifeEvents: []string{"child_wedding"}, LifeEventWithinDays: 30})
	d.EndsOn = "" // open-ended
	l3.campaign("K1", d)
	l3.wantTargets("K1", "C2:target:launch")
	enters := time.Date(2027, 1, 1, 0, 0, 0, 0, time.FixedZone("KST", 9*3600)) // 2027-01-31 − 30 days
	l3.at(enters.Add(-time.Nanosecond)).apply("customer-X", "R1", &events.ProfileVerified{Channel: "branch"})
	l3.wantTargets("K1", "C2:target:launch")
	l3.at(enters).apply("customer-X", "R1", &events.ProfileVerified{Channel: "branch"})
	l3.wantTargets("K1", "C1:target:time", "C2:target:launch")
	if got := l3.target("K1", "C1").Matched; !reflect.DeepEqual(got, []string{"lifeEvent:child_wedding:2027-01-31"}) {
		t.Errorf("C1 matched %q", got)
	}

	// Past the end of endsOn nobody joins, due or not.
	l4 := newCmpLog(t)
	l4.register("C1", "B01", "vip")
	l4.customer("C1", &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2027-01-31"})
	l4.campaign("K1", launch("K1", events.CampaignCriteria{LifeEvents: []string{"child_wedding"}, LifeEventWithinDays: 30})) // ends 2026-12-31
	l4.at(enters).apply("customer-X", "R1", &events.ProfileVerified{Channel: "branch"})
	l4.wantTargets("K1")
}

// TestCampaignConsentRemovesAndRejoins: withdrawal, do-not-contact and
// erasure remove a target at once; consent granted again rejoins them,
// with their progress kept.
func TestCampaignConsentRemovesAndRejoins(t *testing.T) {
	l := newCmpLog(t)
	for _, id := range []string{"C1", "C2", "C3"} {
		l.register(id, "B01", "vip")
		l.customer(id, granted("phone", true))
	}
	l.campaign("K1", launch("K1", events.CampaignCriteria{})) // by sms
	d := launch("K2", events.CampaignCriteria{})
	d.Channel = "internet" // some channel will do
	l.campaign("K2", d)
	l.add(time.Hour)
	l.customer("C1", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: l.now})
	l.add(time.Hour)
	withdrawn := l.now
	l.customer("C1", granted("sms", false))
	l.wantTargets("K1", "C1:target:launch:consent_withdrawn", "C2:target:launch", "C3:target:launch")
	l.wantTargets("K2", "C1:target:launch", "C2:target:launch", "C3:target:launch")
	l.customer("C2", granted("phone", false), granted("sms", false))
	l.wantTargets("K1", "C1:target:launch:consent_withdrawn", "C2:target:launch:do_not_contact", "C3:target:launch")
	l.wantTargets("K2", "C1:target:launch", "C2:target:launch:do_not_contact", "C3:target:launch")
	l.customer("C3", &events.PersonalDataErased{Reason: "r", RequestedBy: "customer"})
	l.wantTargets("K1", "C1:target:launch:consent_withdrawn", "C2:target:launch:do_not_contact", "C3:target:launch:erased")
	c, _ := l.m.Marketing.Campaign("K1", l.now)
	if c.Targets != 0 || c.Removed != 3 {
		t.Errorf("counts %+v", c)
	}
	if removed := l.target("K1", "C1"); !removed.RemovedAt.Equal(withdrawn) {
		t.Errorf("C1 %+v", removed)
	}
	// Granted again: C1 rejoins with the contact kept; the erased never.
	l.add(time.Hour)
	l.customer("C1", granted("sms", true))
	l.customer("C3", granted("sms", true))
	l.wantTargets("K1", "C1:target:consent", "C2:target:launch:do_not_contact", "C3:target:launch:erased")
	got := l.target("K1", "C1")
	if !got.JoinedAt.Equal(l.now) || got.ContactedAt.IsZero() || !got.RemovedAt.IsZero() {
		t.Errorf("rejoined %+v", got)
	}
	if c, _ := l.m.Marketing.Campaign("K1", l.now); c.Targets != 1 || c.Removed != 2 {
		t.Errorf("counts %+v", c)
	}
	// Filters: status and group.
	ts, _, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{Status: "removed"})
	if len(ts) != 2 || ts[0].CustomerID != "C2" {
		t.Errorf("removed %+v", ts)
	}
	if ts, _, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{Status: "active", Group: projections.GroupHoldOut}); len(ts) != 0 {
		t.Errorf("hold-out %+v", ts)
	}
	if ts := l.m.Marketing.CustomerTargets([]string{"C3", "C1", "C2", "C1"}); len(ts) != 2 || ts[0].CampaignID != "K1" || ts[1].CampaignID != "K2" {
		t.Errorf("customer targets %+v", ts)
	}
}

// TestCampaignAmendment: targets no longer matching and not contacted
// leave, contacted ones stay, newly matching customers join.
func TestCampaignAmendment(t *testing.T) {
	l := newCmpLog(t)
	l.registerEach("vip", "vip", "general", "potential_vip")
	l.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}}))
	l.add(time.Hour)
	l.customer("C2", &events.ProductPitched{Product: "LOAN-WED", Channel: "sms", Outcome: "considering", CampaignID: "K1", Purpose: "marketing"})
	l.add(time.Hour)
	l.campaign("K1", &events.CampaignAmended{Name: "Renamed", Criteria: &events.CampaignCriteria{Tiers: []string{"potential_vip"}}, EndsOn: "2027-01-31", Reason: "r"})
	l.wantTargets("K1", "C1:target:launch:criteria_amended", "C2:target:launch", "C4:target:amended")
	c, _ := l.m.Marketing.Campaign("K1", l.now)
	if c.Name != "Renamed" || c.EndsOn != "2027-01-31" || c.Amendments != 1 || !c.AmendedAt.Equal(l.now) || c.Version != 1 ||
		c.Targets != 2 || c.Removed != 1 || !reflect.DeepEqual(c.Criteria.Tiers, []string{"potential_vip"}) {
		t.Errorf("amended %+v", c)
	}
	// Matched stays what C2 joined by; a later tier change joins under the new criteria.
	if got := l.target("K1", "C2").Matched; !reflect.DeepEqual(got, []string{"tier:vip"}) {
		t.Errorf("C2 matched %q", got)
	}
	l.customer("C3", &events.TierAssigned{Tier: "potential_vip", Basis: events.TierBasis{DepositBalance: i64(1), ProfitContribution: i64(1), Rule: "r"}})
	l.wantTargets("K1", "C1:target:launch:criteria_amended", "C2:target:launch", "C3:target:tier", "C4:target:amended")
	// Amended back: C1 rejoins.
	l.campaign("K1", &events.CampaignAmended{Name: "Back", Criteria: &events.CampaignCriteria{}, EndsOn: "2027-01-31"})
	l.wantTargets("K1", "C1:target:amended", "C2:target:launch", "C3:target:tier", "C4:target:amended")
}

// TestCampaignCloseAndEndStopJoining: a closed or ended campaign takes no
// one new, but consent still removes.
func TestCampaignCloseAndEndStopJoining(t *testing.T) {
	l := newCmpLog(t)
	l.register("C1", "B01", "vip")
	l.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}}))
	l.campaign("K2", launch("K2", events.CampaignCriteria{Tiers: []string{"vip"}})) // ends 2026-12-31 KST
	l.add(time.Hour)
	l.campaign("K1", &events.CampaignClosed{Reason: "done"})
	c, _ := l.m.Marketing.Campaign("K1", l.now)
	if c.Status != projections.CampaignIsClosed || c.CloseReason != "done" || c.ClosedBy != "M1" || !c.ClosedAt.Equal(l.now) {
		t.Errorf("closed %+v", c)
	}
	l.register("C2", "B01", "vip")
	l.wantTargets("K1", "C1:target:launch")
	l.wantTargets("K2", "C1:target:launch", "C2:target:tier")
	end := time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC)
	l.at(end.Add(-time.Nanosecond)).register("C3", "B01", "vip")
	l.at(end).register("C4", "B01", "vip")
	l.wantTargets("K2", "C1:target:launch", "C2:target:tier", "C3:target:tier")
	l.customer("C1", granted("sms", false))
	l.wantTargets("K1", "C1:target:launch:do_not_contact")
	if c, _ := l.m.Marketing.Campaign("K2", end); c.Status != projections.CampaignEnded {
		t.Errorf("status at the end %s", c.Status)
	}
	if c, _ := l.m.Marketing.Campaign("K2", end.Add(-time.Nanosecond)); c.Status != projections.CampaignRunning {
		t.Errorf("status before the end %s", c.Status)
	}
	if c, _ := l.m.Marketing.Campaign("K2", time.Date(2026, 11, 24, 14, 59, 59, 0, time.UTC)); c.Status != projections.CampaignScheduled {
		t.Errorf("status before the start %s", c.Status)
	}
	if got := l.m.Marketing.List(projections.CampaignFilter{Status: projections.CampaignRunning}, l.now); len(got) != 0 {
		t.Errorf("running at the end %+v", got)
	}
	if got := l.m.Marketing.List(projections.CampaignFilter{}, l.now); len(got) != 2 || got[0].ID != "K1" {
		t.Errorf("list %+v", got)
	}
}

// TestCampaignHoldOutDeterministic: the groups are events.InHoldOut's, and
// folding the same log again chooses the same ones.
func TestCampaignHoldOutDeterministic(t *testing.T) {
	build := func() *cmpLog {
		l := newCmpLog(t)
		for i := range 200 {
			l.register(fmt.Sprintf("C%03d", i), "B01", "vip")
		}
		d := launch("K1", events.CampaignCriteria{})
		d.HoldOutPercent = 20
		l.campaign("K1", d)
		for i := 200; i < 300; i++ { // late joiners too
			l.register(fmt.Sprintf("C%03d", i), "B01", "vip")
		}
		return l
	}
	groups := func(l *cmpLog) []string {
		ts, _, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{Limit: 1000})
		out := []string{}
		for _, tg := range ts {
			if want := events.InHoldOut("K1", tg.CustomerID, 20); want != (tg.Group == projections.GroupHoldOut) {
				t.Errorf("%s in %s", tg.CustomerID, tg.Group)
			}
			out = append(out, tg.CustomerID+":"+tg.Group)
		}
		return out
	}
	a, b := groups(build()), groups(build())
	if len(a) != 300 || !reflect.DeepEqual(a, b) {
		t.Errorf("replays differ or lost targets: %d, %d", len(a), len(b))
	}
	held := 0
	for _, g := range a {
		if strings.HasSuffix(g, projections.GroupHoldOut) {
			held++
		}
	}
	if held < 30 || held > 90 {
		t.Errorf("%d of 300 held out at 20%%", held)
	}
}

// TestCampaignAttributionWindow: an acceptance or opening counts from
// joinedAt to joinedAt + attributionDays×24h, both ends included.
func TestCampaignAttributionWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration
		in     bool
	}{
		{"before", -time.Nanosecond, false},
		{"atJoin", 0, true},
		{"atEnd", 7 * 24 * time.Hour, true},
		{"after", 7*24*time.Hour + time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newCmpLog(t)
			l.register("C1", "B01", "vip")
			d := launch("K1", events.CampaignCriteria{})
			d.AttributionDays = 7
			l.campaign("K1", d)
			joined := l.now
			at := joined.Add(tc.offset)
			if tc.offset < 0 { // a pitch made before joining, entered later
				l.add(time.Hour)
			} else {
				l.at(at)
			}
			l.apply(events.CustomerStream("C1"), "R1", &events.ProductPitched{Product: "LOAN-WED", Channel: "branch", Outcome: "accepted", OccurredAt: at})
			if tc.offset >= 0 {
				l.customer("C1", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
			}
			got := l.target("K1", "C1")
			if !got.AcceptedAt.IsZero() != tc.in || (tc.in && !got.AcceptedAt.Equal(at)) {
				t.Errorf("acceptedAt %v, want in %v", got.AcceptedAt, tc.in)
			}
			if tc.offset >= 0 && (!got.OpenedAt.IsZero() != tc.in) {
				t.Errorf("openedAt %v, want in %v", got.OpenedAt, tc.in)
			}
			if !got.PitchedAt.IsZero() || got.Outcome != "" {
				t.Errorf("a pitch naming no campaign counted as the campaign's: %+v", got)
			}
		})
	}
	// An opening recorded a nanosecond before joining is not the campaign's.
	l := newCmpLog(t)
	l.register("C1", "B01", "vip")
	l.customer("C1", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
	l.add(time.Nanosecond)
	d := launch("K1", events.CampaignCriteria{})
	l.campaign("K1", d)
	l.customer("C1", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A2", Change: "opened"})
	if got := l.target("K1", "C1"); !got.OpenedAt.Equal(l.now) {
		t.Errorf("openedAt %v, want %v", got.OpenedAt, l.now)
	}
}

// TestCampaignReportFunnel: the funnel adds up per group and breakdown, and
// the lift compares the groups' rates.
func TestCampaignReportFunnel(t *testing.T) {
	l := newCmpLog(t)
	for i := range 60 {
		id := fmt.Sprintf("C%02d", i)
		l.register(id, fmt.Sprintf("B%d", i%2), "vip")
		l.customer(id, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%d", i%3), Kind: "call_centre_rep"})
	}
	d := launch("K1", events.CampaignCriteria{})
	d.HoldOutPercent = 30
	l.campaign("K1", d)
	l.add(time.Hour)
	var tg, ho []string
	for i := range 60 {
		id := fmt.Sprintf("C%02d", i)
		if events.InHoldOut("K1", id, 30) {
			ho = append(ho, id)
		} else {
			tg = append(tg, id)
		}
	}
	pitch := func(id, outcome, channel string) {
		l.customer(id, &events.ProductPitched{Product: "LOAN-WED", Channel: channel, Outcome: outcome, CampaignID: "K1", Purpose: "marketing"})
	}
	// Target group: 0 contacted only, 1 pitched considering then accepted,
	// 2 declined, 3 unreachable, 4 considering, 5 opened without a pitch,
	// 6 removed.
	l.customer(tg[0], &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: l.now})
	pitch(tg[1], "considering", "sms")
	l.add(time.Minute)
	pitch(tg[1], "accepted", "phone_outbound")
	pitch(tg[2], "declined", "sms")
	pitch(tg[3], "unreachable", "sms")
	pitch(tg[4], "considering", "sms")
	l.customer(tg[5], &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
	l.customer(tg[6], granted("sms", false))
	// Hold-out: one accepted a pitch naming no campaign, one opened.
	l.customer(ho[0], &events.ProductPitched{Product: "LOAN-WED", Channel: "branch", Outcome: "accepted"})
	l.customer(ho[1], &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
	r, ok := l.m.Marketing.Report("K1", l.now)
	if !ok {
		t.Fatal("no report")
	}
	want := projections.CampaignFunnel{Targets: len(tg), Removed: 1, Contacted: 5, Pitched: 4, Accepted: 1, Declined: 1, Considering: 1, Unreachable: 1, Opened: 1}
	if r.Funnel != want {
		t.Errorf("funnel\n got %+v\nwant %+v", r.Funnel, want)
	}
	if wantHO := (projections.CampaignFunnel{Targets: len(ho), Opened: 1}); r.HoldOut != wantHO {
		t.Errorf("hold-out funnel %+v", r.HoldOut)
	}
	for name, rows := range map[string][]projections.FunnelRow{"advisor": r.ByAdvisor, "branch": r.ByBranch, "channel": r.ByChannel} {
		var sum projections.CampaignFunnel
		for i, row := range rows {
			if i > 0 && rows[i-1].Key >= row.Key {
				t.Errorf("%s rows out of order: %q, %q", name, rows[i-1].Key, row.Key)
			}
			sum.Targets += row.Targets
			sum.Removed += row.Removed
			sum.Contacted += row.Contacted
			sum.Pitched += row.Pitched
			sum.Accepted += row.Accepted
			sum.Declined += row.Declined
			sum.Considering += row.Considering
			sum.Unreachable += row.Unreachable
			sum.Opened += row.Opened
		}
		if sum != r.Funnel {
			t.Errorf("%s rows add up to %+v", name, sum)
		}
	}
	if len(r.ByAdvisor) != 3 || len(r.ByBranch) != 2 || len(r.ByChannel) != 3 || r.ByChannel[0].Key != "" ||
		r.ByChannel[1].Key != "phone_outbound" || r.ByChannel[1].Accepted != 1 || r.ByChannel[2].Pitched != 3 {
		t.Errorf("breakdowns %+v %+v %+v", r.ByAdvisor, r.ByBranch, r.ByChannel)
	}
	lf := r.Lift
	if lf == nil || lf.Targets != len(tg) || lf.HoldOut != len(ho) || lf.TargetAccepted != 1 || lf.HoldOutAccepted != 1 ||
		lf.TargetOpened != 1 || lf.HoldOutOpened != 1 {
		t.Fatalf("lift %+v", lf)
	}
	if ar := 1 / float64(len(tg)); lf.TargetAcceptRate != ar || lf.AcceptLift != ar-1/float64(len(ho)) || lf.OpenLift != lf.TargetOpenRate-lf.HoldOutOpenRate {
		t.Errorf("rates %+v", lf)
	}
	// Without a hold-out there is no lift.
	l.campaign("K2", launch("K2", events.CampaignCriteria{}))
	if r, _ := l.m.Marketing.Report("K2", l.now); r.Lift != nil || r.Funnel.Targets != 59 || r.Campaign.ID != "K2" {
		t.Errorf("K2 report %+v", r)
	}
	if _, ok := l.m.Marketing.Report("K9", l.now); ok {
		t.Error("a report of no campaign")
	}
}

// TestAddCampaignReasons: only active target-group members of a running
// campaign who are not done with it are called.
func TestAddCampaignReasons(t *testing.T) {
	now := eventstest.Epoch
	running := projections.Campaign{ID: "K1", Name: "Wedding loans", StartsOn: "2026-11-01", Status: projections.CampaignEnded} // Status is recomputed
	ended := projections.Campaign{ID: "K2", Name: "Old", StartsOn: "2026-10-01", EndsOn: "2026-10-31"}
	closed := projections.Campaign{ID: "K3", Name: "Closed", StartsOn: "2026-10-01", ClosedAt: now.Add(-time.Hour)}
	second := projections.Campaign{ID: "K4", Name: "Deposits", StartsOn: "2026-11-01"}
	cs := map[string]projections.Campaign{"K1": running, "K2": ended, "K3": closed, "K4": second}
	tg := func(campaign, customer string, f func(*projections.CampaignTarget)) projections.CampaignTarget {
		t := projections.CampaignTarget{CampaignID: campaign, CustomerID: customer, Group: projections.GroupTarget}
		if f != nil {
			f(&t)
		}
		return t
	}
	targets := []projections.CampaignTarget{
		tg("K1", "A", nil),
		tg("K4", "A", nil),
		tg("K1", "B", func(t *projections.CampaignTarget) { t.Group = projections.GroupHoldOut }),
		tg("K1", "C", func(t *projections.CampaignTarget) { t.RemovedAt = now }),
		tg("K1", "D", func(t *projections.CampaignTarget) { t.Outcome = "accepted" }),
		tg("K1", "E", func(t *projections.CampaignTarget) { t.Outcome = "declined" }),
		tg("K1", "F", func(t *projections.CampaignTarget) { t.OpenedAt = now }),
		tg("K2", "G", nil),
		tg("K3", "H", nil),
		tg("K1", "I", func(t *projections.CampaignTarget) { t.Outcome = "considering" }),
		tg("K9", "J", nil), // not in the map
		tg("K1", "K", func(t *projections.CampaignTarget) { t.HoldsProduct = true }), // opened after the window
	}
	var items []projections.WorkItem
	for _, id := range []string{"K", "J", "I", "H", "G", "F", "E", "D", "C", "B", "A", "Z"} {
		items = append(items, projections.WorkItem{CustomerID: id, Reasons: []string{}})
	}
	items[11].Reasons = []string{projections.ReasonStale} // Z
	projections.AddCampaignReasons(items, targets, cs, now)
	var got []string
	for _, it := range items {
		got = append(got, it.CustomerID+"="+strings.Join(it.Reasons, ",")+"/"+strings.Join(it.Details, ";"))
	}
	want := []string{"A=campaign/campaign: Wedding loans;campaign: Deposits", "I=campaign/campaign: Wedding loans", "Z=stale_data/",
		"B=/", "C=/", "D=/", "E=/", "F=/", "G=/", "H=/", "J=/", "K=/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items\n got %q\nwant %q", got, want)
	}
}

// TestCampaignOnChange: the hook names the targets and campaigns an event
// changed, each campaign once per Apply.
func TestCampaignOnChange(t *testing.T) {
	l := newCmpLog(t)
	var calls []string
	l.m.Marketing.OnChange(func(c, cu string) { calls = append(calls, c+"/"+cu) })
	l.register("C1", "B01", "vip")
	l.register("C2", "B01", "general")
	want := func(what string, w ...string) {
		t.Helper()
		slices.Sort(calls)
		if w == nil {
			w = []string{}
		}
		if calls == nil {
			calls = []string{}
		}
		if !reflect.DeepEqual(calls, w) {
			t.Errorf("%s: calls %q, want %q", what, calls, w)
		}
		calls = nil
	}
	want("before any campaign")
	l.campaign("K1", launch("K1", events.CampaignCriteria{Tiers: []string{"vip"}}))
	want("launch", "K1/", "K1/C1")
	l.campaign("K2", launch("K2", events.CampaignCriteria{}))
	want("launch", "K2/", "K2/C1", "K2/C2")
	l.customer("C2", &events.ProfileVerified{Channel: "branch"})
	want("nothing changed")
	l.customer("C1", &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: l.now})
	want("contact", "K1/", "K1/C1", "K2/", "K2/C1")
	l.customer("C2", &events.AdvisorAssigned{AdvisorID: "R2", Kind: "call_centre_rep"})
	want("advisor", "K2/", "K2/C2")
	l.customer("C2", granted("sms", false))
	want("withdrawal", "K2/", "K2/C2")
	l.campaign("K1", &events.CampaignClosed{})
	want("close", "K1/")
}

// TestCampaignTargetsPaging: pages by customer id with a cursor, filtered
// by advisor.
func TestCampaignTargetsPaging(t *testing.T) {
	l := newCmpLog(t)
	for i := range 25 {
		id := fmt.Sprintf("C%02d", i)
		l.register(id, "B01", "vip")
		l.customer(id, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%d", i%2), Kind: "call_centre_rep"})
	}
	l.campaign("K1", launch("K1", events.CampaignCriteria{}))
	var ids []string
	after := ""
	for range 10 {
		ts, next, ok := l.m.Marketing.Targets("K1", projections.TargetFilter{Advisor: "R1", After: after, Limit: 5})
		if !ok {
			t.Fatal("no campaign")
		}
		for _, tg := range ts {
			if tg.AdvisorID != "R1" {
				t.Errorf("advisor %s", tg.AdvisorID)
			}
			ids = append(ids, tg.CustomerID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(ids) != 12 || !slices.IsSorted(ids) || ids[0] != "C01" {
		t.Errorf("pages %q", ids)
	}
	if ts, next, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{}); len(ts) != 25 || next != "" {
		t.Errorf("default page %d %q", len(ts), next)
	}
	if _, _, ok := l.m.Marketing.Targets("K9", projections.TargetFilter{}); ok {
		t.Error("targets of no campaign")
	}
	// Late joiners are merged into the sorted list.
	for _, id := range []string{"C105", "C00a", "A1"} {
		l.register(id, "B01", "vip")
	}
	ts, _, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{})
	ids = nil
	for _, tg := range ts {
		ids = append(ids, tg.CustomerID)
	}
	if len(ids) != 28 || !slices.IsSorted(ids) || ids[0] != "A1" || ids[2] != "C00a" {
		t.Errorf("after late joiners %q", ids)
	}
}

// TestCampaignQueriesConcurrent: queries run concurrently under the
// runner's read lock; the lazily sorted target ids must not race (-race).
func TestCampaignQueriesConcurrent(t *testing.T) {
	l := newCmpLog(t)
	for i := range 50 {
		l.register(fmt.Sprintf("C%02d", i), "B01", "vip")
	}
	l.campaign("K1", launch("K1", events.CampaignCriteria{}))
	l.register("C99", "B01", "vip") // joins after the launch: the ids sort again
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ts, _, _ := l.m.Marketing.Targets("K1", projections.TargetFilter{})
			r, _ := l.m.Marketing.Report("K1", l.now)
			p := l.m.Marketing.Preview(launch("K2", events.CampaignCriteria{}), l.now)
			if len(ts) != 51 || r.Funnel.Targets != 51 || p.Targets != 51 {
				t.Errorf("%d targets, report %d, preview %d", len(ts), r.Funnel.Targets, p.Targets)
			}
		})
	}
	wg.Wait()
}

// TestCampaignReplayIsDeterministic: a log in a bbolt store — customers
// with every kind of event, two campaigns, time passing over their queues
// — replayed in batches of different sizes gives the same lists, groups
// and reports.
func TestCampaignReplayIsDeterministic(t *testing.T) {
	clock := eventstest.NewManualClock(leadNow)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	leadLog(t, s, 13, 200)
	d := launch("K1", events.CampaignCriteria{NoContactDays: 30})
	d.HoldOutPercent = 25
	leadAppend(t, s, "campaign-K1", events.NoStream, d)
	d = launch("K2", events.CampaignCriteria{LifeEvents: []string{"child_wedding"}, LifeEventWithinDays: 20})
	d.Channel, d.EndsOn = "branch", ""
	leadAppend(t, s, "campaign-K2", events.NoStream, d)
	for day := range 60 {
		clock.Set(leadNow.AddDate(0, 0, day+1))
		id := fmt.Sprintf("C%04d", day%200)
		leadAppend(t, s, events.CustomerStream(id), events.Any, granted("sms", day%3 != 0),
			&events.ProductPitched{Product: "LOAN-WED", Channel: "sms", Outcome: "accepted"})
		for j := range 20 { // campaign pitches, new advisors, openings for targets
			id := events.CustomerStream(fmt.Sprintf("C%04d", (day*20+j)%200))
			switch j % 4 {
			case 0:
				leadAppend(t, s, id, events.Any, &events.ProductPitched{Product: "LOAN-WED", Channel: "phone_outbound",
					Outcome: events.PitchOutcomes[(day+j)%4], CampaignID: "K1", Purpose: "marketing"})
			case 1:
				leadAppend(t, s, id, events.Any, &events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%d", day%5), Kind: "call_centre_rep"})
			case 2:
				leadAppend(t, s, id, events.Any, &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: fmt.Sprint(day), Change: "opened"})
			case 3:
				leadAppend(t, s, id, events.Any, &events.ContactLogged{Channel: "sms", Purpose: "sale", OccurredAt: leadNow.AddDate(0, 0, day)})
			}
		}
	}
	state := func(m *projections.Memory) string {
		t.Helper()
		var b strings.Builder
		for _, id := range []string{"K1", "K2"} {
			ts, _, _ := m.Marketing.Targets(id, projections.TargetFilter{Limit: 1000})
			r, _ := m.Marketing.Report(id, leadNow)
			b.WriteString(string(mustJSON(t, ts)) + string(mustJSON(t, r)))
		}
		return b.String()
	}
	one := state(leadReplay(t, s, 1))
	if big := state(leadReplay(t, s, 1000)); big != one {
		t.Error("replays differ")
	}
	m := leadReplay(t, s, 7)
	k1, _ := m.Marketing.Campaign("K1", leadNow)
	k2, _ := m.Marketing.Campaign("K2", leadNow)
	if k1.Targets == 0 || k1.HoldOut == 0 || k1.Removed == 0 || k2.Targets == 0 {
		t.Errorf("a log that tests little: %+v %+v", k1, k2)
	}
	joined := map[string]int{}
	for _, id := range []string{"K1", "K2"} {
		ts, _, _ := m.Marketing.Targets(id, projections.TargetFilter{Limit: 1000})
		for _, tg := range ts {
			joined[tg.Reason]++
		}
	}
	if joined[projections.JoinedTime] == 0 || joined[projections.JoinedConsent] == 0 {
		t.Errorf("join reasons %v", joined)
	}
	if state(m) != one {
		t.Error("replays differ")
	}
	// The report kept as the targets changed is their count.
	for _, id := range []string{"K1", "K2"} {
		ts, _, _ := m.Marketing.Targets(id, projections.TargetFilter{Limit: 1000})
		r, _ := m.Marketing.Report(id, leadNow)
		if want := recount(ts); !reflect.DeepEqual(r, want.withCampaign(r)) {
			t.Errorf("%s: report\n %+v\nrecounted\n %+v", id, r, want.withCampaign(r))
		}
	}
}

// recount is a campaign report counted from its targets, the campaign aside.
type recounted projections.CampaignReport

func recount(ts []projections.CampaignTarget) recounted {
	var r recounted
	rows := map[string]map[string]*projections.CampaignFunnel{"advisor": {}, "branch": {}, "channel": {}}
	var accepted, opened [2]int
	for _, tg := range ts {
		f := &r.Funnel
		g := 0
		if tg.Group == projections.GroupHoldOut {
			f, g = &r.HoldOut, 1
		}
		fs := []*projections.CampaignFunnel{f}
		if g == 0 {
			for kind, key := range map[string]string{"advisor": tg.AdvisorID, "branch": tg.BranchID, "channel": tg.PitchChannel} {
				if rows[kind][key] == nil {
					rows[kind][key] = &projections.CampaignFunnel{}
				}
				fs = append(fs, rows[kind][key])
			}
		}
		for _, f := range fs {
			f.Targets++
			f.Removed += b2i(!tg.RemovedAt.IsZero())
			f.Contacted += b2i(!tg.ContactedAt.IsZero())
			if !tg.PitchedAt.IsZero() {
				f.Pitched++
				f.Accepted += b2i(tg.Outcome == "accepted")
				f.Declined += b2i(tg.Outcome == "declined")
				f.Considering += b2i(tg.Outcome == "considering")
				f.Unreachable += b2i(tg.Outcome == "unreachable")
			}
			f.Opened += b2i(!tg.OpenedAt.IsZero())
		}
		accepted[g] += b2i(!tg.AcceptedAt.IsZero())
		opened[g] += b2i(!tg.OpenedAt.IsZero())
	}
	for kind, dst := range map[string]*[]projections.FunnelRow{"advisor": &r.ByAdvisor, "branch": &r.ByBranch, "channel": &r.ByChannel} {
		*dst = []projections.FunnelRow{}
		for key, f := range rows[kind] {
			*dst = append(*dst, projections.FunnelRow{Key: key, CampaignFunnel: *f})
		}
		slices.SortFunc(*dst, func(a, b projections.FunnelRow) int { return strings.Compare(a.Key, b.Key) })
	}
	r.Lift = &projections.CampaignLift{Targets: r.Funnel.Targets, HoldOut: r.HoldOut.Targets, TargetAccepted: accepted[0],
		HoldOutAccepted: accepted[1], TargetOpened: opened[0], HoldOutOpened: opened[1]}
	return r
}

// withCampaign returns the recount with got's campaign and rates (the
// counts are what is compared), and no lift if got has none.
func (r recounted) withCampaign(got projections.CampaignReport) projections.CampaignReport {
	r.Campaign = got.Campaign
	if got.Lift == nil {
		r.Lift = nil
	} else {
		l := *got.Lift
		l.Targets, l.HoldOut, l.TargetAccepted, l.HoldOutAccepted = r.Lift.Targets, r.Lift.HoldOut, r.Lift.TargetAccepted, r.Lift.HoldOutAccepted
		l.TargetOpened, l.HoldOutOpened = r.Lift.TargetOpened, r.Lift.HoldOutOpened
		r.Lift = &l
	}
	return projections.CampaignReport(r)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
