package api_test

import (
	"html"
	"strings"
	"testing"
)

// signedIn is staff member id signed in to the console with the password
// the browser tests' members have (givePassword).
func signedIn(s *stack, id string) *member {
	s.t.Helper()
	u := newWebUser(s)
	u.mustStatus(u.login(id, testPassword, ""), 303, "sign-in of "+id)
	return &member{s: s, id: id, client: u.client}
}

// TestConsoleCampaignOutcome: the outcome page's figures and tables, its
// CSV, the tier migration of a month and its CSV, the worklists' campaign
// and VIP-at-risk tags, as the API's read side (Memory, or PostgreSQL with
// DANGOL_TEST_STORE=postgres) answers them; who may open what.
func TestConsoleCampaignOutcome(t *testing.T) {
	o := newOutcomeBook(t)
	s := o.s
	en := []string{"Accept-Language", "en"}
	m := signedIn(s, "M1")

	out := m.must("/campaigns/WED1/outcome", 200, en...)
	// T1 accepted and opened, T2 considering, T3 not contacted; H1 opened
	// without a call: accepted 1 of 3 against 0 of 2, opened 1 of 3
	// against 1 of 2.
	facts := out.facts()
	for k, v := range map[string]string{"Targets": "3", "Contacted": "2", "Pitched": "2", "Accepted": "1", "Product opened": "1",
		"Acceptance lift": "+33.3 pp", "Opening lift": "-16.7 pp", "Hold-out": "50%", "Attribution": "30 days"} {
		if got := html.UnescapeString(facts[k]); got != v {
			t.Errorf("the outcome's %s: %q, want %q (all: %v)", k, got, v, facts)
		}
	}
	for _, c := range []struct{ table, first, want string }{
		{"funnel", "Targets", "Targets|3|100%|2"},
		{"funnel", "Considering", "Considering|1|33.3%|0"},
		{"funnel", "Product opened", "Product opened|1|33.3%|1"},
		{"lift", "Accepted the product", "Accepted the product|33.3%|0%|+33.3 pp"},
		{"lift", "Opened the product", "Opened the product|33.3%|50%|-16.7 pp"},
		{"advisors", "Rep One (R1)", "Rep One (R1)|3|0|2|2|1|0|1|0|1|50%|33.3%"},
		{"branches", "B001", "B001|3|0|2|2|1|0|1|0|1|50%|33.3%"},
		{"channels", "Phone, outbound", "Phone, outbound|2|0|2|2|1|0|1|0|1|50%|50%"},
		{"channels", "Not pitched", "Not pitched|1|0|0|0|0|0|0|0|0|0%|0%"},
	} {
		if got := html.UnescapeString(strings.Join(reportRow(out.tableRows(c.table), c.first), "|")); got != c.want {
			t.Errorf("%s's row %s: %q, want %q", c.table, c.first, got, c.want)
		}
	}
	csv := m.must("/campaigns/WED1/outcome.csv?table=advisors", 200, en...)
	if d := csv.header.Get("Content-Disposition"); d != `attachment; filename="dangol-campaign-WED1-advisors-20261125.csv"` {
		t.Errorf("the advisors' CSV is %q", d)
	}
	if want := "\ufeffAdvisor,Targets,Removed,Contacted,Pitched,Accepted,Declined,Considering,Unreachable,Product opened,Accepted of pitched,Opened of targets\r\n" +
		"Rep One (R1),3,0,2,2,1,0,1,0,1,50.0,33.3\r\n"; csv.body != want {
		t.Errorf("the advisors' CSV:\n%q\nwant\n%q", csv.body, want)
	}
	if lift := m.must("/campaigns/WED1/outcome.csv?table=lift", 200, en...).body; !strings.Contains(lift, "Opened the product,33.3,50.0,-16.7\r\n") {
		t.Errorf("the lift's CSV: %q", lift)
	}
	m.must("/campaigns/NOPE/outcome", 404, en...)
	m.must("/campaigns/WED1/outcome.csv?table=nope", 404, en...)

	// The tier migration: November by default, October asked for.
	nov := m.must("/reports/tier-migration", 200, en...)
	if f := nov.facts(); f["Customers tiered"] != "6" || f["Moved"] != "3" || f["Moved up"] != "2" || f["Moved down"] != "1" || f["Newly tiered"] != "0" {
		t.Errorf("November's figures %v", f)
	}
	if r := strings.Join(reportRow(nov.tableRows("months"), "2026-09"), "|"); r != "2026-09|5|5|0|0|5|₩500|100%" {
		t.Errorf("September's moves: %q", r)
	}
	oct := m.must("/reports/tier-migration.csv?table=matrix&month=2026-10", 200, en...)
	if !strings.Contains(oct.body, "No tier yet,VIP,1,") || !strings.Contains(oct.body, "General,Potential VIP,2,") {
		t.Errorf("October's matrix as CSV:\n%s", oct.body)
	}
	if d := oct.header.Get("Content-Disposition"); d != `attachment; filename="dangol-tier-migration-2026-10-20261125.csv"` {
		t.Errorf("October's matrix CSV is %q", d)
	}
	m.must("/reports/tier-migration?month=2026-08", 404, en...)
	m.must("/reports/tiers", 403, en...)
	if idx := m.must("/reports", 200, en...); strings.Count(idx.body, `<li class="panel">`) != 1 {
		t.Errorf("a marketer's reports index lists more than the tier migration")
	}

	// The worklists.
	r1 := signedIn(s, "R1")
	_, rows := r1.must("/", 200, en...).rows()
	for id, want := range map[string]bool{o.t1: false, o.t2: true, o.t3: true, o.h1: false, o.h2: false} {
		if got := strings.Contains(rows[id], `data-reason="campaign">Campaign: 결혼 시즌 대출<`); got != want {
			t.Errorf("%s's row has the campaign tag: %v, want %v\n%s", id, got, want, rows[id])
		}
	}
	for _, path := range []string{"/campaigns/WED1/outcome", "/reports/tier-migration"} {
		r1.must(path, 403, en...)
	}
	_, rows = signedIn(s, "P1").must("/", 200, en...).rows()
	if !strings.Contains(rows["V1"], `data-reason="vip_at_risk">Balance -30% since 2026-08-18<`) {
		t.Errorf("V1 is not at risk on P1's worklist:\n%s", rows["V1"])
	}
}
