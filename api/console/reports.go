package console

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The reports (docs/console.md, "Reports"): /reports lists them, and
// /reports/{name} shows one — its headline figures, its charts and the
// figures as tables — printable on A4 for the Saturday idea meeting
// (static/reports.css), and /reports/{name}.csv gives a table of it as CSV
// for Excel. Each page reads GET /v1/reports/{name} in process as the
// signed-in member (apiJSON), so the API's roles apply.

// reportRoles may read the reports (the API's reporters, and the marketer
// the tier migration: marketerReports).
var reportRoles = []string{"supervisor", "centre_head", "auditor", "marketer"}

// marketerReports are the reports a marketer may read (GET
// /v1/reports/{name} serves them no other): the tier migration, which
// names no customer.
var marketerReports = []string{"tier-migration"}

// reportNames are the reports role may read, in the index's order.
func reportNames(role string) []string {
	if role == "marketer" {
		return marketerReports
	}
	return projections.ReportNames
}

// reportRoutes registers the reports (/reports, /reports/{name}, and
// /reports/{name}.csv): each as a printable page with its charts and as CSV.
func (c *Console) reportRoutes() {
	c.page("GET /reports", reportRoles, c.reportsIndex)
	c.page("GET /reports/{name}", reportRoles, c.reportPage)
}

// reportAnswer is the answer of GET /v1/reports/{name}.
type reportAnswer struct {
	Report string          `json:"report"`
	At     time.Time       `json:"at"`
	Data   json.RawMessage `json:"data"`
}

// report is one report's page: what the template and the CSV show.
type report struct {
	Name   string
	Title  string   // its heading, in the page's language
	Names  []string // every report the member may read, for the strip of links
	At     time.Time
	CSV    string // the path of its CSV: /reports/{name}.csv
	Facts  []fact
	Charts []figure
	Tables []*table
	// Month is the month the page shows ("2027-03", the tier migration's
	// ?month=), carried by its CSV links; Matrix that month's matrix.
	Month  string
	Matrix *tierMatrix
}

// figure is a chart with its title shown above it.
type figure struct {
	Title string
	SVG   template.HTML
}

// fact is a headline figure.
type fact struct{ Label, Value string }

// table is a table of a report's figures, also served as CSV.
type table struct {
	ID      string // /reports/{name}.csv?table=ID
	Caption string
	Cols    []column
	Rows    [][]cell
}

// column is a table's column: its title and whether it holds numbers.
type column struct {
	Title string
	Num   bool
}

// cell is a figure as the page shows it and as the CSV has it (plain
// digits, a dot for decimals, no unit).
type cell struct{ Text, CSV string }

// reportsIndex lists the reports.
func (c *Console) reportsIndex(w http.ResponseWriter, r *http.Request, s *Session) error {
	c.render(w, r, http.StatusOK, "reports", "rep.title", reportNames(s.Role))
	return nil
}

// reportPage is /reports/{name} and, for a name ending in .csv, that
// report's table ?table= (its first by default) as CSV.
func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	name, asCSV := strings.CutSuffix(r.PathValue("name"), ".csv")
	if !slices.Contains(projections.ReportNames, name) {
		return errNoPage
	}
	names := reportNames(s.Role)
	if !slices.Contains(names, name) {
		c.fail(w, r, http.StatusForbidden, events.Errorf("forbidden", "your role may not open this page"))
		return nil
	}
	var ans reportAnswer
	if err := c.apiJSON(r.Context(), s, "/v1/reports/"+url.PathEscape(name), &ans); err != nil {
		return err
	}
	rb := &reportBuilder{c: c, r: r, lang: language(r), names: c.staffNameMap(r)}
	rep, err := rb.build(name, ans.Data)
	if err != nil {
		return err
	}
	rep.Name, rep.Names, rep.At, rep.CSV = name, names, ans.At, "/reports/"+name+".csv"
	rep.Title = rb.t("rep." + name + ".title")
	if asCSV {
		return writeCSV(w, rep, r.URL.Query().Get("table"))
	}
	c.render(w, r, http.StatusOK, "report", "rep."+name+".title", rep)
	return nil
}

// writeCSV answers table id of rep (its first for "") as an attachment
// dangol-<name>[-<table>][-<month>]-<yyyymmdd>.csv:
// UTF-8 with a byte order mark (Excel reads it as UTF-8 then), one header
// row, fields quoted as RFC 4180 says, lines ended by CRLF.
func writeCSV(w http.ResponseWriter, rep *report, id string) error {
	t := rep.Tables[0]
	if id != "" {
		i := slices.IndexFunc(rep.Tables, func(t *table) bool { return t.ID == id })
		if i < 0 {
			return errNoPage
		}
		t = rep.Tables[i]
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	head := make([]string, len(t.Cols))
	for i, col := range t.Cols {
		head[i] = col.Title
	}
	_ = cw.Write(head)
	for _, row := range t.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = v.CSV
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	file := "dangol-" + rep.Name
	if t.ID != rep.Tables[0].ID {
		file += "-" + t.ID
	}
	if rep.Month != "" { // the tier migration of a month
		file += "-" + rep.Month
	}
	file += "-" + rep.At.In(kst).Format("20060102") + ".csv"
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+file+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

// staffNameMap maps every member's id to their name, for the reports'
// people (a report names many: one read of the list, not one a row).
func (c *Console) staffNameMap(r *http.Request) map[string]string {
	list, err := c.Queries.StaffList(r.Context())
	if err != nil {
		return nil // ids then
	}
	m := make(map[string]string, len(list))
	for _, s := range list {
		m[s.ID] = s.Name
	}
	return m
}

// reportBuilder turns a report's data into its page, in one language.
type reportBuilder struct {
	c     *Console
	r     *http.Request
	lang  string
	names map[string]string
	rep   report
	err   error // a page that cannot be laid out (the tier migration of a month without figures)
}

// build decodes data as report name's and lays out its page.
func (rb *reportBuilder) build(name string, data json.RawMessage) (*report, error) {
	var err error
	switch name {
	case "tiers":
		err = layOut(data, rb.tiers)
	case "pitches":
		err = layOut(data, rb.pitches)
	case "qa":
		err = layOut(data, rb.qa)
	case "coaching":
		err = layOut(data, rb.coaching)
	case "freshness":
		err = layOut(data, rb.freshness)
	case "requests":
		err = layOut(data, rb.requests)
	case "calibration":
		err = layOut(data, rb.calibration)
	case "tier-migration":
		err = layOut(data, rb.tierMigration)
	}
	if err == nil {
		err = rb.err
	}
	return &rb.rep, err
}

// layOut decodes data as a T and lays it out with page.
func layOut[T any](data json.RawMessage, page func(T)) error {
	var d T
	if err := json.Unmarshal(data, &d); err != nil {
		return &events.Error{Code: events.Internal, Message: "decode the report", Err: err}
	}
	page(d)
	return nil
}

// t is message key in the page's language.
func (rb *reportBuilder) t(key string, args ...any) string {
	return rb.c.cat.text(rb.lang, key, args...)
}

// word is key's message if the catalog has it, else v itself (a value the
// catalogs do not name: a category a rep typed, a product code).
func (rb *reportBuilder) word(key, v string) string {
	if rb.c.cat.has(rb.lang, key) {
		return rb.t(key)
	}
	return v
}

// person is a staff member as the reports show them: "name (id)".
func (rb *reportBuilder) person(id string) string {
	if n := rb.names[id]; n != "" && n != id {
		return n + " (" + id + ")"
	}
	return id
}

func (rb *reportBuilder) fact(key, value string) {
	rb.rep.Facts = append(rb.rep.Facts, fact{Label: rb.t(key), Value: value})
}

// chart adds the chart svg under title.
func (rb *reportBuilder) chart(title string, svg template.HTML) {
	rb.rep.Charts = append(rb.rep.Charts, figure{Title: title, SVG: svg})
}

// bar adds a bar chart of series, line a line chart.
func (rb *reportBuilder) bar(o ChartOptions, series ...ChartSeries) {
	rb.chart(o.Title, barChart(o, series...))
}

func (rb *reportBuilder) line(o ChartOptions, series ...ChartSeries) {
	rb.chart(o.Title, lineChart(o, series...))
}

// table starts a table id captioned key, with columns of the titles keys
// (a key ending in "#" is a number column, the # cut).
func (rb *reportBuilder) table(id, key string, cols ...string) *table {
	t := &table{ID: id, Caption: rb.t(key)}
	for _, k := range cols {
		k, num := strings.CutSuffix(k, "#")
		t.Cols = append(t.Cols, column{Title: rb.t(k), Num: num})
	}
	rb.rep.Tables = append(rb.rep.Tables, t)
	return t
}

func (t *table) add(cells ...cell) { t.Rows = append(t.Rows, cells) }

// The cells of the tables.

func intCell(n int) cell { return cell{groupDigits(strconv.Itoa(n)), strconv.Itoa(n)} }

func wonCell(n int64) cell { return cell{formatWon(n), strconv.FormatInt(n, 10)} }

// pctCell is a rate (0–1) as a percentage.
func pctCell(rate float64) cell { return decimalCell(rate*100, "%") }

// decimalCell is v to one decimal, with unit on the page.
func decimalCell(v float64, unit string) cell {
	return cell{formatValue(v, unit), strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)}
}

// textCell is text; its CSV is kept from being read as a formula (a
// leading = + - @ gets an apostrophe, as Excel itself writes such text).
func textCell(s string) cell {
	v := s
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		v = "'" + v
	}
	return cell{s, v}
}

// tierOrder is the order tiers are shown in.
var tierOrder = append(slices.Clone(events.Tiers), "unassigned")

func (rb *reportBuilder) tiers(d projections.TierReport) {
	rb.fact("rep.tiers.customers", groupDigits(strconv.Itoa(d.Customers)))
	rb.fact("rep.tiers.withFinancials", groupDigits(strconv.Itoa(d.WithFinancial)))
	rb.fact("rep.tiers.totalProfit", formatWon(d.TotalProfit))
	tiers := slices.Clone(tierOrder)
	for t := range d.ByTier {
		if !slices.Contains(tiers, t) {
			tiers = append(tiers, t)
		}
	}
	slices.SortStableFunc(tiers[len(tierOrder):], strings.Compare)
	var bars ChartSeries
	tab := rb.table("tiers", "rep.tiers.table", "rep.col.tier", "rep.col.customers#", "rep.col.shareOfCustomers#")
	for _, t := range tiers {
		n, ok := d.ByTier[t]
		if !ok && !slices.Contains(tierOrder, t) {
			continue
		}
		label := rb.word("rep.tier."+t, t)
		bars.Points = append(bars.Points, ChartPoint{Label: label, Value: float64(n)})
		share := 0.0
		if d.Customers > 0 {
			share = float64(n) / float64(d.Customers)
		}
		tab.add(textCell(label), intCell(n), pctCell(share))
	}
	rb.bar(ChartOptions{Title: rb.t("rep.tiers.chart")}, bars)
	conc := rb.table("concentration", "rep.tiers.concTable", "rep.col.topCustomers#", "rep.col.shareOfProfit#")
	var curve []ChartXY
	for _, s := range d.Concentration {
		curve = append(curve, ChartXY{X: s.Percent, Y: s.Share * 100})
		conc.add(decimalCell(s.Percent, "%"), pctCell(s.Share))
	}
	title := rb.t("rep.tiers.concChart")
	rb.chart(title, concentrationChart(ChartOptions{Title: title}, rb.t("rep.tiers.concX"), rb.t("rep.tiers.concCurve"), rb.t("rep.tiers.concEven"), curve))
}

// pitchDimensions are the pitch report's dimensions, in page order.
var pitchDimensions = []string{"product", "channel", "advisor", "campaign"}

// maxBars is the most bars a report's chart draws (the table has every row).
const maxBars = 12

func (rb *reportBuilder) pitches(d map[string][]projections.Conversion) {
	total, accepted := 0, 0
	for _, cv := range d["channel"] {
		total, accepted = total+cv.Pitches, accepted+cv.Accepted
	}
	rb.fact("rep.pitches.pitches", groupDigits(strconv.Itoa(total)))
	rb.fact("rep.pitches.accepted", groupDigits(strconv.Itoa(accepted)))
	rb.fact("rep.pitches.rate", pctCell(ratioOf(accepted, total)).Text)
	for _, dim := range pitchDimensions {
		tab := rb.table(dim, "rep.pitches.by."+dim, "rep.pitches.dim."+dim, "rep.col.pitches#", "rep.col.accepted#", "rep.col.declined#",
			"rep.col.considering#", "rep.col.unreachable#", "rep.col.rate#")
		var bars ChartSeries
		for i, cv := range d[dim] {
			label := cv.Value
			switch dim {
			case "advisor":
				label = rb.person(cv.Value)
			case "channel":
				label = rb.word("cust.channel."+cv.Value, cv.Value)
			case "campaign":
				if cv.Value == "(none)" {
					label = rb.t("rep.pitches.noCampaign")
				}
			}
			tab.add(textCell(label), intCell(cv.Pitches), intCell(cv.Accepted), intCell(cv.Declined), intCell(cv.Considering),
				intCell(cv.Unreachable), pctCell(cv.Rate))
			if i < maxBars {
				bars.Points = append(bars.Points, ChartPoint{Label: label, Value: cv.Rate * 100})
			}
		}
		rb.bar(ChartOptions{Title: rb.t("rep.pitches.chart." + dim), Unit: "%", Max: 100}, bars)
	}
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (rb *reportBuilder) qa(d []projections.QAScore) {
	reps := map[string]bool{}
	reviews, critical, latest := 0, 0, ""
	var sum float64
	tab := rb.table("qa", "rep.qa.table", "rep.col.rep", "rep.col.month", "rep.col.reviews#", "rep.col.average#", "rep.col.min#",
		"rep.col.max#", "rep.col.criticalFailed#")
	for _, s := range d {
		reviews, critical, sum = reviews+s.Reviews, critical+s.CriticalFailed, sum+s.Average*float64(s.Reviews)
		reps[s.RepID] = true
		latest = max(latest, s.Month)
		tab.add(textCell(rb.person(s.RepID)), textCell(s.Month), intCell(s.Reviews), decimalCell(s.Average, ""),
			decimalCell(s.Min, ""), decimalCell(s.Max, ""), intCell(s.CriticalFailed))
	}
	rb.fact("rep.qa.reviews", groupDigits(strconv.Itoa(reviews)))
	rb.fact("rep.qa.reps", strconv.Itoa(len(reps)))
	rb.fact("rep.qa.average", decimalCell(sum/math.Max(1, float64(reviews)), "").Text)
	rb.fact("rep.qa.criticalFailed", groupDigits(strconv.Itoa(critical)))
	rb.line(ChartOptions{Title: rb.t("rep.qa.trend"), Max: 100}, ChartSeries{Points: monthlyAverage(d)})
	var bars ChartSeries
	for _, s := range d {
		if s.Month == latest {
			bars.Points = append(bars.Points, ChartPoint{Label: rb.person(s.RepID), Value: s.Average})
		}
	}
	rb.bar(ChartOptions{Title: rb.t("rep.qa.byRep", latest), Max: 100}, bars)
}

// monthlyAverage is the centre's average score per month of the QA report
// rows, each rep's average weighted by their reviews, months in order.
func monthlyAverage(rows []projections.QAScore) []ChartPoint {
	type month struct {
		sum     float64
		reviews int
	}
	months := map[string]*month{}
	for _, q := range rows {
		m := months[q.Month]
		if m == nil {
			m = &month{}
			months[q.Month] = m
		}
		m.sum += q.Average * float64(q.Reviews)
		m.reviews += q.Reviews
	}
	var out []ChartPoint
	for _, k := range sortedKeys(months) {
		out = append(out, ChartPoint{Label: k, Value: months[k].sum / float64(max(1, months[k].reviews))})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// coachingStatuses are the coaching points' statuses, in page order.
var coachingStatuses = []string{projections.StatusOpen, projections.StatusAcknowledged, projections.StatusImproved, projections.StatusNotImproved}

func (rb *reportBuilder) coaching(d projections.CoachingReport) {
	rb.fact("rep.coaching.points", groupDigits(strconv.Itoa(d.Points)))
	rb.fact("rep.coaching.checks", groupDigits(strconv.Itoa(d.Checks)))
	rb.fact("rep.coaching.rate", pctCell(d.Rate).Text)
	rb.fact("rep.coaching.overdue", groupDigits(strconv.Itoa(d.Overdue)))
	statuses := slices.Clone(coachingStatuses)
	for _, s := range sortedKeys(d.ByStatus) {
		if !slices.Contains(statuses, s) {
			statuses = append(statuses, s)
		}
	}
	var bars ChartSeries
	st := rb.table("status", "rep.coaching.statusTable", "rep.col.status", "rep.col.points#")
	for _, s := range statuses {
		label := rb.word("rep.status."+s, s)
		bars.Points = append(bars.Points, ChartPoint{Label: label, Value: float64(d.ByStatus[s])})
		st.add(textCell(label), intCell(d.ByStatus[s]))
	}
	rb.bar(ChartOptions{Title: rb.t("rep.coaching.statusChart")}, bars)
	var rates ChartSeries
	byRep := rb.table("reps", "rep.coaching.repTable", "rep.col.rep", "rep.col.checks#", "rep.col.improved#", "rep.col.improvementRate#")
	for _, rc := range d.ByRep {
		byRep.add(textCell(rb.person(rc.RepID)), intCell(rc.Checks), intCell(rc.Improved), pctCell(rc.Rate))
		rates.Points = append(rates.Points, ChartPoint{Label: rb.person(rc.RepID), Value: rc.Rate * 100})
	}
	rb.bar(ChartOptions{Title: rb.t("rep.coaching.repChart"), Unit: "%", Max: 100}, rates)
	// The status table first on the page, the reps' as the CSV by default:
	// it is the one a meeting works from.
	rb.rep.Tables[0], rb.rep.Tables[1] = byRep, st
}

func (rb *reportBuilder) freshness(d []projections.Freshness) {
	customers, stale := 0, 0
	var bars ChartSeries
	tab := rb.table("freshness", "rep.freshness.table", "rep.col.advisor", "rep.col.customers#", "rep.col.stale#", "rep.col.freshRate#")
	for _, f := range d {
		customers, stale = customers+f.Customers, stale+f.Stale
		tab.add(textCell(rb.person(f.AdvisorID)), intCell(f.Customers), intCell(f.Stale), pctCell(f.FreshRate))
		bars.Points = append(bars.Points, ChartPoint{Label: rb.person(f.AdvisorID), Value: f.FreshRate * 100})
	}
	rb.fact("rep.freshness.advisors", strconv.Itoa(len(d)))
	rb.fact("rep.freshness.customers", groupDigits(strconv.Itoa(customers)))
	rb.fact("rep.freshness.stale", groupDigits(strconv.Itoa(stale)))
	rb.fact("rep.freshness.rate", pctCell(ratioOf(customers-stale, customers)).Text)
	rb.bar(ChartOptions{Title: rb.t("rep.freshness.chart"), Unit: "%", Max: 100}, bars)
}

// maxCategories is how many categories the requests chart draws a line
// for; the rest are drawn together as one.
const maxCategories = 5

func (rb *reportBuilder) requests(d []projections.RequestWeek) {
	counts := map[string]map[string]int{} // week → category → count
	totals := map[string]int{}
	all := 0
	for _, rw := range d {
		if counts[rw.Week] == nil {
			counts[rw.Week] = map[string]int{}
		}
		counts[rw.Week][rw.Category] += rw.Count
		totals[rw.Category] += rw.Count
		all += rw.Count
	}
	cats := sortedKeys(totals)
	slices.SortStableFunc(cats, func(a, b string) int { return totals[b] - totals[a] })
	weeks := everyWeek(sortedKeys(counts))
	rb.fact("rep.requests.requests", groupDigits(strconv.Itoa(all)))
	rb.fact("rep.requests.categories", strconv.Itoa(len(cats)))
	rb.fact("rep.requests.weeks", strconv.Itoa(len(weeks)))

	// A line for each of the largest categories, one for the rest.
	lines := make([]ChartSeries, min(len(cats), maxCategories+1))
	for i := range lines {
		lines[i].Name = rb.category(cats[i])
		group := cats[i : i+1]
		if i == maxCategories {
			lines[i].Name, group = rb.t("rep.requests.other"), cats[i:]
		}
		for _, wk := range weeks {
			n := 0
			for _, cat := range group {
				n += counts[wk][cat]
			}
			lines[i].Points = append(lines[i].Points, ChartPoint{Label: wk, Value: float64(n)})
		}
	}
	rb.line(ChartOptions{Title: rb.t("rep.requests.chart")}, lines...)
	var bars ChartSeries
	for i, cat := range cats {
		if i < maxBars {
			bars.Points = append(bars.Points, ChartPoint{Label: rb.category(cat), Value: float64(totals[cat])})
		}
	}
	rb.bar(ChartOptions{Title: rb.t("rep.requests.byCategory")}, bars)

	cols := []string{"rep.col.week"}
	tab := rb.table("requests", "rep.requests.table", cols...)
	for _, cat := range cats {
		tab.Cols = append(tab.Cols, column{Title: rb.category(cat), Num: true})
	}
	tab.Cols = append(tab.Cols, column{Title: rb.t("rep.col.total"), Num: true})
	for i := len(weeks) - 1; i >= 0; i-- { // newest week first
		wk := weeks[i]
		row := []cell{textCell(wk)}
		sum := 0
		for _, cat := range cats {
			row = append(row, intCell(counts[wk][cat]))
			sum += counts[wk][cat]
		}
		tab.add(append(row, intCell(sum))...)
	}
}

// everyWeek is the ISO weeks from the first of weeks (sorted, "2026-W07")
// to the last, those without requests too: a quiet week is a zero, not a
// week left out of the axis. A name it cannot read leaves weeks as given.
func everyWeek(weeks []string) []string {
	if len(weeks) < 2 {
		return weeks
	}
	first, ok1 := weekMonday(weeks[0])
	last, ok2 := weekMonday(weeks[len(weeks)-1])
	if !ok1 || !ok2 {
		return weeks
	}
	var out []string
	for d := first; !d.After(last); d = d.AddDate(0, 0, 7) {
		y, w := d.ISOWeek()
		out = append(out, fmt.Sprintf("%04d-W%02d", y, w))
	}
	return out
}

// weekMonday is the Monday of ISO week name ("2026-W07").
func weekMonday(name string) (time.Time, bool) {
	var y, w int
	if n, err := fmt.Sscanf(name, "%4d-W%2d", &y, &w); n != 2 || err != nil || w < 1 || w > 53 {
		return time.Time{}, false
	}
	jan4 := time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC) // always in week 1
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, 7*(w-1)), true
}

// category is a request category as shown ("uncategorised" translated).
func (rb *reportBuilder) category(cat string) string {
	return rb.word("rep.requests.cat."+cat, cat)
}

func (rb *reportBuilder) calibration(d []projections.CalibrationDistance) {
	byEval := map[string]*ChartSeries{}
	var order []string
	months := map[string]bool{}
	sessions := 0
	var sum float64
	tab := rb.table("calibration", "rep.calibration.table", "rep.col.evaluator", "rep.col.month", "rep.col.sessions#", "rep.col.meanDistance#")
	for _, cd := range d {
		s := byEval[cd.EvaluatorID]
		if s == nil {
			s = &ChartSeries{Name: rb.person(cd.EvaluatorID)}
			byEval[cd.EvaluatorID] = s
			order = append(order, cd.EvaluatorID)
		}
		s.Points = append(s.Points, ChartPoint{Label: cd.Month, Value: cd.MeanDistance})
		months[cd.Month] = true
		sessions += cd.Sessions
		sum += cd.MeanDistance * float64(cd.Sessions)
		tab.add(textCell(rb.person(cd.EvaluatorID)), textCell(cd.Month), intCell(cd.Sessions), decimalCell(cd.MeanDistance, ""))
	}
	rb.fact("rep.calibration.evaluators", strconv.Itoa(len(order)))
	rb.fact("rep.calibration.scores", groupDigits(strconv.Itoa(sessions)))
	rb.fact("rep.calibration.meanDistance", decimalCell(sum/math.Max(1, float64(sessions)), "").Text)
	// Every evaluator's line over every month (a month without a session
	// of theirs breaks their line).
	series := make([]ChartSeries, len(order))
	for i, id := range order {
		series[i] = *byEval[id]
	}
	rb.line(ChartOptions{Title: rb.t("rep.calibration.chart"), Labels: sortedKeys(months)}, series...)
}
