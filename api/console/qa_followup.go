package console

import (
	"cmp"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The centre head's screens (docs/console.md, "The centre head's
// follow-ups and team"): the coaching points whose follow-up is due this
// week (the KST week, Monday to Sunday) or overdue (/coaching), one of them
// open beside the list with the call's player starting at the point's
// moment and the check's form (POST /v1/coaching/{id}/follow-up: improved,
// or not improved, which re-opens the point a month later); and the team
// (/team): QA scores per rep per month and the coaching improvement rate,
// as charts with their figures as tables.

// followUpRoutes registers the centre head's screens: the follow-ups due
// this week and overdue (/coaching) and the team's QA scores, coaching
// improvement and evaluator calibration as charts (/team).
func (c *Console) followUpRoutes() {
	c.page("GET /coaching", headRoles, c.followUps)
	c.page("POST /coaching/{point}/follow-up", headRoles, c.postFollowUp)
	c.page("GET /team", headRoles, c.team)
}

// headRoles may open the centre head's screens.
var headRoles = []string{"centre_head"}

// followUpPage is /coaching's data.
type followUpPage struct {
	WeekStart, WeekEnd time.Time // the KST week: [Monday 00:00, next Monday 00:00)
	Overdue, ThisWeek  []pointRow
	Selected           *followUpView // the point open beside the list (nil: none)
	Done               string        // a catalog key: the check just recorded
	DoneRep, DoneDue   string        // whose point, and when it is due again (not improved)
	Error              string        // a refused check of a point no longer listed (closed meanwhile)
}

// fuList is one of the page's two lists.
type fuList struct {
	ID, Title, Empty string // the section's id, its title's and its empty text's catalog keys
	Rows             []pointRow
}

// Lists are the overdue follow-ups, then this week's.
func (p followUpPage) Lists() []fuList {
	return []fuList{{"overdue", "fu.overdue", "fu.overdue.none", p.Overdue}, {"week", "fu.week", "fu.week.none", p.ThisWeek}}
}

// SelectedID is the id of the point open beside the lists, "" if none.
func (p followUpPage) SelectedID() string {
	if p.Selected == nil {
		return ""
	}
	return p.Selected.Point.ID
}

// LastDay is the week's Sunday.
func (p followUpPage) LastDay() time.Time { return p.WeekEnd.Add(-time.Hour) }

// followUpView is the point open beside the list: its call's player from
// its moment, its history and the check's form.
type followUpView struct {
	Point    pointRow
	Call     projections.CallView
	Player   any // the player partial's data (qa.go, newPlayer)
	Key      string
	Outcome  string
	Note     string
	Err      string
	NoteErr  string
	Reviewer string
	History  []checkRow // the point's earlier checks
}

// checkRow is an earlier check of a point, with its checker's name.
type checkRow struct {
	projections.FollowUpResult
	Checker string
}

// followUpDone are the notices /coaching?done= may show.
var followUpDone = map[string]string{
	projections.StatusImproved:    "fu.done.improved",
	projections.StatusNotImproved: "fu.done.not_improved",
}

// kstWeek returns the KST week holding t: its Monday 00:00 and the next
// Monday's.
func kstWeek(t time.Time) (start, end time.Time) {
	k := t.In(kst)
	days := (int(k.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	start = time.Date(k.Year(), k.Month(), k.Day()-days, 0, 0, 0, 0, kst)
	return start, start.AddDate(0, 0, 7)
}

func (c *Console) followUps(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := followUpPage{Done: followUpDone[q.Get("done")]}
	return c.renderFollowUps(w, r, s, http.StatusOK, p, q.Get("point"), nil)
}

// renderFollowUps shows the week's and the overdue follow-ups with point
// pick open (when pick is not in the lists: the first overdue, else the
// first of the week); refused is a refused check of that point, shown at
// its form, or above the lists when the point is no longer listed.
func (c *Console) renderFollowUps(w http.ResponseWriter, r *http.Request, s *Session, status int, p followUpPage, pick string, refused *followUpView) error {
	now := c.now()
	p.WeekStart, p.WeekEnd = kstWeek(now)
	points, err := c.coachingPoints(r, s, "due_before="+url.QueryEscape(p.WeekEnd.UTC().Format(time.RFC3339)))
	if err != nil {
		return err
	}
	names := c.staffNames(language(r))
	var chosen *pointRow
	for _, pt := range points {
		row := pointRow{CoachingPoint: pt, Rep: names.name(r.Context(), pt.RepID)}
		switch {
		case pt.Status == projections.StatusImproved:
			continue
		case pt.Overdue:
			p.Overdue = append(p.Overdue, row)
		default:
			p.ThisWeek = append(p.ThisWeek, row)
		}
		if pt.ID == pick {
			chosen = &row
		}
	}
	if p.Done != "" && events.ValidID(pick) {
		if err := c.doneNotice(r, s, &p, pick, names); err != nil {
			return err
		}
	}
	if chosen == nil && p.Done == "" && refused == nil {
		if len(p.Overdue) > 0 {
			chosen = &p.Overdue[0]
		} else if len(p.ThisWeek) > 0 {
			chosen = &p.ThisWeek[0]
		}
	}
	if chosen != nil {
		v, err := c.followUpView(r, s, *chosen, names)
		if err != nil {
			return err
		}
		if refused != nil {
			v.Outcome, v.Note, v.Err, v.NoteErr = refused.Outcome, refused.Note, refused.Err, refused.NoteErr
		}
		p.Selected = v
	} else if refused != nil {
		p.Error = cmp.Or(refused.Err, refused.NoteErr)
	}
	c.render(w, r, status, "qa_followups", "fu.title", p)
	return nil
}

// doneNotice fills the notice of the check just recorded on point id:
// whose it is and, not improved, when it is due again.
func (c *Console) doneNotice(r *http.Request, s *Session, p *followUpPage, id string, names *staffNames) error {
	points, err := c.coachingPoints(r, s, "")
	if err != nil {
		return err
	}
	for _, pt := range points {
		if pt.ID == id {
			p.DoneRep = names.name(r.Context(), pt.RepID)
			if pt.Status == projections.StatusNotImproved {
				p.DoneDue = formatDate(pt.FollowUpDue)
			}
		}
	}
	return nil
}

// followUpView reads the point's call and builds its player, starting at
// the point's moment, with the point and the call's latest evaluation's
// points marked on the waveform.
func (c *Console) followUpView(r *http.Request, s *Session, pt pointRow, names *staffNames) (*followUpView, error) {
	var got struct {
		Call   projections.CallView        `json:"call"`
		Points []projections.CoachingPoint `json:"coachingPoints"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/calls/"+url.PathEscape(pt.CallID), &got); err != nil {
		return nil, err
	}
	start := 0
	if pt.AtSec != nil {
		start = *pt.AtSec
	}
	// The point itself is marked even when a re-score (which raised
	// points of its own, or none) superseded the evaluation that raised it.
	var marks []playerMark
	for _, o := range append([]projections.CoachingPoint{pt.CoachingPoint}, got.Points...) {
		if o.AtSec != nil && !slices.ContainsFunc(marks, func(m playerMark) bool { return m.ID == o.ID }) {
			marks = append(marks, playerMark{Sec: *o.AtSec, Label: o.Criterion, ID: o.ID})
		}
	}
	v := &followUpView{Point: pt, Call: got.Call, Key: newKey(), Reviewer: names.name(r.Context(), pt.ReviewerID)}
	for _, h := range pt.History {
		v.History = append(v.History, checkRow{FollowUpResult: h, Checker: names.name(r.Context(), h.CheckerID)})
	}
	v.Player = c.newPlayer(r, playerView{Src: recordingSrc(got.Call), DurationSec: got.Call.DurationSec, StartSec: start, Marks: marks})
	return v, nil
}

// postFollowUp records the centre head's check of point {point} (outcome
// improved or not_improved, a note) through POST
// /v1/coaching/{id}/follow-up. A refusal (no outcome, a note too long, a
// point closed already) shows the page again with the point open and the
// message at the form.
func (c *Console) postFollowUp(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("point")
	if !events.ValidID(id) {
		return errNoPage
	}
	outcome, note := r.PostFormValue("outcome"), lineBreaks([]string{r.PostFormValue("note")})[0]
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/coaching/"+url.PathEscape(id)+"/follow-up", "_key",
		map[string]string{"outcome": outcome, "note": note})
	if err == nil {
		http.Redirect(w, r, "/coaching?"+url.Values{"done": {outcome}, "point": {id}}.Encode(), http.StatusSeeOther)
		return nil
	}
	switch events.ErrorCode(err) {
	case events.Invalid, events.Conflict:
	default:
		return err
	}
	f := &followUpView{Outcome: outcome, Note: note}
	msg := c.cat.errorText(language(r), err)
	var ee *events.Error
	if asEventsError(err, &ee) && ee.Field == "note" {
		f.NoteErr = msg
	} else {
		f.Err = msg
	}
	return c.renderFollowUps(w, r, s, max(status, http.StatusBadRequest), followUpPage{}, id, f)
}

// teamPage is /team's data: the charts and their figures.
type teamPage struct {
	QAChart, RateChart, MonthChart template.HTML
	CalChart                       template.HTML
	Cal                            []calRow
	QA                             []qaRow
	Coaching                       projections.CoachingReport
	Reps                           []repRate
	Months                         []monthRate
}

// qaRow is one rep's QA scores of a month.
type qaRow struct {
	projections.QAScore
	Rep string
}

// calRow is one evaluator's mean distance from the consensus in a month.
type calRow struct {
	projections.CalibrationDistance
	Evaluator string
}

// repRate is one rep's coaching outcomes, named.
type repRate struct {
	projections.RepCoaching
	Rep string
}

// monthRate is the team's coaching checks of a month (KST, as the reports).
type monthRate struct {
	Month            string
	Checks, Improved int
	Rate             float64 // percent
}

// Score shows a QA score to one decimal.
func (teamPage) Score(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func (c *Console) team(w http.ResponseWriter, r *http.Request, s *Session) error {
	lang := language(r)
	var qa struct {
		Data []projections.QAScore `json:"data"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/reports/qa", &qa); err != nil {
		return err
	}
	var coaching struct {
		Data projections.CoachingReport `json:"data"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/reports/coaching", &coaching); err != nil {
		return err
	}
	var calibration struct {
		Data []projections.CalibrationDistance `json:"data"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/reports/calibration", &calibration); err != nil {
		return err
	}
	points, err := c.coachingPoints(r, s, "")
	if err != nil {
		return err
	}
	names := c.staffNames(language(r))
	p := teamPage{Coaching: coaching.Data}
	for _, cd := range calibration.Data {
		p.Cal = append(p.Cal, calRow{CalibrationDistance: cd, Evaluator: names.name(r.Context(), cd.EvaluatorID)})
	}
	p.CalChart = lineChart(ChartOptions{Title: c.cat.text(lang, "fu.team.cal.chart"), Unit: c.cat.text(lang, "fu.team.unit.score"),
		Labels: calMonths(p.Cal)}, calSeries(p.Cal)...)
	for _, q := range qa.Data {
		p.QA = append(p.QA, qaRow{QAScore: q, Rep: names.name(r.Context(), q.RepID)})
	}
	for _, rc := range coaching.Data.ByRep {
		p.Reps = append(p.Reps, repRate{RepCoaching: rc, Rep: names.name(r.Context(), rc.RepID)})
	}
	p.Months = monthlyRates(points)
	p.QAChart = lineChart(ChartOptions{Title: c.cat.text(lang, "fu.team.qa.chart"), Unit: c.cat.text(lang, "fu.team.unit.score"), Max: 100},
		qaSeries(p.QA, c.cat.text(lang, "fu.team.qa.all"))...)
	rates := ChartSeries{Name: c.cat.text(lang, "fu.team.rate")}
	for _, rr := range p.Reps {
		rates.Points = append(rates.Points, ChartPoint{Label: rr.Rep, Value: rr.Rate * 100})
	}
	p.RateChart = barChart(ChartOptions{Title: c.cat.text(lang, "fu.team.rate.chart"), Unit: "%", Max: 100}, rates)
	monthly := ChartSeries{Name: c.cat.text(lang, "fu.team.rate")}
	for _, m := range p.Months {
		monthly.Points = append(monthly.Points, ChartPoint{Label: m.Month, Value: m.Rate})
	}
	p.MonthChart = lineChart(ChartOptions{Title: c.cat.text(lang, "fu.team.month.chart"), Unit: "%", Max: 100}, monthly)
	c.render(w, r, http.StatusOK, "qa_team", "fu.team.title", p)
	return nil
}

// qaSeries is the QA chart's lines: first the team's mean of each month
// (weighted by reviews: it has every month, so the axis does), then each
// rep's.
func qaSeries(rows []qaRow, all string) []ChartSeries {
	type acc struct {
		sum     float64
		reviews int
	}
	months := map[string]*acc{}
	byRep := map[string]*ChartSeries{}
	var reps []string
	for _, q := range rows {
		a := months[q.Month]
		if a == nil {
			a = &acc{}
			months[q.Month] = a
		}
		a.sum += q.Average * float64(q.Reviews)
		a.reviews += q.Reviews
		s := byRep[q.RepID]
		if s == nil {
			s = &ChartSeries{Name: q.Rep}
			byRep[q.RepID] = s
			reps = append(reps, q.RepID)
		}
		s.Points = append(s.Points, ChartPoint{Label: q.Month, Value: q.Average})
	}
	team := ChartSeries{Name: all}
	for _, m := range slices.Sorted(maps.Keys(months)) {
		if a := months[m]; a.reviews > 0 {
			team.Points = append(team.Points, ChartPoint{Label: m, Value: a.sum / float64(a.reviews)})
		}
	}
	out := []ChartSeries{team}
	for _, id := range reps {
		s := byRep[id]
		slices.SortFunc(s.Points, func(a, b ChartPoint) int { return cmp.Compare(a.Label, b.Label) })
		out = append(out, *s)
	}
	return out
}

// monthlyRates counts the team's checks per KST month of the check, from
// every point's history: how many, how many improved, the rate in percent.
func monthlyRates(points []projections.CoachingPoint) []monthRate {
	acc := map[string]*monthRate{}
	for _, p := range points {
		for _, h := range p.History {
			m := h.At.In(kst).Format("2006-01")
			a := acc[m]
			if a == nil {
				a = &monthRate{Month: m}
				acc[m] = a
			}
			a.Checks++
			if h.Outcome == projections.StatusImproved {
				a.Improved++
			}
		}
	}
	var out []monthRate
	for _, m := range slices.Sorted(maps.Keys(acc)) {
		a := acc[m]
		a.Rate = float64(a.Improved) / float64(a.Checks) * 100
		out = append(out, *a)
	}
	return out
}

// calMonths are the months of the calibration chart's axis, in order.
func calMonths(rows []calRow) []string {
	seen := map[string]bool{}
	for _, cr := range rows {
		seen[cr.Month] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// calSeries is one line per evaluator over the months they had a closed
// session in (the report's order: by evaluator, then month).
func calSeries(rows []calRow) []ChartSeries {
	var out []ChartSeries
	for _, cr := range rows {
		if len(out) == 0 || out[len(out)-1].Name != cr.Evaluator {
			out = append(out, ChartSeries{Name: cr.Evaluator})
		}
		last := &out[len(out)-1]
		last.Points = append(last.Points, ChartPoint{Label: cr.Month, Value: cr.MeanDistance})
	}
	return out
}
