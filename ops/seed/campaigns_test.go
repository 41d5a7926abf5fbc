package seed_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
)

// The phases of the campaigns are recorded on these days (the history at
// eventstest.Epoch, 25 November 2026): the first round in December, a
// month of tier moves after the history's; the second round more than 30
// days after the launch and the late joiners, after their attribution
// windows.
var phaseAt = map[string]time.Time{
	seed.PhaseLaunch:   eventstest.Epoch.Add(time.Hour),
	seed.PhaseActivity: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC),
	seed.PhaseAmend:    time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC),
	seed.PhaseLater:    time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC),
}

// generatePhased generates a bank of n customers into a store whose clock
// Config.Phase moves to phaseAt, and returns it with its fold and the
// time after the last phase.
func generatePhased(t *testing.T, n int) (*bolt.Store, *projections.Memory, time.Time) {
	t.Helper()
	clock := eventstest.NewManualClock(eventstest.Epoch)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var phases []string
	cfg := seed.Config{Customers: n, Seed: 1, Phase: func(name string) {
		phases = append(phases, name)
		clock.Set(phaseAt[name])
	}}
	if _, err := seed.Generate(context.Background(), cfg, st); err != nil {
		t.Fatal(err)
	}
	if want := []string{seed.PhaseLaunch, seed.PhaseActivity, seed.PhaseAmend, seed.PhaseLater}; !slices.Equal(phases, want) {
		t.Fatalf("phases %q, want %q", phases, want)
	}
	return st, fold(t, st), phaseAt[seed.PhaseLater].Add(time.Hour)
}

// fold applies the whole log to a fresh Memory.
func fold(t *testing.T, s *bolt.Store) *projections.Memory {
	t.Helper()
	m := projections.NewMemory()
	for _, e := range readAll(t, s) {
		d, err := events.Decode(&e)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &e, Data: d})
		}
	}
	return m
}

func readAll(t *testing.T, s *bolt.Store) []events.Envelope {
	t.Helper()
	all, err := s.ReadAll(context.Background(), events.Start, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// allTargets returns every entry of campaign id's list, both groups,
// removed ones included, page by page.
func allTargets(t *testing.T, m *projections.Memory, id string) []projections.CampaignTarget {
	t.Helper()
	var out []projections.CampaignTarget
	for after := ""; ; {
		page, next, err := m.CampaignTargets(context.Background(), id, projections.TargetFilter{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		after = next
	}
}

// logFacts are what the log says of one campaign's product and pitches,
// per customer, read without the fold.
type logFacts struct {
	pitches  map[string][]events.Envelope // the campaign's pitches
	outcome  map[string]string            // the latest one's outcome
	openings map[string][]time.Time       // recordedAt of openings of the product
}

func factsOf(t *testing.T, all []events.Envelope, campaign, product string) logFacts {
	t.Helper()
	f := logFacts{pitches: map[string][]events.Envelope{}, outcome: map[string]string{}, openings: map[string][]time.Time{}}
	for i := range all {
		e := &all[i]
		cat, id := events.StreamID(e.Stream)
		if cat != events.CategoryCustomer || (e.Type != "ProductPitched" && e.Type != "ProductHoldingChanged") {
			continue
		}
		d, err := events.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		switch d := d.(type) {
		case *events.ProductPitched:
			if d.CampaignID == campaign {
				f.pitches[id] = append(f.pitches[id], *e)
				f.outcome[id] = d.Outcome // the rounds' pitches are made as they are recorded, in log order
			}
		case *events.ProductHoldingChanged:
			if d.Product == product && d.Change == "opened" {
				f.openings[id] = append(f.openings[id], e.RecordedAt)
			}
		}
	}
	return f
}

// TestSeededCampaigns checks the campaigns of a generated bank folded by
// Memory: every funnel adds up and agrees with the log read without the
// fold; the generator pitched only the customers the fold lists in the
// target group; and the bank exercises what docs/campaigns.md describes —
// a hold-out, joiners by launch, consent, tier and life event, removals by
// withdrawal, do-not-contact and amendment, openings within and outside the
// window, tier moves in two months, VIPs at risk, campaign work on a
// worklist.
func TestSeededCampaigns(t *testing.T) {
	s, m, now := generatePhased(t, 20000)
	all := readAll(t, s)
	ctx := context.Background()
	joined, removed := map[string]int{}, map[string]int{}
	for _, id := range []string{seed.CampaignWedding, seed.CampaignLife, seed.CampaignCard} {
		r, err := m.CampaignReport(ctx, id, now)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, p := range seed.FunnelProblems(r) {
			t.Errorf("%s: %s", id, p)
		}
		targets := allTargets(t, m, id)
		checkAgainstLog(t, r, targets, factsOf(t, all, id, r.Campaign.Product))
		for _, tg := range targets {
			joined[tg.Reason]++
			if tg.RemovedReason != "" {
				removed[tg.RemovedReason]++
			}
		}
		t.Logf("%s (%s): %d targets, %d held out, %d removed; funnel %+v; hold-out %+v", id, r.Campaign.Status, r.Campaign.Targets,
			r.Campaign.HoldOut, r.Campaign.Removed, r.Funnel, r.HoldOut)
		if r.Lift != nil {
			t.Logf("%s lift: %+v", id, *r.Lift)
		}
	}
	t.Logf("joined %v, removed %v", joined, removed)
	for _, reason := range []string{projections.JoinedAtLaunch, projections.JoinedConsent, projections.JoinedTier, projections.JoinedLifeEvent} {
		if joined[reason] == 0 {
			t.Errorf("no target joined by %s", reason)
		}
	}
	for _, reason := range []string{projections.RemovedConsent, projections.RemovedDNC, projections.RemovedAmended} {
		if removed[reason] == 0 {
			t.Errorf("no target removed by %s", reason)
		}
	}
	checkWedding(t, m, all, now)
	if c, err := m.Campaign(ctx, seed.CampaignCard, now); err != nil || c.Status != projections.CampaignIsClosed || c.Amendments != 1 {
		t.Errorf("the card campaign: %+v, %v; want closed after one amendment", c, err)
	}
	checkTiersAndWorklists(t, m, now)
}

// checkAgainstLog compares a campaign's report and list with its pitches
// and openings in the log: the pitched customers are exactly the target
// group's entries with a pitch, each with the latest outcome, and every
// opening attributed is one of the log's within the window.
func checkAgainstLog(t *testing.T, r projections.CampaignReport, targets []projections.CampaignTarget, f logFacts) {
	t.Helper()
	id := r.Campaign.ID
	window := time.Duration(r.Campaign.AttributionDays) * 24 * time.Hour
	listed := map[string]projections.CampaignTarget{}
	var funnel projections.CampaignFunnel
	for _, tg := range targets {
		listed[tg.CustomerID] = tg
		if tg.Group == projections.GroupTarget {
			funnel.Targets++
			if !tg.PitchedAt.IsZero() {
				funnel.Pitched++
			}
			if !tg.OpenedAt.IsZero() {
				funnel.Opened++
			}
		}
		if !tg.PitchedAt.IsZero() && tg.Outcome != f.outcome[tg.CustomerID] {
			t.Errorf("%s: %s's outcome %q, the log's latest pitch says %q", id, tg.CustomerID, tg.Outcome, f.outcome[tg.CustomerID])
		}
		if !tg.OpenedAt.IsZero() && !slices.ContainsFunc(f.openings[tg.CustomerID], func(at time.Time) bool {
			return at.Equal(tg.OpenedAt) && !at.Before(tg.JoinedAt) && !at.After(tg.JoinedAt.Add(window))
		}) {
			t.Errorf("%s: %s opened at %v, not an opening of the log in [%v, +%v]", id, tg.CustomerID, tg.OpenedAt, tg.JoinedAt, window)
		}
	}
	for c := range f.pitches {
		if tg, ok := listed[c]; !ok || tg.Group != projections.GroupTarget || tg.PitchedAt.IsZero() {
			t.Errorf("%s: the generator pitched %s, the list has %+v", id, c, tg)
		}
	}
	if funnel.Targets != r.Funnel.Targets || funnel.Pitched != r.Funnel.Pitched || funnel.Opened != r.Funnel.Opened || funnel.Pitched != len(f.pitches) {
		t.Errorf("%s: the list counts %+v, the log %d pitched; the report %+v", id, funnel, len(f.pitches), r.Funnel)
	}
}

// checkWedding checks what only the wedding campaign has: a hold-out of
// about a tenth that nobody pitched, and openings on both sides of the
// window's end.
func checkWedding(t *testing.T, m *projections.Memory, all []events.Envelope, now time.Time) {
	t.Helper()
	r, _ := m.CampaignReport(context.Background(), seed.CampaignWedding, now)
	if r.HoldOut.Targets == 0 || r.HoldOut.Pitched != 0 || r.Lift == nil {
		t.Errorf("the wedding campaign's hold-out: %+v, lift %v", r.HoldOut, r.Lift)
	}
	if share := float64(r.HoldOut.Targets) / float64(r.HoldOut.Targets+r.Funnel.Targets); share < 0.03 || share > 0.2 {
		t.Errorf("%.3f of the wedding campaign's customers held out, want about 0.1", share)
	}
	f := factsOf(t, all, seed.CampaignWedding, r.Campaign.Product)
	window := time.Duration(r.Campaign.AttributionDays) * 24 * time.Hour
	within, after := 0, 0
	for _, tg := range allTargets(t, m, seed.CampaignWedding) {
		for _, at := range f.openings[tg.CustomerID] {
			if at.After(tg.JoinedAt.Add(window)) {
				after++
			} else if !at.Before(tg.JoinedAt) {
				within++
			}
		}
	}
	if within == 0 || after == 0 || r.Funnel.Opened == 0 {
		t.Errorf("openings of the wedding loan: %d within the window, %d after it, %d attributed", within, after, r.Funnel.Opened)
	}
}

// checkTiersAndWorklists: tier moves in the month after the history's,
// a VIP at risk on a private banker's worklist, a campaign on a rep's.
func checkTiersAndWorklists(t *testing.T, m *projections.Memory, now time.Time) {
	t.Helper()
	ctx := context.Background()
	months := m.Tiers.Report()
	moved := 0
	for _, mo := range months {
		if mo.Month > "2026-11" {
			moved += mo.Moved
		}
	}
	if len(months) < 2 || moved == 0 {
		t.Errorf("tier migration: %d months, %d moves after November", len(months), moved)
	}
	staff, err := m.StaffList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	atRisk, wedding := 0, 0
	example := ""
	for _, st := range staff {
		items, err := m.Worklist(ctx, st.ID, now, projections.WorklistOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			details := strings.Join(it.Details, "; ")
			if st.Role == "private_banker" && slices.Contains(it.Reasons, projections.ReasonVIPAtRisk) && strings.Contains(details, "balance -") {
				atRisk++
				example = details
			}
			if st.Role == "rep" && slices.Contains(it.Reasons, projections.ReasonCampaign) && strings.Contains(details, "campaign: 결혼 시즌 대출") {
				wedding++
			}
		}
	}
	if atRisk == 0 || wedding == 0 {
		t.Errorf("worklists: %d VIPs at risk, %d customers for the wedding campaign", atRisk, wedding)
	}
	t.Logf("tier moves after November: %d; %d VIPs at risk (%q), %d on reps' worklists for the wedding campaign", moved, atRisk, example, wedding)
}
