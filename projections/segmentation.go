package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// TierRule assigns tiers from the latest financials by balance and profit
// thresholds (in the smallest currency unit): a customer at or above either
// VIP threshold is vip, at or above either potential-VIP threshold is
// potential_vip, otherwise general. The default mirrors the case: VIPs hold
// 100M KRW or bring 2M KRW of profit a month.
type TierRule struct {
	Name                  string
	VIPDeposit, VIPProfit int64
	PotentialDeposit      int64
	PotentialProfit       int64
}

// DefaultTierRule is the rule `dangol serve` uses unless configured.
func DefaultTierRule() TierRule {
	return TierRule{Name: "thresholds-v1", VIPDeposit: 100_000_000, VIPProfit: 2_000_000,
		PotentialDeposit: 30_000_000, PotentialProfit: 300_000}
}

// Tier returns the tier for the figures.
func (r TierRule) Tier(deposit, profit int64) string {
	switch {
	case deposit >= r.VIPDeposit || profit >= r.VIPProfit:
		return "vip"
	case deposit >= r.PotentialDeposit || profit >= r.PotentialProfit:
		return "potential_vip"
	}
	return "general"
}

// Segmenter is the segmentation reactor: on each FinancialsReported it
// computes the customer's tier by its rule and appends TierAssigned only
// when the tier changes.
type Segmenter struct {
	rule    TierRule
	store   Appender
	tier    map[string]string // customer → tier in the log
	pending map[string]tierDecision
	sent    map[string]ulid.ULID // customer → id of the decision appended, until seen
}

type tierDecision struct {
	tier            string
	deposit, profit int64
	cause           ulid.ULID
	at              time.Time
}

// NewSegmenter returns a segmentation reactor appending through store.
func NewSegmenter(rule TierRule, store Appender) *Segmenter {
	return &Segmenter{rule: rule, store: store, tier: map[string]string{}, pending: map[string]tierDecision{}, sent: map[string]ulid.ULID{}}
}

// Name returns "segmentation".
func (*Segmenter) Name() string { return "segmentation" }

// Apply folds financials and tier assignments.
func (s *Segmenter) Apply(e Event) {
	cat, id := events.StreamID(e.Stream)
	if cat != events.CategoryCustomer {
		return
	}
	id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
	switch d := e.Data.(type) {
	case *events.FinancialsReported:
		dep, prof := deref(d.DepositBalance), deref(d.ProfitContribution)
		t := s.rule.Tier(dep, prof)
		if t == s.tier[id] {
			delete(s.pending, id)
			return
		}
		s.pending[id] = tierDecision{tier: t, deposit: dep, profit: prof, cause: e.ID, at: e.RecordedAt}
	case *events.TierAssigned:
		s.tier[id] = d.Tier
		if p, ok := s.pending[id]; ok && p.tier == d.Tier {
			delete(s.pending, id)
		}
		delete(s.sent, id)
	}
}

// Flush appends TierAssigned for every pending change.
func (s *Segmenter) Flush(ctx context.Context) error {
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := s.pending[id]
		evID := DerivedID("segmentation", p.cause, p.at)
		if s.sent[id] == evID {
			continue
		}
		dep, prof := p.deposit, p.profit
		ev, err := events.NewEvent(&events.TierAssigned{Tier: p.tier,
			Basis: events.TierBasis{DepositBalance: &dep, ProfitContribution: &prof, Rule: s.rule.Name}},
			events.Meta{ID: evID, Actor: events.System("segmentation"), CausationID: p.cause.String()})
		if err != nil {
			return err
		}
		if _, err := s.store.Append(ctx, events.CustomerStream(id), events.StreamExists, ev); err != nil {
			return fmt.Errorf("segmentation: %s: %w", id, err)
		}
		s.sent[id] = evID
	}
	return nil
}
