package seed

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/dangol/dangol/events"
)

// customer generates customer i's stream and, for potential VIPs, the calls
// their rep made with reviews and coaching.
func (g *gen) customer(ctx context.Context, i int) error {
	r := g.rng("customer", i)
	id := fmt.Sprintf("C%07d", i+1)
	end := g.cfg.End
	begin := end.AddDate(0, -g.cfg.Months, 0)
	at := func() time.Time { return begin.Add(time.Duration(r.Int64N(int64(end.Sub(begin))))) }
	var seal func(events.Personal) error
	if g.cfg.Seal != nil {
		seal = g.cfg.Seal(id)
	}
	s := &stream{rng: r}
	core := events.System(coreSystem)

	// Segment and profit: the top 7% hold ≈90% of the profit (a mixture:
	// the top group's mean is ~128 times the rest's), VIPs and potential
	// VIPs come from the top group.
	u := r.Float64()
	top := u < topShare
	tier := "general"
	switch {
	case u < vipShare:
		tier = "vip"
	case u < vipShare+potentialShare:
		tier = "potential_vip"
	}
	profit := int64(math.Exp(r.NormFloat64()*0.8) * 10_000)
	if top {
		profit = int64(math.Exp(r.NormFloat64()*0.8) * 1_280_000)
	}
	deposit := profit*40 + r.Int64N(5_000_000)

	branch := fmt.Sprintf("B%03d", r.IntN(branches)+1)
	var advisor, kind string
	switch tier {
	case "vip":
		advisor, kind = pbID(i%g.st.PrivateBankers), "private_banker"
	case "potential_vip":
		rep := i % g.st.Reps
		advisor, kind = repID(rep), "call_centre_rep"
		branch = fmt.Sprintf("B%03d", (rep*7+r.IntN(6+rep%2))%branches+1)
	}
	reg := begin.AddDate(0, -r.IntN(24)-1, 0)
	s.add(&events.CustomerRegistered{CustomerID: id, Name: koreanName(r),
		BirthDate: fmt.Sprintf("%04d-%02d-%02d", 1940+r.IntN(65), 1+r.IntN(12), 1+r.IntN(28)),
		Phone:     fmt.Sprintf("010-%04d-%04d", r.IntN(10000), r.IntN(10000)),
		Address:   fmt.Sprintf("%s %d", pick(r, cities), 1+r.IntN(300)), BranchID: branch,
		Source: events.Source{System: coreSystem, Ref: fmt.Sprintf("CIF%09d", i+1)}}, reg, core, seal)
	granted := r.IntN(3) > 0
	consent := pick(r, events.ConsentChannels)
	s.add(&events.ConsentChanged{Channel: consent, Purpose: "marketing", Granted: &granted}, reg, core, nil)
	if !granted {
		consent = ""
	}
	actor := events.Actor{ID: advisor, Role: map[string]string{"private_banker": "private_banker", "call_centre_rep": "rep"}[kind]}
	if advisor != "" {
		s.add(&events.AdvisorAssigned{AdvisorID: advisor, Kind: kind, BranchID: branch}, reg, events.System("seed"), nil)
	} else {
		actor = events.Actor{ID: "R000", Role: "rep"}
	}
	// Everything after the registration is appended in the order it was
	// entered, which is the order it happened but for the late entries
	// (see later): financials on their day, the tier the day before end,
	// the interactions at their occurredAt.
	var after entries
	for m := g.cfg.Months - 1; m >= 0; m-- {
		asOf := end.AddDate(0, -m, -1)
		p := int64(float64(profit) * (0.9 + 0.2*r.Float64()))
		d := deposit
		after.add(&events.FinancialsReported{AsOf: asOf.Format(time.DateOnly), DepositBalance: &d, ProfitContribution: &p, Currency: "KRW"}, asOf, core, nil)
	}
	tiered := tier != "general" || r.IntN(4) == 0
	if tiered {
		d, p := deposit, profit
		after.add(&events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: &d, ProfitContribution: &p, Rule: "seed"}},
			end.AddDate(0, 0, -1), events.System("segmentation"), nil)
	}
	if r.IntN(2) == 0 {
		t := at()
		after.add(&events.ProfileVerified{Channel: "branch", OccurredAt: t}, t, actor, nil)
	}
	contacts := r.IntN(3)
	if tier != "general" {
		contacts += 2 + r.IntN(4)
	}
	for range contacts {
		t := at()
		after.add(&events.ContactLogged{Channel: pick(r, events.Channels), Purpose: pick(r, events.ContactPurposes),
			Summary: "상담 기록", OccurredAt: t, DurationSec: 60 + r.IntN(900), StaffID: actor.ID}, t, actor, seal)
	}
	for range r.IntN(3) {
		out := []string{"accepted", "declined", "declined", "declined", "considering", "considering", "unreachable"}[r.IntN(7)]
		if r.IntN(7) == 0 {
			out = "accepted"
		}
		pp := &events.ProductPitched{Product: pick(r, products), Channel: "phone_outbound", Outcome: out}
		t := at()
		pp.OccurredAt = t
		if out == "considering" || out == "unreachable" {
			// The rep calls back on the follow-up day, if it has come.
			days := map[string]int{"considering": 14, "unreachable": 3}[out]
			follow := t.AddDate(0, 0, days)
			pp.FollowUpOn = follow.Format(time.DateOnly)
			if back := follow.Truncate(24 * time.Hour).Add(time.Duration(9+r.IntN(8)) * time.Hour); back.Before(end) && r.IntN(3) > 0 {
				again := &events.ProductPitched{Product: pp.Product, Channel: "phone_outbound", Outcome: pick(r, []string{"accepted", "declined", "declined"}),
					OccurredAt: back}
				after.add(again, back, actor, seal)
			}
		}
		if r.IntN(3) == 0 {
			pp.CampaignID = "CMP2026Q4"
		}
		after.add(pp, t, actor, seal)
	}
	life := ""
	if r.IntN(10) == 0 {
		life = pick(r, events.LifeEventKinds)
		after.add(&events.LifeEventRecorded{Kind: life, ExpectedOn: end.AddDate(0, 1+r.IntN(5), r.IntN(28)).Format(time.DateOnly),
			Note: "자녀 결혼 예정"}, at(), actor, seal)
	}
	if r.IntN(20) == 0 {
		t := at()
		after.add(&events.CustomerRequestNoted{Text: "모바일 앱 개선 요청", Category: pick(r, []string{"mobile", "branch", "fees", "products"}),
			OccurredAt: t}, t, actor, seal)
	}
	// One customer in eight has a contact typed up late, one to thirty
	// days after it happened (never after end): it is appended among what
	// was entered then, and the timeline still shows it where it happened.
	if r.IntN(8) == 0 {
		after.late(r, "ContactLogged", end)
	}
	p := &profile{id: id, branch: branch, advisor: actor, top: top, consent: consent, life: life, deposit: deposit, profit: profit, seal: seal}
	if tiered {
		p.tier = tier
	}
	mr := g.rng("marketing", i)
	g.historyOpenings(mr, p, &after, at)
	after.appendTo(s)
	if err := g.flush(ctx, events.CustomerStream(id), events.NoStream, s); err != nil {
		return err
	}
	p.version = uint64(len(s.evs) - 1)
	g.plan(mr, p)
	g.keep(p)
	if tier == "potential_vip" {
		return g.calls(ctx, i, id, advisor, begin, end)
	}
	return nil
}

// calls makes one recorded call a month for a potential VIP; a fifth of
// them are reviewed on the form version in force, with a coaching point
// at a second of the call that is acknowledged and followed up, and what
// may follow a review (afterReview: the rep's acknowledgement, a dispute,
// a correction).
func (g *gen) calls(ctx context.Context, i int, customer, rep string, begin, end time.Time) error {
	r := g.rng("call", i)
	for m := range g.cfg.Months {
		callID := fmt.Sprintf("K%07d%02d", i+1, m)
		s := &stream{rng: r}
		var es entries
		started := begin.AddDate(0, m, r.IntN(28)).Add(time.Duration(9+r.IntN(8)) * time.Hour)
		dur := 60 + r.IntN(1200)
		repActor := events.Actor{ID: rep, Role: "rep"}
		es.add(&events.CallRecorded{CallID: callID, CustomerID: customer, StaffID: rep, Direction: pick(r, events.CallDirections),
			StartedAt: started, DurationSec: dur, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", uint64(i)*100+uint64(m)),
				ContentType: "audio/wav", Bytes: int64(dur) * 16000}}, started, repActor, nil)
		if r.IntN(5) == 0 {
			sup := events.Actor{ID: fmt.Sprintf("S%02d", (i%g.st.Reps)/10), Role: "supervisor"}
			reviewed := started.AddDate(0, 0, 2)
			es.add(&events.CallSelectedForReview{Reason: "random_sample", SupervisorID: sup.ID}, started.Add(time.Hour), events.System("sampler"), nil)
			point := fmt.Sprintf("PT%s", callID)
			review := g.reviewOf(r, sup.ID, reviewed, dur, point)
			es.add(review, reviewed, sup, nil)
			g.reviewed(callID)
			es.add(&events.CoachingAcknowledged{PointID: point, StaffID: rep}, reviewed.AddDate(0, 0, 1), repActor, nil)
			if due := review.CoachingPoints[0].FollowUpDue; due.Before(end) {
				f := &events.CoachingFollowedUp{PointID: point, CheckerID: "X0", Outcome: "improved"}
				if r.IntN(10) < 4 {
					f.Outcome, f.NextFollowUpDue = "not_improved", events.AddOneMonth(due)
				}
				es.add(f, due, events.Actor{ID: "X0", Role: "centre_head"}, nil)
			}
			g.afterReview(&es, r, callID, dur, reviewed, repActor, sup)
		}
		es.appendTo(s)
		if err := g.flush(ctx, events.CallStream(callID), events.NoStream, s); err != nil {
			return err
		}
	}
	return nil
}

func ptr(v int) *int { return &v }
