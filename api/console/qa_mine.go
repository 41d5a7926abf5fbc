package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The rep's screens (docs/console.md, "The rep's evaluations and coaching
// points"): my evaluations (/me/evaluations), each call's latest one with
// its items, total and coaching points, the ones it superseded still
// readable, and the rep's two answers to an evaluation: acknowledge it
// (POST /v1/calls/{id}/evaluations/{n}/acknowledgement) or dispute it with
// a reason within the dispute window (…/dispute); and my coaching points
// (/me/coaching), each playing its call from its moment on the call page
// (/qa/calls/{id}?t=SEC). Like every page they read and write through the
// API as the signed-in rep, so the API's rules (own calls only, the window,
// one open dispute) are the screens' rules.

// myQARoutes registers the rep's screens: my evaluations
// (/me/evaluations: acknowledge, dispute) and my coaching points
// (/me/coaching, each playing its call from its moment).
func (c *Console) myQARoutes() {
	c.page("GET /me/evaluations", advisorRoles, c.myEvaluations)
	c.page("POST /me/evaluations/{call}/{n}/acknowledgement", advisorRoles, c.postEvaluationAnswer("acknowledgement"))
	c.page("POST /me/evaluations/{call}/{n}/dispute", advisorRoles, c.postEvaluationAnswer("dispute"))
	c.page("GET /me/coaching", advisorRoles, c.myCoaching)
	c.page("POST /me/coaching/{point}/acknowledgement", advisorRoles, c.postPointAck)
	c.page("GET /team/reps/{rep}", qaLeadRoles, c.repPlan)
}

// myEvalPage is /me/evaluations' data.
type myEvalPage struct {
	Calls    []evalCall
	Window   int    // the dispute window in days
	Done     string // a catalog key: what was just done
	DoneCall string // on which call
	Error    string // a refusal whose form the page no longer offers (the window closed meanwhile)
}

// evalCall is one reviewed call of the rep: its evaluations and disputes.
type evalCall struct {
	projections.CallView
	Evals    []*evalView // newest first: the latest, then those it superseded
	Disputes []projections.Dispute
	Open     *projections.Dispute // the dispute awaiting a supervisor
}

// Clock shows the call's length as mm:ss.
func (evalCall) Clock(sec int) string { return qaClock(sec) }

// evalView is one evaluation with its coaching points and the rep's forms.
type evalView struct {
	projections.Review
	Reviewer string // the reviewer's name
	Points   []pointRow
	// The forms: what may be done, their Idempotency-Keys, and a refused
	// submission's text and message.
	CanAck, CanDispute bool
	DisputeUntil       time.Time
	AckKey, DisputeKey string
	Comment, Reason    string
	AckErr, DisputeErr string
}

// Score shows an item's score out of its max ("3 / 5"), or N/A.
func (v *evalView) Score(it events.ReviewItem) string {
	if it.NA || it.Score == nil {
		return "N/A"
	}
	return strconv.Itoa(*it.Score) + " / " + strconv.Itoa(it.Max)
}

// Failed reports whether it is a critical item scored 0.
func (v *evalView) Failed(it events.ReviewItem) bool {
	return it.Critical && !it.NA && it.Score != nil && *it.Score == 0
}

// SupersededWhen shows when a later evaluation replaced this one (KST).
func (v *evalView) SupersededWhen() string {
	if v.SupersededAt == nil {
		return ""
	}
	return formatTime(*v.SupersededAt)
}

// Total shows the evaluation's total to one decimal.
func (v *evalView) Total() string { return strconv.FormatFloat(v.Review.Total, 'f', 1, 64) }

// pointRow is a coaching point as the screens list it.
type pointRow struct {
	projections.CoachingPoint
	Rep    string // the rep's name (the centre head's screen)
	AckKey string // the rep's acknowledgement form's Idempotency-Key
	AckErr string
}

// At shows the point's moment as mm:ss ("01:23"; h:mm:ss from an hour),
// "" for a point about the whole call.
func (p pointRow) At() string {
	if p.AtSec == nil {
		return ""
	}
	return qaClock(*p.AtSec)
}

// Play is the call page playing the point's call from its moment.
func (p pointRow) Play() string {
	href := "/qa/calls/" + url.PathEscape(p.CallID)
	if p.AtSec != nil {
		href += "?t=" + strconv.Itoa(*p.AtSec)
	}
	return href
}

// AckedOn is the KST date the rep acknowledged the point, "" if not yet.
func (p pointRow) AckedOn() string {
	if p.Acknowledged == nil {
		return ""
	}
	return formatDate(*p.Acknowledged)
}

// Open reports whether the point still awaits its check.
func (p pointRow) Open() bool { return p.Status != projections.StatusImproved }

// evalForm is a refused submission of one of an evaluation's forms, shown
// again with its text and the message.
type evalForm struct {
	call      string
	n         int
	kind      string // "acknowledgement" or "dispute"
	text, err string
}

// myEvalDone are the notices /me/evaluations?done= may show.
var myEvalDone = map[string]string{
	"acknowledgement": "mine.done.ack",
	"dispute":         "mine.done.dispute",
}

func (c *Console) myEvaluations(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := myEvalPage{Done: myEvalDone[q.Get("done")]}
	if id := q.Get("call"); p.Done != "" && events.ValidID(id) {
		p.DoneCall = id
	}
	return c.renderMyEvaluations(w, r, s, http.StatusOK, p, nil)
}

// renderMyEvaluations reads the rep's evaluations and coaching points
// through the API and shows them, with refused (nil: none) in its form.
func (c *Console) renderMyEvaluations(w http.ResponseWriter, r *http.Request, s *Session, status int, p myEvalPage, refused *evalForm) error {
	var list struct {
		Items []projections.CallView `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/evaluations?rep="+url.QueryEscape(s.StaffID), &list); err != nil {
		return err
	}
	points, err := c.coachingPoints(r, s, "rep="+url.QueryEscape(s.StaffID))
	if err != nil {
		return err
	}
	names := c.staffNames(language(r))
	byID := map[string]projections.CoachingPoint{}
	for _, pt := range points {
		byID[pt.ID] = pt
	}
	window := c.disputeWindow()
	p.Window = int(window / (24 * time.Hour))
	now := c.now()
	for _, cv := range list.Items {
		if len(cv.Evaluations) == 0 {
			continue
		}
		ec := evalCall{CallView: cv, Disputes: cv.Disputes}
		for i := range cv.Disputes {
			if cv.Disputes[i].Status == projections.DisputeOpen {
				ec.Open = &cv.Disputes[i]
			}
		}
		for i := len(cv.Evaluations) - 1; i >= 0; i-- {
			ev := &evalView{Review: cv.Evaluations[i], Reviewer: names.name(r.Context(), cv.Evaluations[i].ReviewerID)}
			for _, id := range ev.CoachingPoints {
				if pt, ok := byID[id]; ok {
					ev.Points = append(ev.Points, pointRow{CoachingPoint: pt})
				}
			}
			current := ev.SupersededAt == nil
			ev.CanAck = current && ev.AcknowledgedAt == nil
			ev.DisputeUntil = ev.ReviewedAt.Add(window)
			ev.CanDispute = current && i == len(cv.Evaluations)-1 && ec.Open == nil && now.Before(ev.DisputeUntil)
			ev.AckKey, ev.DisputeKey = newKey(), newKey()
			if refused != nil && refused.call == cv.ID && refused.n == ev.Evaluation {
				switch {
				case refused.kind == "dispute" && ev.CanDispute:
					ev.Reason, ev.DisputeErr = refused.text, refused.err
				case refused.kind != "dispute" && ev.CanAck:
					ev.Comment, ev.AckErr = refused.text, refused.err
				}
			}
			ec.Evals = append(ec.Evals, ev)
		}
		p.Calls = append(p.Calls, ec)
	}
	if refused != nil && !fieldRefused(p.Calls) {
		p.Error = refused.err
	}
	slices.SortFunc(p.Calls, func(a, b evalCall) int {
		if c := b.Evals[0].ReviewedAt.Compare(a.Evals[0].ReviewedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	c.render(w, r, status, "qa_mine", "mine.title", p)
	return nil
}

// fieldRefused reports whether a refusal is shown at its form's field.
func fieldRefused(calls []evalCall) bool {
	for _, ec := range calls {
		for _, ev := range ec.Evals {
			if ev.AckErr != "" || ev.DisputeErr != "" {
				return true
			}
		}
	}
	return false
}

// disputeWindow is the API's dispute window.
func (c *Console) disputeWindow() time.Duration {
	if c.API.DisputeWindow > 0 {
		return c.API.DisputeWindow
	}
	return events.DisputeWindow
}

// coachingPoints reads GET /v1/coaching?query.
func (c *Console) coachingPoints(r *http.Request, s *Session, query string) ([]projections.CoachingPoint, error) {
	var list struct {
		Items []projections.CoachingPoint `json:"items"`
	}
	path := "/v1/coaching"
	if query != "" {
		path += "?" + query
	}
	if err := c.apiJSON(r.Context(), s, path, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// postEvaluationAnswer runs the rep's answer to evaluation {n} of call
// {call}, kind "acknowledgement" ({"comment"}) or "dispute" ({"reason"}),
// through its API route. A refusal shows the page again with the text and
// the message at the form; a call or evaluation that is not the rep's is
// the API's 404.
func (c *Console) postEvaluationAnswer(kind string) pageFunc {
	field := map[string]string{"acknowledgement": "comment", "dispute": "reason"}[kind]
	return func(w http.ResponseWriter, r *http.Request, s *Session) error {
		call := r.PathValue("call")
		n, err := strconv.Atoi(r.PathValue("n"))
		if !events.ValidID(call) || err != nil || n < 1 || n > 1000 {
			return errNoPage
		}
		text := lineBreaks([]string{r.PostFormValue(field)})[0]
		path := "/v1/calls/" + url.PathEscape(call) + "/evaluations/" + strconv.Itoa(n) + "/" + kind
		_, status, err := c.dispatch(r, s, http.MethodPost, path, "_key", map[string]string{field: text})
		switch events.ErrorCode(err) {
		case "":
			http.Redirect(w, r, "/me/evaluations?"+url.Values{"done": {kind}, "call": {call}}.Encode()+"#call-"+call, http.StatusSeeOther)
			return nil
		case events.Invalid, events.Conflict:
			f := &evalForm{call: call, n: n, kind: kind, text: text, err: c.cat.errorText(language(r), err)}
			return c.renderMyEvaluations(w, r, s, max(status, http.StatusBadRequest), myEvalPage{}, f)
		}
		return err
	}
}

// myCoachingPage is /me/coaching's data, and a rep's coaching plan
// (/team/reps/{rep}) for supervisors and centre heads: the same lists, read
// only, with the rep's improvement rate.
type myCoachingPage struct {
	Open, Closed []pointRow // awaiting their check (earliest due first); improved
	Done         bool       // a point was just acknowledged
	DoneID       string
	Of           string // the plan's rep, named (a plan, not the rep's own page)
	Overdue      int
	Rate         *projections.RepCoaching // the rep's checks and improvement rate, nil before any check
}

// repPlan is rep {rep}'s coaching plan: their open points with due dates
// and overdue ones marked, the improved ones, and their improvement rate,
// read through GET /v1/coaching and the coaching report.
func (c *Console) repPlan(w http.ResponseWriter, r *http.Request, s *Session) error {
	rep := r.PathValue("rep")
	if !events.ValidID(rep) {
		return errNoPage
	}
	points, err := c.coachingPoints(r, s, "rep="+url.QueryEscape(rep))
	if err != nil {
		return err
	}
	var report struct {
		Data projections.CoachingReport `json:"data"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/reports/coaching", &report); err != nil {
		return err
	}
	p := myCoachingPage{Of: c.staffNames(language(r)).name(r.Context(), rep)}
	for i := range report.Data.ByRep {
		if rc := report.Data.ByRep[i]; rc.RepID == rep {
			p.Rate = &rc
		}
	}
	p.split(points, "", "")
	for _, row := range p.Open {
		if row.Overdue {
			p.Overdue++
		}
	}
	c.render(w, r, http.StatusOK, "qa_mycoaching", "mine.plan.title", p)
	return nil
}

// split sorts points into p's open and closed lists, with refusedErr at
// the acknowledgement form of point refusedID.
func (p *myCoachingPage) split(points []projections.CoachingPoint, refusedID, refusedErr string) {
	for _, pt := range points {
		row := pointRow{CoachingPoint: pt, AckKey: newKey()}
		if pt.ID == refusedID {
			row.AckErr = refusedErr
		}
		if row.Open() {
			p.Open = append(p.Open, row)
		} else {
			p.Closed = append(p.Closed, row)
		}
	}
	slices.SortFunc(p.Closed, func(a, b pointRow) int { return b.RaisedAt.Compare(a.RaisedAt) })
}

func (c *Console) myCoaching(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := myCoachingPage{Done: q.Get("done") == "acknowledged"}
	if id := q.Get("point"); p.Done && events.ValidID(id) {
		p.DoneID = id
	}
	return c.renderMyCoaching(w, r, s, http.StatusOK, p, "", "")
}

// renderMyCoaching shows the rep's points, with refusedErr at the
// acknowledgement form of point refusedID.
func (c *Console) renderMyCoaching(w http.ResponseWriter, r *http.Request, s *Session, status int, p myCoachingPage, refusedID, refusedErr string) error {
	points, err := c.coachingPoints(r, s, "rep="+url.QueryEscape(s.StaffID))
	if err != nil {
		return err
	}
	p.split(points, refusedID, refusedErr)
	c.render(w, r, status, "qa_mycoaching", "mine.coaching.title", p)
	return nil
}

// postPointAck acknowledges coaching point {point} (POST
// /v1/coaching/{id}/acknowledgement) and goes back to the list.
func (c *Console) postPointAck(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("point")
	if !events.ValidID(id) {
		return errNoPage
	}
	comment := lineBreaks([]string{r.PostFormValue("comment")})[0]
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/coaching/"+url.PathEscape(id)+"/acknowledgement", "_key", map[string]string{"comment": comment})
	switch events.ErrorCode(err) {
	case "":
		http.Redirect(w, r, "/me/coaching?"+url.Values{"done": {"acknowledged"}, "point": {id}}.Encode()+"#point-"+id, http.StatusSeeOther)
		return nil
	case events.Invalid, events.Conflict:
		return c.renderMyCoaching(w, r, s, max(status, http.StatusBadRequest), myCoachingPage{}, id, c.cat.errorText(language(r), err))
	}
	return err
}
