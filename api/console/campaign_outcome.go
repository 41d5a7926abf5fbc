package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Campaign outcomes (docs/console.md, "Campaign outcomes"): a campaign's
// funnel and lift (/campaigns/{id}/outcome, from GET
// /v1/reports/campaigns/{id} read as the signed-in member, so the API's
// roles apply), its tables as CSV (/campaigns/{id}/outcome.csv, the
// reports' writer), the tier migration matrix (/reports/tier-migration,
// reports.go and tier_migration.go of this package) and the worklist's
// campaign and VIP-at-risk reasons (worklist_rows.go).

// outcomeRoles may read a campaign's outcome: the campaigners and the
// auditor, as GET /v1/reports/campaigns/{id} serves it.
var outcomeRoles = append(slices.Clone(campaignRoles), "auditor")

// outcomeRoutes registers the outcome page and its CSV.
func (c *Console) outcomeRoutes() {
	c.page("GET /campaigns/{id}/outcome", outcomeRoles, c.outcomePage)
	c.page("GET /campaigns/{id}/outcome.csv", outcomeRoles, c.outcomeCSV)
}

// outcome is the outcome page's data: the campaign and its report laid
// out as the reports are (facts, charts, tables).
type outcome struct {
	*report
	Campaign projections.Campaign
	NoLift   bool // no hold-out group: the lift is not measured
}

// errNoCampaign is a campaign id the read side does not know.
var errNoCampaign = events.Errorf(events.NotFound, "campaign not found")

// campaignOutcome reads campaign id's report as the member and lays it out.
func (c *Console) campaignOutcome(r *http.Request, s *Session) (*outcome, error) {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return nil, errNoCampaign
	}
	var d projections.CampaignReport
	if err := c.apiJSON(r.Context(), s, "/v1/reports/campaigns/"+url.PathEscape(id), &d); err != nil {
		if events.ErrorCode(err) == events.NotFound {
			return nil, errNoCampaign
		}
		return nil, err
	}
	rb := &reportBuilder{c: c, r: r, lang: language(r), names: c.staffNameMap(r)}
	rb.outcome(d)
	rep := &rb.rep
	rep.Name, rep.At, rep.CSV = "campaign-"+id, c.now(), "/campaigns/"+url.PathEscape(id)+"/outcome.csv"
	rep.Title = rb.t("out.heading", d.Campaign.Name)
	return &outcome{report: rep, Campaign: d.Campaign, NoLift: d.Lift == nil}, nil
}

func (c *Console) outcomePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	o, err := c.campaignOutcome(r, s)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "campaign_outcome", "out.title", o)
	return nil
}

// outcomeCSV is a table of the outcome (?table=, the funnel by default) as CSV.
func (c *Console) outcomeCSV(w http.ResponseWriter, r *http.Request, s *Session) error {
	o, err := c.campaignOutcome(r, s)
	if err != nil {
		return err
	}
	return writeCSV(w, o.report, r.URL.Query().Get("table"))
}

// funnelStage is one stage of the funnel: its catalog key, its count,
// and whether it is a pitch's outcome.
type funnelStage struct {
	key     string
	n       func(f projections.CampaignFunnel) int
	outcome bool
}

// funnelStages are the funnel's stages in page order: targets → contacted
// → pitched → each outcome → product opened.
var funnelStages = []funnelStage{
	{"out.stage.targets", func(f projections.CampaignFunnel) int { return f.Targets }, false},
	{"out.stage.contacted", func(f projections.CampaignFunnel) int { return f.Contacted }, false},
	{"out.stage.pitched", func(f projections.CampaignFunnel) int { return f.Pitched }, false},
	{"out.stage.accepted", func(f projections.CampaignFunnel) int { return f.Accepted }, true},
	{"out.stage.declined", func(f projections.CampaignFunnel) int { return f.Declined }, true},
	{"out.stage.considering", func(f projections.CampaignFunnel) int { return f.Considering }, true},
	{"out.stage.unreachable", func(f projections.CampaignFunnel) int { return f.Unreachable }, true},
	{"out.stage.opened", func(f projections.CampaignFunnel) int { return f.Opened }, false},
}

// outcome lays out a campaign's report: the headline figures, the funnel
// and lift charts, and the tables (the funnel, the lift, and the funnel
// per advisor, branch and pitch channel).
func (rb *reportBuilder) outcome(d projections.CampaignReport) {
	f := d.Funnel
	count := func(n int) string { return groupDigits(strconv.Itoa(n)) }
	rb.fact("out.stage.targets", count(f.Targets))
	rb.fact("out.stage.contacted", count(f.Contacted))
	rb.fact("out.stage.pitched", count(f.Pitched))
	rb.fact("out.stage.accepted", count(f.Accepted))
	rb.fact("out.stage.opened", count(f.Opened))
	if l := d.Lift; l != nil {
		rb.fact("out.fact.acceptLift", rb.pp(l.AcceptLift))
		rb.fact("out.fact.openLift", rb.pp(l.OpenLift))
	}

	// Two charts: the path (targets → contacted → pitched → accepted →
	// opened) and what the pitches came to; eight bars in one would leave
	// every other label out.
	var path, outcomes ChartSeries
	tab := rb.table("funnel", "out.table.funnel", "out.col.stage", "out.col.target#", "out.col.ofTargets#", "out.col.holdout#")
	for _, st := range funnelStages {
		n, h := st.n(f), st.n(d.HoldOut)
		pt := ChartPoint{Label: rb.t(st.key), Value: float64(n)}
		if st.outcome {
			outcomes.Points = append(outcomes.Points, pt)
		}
		if !st.outcome || st.key == "out.stage.accepted" {
			path.Points = append(path.Points, pt)
		}
		tab.add(textCell(rb.t(st.key)), intCell(n), pctCell(ratioOf(n, f.Targets)), intCell(h))
	}
	tab.add(textCell(rb.t("out.stage.removed")), intCell(f.Removed), pctCell(ratioOf(f.Removed, f.Targets)), intCell(d.HoldOut.Removed))
	rb.bar(ChartOptions{Title: rb.t("out.chart.funnel")}, path)
	rb.bar(ChartOptions{Title: rb.t("out.chart.outcomes")}, outcomes)

	if l := d.Lift; l != nil {
		rb.lift(l)
	}
	for _, by := range []struct {
		id   string
		rows []projections.FunnelRow
		name func(string) string
	}{
		{"advisors", d.ByAdvisor, rb.advisorName},
		{"branches", d.ByBranch, func(k string) string { return k }},
		{"channels", d.ByChannel, rb.pitchChannel},
	} {
		rb.funnelRows(by.id, by.rows, by.name)
	}
}

// lift draws the target group's accept and open rates beside the
// hold-out's, and tables them with the lift in percentage points.
func (rb *reportBuilder) lift(l *projections.CampaignLift) {
	accept, open := rb.t("out.stage.accepted"), rb.t("out.stage.opened") // short, for the axis
	target := ChartSeries{Name: rb.t("out.group.target"), Points: []ChartPoint{{accept, l.TargetAcceptRate * 100}, {open, l.TargetOpenRate * 100}}}
	hold := ChartSeries{Name: rb.t("out.group.holdout"), Points: []ChartPoint{{accept, l.HoldOutAcceptRate * 100}, {open, l.HoldOutOpenRate * 100}}}
	rb.bar(ChartOptions{Title: rb.t("out.chart.lift", rb.pp(l.AcceptLift), rb.pp(l.OpenLift)), Unit: "%"}, target, hold)
	tab := rb.table("lift", "out.table.lift", "out.col.measure", "out.col.target#", "out.col.holdout#", "out.col.lift#")
	tab.add(textCell(rb.t("out.lift.members")), intCell(l.Targets), intCell(l.HoldOut), cell{"", ""})
	tab.add(textCell(rb.t("out.lift.accept")), pctCell(l.TargetAcceptRate), pctCell(l.HoldOutAcceptRate), rb.ppCell(l.AcceptLift))
	tab.add(textCell(rb.t("out.lift.open")), pctCell(l.TargetOpenRate), pctCell(l.HoldOutOpenRate), rb.ppCell(l.OpenLift))
}

// funnelRows tables the funnel of each key of one breakdown (advisor,
// branch, channel), named by name.
func (rb *reportBuilder) funnelRows(id string, rows []projections.FunnelRow, name func(string) string) {
	tab := rb.table(id, "out.table."+id, "out.col.by."+id, "out.stage.targets#", "out.col.removed#", "out.stage.contacted#",
		"out.stage.pitched#", "out.stage.accepted#", "out.stage.declined#", "out.stage.considering#", "out.stage.unreachable#",
		"out.stage.opened#", "out.col.acceptRate#", "out.col.openRate#")
	for _, fr := range rows {
		tab.add(textCell(name(fr.Key)), intCell(fr.Targets), intCell(fr.Removed), intCell(fr.Contacted), intCell(fr.Pitched),
			intCell(fr.Accepted), intCell(fr.Declined), intCell(fr.Considering), intCell(fr.Unreachable), intCell(fr.Opened),
			pctCell(ratioOf(fr.Accepted, fr.Pitched)), pctCell(ratioOf(fr.Opened, fr.Targets)))
	}
}

// advisorName is an advisor as the reports show people, "" as no advisor.
func (rb *reportBuilder) advisorName(id string) string {
	if id == "" {
		return rb.t("out.noAdvisor")
	}
	return rb.person(id)
}

// pitchChannel is a pitch channel translated, "" as not pitched.
func (rb *reportBuilder) pitchChannel(ch string) string {
	if ch == "" {
		return rb.t("out.notPitched")
	}
	return rb.word("cust.channel."+ch, ch)
}

// pp is a difference of two rates (0–1) in percentage points, signed, to
// one decimal ("+2.5 pp", "+2.5%p").
func (rb *reportBuilder) pp(diff float64) string {
	return rb.t("out.pp", signed(diff*100))
}

// ppCell is pp as a table's cell; its CSV the signed number alone.
func (rb *reportBuilder) ppCell(diff float64) cell {
	c := decimalCell(diff*100, "")
	return cell{rb.pp(diff), c.CSV}
}

// signed is v to one decimal with its sign ("+2.5", "-0.4", "0.0").
func signed(v float64) string {
	s := decimalCell(v, "").CSV
	if v > 0 && s != "0.0" {
		return "+" + s
	}
	if s == "-0.0" {
		return "0.0"
	}
	return s
}
