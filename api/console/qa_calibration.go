package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Calibration (docs/console.md, "Calibration"): supervisors and centre
// heads score the same call, each blind to the others' scores while the
// session is open, and see when it is closed how far apart they lie: per
// item the spread of their scores, per evaluator the distance from the
// consensus. /qa/calibrations lists the sessions and opens one;
// /qa/calibrations/{id} scores, closes and shows the outcome. Reads go
// through GET /v1/qa/calibrations (which hides the others' scores while a
// session is open), writes through its POST routes (c.dispatch).

// qaLeadRoles open, score and close calibration sessions, edit the
// scorecard forms and the sampling plan (the API's QA leads).
var qaLeadRoles = []string{"supervisor", "centre_head"}

// calibrationRoutes registers the calibration sessions
// (/qa/calibrations, /qa/calibrations/{id}).
func (c *Console) calibrationRoutes() {
	c.page("GET /qa/calibrations", qaLeadRoles, c.calibrationsPage)
	c.page("POST /qa/calibrations", qaLeadRoles, c.postCalibration)
	c.page("GET /qa/calibrations/{id}", qaLeadRoles, c.calibrationPage)
	c.page("POST /qa/calibrations/{id}/scores", qaLeadRoles, c.postCalibrationScore)
	c.page("POST /qa/calibrations/{id}/closure", qaLeadRoles, c.postCalibrationClosure)
}

// ── the list and the form that opens a session ───────────────────────────

// calibrationList is /qa/calibrations' data.
type calibrationList struct {
	Status   string // the filter: "", open, closed
	Mine     bool   // only sessions naming the signed-in member
	Sessions []calibrationRow
	Forms    []projections.ScorecardForm
	People   []projections.StaffMember // who may evaluate: active supervisors and centre heads
	Calls    []string                  // reviewed calls, newest first, for the call field's suggestions
	Open     openSession
}

// calibrationRow is a session of the list.
type calibrationRow struct {
	projections.CalibrationSession
	Opener string
	Names  []string // the evaluators' names
	ToDo   bool     // the signed-in member is to score it
}

// openSession is the form that opens a session, as typed, with its errors.
type openSession struct {
	CallID, FormID, Version, Note string
	Evaluators                    []string
	Key                           string
	Error                         string            // a refusal not about one field
	Fields                        map[string]string // field → message
}

func (c *Console) calibrationsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	o := openSession{CallID: strings.TrimSpace(q.Get("call")), Evaluators: []string{s.StaffID}}
	return c.renderCalibrations(w, r, s, http.StatusOK, o)
}

func (c *Console) renderCalibrations(w http.ResponseWriter, r *http.Request, s *Session, status int, o openSession) error {
	q := r.URL.Query()
	p := &calibrationList{Status: q.Get("status"), Mine: q.Get("mine") == "1", Open: o}
	if p.Status != projections.CalibrationOpen && p.Status != projections.CalibrationClosed {
		p.Status = ""
	}
	f := url.Values{}
	if p.Status != "" {
		f.Set("status", p.Status)
	}
	if p.Mine {
		f.Set("evaluator", s.StaffID)
	}
	var list struct {
		Items []projections.CalibrationSession `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/calibrations?"+f.Encode(), &list); err != nil {
		return err
	}
	names := c.staffNameMap(r)
	for _, cs := range list.Items {
		row := calibrationRow{CalibrationSession: cs, Opener: nameOr(names, cs.OpenerID)}
		for _, id := range cs.Evaluators {
			row.Names = append(row.Names, nameOr(names, id))
		}
		row.ToDo = cs.Status == projections.CalibrationOpen && slices.Contains(cs.Evaluators, s.StaffID) && !slices.Contains(cs.Scored, s.StaffID)
		p.Sessions = append(p.Sessions, row)
	}
	if err := c.openFormChoices(r, s, p); err != nil {
		return err
	}
	if p.Open.Key == "" {
		p.Open.Key = newKey()
	}
	if p.Open.Fields == nil {
		p.Open.Fields = map[string]string{}
	}
	c.render(w, r, status, "qa_calibrations", "cal.title", p)
	return nil
}

// maxCallChoices is how many reviewed calls the call field suggests.
const maxCallChoices = 50

// openFormChoices fills what the form that opens a session offers: the
// forms, the evaluators and recently reviewed calls.
func (c *Console) openFormChoices(r *http.Request, s *Session, p *calibrationList) error {
	var forms struct {
		Items []projections.ScorecardForm `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/forms", &forms); err != nil {
		return err
	}
	p.Forms = forms.Items
	if p.Open.FormID == "" && len(p.Forms) > 0 {
		p.Open.FormID = p.Forms[0].ID
	}
	staff, err := c.Queries.StaffList(r.Context())
	if err != nil {
		return err
	}
	for _, m := range staff {
		if m.Active && (m.Role == "supervisor" || m.Role == "centre_head") {
			p.People = append(p.People, m)
		}
	}
	var calls struct {
		Items []projections.CallView `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/evaluations", &calls); err != nil {
		return err
	}
	for i, cv := range calls.Items {
		if i == maxCallChoices {
			break
		}
		p.Calls = append(p.Calls, cv.ID)
	}
	return nil
}

// nameOr is id's name in names, or id.
func nameOr(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// postCalibration opens a session (POST /v1/qa/calibrations) and goes to
// it; a refusal shows the form again as typed, the message at its field.
func (c *Console) postCalibration(w http.ResponseWriter, r *http.Request, s *Session) error {
	o := openSession{CallID: strings.TrimSpace(r.PostFormValue("callId")), FormID: r.PostFormValue("formId"),
		Version: strings.TrimSpace(r.PostFormValue("formVersion")), Note: r.PostFormValue("note"),
		Evaluators: r.PostForm["evaluator"], Key: r.PostFormValue("_key"), Fields: map[string]string{}}
	body := map[string]any{"callId": o.CallID, "formId": o.FormID, "evaluators": o.Evaluators, "note": o.Note}
	if o.Evaluators == nil {
		body["evaluators"] = []string{}
	}
	if o.Version != "" {
		v, err := strconv.Atoi(o.Version)
		if err != nil {
			o.Fields["formVersion"] = c.cat.text(language(r), "cal.open.badVersion")
			return c.renderCalibrations(w, r, s, http.StatusBadRequest, o)
		}
		body["formVersion"] = v
	}
	res, status, err := c.dispatch(r, s, http.MethodPost, "/v1/qa/calibrations", "_key", body)
	if err != nil {
		if status >= 500 || (status < 400 && events.ErrorCode(err) != events.Invalid) {
			return err
		}
		msg := c.cat.errorText(language(r), err)
		field := invalidField(err)
		field, _, _ = strings.Cut(field, "[")
		switch field {
		case "callId", "formId", "formVersion", "evaluators", "note":
			o.Fields[field] = msg
		default:
			o.Error = msg
		}
		return c.renderCalibrations(w, r, s, max(status, http.StatusBadRequest), o)
	}
	id := stringOf(res["sessionId"])
	http.Redirect(w, r, "/qa/calibrations/"+url.PathEscape(id)+"?done=opened", http.StatusSeeOther)
	return nil
}

// invalidField is the field an Invalid error names ("" for none).
func invalidField(err error) string {
	var ee *events.Error
	if asEventsError(err, &ee) && ee.Code == events.Invalid {
		return ee.Field
	}
	return ""
}

// ── one session ──────────────────────────────────────────────────────────

// calibrationView is /qa/calibrations/{id}'s data.
type calibrationView struct {
	Session projections.CalibrationSession
	Form    projections.ScorecardForm
	Call    *projections.CallView // nil: the call cannot be read
	Player  playerView
	Opener  string
	Closed  string              // when it was closed, in KST ("" open)
	People  []calibrationPerson // the evaluators, in the session's order
	Done    string              // a catalog key: what was just done

	// While open.
	Evaluator bool // the signed-in member is an evaluator
	Mine      *projections.CalibrationScore
	Card      []cardItem // the scorecard to score on (an evaluator who has not scored)
	CardKey   string
	CardErr   string
	CanClose  bool // the opener or a centre head, with at least two scores
	Closer    bool // the opener or a centre head
	CloseKey  string
	CloseNote string
	CloseErr  string

	// Once closed.
	Scores  []calibrationScoreRow
	Items   []spreadRow
	Charts  []figure
	Spreads int // how many items lie 25 points or more apart
}

// calibrationPerson is an evaluator and whether they have scored.
type calibrationPerson struct {
	ID, Name string
	Scored   bool
}

// calibrationScoreRow is an evaluator's score of a closed session.
type calibrationScoreRow struct {
	projections.CalibrationScore
	Name string
}

// spreadRow is an item of a closed session: each evaluator's score as a
// percentage of its max (in the order of the scores), and how far apart.
type spreadRow struct {
	projections.ItemSpread
	Cells []string // "N/A" or "80%"
	Wide  bool     // the scores lie wideSpread or more apart
}

// sideChart is the width of the charts beside a closed session's tables.
const sideChart = 400

// wideSpread is the spread (in points of 100) a closed session marks for
// the team to talk about.
const wideSpread = 25

// calibrationDone are the notices ?done= may show.
var calibrationDone = map[string]string{"opened": "cal.done.opened", "scored": "cal.done.scored", "closed": "cal.done.closed"}

func (c *Console) calibrationPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	v, err := c.calibrationData(r, s)
	if err != nil {
		return err
	}
	v.Done = calibrationDone[r.URL.Query().Get("done")]
	c.render(w, r, http.StatusOK, "qa_calibration", "cal.session.title", v)
	return nil
}

// calibrationData reads session {id} and what its page shows with it.
func (c *Console) calibrationData(r *http.Request, s *Session) (*calibrationView, error) {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return nil, errNoPage
	}
	v := &calibrationView{CardKey: newKey(), CloseKey: newKey()}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/calibrations/"+url.PathEscape(id), &v.Session); err != nil {
		return nil, err
	}
	cs := &v.Session
	q := url.Values{"version": {strconv.Itoa(cs.FormVersion)}}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/forms/"+url.PathEscape(cs.FormID)+"?"+q.Encode(), &v.Form); err != nil {
		return nil, err
	}
	if call, err := c.callFor(r, s, cs.CallID); err == nil {
		v.Call = &call
		if call.Recording.SHA256 != "" {
			v.Player = c.newPlayer(r, playerView{Src: recordingSrc(call), DurationSec: call.DurationSec, StartSec: startSec(r, call.DurationSec)})
		}
	}
	names := c.staffNameMap(r)
	v.Opener = nameOr(names, cs.OpenerID)
	if cs.ClosedAt != nil {
		v.Closed = formatTime(*cs.ClosedAt)
	}
	for _, e := range cs.Evaluators {
		v.People = append(v.People, calibrationPerson{ID: e, Name: nameOr(names, e), Scored: slices.Contains(cs.Scored, e)})
	}
	v.Closer = cs.OpenerID == s.StaffID || s.Role == "centre_head"
	if cs.Status == projections.CalibrationOpen {
		c.openSessionView(v, s)
	} else {
		c.closedSessionView(r, v, names)
	}
	return v, nil
}

// openSessionView fills what an open session shows s: their own score, or
// the scorecard while they have not scored, and the close form.
func (c *Console) openSessionView(v *calibrationView, s *Session) {
	cs := &v.Session
	v.Evaluator = slices.Contains(cs.Evaluators, s.StaffID)
	for i := range cs.Scores {
		if cs.Scores[i].EvaluatorID == s.StaffID {
			v.Mine = &cs.Scores[i]
		}
	}
	if v.Evaluator && v.Mine == nil && !slices.Contains(cs.Scored, s.StaffID) {
		for _, fi := range v.Form.Items {
			v.Card = append(v.Card, cardItem{FormItem: fi})
		}
	}
	v.CanClose = v.Closer && len(cs.Scored) >= 2
}

// closedSessionView lays out a closed session's outcome: each evaluator's
// total and distance, each item's spread, and their charts.
func (c *Console) closedSessionView(r *http.Request, v *calibrationView, names map[string]string) {
	lang := language(r)
	var dist ChartSeries
	for _, sc := range v.Session.Scores {
		row := calibrationScoreRow{CalibrationScore: sc, Name: nameOr(names, sc.EvaluatorID)}
		v.Scores = append(v.Scores, row)
		dist.Points = append(dist.Points, ChartPoint{Label: row.Name, Value: sc.Distance})
	}
	var spread ChartSeries
	for _, it := range v.Session.Items {
		row := spreadRow{ItemSpread: it, Wide: it.Spread >= wideSpread}
		for _, x := range it.Scores {
			if x < 0 {
				row.Cells = append(row.Cells, "N/A")
			} else {
				row.Cells = append(row.Cells, formatValue(x, "%"))
			}
		}
		if row.Wide {
			v.Spreads++
		}
		v.Items = append(v.Items, row)
		spread.Points = append(spread.Points, ChartPoint{Label: it.Label, Value: it.Spread})
	}
	t1, t2 := c.cat.text(lang, "cal.chart.distance"), c.cat.text(lang, "cal.chart.spread")
	v.Charts = []figure{
		{Title: t1, SVG: barChart(ChartOptions{Title: t1, Width: sideChart}, dist)},
		{Title: t2, SVG: barChart(ChartOptions{Title: t2, Max: 100, Width: sideChart}, spread)},
	}
}

// scoreItemsView is the dot of the "scoreitems" partial: a scorecard's
// items and the page's language.
type scoreItemsView struct {
	Items []cardItem
	v     view
}

// T is the page's message key.
func (s scoreItemsView) T(key string, args ...any) string { return s.v.T(key, args...) }

func init() {
	funcs["scoreItems"] = func(v view, items []cardItem) scoreItemsView { return scoreItemsView{Items: items, v: v} }
}

// Fmt writes a total or a distance to one decimal, as the reports do.
func (*calibrationView) Fmt(x float64) string { return formatValue(x, "") }

// Fmt writes a consensus to one decimal.
func (*calibrationList) Fmt(x float64) string { return formatValue(x, "") }

// postCalibrationScore scores the session as the signed-in evaluator
// (POST /v1/qa/calibrations/{id}/scores); a refusal shows the scorecard as
// filled in, the message at its item.
func (c *Console) postCalibrationScore(w http.ResponseWriter, r *http.Request, s *Session) error {
	v, err := c.calibrationData(r, s)
	if err != nil {
		return err
	}
	if v.Card == nil {
		return events.Errorf(events.Conflict, "this session cannot be scored by you now")
	}
	v.CardKey = r.PostFormValue("_key")
	items := make([]scoreInput, len(v.Card))
	for i := range v.Card {
		it := &v.Card[i]
		it.Score, it.Comment = postedScore(r, it.FormItem), r.PostFormValue("comment."+it.ItemID)
		items[i] = scoreInput{ItemID: it.ItemID, Comment: it.Comment, NA: it.Score == "na"}
		if n, err := strconv.Atoi(it.Score); err == nil {
			items[i].Score = &n
		}
	}
	path := "/v1/qa/calibrations/" + url.PathEscape(v.Session.ID)
	if _, status, err := c.dispatch(r, s, http.MethodPost, path+"/scores", "_key", map[string]any{"items": items}); err != nil {
		if status >= 500 || status < 400 {
			return err
		}
		msg := c.cat.errorText(language(r), err)
		if i, ok := fieldIndex(invalidField(err), "items["); ok && i < len(v.Card) {
			v.Card[i].Err = msg
		} else {
			v.CardErr = msg
		}
		c.render(w, r, status, "qa_calibration", "cal.session.title", v)
		return nil
	}
	http.Redirect(w, r, "/qa/calibrations/"+url.PathEscape(v.Session.ID)+"?done=scored", http.StatusSeeOther)
	return nil
}

// postCalibrationClosure closes the session (POST
// /v1/qa/calibrations/{id}/closure) with its note.
func (c *Console) postCalibrationClosure(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoPage
	}
	note := r.PostFormValue("note")
	path := "/v1/qa/calibrations/" + url.PathEscape(id) + "/closure"
	if _, status, err := c.dispatch(r, s, http.MethodPost, path, "_key", map[string]any{"note": note}); err != nil {
		if status >= 500 || status < 400 {
			return err
		}
		v, rerr := c.calibrationData(r, s)
		if rerr != nil {
			return rerr
		}
		v.CloseNote, v.CloseErr = note, c.cat.errorText(language(r), err)
		c.render(w, r, status, "qa_calibration", "cal.session.title", v)
		return nil
	}
	http.Redirect(w, r, "/qa/calibrations/"+url.PathEscape(id)+"?done=closed", http.StatusSeeOther)
	return nil
}
