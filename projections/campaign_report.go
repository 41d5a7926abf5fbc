package projections

import (
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// Report returns campaign id's outcome at now, or false. It reads the
// campaign's tally, kept as its targets change: its cost does not grow
// with the list.
func (cm *Campaigns) Report(id string, now time.Time) (CampaignReport, bool) {
	k := cm.byID[id]
	if k == nil {
		return CampaignReport{}, false
	}
	ty := &k.tally
	r := CampaignReport{Campaign: k.view(now), Funnel: ty.funnel[0], HoldOut: ty.funnel[1],
		ByAdvisor: funnelRows(ty.advisor), ByBranch: funnelRows(ty.branch), ByChannel: funnelRows(ty.channel)}
	if k.HoldOutPercent > 0 {
		r.Lift = lift(r.Funnel, r.HoldOut, ty.accepted)
	}
	return r, true
}

// tally is a campaign's report as its targets change: the funnel of each
// group (target, hold-out), the acceptances lift compares (any pitch of
// the product in the window), and the target group's funnels by advisor,
// branch and channel of the latest campaign pitch.
type tally struct {
	funnel                   [2]CampaignFunnel
	accepted                 [2]int
	advisor, branch, channel map[string]*CampaignFunnel
}

// count adds t, c's entry, to the tally n times (1: in, -1: out again),
// under t.advisor.
func (ty *tally) count(t *target, c *customer, n int) {
	g := b2i(t.holdOut)
	ty.funnel[g].add(t, n)
	if t.acceptedAt != 0 {
		ty.accepted[g] += n
	}
	if t.holdOut {
		return
	}
	if ty.advisor == nil {
		ty.advisor, ty.branch, ty.channel = map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}
	}
	funnelOf(ty.advisor, t.advisor, t, n)
	funnelOf(ty.branch, c.branchID, t, n)
	funnelOf(ty.channel, enumName(events.Channels, t.pitchChannel), t, n)
}

// add adds o's counts to ty's.
func (ty *tally) add(o *tally) {
	for g := range ty.funnel {
		ty.funnel[g].plus(&o.funnel[g])
		ty.accepted[g] += o.accepted[g]
	}
	if o.advisor == nil {
		return
	}
	if ty.advisor == nil {
		ty.advisor, ty.branch, ty.channel = map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}, map[string]*CampaignFunnel{}
	}
	for _, m := range [][2]map[string]*CampaignFunnel{{ty.advisor, o.advisor}, {ty.branch, o.branch}, {ty.channel, o.channel}} {
		for key, f := range m[1] {
			if m[0][key] == nil {
				m[0][key] = &CampaignFunnel{}
			}
			m[0][key].plus(f)
		}
	}
}

// plus adds o's counts to f's.
func (f *CampaignFunnel) plus(o *CampaignFunnel) {
	f.Targets, f.Removed, f.Contacted = f.Targets+o.Targets, f.Removed+o.Removed, f.Contacted+o.Contacted
	f.Pitched, f.Accepted, f.Declined = f.Pitched+o.Pitched, f.Accepted+o.Accepted, f.Declined+o.Declined
	f.Considering, f.Unreachable, f.Opened = f.Considering+o.Considering, f.Unreachable+o.Unreachable, f.Opened+o.Opened
}

// add counts t in f n times.
func (f *CampaignFunnel) add(t *target, n int) {
	f.Targets += n
	if t.removedAt != 0 {
		f.Removed += n
	}
	if t.contactedAt != 0 || t.pitchedAt != 0 {
		f.Contacted += n
	}
	if t.pitchedAt != 0 {
		f.Pitched += n
		switch enumName(events.PitchOutcomes, t.outcome) {
		case "accepted":
			f.Accepted += n
		case "declined":
			f.Declined += n
		case "considering":
			f.Considering += n
		default:
			f.Unreachable += n
		}
	}
	if t.openedAt != 0 {
		f.Opened += n
	}
}

// funnelOf counts t n times in m's funnel of key, dropping a funnel left
// with no target.
func funnelOf(m map[string]*CampaignFunnel, key string, t *target, n int) {
	f := m[key]
	if f == nil {
		f = &CampaignFunnel{}
		m[key] = f
	}
	f.add(t, n)
	if f.Targets == 0 {
		delete(m, key)
	}
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
		t.Outcome != "accepted" && t.Outcome != "declined" && t.OpenedAt.IsZero() && !t.HoldsProduct
}
