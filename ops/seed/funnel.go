package seed

import (
	"fmt"
	"math"

	"github.com/dangol/dangol/projections"
)

// FunnelProblems returns how a campaign report's numbers fail to add up
// (docs/campaigns.md, "The funnel" and "Lift"), none if they do: each
// stage within the one before, the outcomes summing to the pitched, every
// breakdown (advisor, branch, channel) summing to the funnel, and the lift
// made of the two funnels. The seeded bank's tests check its campaigns
// with it, through Memory and over the API.
func FunnelProblems(r projections.CampaignReport) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, g := range []struct {
		name string
		f    projections.CampaignFunnel
	}{{"target group", r.Funnel}, {"hold-out", r.HoldOut}} {
		f := g.f
		if f.Removed > f.Targets || f.Contacted > f.Targets || f.Pitched > f.Contacted || f.Opened > f.Targets {
			add("%s: stages out of order: %+v", g.name, f)
		}
		if sum := f.Accepted + f.Declined + f.Considering + f.Unreachable; sum != f.Pitched {
			add("%s: outcomes add up to %d, pitched %d", g.name, sum, f.Pitched)
		}
	}
	for _, b := range []struct {
		name string
		rows []projections.FunnelRow
	}{{"advisor", r.ByAdvisor}, {"branch", r.ByBranch}, {"channel", r.ByChannel}} {
		var sum projections.CampaignFunnel
		for _, row := range b.rows {
			sum = addFunnels(sum, row.CampaignFunnel)
		}
		if sum != r.Funnel {
			add("by %s: rows add up to %+v, the funnel is %+v", b.name, sum, r.Funnel)
		}
	}
	if r.Campaign.HoldOutPercent == 0 {
		if r.Lift != nil {
			add("a lift without a hold-out: %+v", *r.Lift)
		}
		return out
	}
	l := r.Lift
	if l == nil {
		return append(out, "no lift with a hold-out")
	}
	if l.Targets != r.Funnel.Targets || l.HoldOut != r.HoldOut.Targets || l.TargetOpened != r.Funnel.Opened || l.HoldOutOpened != r.HoldOut.Opened {
		add("lift %+v is not of the funnels %+v and %+v", *l, r.Funnel, r.HoldOut)
	}
	for _, c := range []struct {
		name       string
		got, n, of float64
	}{
		{"targetAcceptRate", l.TargetAcceptRate, float64(l.TargetAccepted), float64(l.Targets)},
		{"holdOutAcceptRate", l.HoldOutAcceptRate, float64(l.HoldOutAccepted), float64(l.HoldOut)},
		{"targetOpenRate", l.TargetOpenRate, float64(l.TargetOpened), float64(l.Targets)},
		{"holdOutOpenRate", l.HoldOutOpenRate, float64(l.HoldOutOpened), float64(l.HoldOut)},
		{"acceptLift", l.AcceptLift, l.TargetAcceptRate - l.HoldOutAcceptRate, 1},
		{"openLift", l.OpenLift, l.TargetOpenRate - l.HoldOutOpenRate, 1},
	} {
		want := 0.0
		if c.of > 0 {
			want = c.n / c.of
		}
		if math.Abs(c.got-want) > 0.0001 {
			add("%s %v, want %v", c.name, c.got, want)
		}
	}
	return out
}

func addFunnels(a, b projections.CampaignFunnel) projections.CampaignFunnel {
	return projections.CampaignFunnel{Targets: a.Targets + b.Targets, Removed: a.Removed + b.Removed, Contacted: a.Contacted + b.Contacted,
		Pitched: a.Pitched + b.Pitched, Accepted: a.Accepted + b.Accepted, Declined: a.Declined + b.Declined,
		Considering: a.Considering + b.Considering, Unreachable: a.Unreachable + b.Unreachable, Opened: a.Opened + b.Opened}
}
