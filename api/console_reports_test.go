package api_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The report pages and their CSV over real HTTP against the whole stack:
// each report's figures as charts and tables, in both languages, the CSV
// as Excel reads it, and who may read them.

// reportsBook is a small centre: customers of R1, R2 and R3 (whose name
// has a comma, quotes and a leading =, as CSV and Excel care about) with
// financials, pitches, requests in two weeks, two reviewed calls and a
// coaching point followed up. The clock ends at eventstest.Epoch.
func reportsBook(t *testing.T) *stack {
	t.Helper()
	clock := eventstest.NewManualClock(eventstest.Epoch.Add(-14 * 24 * time.Hour))
	s := newStack(t, stackOptions{now: clock.Now})
	s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": "R3", "name": `=Choi, "Jay"`, "role": "rep", "branchIds": []string{"B001"}}, 201)
	s.tok["R3"] = s.must("A001", "POST", "/v1/staff/R3/tokens", nil, 201)["token"].(string)
	profits := map[string]int64{"C1": 600, "C2": 250, "C3": 100, "C4": 50}
	for _, c := range []struct{ id, rep string }{{"C1", "R1"}, {"C2", "R1"}, {"C3", "R2"}, {"C4", "R3"}} {
		s.must(c.rep, "POST", "/v1/customers", newCustomer(c.id), 201)
		s.must("S1", "POST", "/v1/customers/"+c.id+"/assignment", map[string]any{"advisorId": c.rep, "kind": "call_centre_rep"}, 201)
		deposit, profit := int64(1_000_000), profits[c.id]
		ev, err := events.NewEvent(&events.FinancialsReported{AsOf: clock.Now().Format(time.DateOnly), DepositBalance: &deposit,
			ProfitContribution: &profit, Currency: "KRW"}, events.Meta{Actor: events.System("core"), CorrelationID: events.NewID().String()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.Append(t.Context(), events.CustomerStream(c.id), events.StreamExists, ev); err != nil {
			t.Fatal(err)
		}
	}
	pitch := func(who, cust, product, channel, outcome string) {
		s.must(who, "POST", "/v1/customers/"+cust+"/pitches", map[string]any{"product": product, "channel": channel, "outcome": outcome}, 201)
	}
	pitch("R1", "C1", "FUND01", "phone_outbound", "accepted")
	pitch("R1", "C2", "FUND01", "phone_outbound", "declined")
	pitch("R2", "C3", "DEPO02", "branch", "accepted")
	pitch("R3", "C4", "FUND01", "phone_outbound", "considering")
	request := func(cust, category string) {
		body := map[string]any{"text": "요청 " + cust}
		if category != "" {
			body["category"] = category
		}
		s.must("R1", "POST", "/v1/customers/"+cust+"/requests", body, 201)
	}
	request("C1", "mobile")
	request("C2", "fees")
	clock.Set(eventstest.Epoch)
	request("C1", "mobile")
	request("C2", "mobile")
	request("C3", "")

	s.publishForm()
	audio := []byte("RIFF-reports-audio")
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("R2", "POST", "/v1/calls", newCall("K2", "C3", digest, len(audio)), 201)
	for _, k := range []string{"K1", "K2"} {
		s.must("S1", "POST", "/v1/calls/"+k+"/selection", map[string]any{"reason": "requested"}, 201)
	}
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.must("S1", "POST", "/v1/calls/K2/reviews", newReview(), 201)
	pts := s.must("R1", "GET", "/v1/coaching", nil, 200)["items"].([]any)
	if len(pts) != 1 {
		t.Fatalf("coaching points %v", pts)
	}
	p := pts[0].(map[string]any)["id"].(string)
	s.must("R1", "POST", "/v1/coaching/"+p+"/acknowledgement", map[string]any{}, 201)
	s.must("H1", "POST", "/v1/coaching/"+p+"/follow-up", map[string]any{"outcome": "improved", "note": "좋아짐"}, 201)
	s.waitUntil("the segmentation job's tiers", func() bool {
		r := s.must("H1", "GET", "/v1/reports/tiers", nil, 200)["data"].(map[string]any)
		return r["byTier"].(map[string]any)["unassigned"] == nil
	})
	s.awaitApplied()
	return s
}

var (
	factRe    = regexp.MustCompile(`<div><dt>([^<]+)</dt><dd>([^<]*)</dd></div>`)
	repRowRe  = regexp.MustCompile(`(?s)<tr><th scope="row"[^>]*>([^<]*)</th>(.*?)</tr>`)
	repCellRe = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)
)

// facts are a report page's headline figures, label → value.
func (p page) facts() map[string]string {
	out := map[string]string{}
	for _, m := range factRe.FindAllStringSubmatch(p.body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// tableRows are the rows of the report table with id, each its cells' text
// (the row's header first).
func (p page) tableRows(id string) [][]string {
	sec := regexp.MustCompile(`(?s)<section class="panel rp-table" id="t-` + id + `".*?</section>`).FindString(p.body)
	var out [][]string
	for _, m := range repRowRe.FindAllStringSubmatch(sec, -1) {
		row := []string{m[1]}
		for _, c := range repCellRe.FindAllStringSubmatch(m[2], -1) {
			row = append(row, c[1])
		}
		out = append(out, row)
	}
	return out
}

func reportRow(rows [][]string, first string) []string {
	for _, r := range rows {
		if r[0] == first {
			return r
		}
	}
	return nil
}

// TestConsoleReports: every report's page shows its figures (headline,
// charts, tables) in Korean and English, as of the API's answer.
func TestConsoleReports(t *testing.T) {
	s := reportsBook(t)
	h := signIn(s, "H1")
	en := []string{"Accept-Language", "en"}

	idx := h.must("/reports", 200, en...)
	for _, name := range []string{"tiers", "pitches", "qa", "coaching", "freshness", "requests", "calibration"} {
		if !strings.Contains(idx.body, `href="/reports/`+name+`"`) || !strings.Contains(idx.body, `href="/reports/`+name+`.csv"`) {
			t.Errorf("the index lacks report %s or its CSV", name)
		}
		for _, lang := range []string{"ko", "en"} {
			p := h.must("/reports/"+name, 200, "Accept-Language", lang)
			if n := strings.Count(p.body, `<svg class="chart`); n == 0 {
				t.Errorf("%s (%s): no chart", name, lang)
			}
			if !strings.Contains(p.body, `<table>`) && name != "calibration" {
				t.Errorf("%s (%s): no table", name, lang)
			}
			if !strings.Contains(p.body, kstOf(eventstest.Epoch)) {
				t.Errorf("%s (%s): not said as of the API's answer (%s)", name, lang, kstOf(eventstest.Epoch))
			}
			if strings.Contains(p.body, ">rep.") || strings.Contains(p.body, `"rep.`) {
				t.Errorf("%s (%s): a message key shown", name, lang)
			}
		}
	}

	tiers := h.must("/reports/tiers", 200, en...)
	if f := tiers.facts(); f["Customers"] != "4" || f["With financials"] != "4" || f["Total profit contribution"] != "₩1,000" {
		t.Errorf("tiers facts %v", f)
	}
	if r := reportRow(tiers.tableRows("concentration"), "1%"); len(r) != 2 || r[1] != "60%" {
		t.Errorf("the top 1%% holds %v of the profit, want 60%% (C1's 600 of 1,000)", r)
	}
	if n := strings.Count(tiers.section("rp-charts"), `class="even"`); n != 1 {
		t.Errorf("no concentration curve over the even diagonal")
	}

	pitches := h.must("/reports/pitches", 200, en...)
	if r := reportRow(pitches.tableRows("product"), "FUND01"); strings.Join(r, "|") != "FUND01|3|1|1|1|0|33.3%" {
		t.Errorf("FUND01's row %q", r)
	}
	if r := reportRow(pitches.tableRows("advisor"), `=Choi, &#34;Jay&#34; (R3)`); r == nil {
		t.Errorf("R3 not shown by name: %v", pitches.tableRows("advisor"))
	}
	if r := reportRow(pitches.tableRows("channel"), "Phone, outbound"); len(r) < 2 || r[1] != "3" {
		t.Errorf("the outbound channel's row %v (its name translated)", r)
	}

	qa := h.must("/reports/qa", 200, en...)
	month := eventstest.Epoch.UTC().Format("2006-01")
	if r := reportRow(qa.tableRows("qa"), "Rep One (R1)"); strings.Join(r, "|") != "Rep One (R1)|"+month+"|1|83.3|83.3|83.3|0" {
		t.Errorf("R1's QA row %q", r)
	}
	if f := qa.facts(); f["Reviews"] != "2" || f["Average score"] != "83.3" {
		t.Errorf("qa facts %v", f)
	}

	coaching := h.must("/reports/coaching", 200, en...)
	if r := reportRow(coaching.tableRows("reps"), "Rep One (R1)"); strings.Join(r, "|") != "Rep One (R1)|1|1|100%" {
		t.Errorf("R1's coaching row %q", r)
	}
	if r := reportRow(coaching.tableRows("status"), "Improved"); len(r) != 2 || r[1] != "1" {
		t.Errorf("the improved points %v", r)
	}

	fresh := h.must("/reports/freshness", 200, en...)
	if n := len(fresh.tableRows("freshness")); n != 3 {
		t.Errorf("%d advisors' freshness, want 3", n)
	}

	req := h.must("/reports/requests", 200, en...)
	rows := req.tableRows("requests")
	if len(rows) != 3 {
		t.Fatalf("requests in %d weeks, want 3 (two weeks apart, the quiet week between them too): %v", len(rows), rows)
	}
	// Newest week first; the columns by total: mobile 3, fees 1, uncategorised 1.
	y, w := eventstest.Epoch.ISOWeek()
	if rows[0][0] != fmt.Sprintf("%d-W%02d", y, w) || strings.Join(rows[0][1:], "|") != "2|0|1|3" || strings.Join(rows[1][1:], "|") != "0|0|0|0" ||
		strings.Join(rows[2][1:], "|") != "1|1|0|2" {
		t.Errorf("requests per week %v (this week %d-W%02d)", rows, y, w)
	}
	if !strings.Contains(req.section("t-requests"), `<th scope="col" class="num">Uncategorised</th>`) {
		t.Error("requests without a category are not said to be uncategorised")
	}

	cal := h.must("/reports/calibration", 200, en...)
	if !strings.Contains(cal.body, "No figures yet.") || !strings.Contains(cal.body, `<svg class="chart empty"`) {
		t.Error("the calibration report without sessions does not say so")
	}
}

// TestConsoleReportsCSV: a report's table as CSV is an attachment Excel
// opens as UTF-8 (a byte order mark), one header row in the page's
// language, RFC 4180 quoting and CRLF, the figures as plain numbers, and
// text that Excel would run as a formula kept as text.
func TestConsoleReportsCSV(t *testing.T) {
	s := reportsBook(t)
	h := signIn(s, "H1")
	p := h.must("/reports/pitches.csv?table=advisor", 200)
	if ct := p.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	want := `attachment; filename="dangol-pitches-advisor-` + eventstest.Epoch.In(kst).Format("20060102") + `.csv"`
	if cd := p.header.Get("Content-Disposition"); cd != want {
		t.Errorf("Content-Disposition %q, want %q", cd, want)
	}
	body, ok := strings.CutPrefix(p.body, "\ufeff")
	if !ok {
		t.Fatalf("no byte order mark: %q", p.body[:min(20, len(p.body))])
	}
	if strings.Count(body, "\r\n") != strings.Count(body, "\n") {
		t.Errorf("lines not ended by CRLF: %q", body)
	}
	if !strings.Contains(body, `"'=Choi, ""Jay"" (R3)",1,0,0,1,0,0.0`+"\r\n") {
		t.Errorf("R3's row is not quoted as RFC 4180 says, kept from being a formula, with plain numbers:\n%s", body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], "|") != "담당자|제안|수락|거절|검토 중|연결 안 됨|전환율" || len(recs) != 4 {
		t.Errorf("the CSV's header %q and %d records, want the Korean columns and 3 advisors", recs[0], len(recs)-1)
	}
	if r := recs[1]; strings.Join(r, "|") != "Rep One (R1)|2|1|1|0|0|50.0" {
		t.Errorf("R1's record %q", r)
	}

	// The first table by default; the page's figures as numbers.
	tiers := h.must("/reports/tiers.csv", 200, "Accept-Language", "en")
	recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(tiers.body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], "|") != "Tier|Customers|Share of customers" || len(recs) != 5 {
		t.Errorf("tiers CSV %q", recs)
	}
	if !strings.Contains(tiers.header.Get("Content-Disposition"), `filename="dangol-tiers-`) {
		t.Errorf("tiers CSV named %q", tiers.header.Get("Content-Disposition"))
	}
	req := h.must("/reports/requests.csv", 200, "Accept-Language", "en")
	if !strings.HasPrefix(req.body, "\ufeffWeek,mobile,fees,Uncategorised,Total\r\n") {
		t.Errorf("requests CSV %q", req.body)
	}

	for _, path := range []string{"/reports/tiers.csv?table=nonsense", "/reports/nonsense", "/reports/nonsense.csv", "/reports/tiers.pdf"} {
		h.must(path, http.StatusNotFound)
	}
}

// TestConsoleReportsRoles: supervisors, centre heads and auditors read the
// reports and their CSV; reps, private bankers and admins may not; without
// a session a page sends to sign in.
func TestConsoleReportsRoles(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, id := range []string{"S1", "H1", "U1"} {
		m := signIn(s, id)
		for _, path := range []string{"/reports", "/reports/qa", "/reports/qa.csv", "/reports/calibration"} {
			m.must(path, 200)
		}
	}
	for _, id := range []string{"R1", "P1", "A001"} {
		m := signIn(s, id)
		for _, path := range []string{"/reports", "/reports/qa", "/reports/qa.csv"} {
			m.must(path, http.StatusForbidden)
		}
	}
	a := anonymous(s).get("/reports/tiers.csv")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/login?") {
		t.Errorf("without a session: %d to %q", a.status, a.header.Get("Location"))
	}
}
