package projections

import (
	"context"
	"maps"
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

// Segmenter is the segmentation reactor: it keeps every customer's tier in
// the log equal to its rule applied to the customer's latest
// FinancialsReported, deciding a TierAssigned only when they differ.
//
// A customer has at most one TierAssigned handed out at a time. New
// financials that arrive meanwhile replace the customer's pending decision;
// when the handed-out assignment comes back through the log the tier is
// compared again, so the log ends with the latest financials' tier however
// the appends and the financials interleave, and a replay of that log
// leaves nothing to decide. A customer merged into another
// (CustomerMergedInto) is decided no more: the survivor's tier is theirs.
//
// A decision expects the customer's stream at the version it was decided
// against (Decision.Expected): the segmenter keeps that version beside the
// pending decision, moving it on with every event of the stream. Any event
// that lands on the stream after a decision was handed out makes that
// append conflict, so a decision handed out before a merge never lands
// after it; when the segmenter folds such an event it forgets the handed
// decision and, unless the customer was merged, decides again against the
// new version (new financials replace the pending tier first). Like every
// Reactor it is driven from one goroutine: Apply, Due and Flush are not
// safe for concurrent use.
type Segmenter struct {
	rule    TierRule
	store   Appender                // for Flush only
	tier    map[string]string       // customer → tier in the log
	pending map[string]tierDecision // customer → latest financials' tier, while it differs from the log's or one is handed out
	handed  map[string]handedTier   // customer → the TierAssigned handed out, until it is in the log or overtaken
	merged  map[string]struct{}     // customers merged into another: their survivor's tier is theirs, none is decided
	due     dueQueue                // customers for Due to look at
}

type tierDecision struct {
	tier            string
	deposit, profit int64
	cause           ulid.ULID
	at              time.Time
	version         uint64 // the stream's last version folded: what the decision expects
}

// handedTier is a TierAssigned handed out: its id, and the stream version
// its append expects.
type handedTier struct {
	id      ulid.ULID
	version uint64
}

// NewSegmenter returns a segmentation reactor; Flush appends through store
// (a Runner appends through its own RunnerOptions.Appender instead).
func NewSegmenter(rule TierRule, store Appender) *Segmenter {
	return &Segmenter{rule: rule, store: store, tier: map[string]string{}, pending: map[string]tierDecision{}, handed: map[string]handedTier{},
		merged: map[string]struct{}{}}
}

// Name returns "segmentation".
func (*Segmenter) Name() string { return "segmentation" }

// Apply folds financials, tier assignments and merges (a customer merged
// into another is decided no more).
func (s *Segmenter) Apply(e Event) {
	cat, id := e.StreamID()
	if cat != events.CategoryCustomer {
		return
	}
	if p, ok := s.pending[id]; ok && p.version < e.Version {
		p.version = e.Version
		s.pending[strings.Clone(id)] = p // e.Stream shares a read buffer that must not be retained
	}
	if h, ok := s.handed[id]; ok && h.id != e.ID && h.version < e.Version {
		// Overtaken: its append expects h.version, so it conflicts (or
		// did); decide again against this version, if still pending.
		delete(s.handed, id)
		if _, ok := s.pending[id]; ok {
			s.due.push(strings.Clone(id))
		}
	}
	switch d := e.Data.(type) {
	case *events.CustomerMergedInto:
		// A decision pending at the merge is dropped (docs/merge.md): the
		// merged customer's tier is the survivor's. One already handed
		// out expects a version before the merge: its append conflicts,
		// and the overtaken decision was forgotten above.
		id = strings.Clone(id)
		s.merged[id] = struct{}{}
		delete(s.pending, id)
	case *events.FinancialsReported:
		if _, ok := s.merged[id]; ok {
			return
		}
		id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
		dep, prof := deref(d.DepositBalance), deref(d.ProfitContribution)
		t := s.rule.Tier(dep, prof)
		_, busy := s.handed[id]
		_, decided := s.pending[id]
		if t == s.tier[id] && !busy && !decided {
			return
		}
		// Even when t is the log's tier, an earlier decision still pending
		// is replaced rather than dropped: a replay does not know it was
		// handed out, and if its assignment follows in the log, the
		// customer must be brought back to t (Due drops it otherwise).
		s.pending[id] = tierDecision{tier: t, deposit: dep, profit: prof, cause: e.ID, at: e.RecordedAt, version: e.Version}
		s.due.push(id)
	case *events.TierAssigned:
		id = strings.Clone(id)
		s.tier[id] = d.Tier
		if h, ok := s.handed[id]; ok && h.id == e.ID {
			delete(s.handed, id)
		}
		if p, ok := s.pending[id]; ok {
			if _, busy := s.handed[id]; !busy {
				if p.tier == d.Tier {
					delete(s.pending, id)
				} else {
					s.due.push(id) // financials that came while it was handed out differ
				}
			}
		}
	}
}

// Due hands out up to max TierAssigned decisions (see Reactor).
func (s *Segmenter) Due(max int) []Decision {
	if !s.due.started {
		s.due.start(slices.Collect(maps.Keys(s.pending)))
	}
	var out []Decision
	for len(out) < max {
		id, ok := s.due.pop()
		if !ok {
			break
		}
		p, ok := s.pending[id]
		if !ok {
			continue
		}
		if _, busy := s.handed[id]; busy {
			continue // looked at again when it comes back
		}
		if p.tier == s.tier[id] {
			delete(s.pending, id)
			continue
		}
		evID := DerivedID("segmentation", p.cause, p.at)
		s.handed[id] = handedTier{id: evID, version: p.version}
		dep, prof := p.deposit, p.profit
		out = append(out, Decision{Stream: events.CustomerStream(id),
			Data:     &events.TierAssigned{Tier: p.tier, Basis: events.TierBasis{DepositBalance: &dep, ProfitContribution: &prof, Rule: s.rule.Name}},
			Meta:     events.Meta{ID: evID, Actor: events.System("segmentation"), CausationID: p.cause.String()},
			Expected: events.Exact(p.version)})
	}
	return out
}

// Flush appends every decision due through the segmenter's store (see the
// package's Flush); for callers that drive it by hand.
func (s *Segmenter) Flush(ctx context.Context) error { return Flush(ctx, s.store, s) }
