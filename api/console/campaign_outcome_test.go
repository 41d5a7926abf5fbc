package console

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dangol/dangol/projections"
)

// TestOutcomeTags: the worklist's campaign and VIP-at-risk details become
// their tags, one per campaign, and a campaign whose name holds " on " or
// " follow-up on " is not taken for a life event or a follow-up.
func TestOutcomeTags(t *testing.T) {
	cs := mustCatalogs()
	tr := func(key string, args ...any) string { return cs.text("en", key, args...) }
	details := []string{"child_wedding on 2026-12-01", "campaign: Loans on demand", "campaign: Cards follow-up on time",
		"balance -25% since 2026-08-31"}
	var got []string
	for _, reason := range []string{projections.ReasonCampaign, projections.ReasonVIPAtRisk} {
		for _, tag := range outcomeTags(reason, details, tr) {
			got = append(got, tag.Reason+"|"+tag.Text+"|"+tag.Class)
		}
	}
	want := "campaign|Campaign: Loans on demand|campaign campaign|Campaign: Cards follow-up on time|campaign " +
		"vip_at_risk|Balance -25% since 2026-08-31|bad"
	if strings.Join(got, " ") != want {
		t.Errorf("tags %q, want %q", strings.Join(got, " "), want)
	}
	if d := parseWorkDetails(details); len(d.life) != 1 || d.life[0].what != "child_wedding" || len(d.followUps) != 0 {
		t.Errorf("the life events and follow-ups of %q: %+v", details, d)
	}
	if tags := outcomeTags(projections.ReasonCampaign, nil, tr); len(tags) != 1 || tags[0].Text != "Campaign" {
		t.Errorf("a campaign reason without its detail: %+v", tags)
	}
}

// TestSignedPoints: a lift is written with its sign to one decimal, and a
// lift that rounds to nothing is 0.0 either way.
func TestSignedPoints(t *testing.T) {
	for v, want := range map[float64]string{66.666: "+66.7", -16.666: "-16.7", 0: "0.0", 0.04: "0.0", -0.04: "0.0", 100: "+100.0"} {
		if got := signed(v); got != want {
			t.Errorf("signed(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestMoveKind: the matrix's cells are stays on the diagonal, first tiers
// from none, and moves up or down by the tiers' order.
func TestMoveKind(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"general", "general", moveStay}, {"", "vip", moveNew}, {"", "general", moveNew},
		{"general", "potential_vip", moveUp}, {"potential_vip", "vip", moveUp}, {"general", "vip", moveUp},
		{"vip", "potential_vip", moveDown}, {"potential_vip", "general", moveDown}, {"vip", "general", moveDown},
	} {
		if got := moveKind(c.from, c.to); got != c.want {
			t.Errorf("moveKind(%q, %q) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// TestOutcomeEmpty: a campaign nobody joined yet and a tier migration
// without a month lay out (empty charts, tables without rows), and a month
// without figures is no page.
func TestOutcomeEmpty(t *testing.T) {
	c := New(Config{Secret: make([]byte, 32)})
	r := httptest.NewRequest("GET", "/reports/tier-migration", nil)
	rb := &reportBuilder{c: c, r: r, lang: "en"}
	rb.outcome(projections.CampaignReport{})
	if len(rb.rep.Charts) != 2 || len(rb.rep.Tables) != 4 { // no lift without a hold-out
		t.Errorf("an empty outcome: %d charts, %d tables", len(rb.rep.Charts), len(rb.rep.Tables))
	}
	rb = &reportBuilder{c: c, r: r, lang: "ko"}
	rb.tierMigration(nil)
	if rb.err != nil || rb.rep.Matrix != nil || len(rb.rep.Tables) != 1 || len(rb.rep.Tables[0].Rows) != 0 {
		t.Errorf("no months: err %v, matrix %v, tables %+v", rb.err, rb.rep.Matrix, rb.rep.Tables)
	}
	months := []projections.TierMonth{{Month: "2026-10"}, {Month: "2026-11"}}
	rb = &reportBuilder{c: c, r: httptest.NewRequest("GET", "/reports/tier-migration?month=2026-09", nil), lang: "en"}
	if rb.tierMigration(months); rb.err != errNoPage {
		t.Errorf("a month without figures: %v", rb.err)
	}
	rb = &reportBuilder{c: c, r: httptest.NewRequest("GET", "/reports/tier-migration?month=2026-10", nil), lang: "en"}
	rb.tierMigration(months)
	if m := rb.rep.Matrix; m == nil || m.Month != "2026-10" || m.Prev != "" || m.Next != "2026-11" || len(m.Rows) != 4 || len(m.Rows[0].Cells) != 3 {
		t.Errorf("October's matrix: %+v", m)
	}
}
