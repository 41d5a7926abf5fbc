package projections

import (
	"slices"
	"sort"
	"time"

	"github.com/dangol/dangol/events"
)

// StatusAt returns the campaign's status at now: closed once closed,
// scheduled before the start of startsOn (KST), ended from the end of
// endsOn (KST), running in between. Read stores that keep a Campaign
// computed earlier call it for the status at the query's now.
func (c *Campaign) StatusAt(now time.Time) string {
	if !c.ClosedAt.IsZero() {
		return CampaignIsClosed
	}
	t := now.UnixNano()
	if s, ok := kstDayStart(c.StartsOn); ok && t < s {
		return CampaignScheduled
	}
	if e, ok := kstDayStart(c.EndsOn); ok && t >= time.Unix(0, e).In(reportZone).AddDate(0, 0, 1).UnixNano() {
		return CampaignEnded
	}
	return CampaignRunning
}

// view returns k as a Campaign at now, sharing nothing with the fold.
func (k *campaign) view(now time.Time) Campaign {
	c := k.Campaign
	c.Criteria = cloneCriteria(c.Criteria)
	c.Status = c.StatusAt(now)
	return c
}

func cloneCriteria(cr events.CampaignCriteria) events.CampaignCriteria {
	cr.Tiers, cr.LifeEvents = slices.Clone(cr.Tiers), slices.Clone(cr.LifeEvents)
	cr.NotHolding, cr.BranchIDs = slices.Clone(cr.NotHolding), slices.Clone(cr.BranchIDs)
	if cr.MinBalance != nil {
		v := *cr.MinBalance
		cr.MinBalance = &v
	}
	return cr
}

// Campaign returns campaign id with its status at now, or false.
func (cm *Campaigns) Campaign(id string, now time.Time) (Campaign, bool) {
	k := cm.byID[id]
	if k == nil {
		return Campaign{}, false
	}
	return k.view(now), true
}

// List returns the campaigns matching f at now, newest launched first
// (then by id).
func (cm *Campaigns) List(f CampaignFilter, now time.Time) []Campaign {
	out := []Campaign{}
	for _, k := range cm.byID {
		if c := k.view(now); f.Status == "" || c.Status == f.Status {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Campaign) int {
		if c := b.LaunchedAt.Compare(a.LaunchedAt); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	})
	return out
}

// Targets returns campaign id's targets matching f by customer id, and the
// cursor of the next page ("" at the end); false if no such campaign.
func (cm *Campaigns) Targets(id string, f TargetFilter) ([]CampaignTarget, string, bool) {
	k := cm.byID[id]
	if k == nil {
		return []CampaignTarget{}, "", false
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	cm.sortMu.Lock()
	ids := k.sortedIDs()
	cm.sortMu.Unlock()
	out := []CampaignTarget{}
	i := sort.SearchStrings(ids, f.After)
	if i < len(ids) && ids[i] == f.After {
		i++
	}
	for ; i < len(ids); i++ {
		t := k.targets[cm.customers.byID[ids[i]]]
		if !cm.selected(t, f) {
			continue
		}
		if len(out) == limit {
			return out, out[len(out)-1].CustomerID, true
		}
		out = append(out, cm.targetView(k, t))
	}
	return out, "", true
}

// selected reports whether t passes f's group, status and advisor.
func (cm *Campaigns) selected(t *target, f TargetFilter) bool {
	switch {
	case f.Group == GroupTarget && t.holdOut, f.Group == GroupHoldOut && !t.holdOut:
		return false
	case f.Status == "active" && t.removedAt != 0, f.Status == "removed" && t.removedAt == 0:
		return false
	}
	return f.Advisor == "" || cm.customers.byID[t.id].advisorID == f.Advisor
}

// Target returns customer's entry on campaign id's list (removed ones
// included), or false if they never joined it.
func (cm *Campaigns) Target(id, customer string) (CampaignTarget, bool) {
	k := cm.byID[id]
	if k == nil {
		return CampaignTarget{}, false
	}
	t := k.targets[cm.customers.byID[customer]]
	if t == nil {
		return CampaignTarget{}, false
	}
	return cm.targetView(k, t), true
}

// CustomerTargets returns the active targets (not removed) of the given
// customers in every campaign, by campaign id then customer id: what the
// worklist's campaign reason is decided by.
func (cm *Campaigns) CustomerTargets(customerIDs []string) []CampaignTarget {
	out := []CampaignTarget{}
	ids := slices.Compact(slices.Sorted(slices.Values(customerIDs)))
	for _, k := range cm.sortedCampaigns() {
		for _, id := range ids {
			if t := k.targets[cm.customers.byID[id]]; t != nil && t.removedAt == 0 {
				out = append(out, cm.targetView(k, t))
			}
		}
	}
	return out
}

// sortedCampaigns returns the campaigns by id.
func (cm *Campaigns) sortedCampaigns() []*campaign {
	ks := make([]*campaign, 0, len(cm.byID))
	for _, k := range cm.byID {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b *campaign) int { return cmpString(a.ID, b.ID) })
	return ks
}

// targetView returns t as a CampaignTarget, with the customer's current
// advisor and branch.
func (cm *Campaigns) targetView(k *campaign, t *target) CampaignTarget {
	v := CampaignTarget{CampaignID: k.ID, CustomerID: t.id, Group: GroupTarget, Reason: enumName(joinReasons, t.reason),
		JoinedAt: nsTime(t.joinedAt), RemovedAt: nsTime(t.removedAt), RemovedReason: enumName(removeReasons, t.removedReason),
		ContactedAt: nsTime(t.contactedAt), PitchedAt: nsTime(t.pitchedAt), Outcome: enumName(events.PitchOutcomes, t.outcome),
		PitchChannel: enumName(events.Channels, t.pitchChannel), AcceptedAt: nsTime(t.acceptedAt), OpenedAt: nsTime(t.openedAt)}
	if t.holdOut {
		v.Group = GroupHoldOut
	}
	if c := cm.customers.byID[t.id]; c != nil {
		v.AdvisorID, v.BranchID = c.advisorID, c.branchID
		v.HoldsProduct = c.holds(k.Product)
	}
	v.Matched = t.facts.matched(t.cr, v.BranchID)
	return v
}

func nsTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Preview returns what d's criteria, channel and hold-out would select
// among the customers as they stand, judged at now. A million customers
// are judged in parallel, as at launch.
func (cm *Campaigns) Preview(d *events.CampaignLaunched, now time.Time) CampaignPreview {
	all := cm.customers.all()
	parts := make([]CampaignPreview, partsFor(len(all)))
	inParts(len(all), len(parts), func(w, lo, hi int) {
		parts[w] = preview(d, all[lo:hi], now.UnixNano())
	})
	p := CampaignPreview{ByTier: map[string]int{}}
	for _, q := range parts {
		p.Matching, p.DoNotContact, p.NoConsent = p.Matching+q.Matching, p.DoNotContact+q.DoNotContact, p.NoConsent+q.NoConsent
		p.Targets, p.HoldOut = p.Targets+q.Targets, p.HoldOut+q.HoldOut
		for tier, n := range q.ByTier {
			p.ByTier[tier] += n
		}
	}
	return p
}

// preview counts what d would select among cs at t (ns).
func preview(d *events.CampaignLaunched, cs []*customer, t int64) CampaignPreview {
	var byTier [4]int // by enumCode(events.Tiers, …): a map would hash a million tiers
	m := newMatcher(d.Criteria, d.Channel)
	var p CampaignPreview
	for _, c := range cs {
		if _, ok := m.fits(c, t); !ok {
			continue
		}
		p.Matching++
		switch m.consent(c) {
		case consentDNC:
			p.DoNotContact++
			continue
		case consentMissing:
			p.NoConsent++
			continue
		}
		if events.InHoldOut(d.CampaignID, c.id, d.HoldOutPercent) {
			p.HoldOut++
		} else {
			p.Targets++
		}
		byTier[enumCode(events.Tiers, c.tier)]++
	}
	p.ByTier = map[string]int{}
	for code, n := range byTier {
		if n > 0 {
			p.ByTier[enumName(events.Tiers, uint8(code))] += n
		}
	}
	return p
}
