package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Target marketing in the generated bank (docs/campaigns.md): after the
// customers' history, three campaigns are launched, and then the
// customers act on them in two rounds — pitches for the targets (some
// accepted, some opened), hold-out members who accept or open on their
// own, consents granted late and withdrawn mid-campaign, life events and
// tier moves that make late joiners, VIPs whose balance falls — an
// amendment of the card campaign between the rounds, and its closure
// after the second. What each customer does is planned with the
// customer's history (plan), from what the generator knows of them, so
// the pitches go to the customers the fold will list.

// The seeded campaigns.
const (
	// CampaignWedding: wedding loans for potential VIPs and VIPs by phone,
	// a tenth held out.
	CampaignWedding = "CMP-WEDDING"
	// CampaignLife: home loans by SMS for customers with a marriage, a
	// move or a child's wedding on record (no hold-out).
	CampaignLife = "CMP-LIFE"
	// CampaignCard: the platinum card by e-mail for general customers of
	// twenty branches with a balance, amended to a higher balance after
	// the first round and closed after the second.
	CampaignCard = "CMP-CARD"
)

// Phases of the generation after the customers' history, in order;
// Config.Phase is told each before it starts.
const (
	PhaseLaunch   = "launch"   // the campaigns are launched
	PhaseActivity = "activity" // the first round
	PhaseAmend    = "amend"    // the card campaign is amended
	PhaseLater    = "later"    // the second round, then the card campaign is closed
)

const (
	weddingProduct  = "LOAN_WEDDING"
	lifeProduct     = "LOAN_HOME"
	cardProduct     = "CARD_PLATINUM"
	weddingHoldOut  = 10
	cardBalance     = 1_000_000 // the card campaign's minimum balance at launch
	cardBalanceThen = 3_000_000 // after the amendment
	cardBranches    = 20        // B001..B020
)

var lifeKinds = []string{"marriage", "relocation", "child_wedding"}

// marketer is the staff member who launches and closes the campaigns.
var marketer = events.Actor{ID: "M00", Role: "marketer"}

// launches are the campaigns as launched, starting on the day of end.
func (g *gen) launches() []*events.CampaignLaunched {
	start := g.cfg.End.Format(time.DateOnly)
	var card []string
	for b := range cardBranches {
		card = append(card, fmt.Sprintf("B%03d", b+1))
	}
	return []*events.CampaignLaunched{
		{CampaignID: CampaignWedding, Name: "결혼 시즌 대출", Product: weddingProduct, Channel: "phone_outbound", StartsOn: start,
			Criteria:       &events.CampaignCriteria{Tiers: []string{"potential_vip", "vip"}, NotHolding: []string{weddingProduct}},
			HoldOutPercent: weddingHoldOut},
		{CampaignID: CampaignLife, Name: "생애 주기 주택 대출", Product: lifeProduct, Channel: "sms", StartsOn: start,
			Criteria: &events.CampaignCriteria{LifeEvents: lifeKinds}, AttributionDays: 14},
		{CampaignID: CampaignCard, Name: "플래티넘 카드", Product: cardProduct, Channel: "email", StartsOn: start,
			Criteria: &events.CampaignCriteria{Tiers: []string{"general"}, MinBalance: ptr64(cardBalance), BranchIDs: card, NoContactDays: 14}},
	}
}

// profile is what the generator knows of a customer after their history.
type profile struct {
	id, tier, branch  string // tier "": none assigned
	advisor           events.Actor
	top               bool   // of the top 7% by profit
	consent           string // the marketing consent channel granted in the history, or ""
	life              string // the kind of the life event in the history, or ""
	deposit, profit   int64
	holdsLifeProduct  bool // opened the home loan in the history
	seal              func(events.Personal) error
	version           uint64 // the stream's last version after the history
	activity, later   []step
	consents          map[string]uint64 // marketing channel granted → version of its ConsentChanged
	steps             uint64            // events planned so far
	inWedding, inCard bool              // a member of the wedding (target group) or card campaign
}

// step is one planned event of a customer.
type step struct {
	d     events.Data
	actor events.Actor
	seal  bool // personal fields to seal
}

// add plans d in round (activity or later) and returns its stream version.
func (p *profile) add(round *[]step, d events.Data, actor events.Actor) uint64 {
	*round = append(*round, step{d: d, actor: actor, seal: isPersonal(d)})
	p.steps++
	return p.version + p.steps
}

func isPersonal(d events.Data) bool { _, ok := d.(events.Personal); return ok }

// grant plans a marketing consent change of channel.
func (p *profile) grant(round *[]step, channel string, granted bool) {
	v := p.add(round, &events.ConsentChanged{Channel: channel, Purpose: "marketing", Granted: &granted}, events.System(coreSystem))
	if granted {
		p.consents[channel] = v
	} else {
		delete(p.consents, channel)
	}
}

// pitch plans a pitch of campaign's product over channel, gated by the
// consent it relies on, with an outcome drawn by r; it returns the outcome.
func (p *profile) pitch(round *[]step, r *rand.Rand, campaign, product, channel, consent string, by events.Actor) string {
	out := pickWeighted(r, []string{"accepted", "declined", "considering", "unreachable"}, []int{25, 35, 25, 15})
	p.add(round, &events.ProductPitched{Product: product, Channel: channel, Outcome: out, CampaignID: campaign, Purpose: "marketing",
		ConsentChannel: consent, ConsentVersion: p.consents[consent]}, by)
	return out
}

// open plans an account of product opened.
func (p *profile) open(round *[]step, product string) {
	p.add(round, &events.ProductHoldingChanged{Product: product, AccountRef: fmt.Sprintf("%s-%s-%d", product, p.id, p.steps),
		Change: "opened"}, events.System(coreSystem))
}

// historyOpenings adds to a customer's history the home loans opened
// before any campaign: a customer who then joins the life campaign opened
// it before joining, outside the attribution window.
func (g *gen) historyOpenings(r *rand.Rand, p *profile, after *entries, at func() time.Time) {
	if p.consent == "sms" && r.IntN(10) == 0 {
		p.holdsLifeProduct = true
		after.add(&events.ProductHoldingChanged{Product: lifeProduct, AccountRef: "HIST-" + p.id, Change: "opened"}, at(),
			events.System(coreSystem), nil)
	}
}

// plan decides what the customer does in the two rounds, drawing from r.
func (g *gen) plan(r *rand.Rand, p *profile) {
	p.consents = map[string]uint64{}
	if p.consent != "" {
		p.consents[p.consent] = 1 // the history's ConsentChanged follows the registration
	}
	g.planWedding(r, p)
	g.planLife(r, p)
	g.planCard(r, p)
	g.planTiers(r, p)
}

// weddingTier reports whether tier is one the wedding campaign targets.
func weddingTier(tier string) bool { return tier == "potential_vip" || tier == "vip" }

func (g *gen) planWedding(r *rand.Rand, p *profile) {
	a, l := &p.activity, &p.later
	held := events.InHoldOut(CampaignWedding, p.id, weddingHoldOut)
	switch {
	case weddingTier(p.tier) && p.consents["phone"] > 0 && held:
		// Hold-out: a few ask for the loan themselves, a few open it.
		if r.IntN(100) < 6 {
			p.add(a, &events.ProductPitched{Product: weddingProduct, Channel: "branch", Outcome: "accepted", Purpose: "service"}, p.advisor)
			if r.IntN(2) == 0 {
				p.open(a, weddingProduct)
			}
		} else if r.IntN(100) < 2 {
			p.open(a, weddingProduct)
		}
	case weddingTier(p.tier) && p.consents["phone"] > 0:
		p.inWedding = true
		g.weddingRound(r, p)
		switch n := r.IntN(100); {
		case n < 8: // withdraws the only consent: do-not-contact
			p.grant(a, "phone", false)
			if r.IntN(10) < 4 {
				p.grant(l, "phone", true) // and grants it again: rejoins
			}
		case n < 12: // prefers e-mail now
			p.grant(a, "email", true)
			p.grant(a, "phone", false)
		}
	case weddingTier(p.tier) && !held && r.IntN(100) < 15:
		// Grants phone consent during the campaign: a late joiner.
		p.grant(a, "phone", true)
		p.inWedding = true
		g.weddingRound(r, p)
	case p.tier == "general" && p.top && p.consents["phone"] > 0 && !held && r.IntN(100) < 10:
		// Promoted during the campaign: joins by the tier.
		d, pr := p.deposit, p.profit
		p.add(a, &events.TierAssigned{Tier: "potential_vip", Basis: events.TierBasis{DepositBalance: &d, ProfitContribution: &pr,
			Rule: "seed promotion"}}, events.System("segmentation"))
		p.tier = "potential_vip"
		p.inWedding = true
		g.weddingRound(r, p)
	}
}

// weddingRound is a target's pitch and what follows it: of the accepted,
// most open the loan within the window, some only in the second round
// (after the window when the rounds are far enough apart).
func (g *gen) weddingRound(r *rand.Rand, p *profile) {
	a, l := &p.activity, &p.later
	if r.IntN(100) >= 75 {
		return // not called yet: on the worklist
	}
	if p.pitch(a, r, CampaignWedding, weddingProduct, "phone_outbound", "phone", p.advisor) != "accepted" {
		return
	}
	switch n := r.IntN(100); {
	case n < 60:
		p.open(a, weddingProduct)
	case n < 85:
		p.open(l, weddingProduct)
	}
}

func (g *gen) planLife(r *rand.Rand, p *profile) {
	a := &p.activity
	if p.consents["sms"] == 0 {
		return
	}
	mailer := events.System("sms-sender")
	if !slices.Contains(lifeKinds, p.life) {
		if r.IntN(100) >= 4 {
			return
		}
		// A life event recorded during the campaign: a late joiner.
		p.add(a, &events.LifeEventRecorded{Kind: pick(r, lifeKinds), ExpectedOn: g.cfg.End.AddDate(0, 2+r.IntN(6), r.IntN(28)).Format(time.DateOnly),
			Note: "상담 중 확인"}, p.advisor)
	}
	if r.IntN(100) < 40 && p.pitch(a, r, CampaignLife, lifeProduct, "sms", "sms", mailer) == "accepted" && r.IntN(2) == 0 {
		p.open(a, lifeProduct)
	}
}

func (g *gen) planCard(r *rand.Rand, p *profile) {
	a := &p.activity
	b, _ := strconv.Atoi(p.branch[1:])
	if p.tier != "general" || p.consents["email"] == 0 || p.deposit < cardBalance || b > cardBranches {
		return
	}
	p.inCard = true
	if r.IntN(2) == 0 && p.pitch(a, r, CampaignCard, cardProduct, "email", "email", events.System("mailer")) == "accepted" && r.IntN(2) == 0 {
		p.open(a, cardProduct)
	}
}

// planTiers moves some potential VIPs up and some VIPs down in the first
// round, and gives the VIPs the next month's financials, with the balance
// of one in seven fallen by a quarter to a half (at risk).
func (g *gen) planTiers(r *rand.Rand, p *profile) {
	a := &p.activity
	seg := events.System("segmentation")
	move := func(tier string) {
		d, pr := p.deposit, p.profit
		p.add(a, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: &d, ProfitContribution: &pr, Rule: "seed review"}}, seg)
		p.tier = tier
	}
	switch {
	case p.tier == "potential_vip" && r.IntN(100) < 5:
		move("vip")
	case p.tier == "vip" && r.IntN(100) < 3:
		move("potential_vip")
	case p.tier == "vip":
		d, pr := p.deposit, p.profit
		if r.IntN(7) == 0 {
			d = d * int64(50+r.IntN(26)) / 100
		}
		asOf := g.cfg.End.AddDate(0, 2, -1) // the month after the history's last
		p.add(a, &events.FinancialsReported{AsOf: asOf.Format(time.DateOnly), DepositBalance: &d, ProfitContribution: &pr, Currency: "KRW"},
			events.System(coreSystem))
	}
}

// marketing runs the phases after the history: the launches, the first
// round, the amendment, the second round and the closure.
func (g *gen) marketing(ctx context.Context) error {
	phase := func(name string) error {
		if err := g.drain(ctx); err != nil {
			return err
		}
		if g.cfg.Phase != nil {
			g.cfg.Phase(name)
		}
		return nil
	}
	if err := phase(PhaseLaunch); err != nil {
		return err
	}
	for i, d := range g.launches() {
		s := &stream{rng: g.rng("launch", i)}
		s.add(d, g.cfg.End, marketer, nil)
		if err := g.flush(ctx, events.CampaignStream(d.CampaignID), events.NoStream, s); err != nil {
			return err
		}
	}
	if err := phase(PhaseActivity); err != nil {
		return err
	}
	if err := g.round(ctx, 0); err != nil {
		return err
	}
	if err := phase(PhaseAmend); err != nil {
		return err
	}
	launched := g.launches()[2]
	cr := *launched.Criteria
	cr.MinBalance = ptr64(cardBalanceThen)
	amended := &events.CampaignAmended{Name: "플래티넘 카드 (잔액 300만 원 이상)", Criteria: &cr, Reason: "예산 조정"}
	if err := g.campaignEvent(ctx, CampaignCard, 1, amended, events.Actor{ID: "X0", Role: "centre_head"}); err != nil {
		return err
	}
	if err := phase(PhaseLater); err != nil {
		return err
	}
	if err := g.round(ctx, 1); err != nil {
		return err
	}
	return g.campaignEvent(ctx, CampaignCard, 2, &events.CampaignClosed{Reason: "예산 소진"}, marketer)
}

// campaignEvent appends d as version v of campaign's stream.
func (g *gen) campaignEvent(ctx context.Context, campaign string, v uint64, d events.Data, by events.Actor) error {
	s := &stream{rng: g.rng("campaign-event", int(v))}
	s.add(d, g.cfg.End.AddDate(0, 0, int(v)), by, nil)
	return g.flush(ctx, events.CampaignStream(campaign), events.Exact(v-1), s)
}

// round appends every customer's planned events of round n (0: activity,
// 1: later), each customer's in one append after what they have.
func (g *gen) round(ctx context.Context, n int) error {
	entered := g.cfg.End.AddDate(0, 0, 1+40*n)
	return g.parallel(ctx, len(g.profiles), func(i int) error {
		p := g.profiles[i]
		steps := [][]step{p.activity, p.later}[n]
		if len(steps) == 0 {
			return nil
		}
		s := &stream{rng: g.rng("round", i*2+n)}
		for k, st := range steps {
			var seal func(events.Personal) error
			if st.seal {
				seal = p.seal
			}
			s.add(st.d, entered.Add(time.Duration(k)*time.Millisecond), st.actor, seal)
		}
		expected := p.version
		if n == 1 {
			expected += uint64(len(p.activity))
		}
		return g.flush(ctx, events.CustomerStream(p.id), events.Exact(expected), s)
	})
}

// keep notes p for the rounds if it plans anything.
func (g *gen) keep(p *profile) {
	if len(p.activity)+len(p.later) == 0 {
		return
	}
	g.mu.Lock()
	g.profiles = append(g.profiles, p)
	g.mu.Unlock()
}

// sortProfiles orders the kept profiles by customer id, so that the rounds
// are appended in an order that does not depend on the workers.
func (g *gen) sortProfiles() {
	slices.SortFunc(g.profiles, func(a, b *profile) int { return strings.Compare(a.id, b.id) })
}

func pickWeighted(r *rand.Rand, xs []string, weights []int) string {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return xs[i]
		}
		n -= w
	}
	return xs[len(xs)-1]
}

func ptr64(v int64) *int64 { return &v }
