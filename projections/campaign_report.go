package projections

import (
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// Report returns campaign id's outcome at now, or false.
func (cm *Campaigns) Report(id string, now time.Time) (CampaignReport, bool) {
	k := cm.byID[id]
	if k == nil {
		return CampaignReport{}, false
	}
	r := CampaignReport{Campaign: k.view(now)}
	advisors, branches, channels := map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}
	var accepted [2]int // target group, hold-out: accepted a pitch of the product in the window
	for _, t := range k.targets {
		if t.acceptedAt != 0 {
			accepted[b2i(t.holdOut)]++
		}
		if t.holdOut {
			r.HoldOut.add(t)
			continue
		}
		r.Funnel.add(t)
		c := cm.customers.byID[t.id]
		funnelOf(advisors, c.advisorID).add(t)
		funnelOf(branches, c.branchID).add(t)
		funnelOf(channels, enumName(events.Channels, t.pitchChannel)).add(t)
	}
	r.ByAdvisor, r.ByBranch, r.ByChannel = funnelRows(advisors), funnelRows(branches), funnelRows(channels)
	if k.HoldOutPercent > 0 {
		r.Lift = lift(r.Funnel, r.HoldOut, accepted)
	}
	return r, true
}

// add counts t in f.
func (f *CampaignFunnel) add(t *target) {
	f.Targets++
	if t.removedAt != 0 {
		f.Removed++
	}
	if t.contactedAt != 0 || t.pitchedAt != 0 {
		f.Contacted++
	}
	if t.pitchedAt != 0 {
		f.Pitched++
		switch enumName(events.PitchOutcomes, t.outcome) {
		case "accepted":
			f.Accepted++
		case "declined":
			f.Declined++
		case "considering":
			f.Considering++
		default:
			f.Unreachable++
		}
	}
	if t.openedAt != 0 {
		f.Opened++
	}
}

func funnelOf(m map[string]*CampaignFunnel, key string) *CampaignFunnel {
	f := m[key]
	if f == nil {
		f = &CampaignFunnel{}
		m[key] = f
	}
	return f
}

// funnelRows returns m's funnels by key.
func funnelRows(m map[string]*CampaignFunnel) []FunnelRow {
	rows := make([]FunnelRow, 0, len(m))
	for k, f := range m {
		rows = append(rows, FunnelRow{Key: k, CampaignFunnel: *f})
	}
	slices.SortFunc(rows, func(a, b FunnelRow) int { return cmpString(a.Key, b.Key) })
	return rows
}

// lift compares the groups' acceptances (by the targets' AcceptedAt, any
// pitch of the product in the window) and openings. Rates are shares
// (0..1) of each group's targets, 0 for an empty group.
func lift(target, holdOut CampaignFunnel, accepted [2]int) *CampaignLift {
	l := &CampaignLift{Targets: target.Targets, HoldOut: holdOut.Targets,
		TargetAccepted: accepted[0], HoldOutAccepted: accepted[1],
		TargetOpened: target.Opened, HoldOutOpened: holdOut.Opened}
	l.TargetAcceptRate, l.HoldOutAcceptRate = share(l.TargetAccepted, l.Targets), share(l.HoldOutAccepted, l.HoldOut)
	l.TargetOpenRate, l.HoldOutOpenRate = share(l.TargetOpened, l.Targets), share(l.HoldOutOpened, l.HoldOut)
	l.AcceptLift = l.TargetAcceptRate - l.HoldOutAcceptRate
	l.OpenLift = l.TargetOpenRate - l.HoldOutOpenRate
	return l
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// sortWorkItems orders a worklist as Worklist does: more reasons first,
// then by customer id.
func sortWorkItems(items []WorkItem) {
	slices.SortFunc(items, func(a, b WorkItem) int {
		if len(a.Reasons) != len(b.Reasons) {
			return len(b.Reasons) - len(a.Reasons)
		}
		return cmpString(a.CustomerID, b.CustomerID)
	})
}

// ReasonCampaign is the worklist reason of a campaign's target; its detail
// is "campaign: <name>".
const ReasonCampaign = "campaign"

// AddCampaignReasons adds ReasonCampaign (with the detail "campaign:
// <name>") to the items of customers who are active targets in the target
// group of a campaign running at now and not done with it (no campaign
// pitch accepted or declined, the product not opened); campaigns maps the
// targets' campaign ids to the campaigns. Memory's and PostgreSQL's
// worklists both call it, so they answer alike. It then sorts items again
// as Worklist does (more reasons first, then by customer id). A campaign's
// status is computed at now (Campaign.StatusAt), whatever its Status says.
func AddCampaignReasons(items []WorkItem, targets []CampaignTarget, campaigns map[string]Campaign, now time.Time) {
	byCustomer := make(map[string][]CampaignTarget, len(targets))
	for _, t := range targets {
		byCustomer[t.CustomerID] = append(byCustomer[t.CustomerID], t)
	}
	for i := range items {
		it := &items[i]
		for _, t := range byCustomer[it.CustomerID] {
			c, ok := campaigns[t.CampaignID]
			if !ok || !onWorklist(t, &c, now) {
				continue
			}
			it.Reasons = appendOnce(it.Reasons, ReasonCampaign)
			it.Details = append(it.Details, "campaign: "+c.Name)
		}
	}
	sortWorkItems(items)
}

// onWorklist reports whether t is to be called for c at now.
func onWorklist(t CampaignTarget, c *Campaign, now time.Time) bool {
	return t.Group == GroupTarget && t.RemovedAt.IsZero() && c.StatusAt(now) == CampaignRunning &&
		t.Outcome != "accepted" && t.Outcome != "declined" && t.OpenedAt.IsZero()
}
