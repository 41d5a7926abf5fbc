package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The supervisor's QA screens (docs/console.md, "The supervisor's QA queue
// and call page", "Disputes"): the queue of calls selected for review
// (/qa), the call page (/qa/calls/{id}: the player over the recording, the
// scorecard beside it with the total computed as the server computes it,
// coaching points at a second of the call, every evaluation with the ones
// superseded, the disputes) and the disputes to resolve (/qa/disputes:
// uphold, or re-score on the disputed evaluation's form version). Like
// every page they read through the API as the signed-in member (apiJSON)
// and write through its routes (dispatch): a review from this page appends
// what POST /v1/calls/{id}/reviews appends, after the same checks.

// Roles of the QA screens.
var (
	supervisorRoles = []string{"supervisor"}
	// callPageRoles may open a call page; a rep or private banker only
	// their own call's.
	callPageRoles = readerRoles
	// qaQueueRoles may see the queue (the API's QA readers).
	qaQueueRoles = []string{"supervisor", "centre_head", "auditor"}
)

// qaRoutes registers the supervisor's screens: the QA queue (/qa), the
// call page (/qa/calls/{id}: the player, the scorecard, the coaching
// points, every evaluation and dispute), the disputes to resolve
// (/qa/disputes), the scorecard forms (/qa/forms) and the sampling plan
// (/qa/sampling).
func (c *Console) qaRoutes() {
	c.page("GET /qa", qaQueueRoles, c.queuePage)
	c.page("GET /qa/calls/{id}", callPageRoles, c.callPage)
	c.page("POST /qa/calls/{id}/review", supervisorRoles, c.postReview)
	c.page("GET /recordings/{sha256}", callPageRoles, c.getRecording)
	c.page("GET /qa/disputes", supervisorRoles, c.disputesPage)
	c.page("POST /qa/disputes/{id}/resolution", supervisorRoles, c.postResolution)
	c.qaFormRoutes()     // qa_forms.go: the scorecard forms and their editor
	c.qaSamplingRoutes() // qa_sampling.go: the sampling plan and its editor
}

// ── the player ───────────────────────────────────────────────────────────

// playerView is the player partial's data (templates/_player.html, used as
// {{template "player" .}}). Build it with newPlayer, which gives it the
// page's language and this build's assets: a playerView made otherwise
// shows message keys instead of its texts.
type playerView struct {
	Src         string       // the recording's console route: recordingSrc
	DurationSec int          // the call's length, until the audio tells its own
	StartSec    int          // where playback starts (the page's ?t=)
	Marks       []playerMark // coaching points, drawn on the waveform and listed
	AddPoints   bool         // a click on the waveform (or m) asks the page for a point there

	Static string // the assets' prefix (view.Static)
	text   func(key string, args ...any) string
}

// playerMark is a moment of the call drawn on the waveform.
type playerMark struct {
	Sec   int
	Label string
	ID    string // the coaching point's id, or ""
}

// newPlayer returns p ready for the partial on r's page.
func (c *Console) newPlayer(r *http.Request, p playerView) playerView {
	lang := language(r)
	p.Static = "/static/" + c.version
	p.text = func(key string, args ...any) string { return c.cat.text(lang, key, args...) }
	return p
}

// T returns the message key in the page's language (the key itself for a
// playerView not made by newPlayer).
func (p playerView) T(key string, args ...any) string {
	if p.text == nil {
		return key
	}
	return p.text(key, args...)
}

// Clock shows sec as the player does (qaClock).
func (playerView) Clock(sec int) string { return qaClock(sec) }

// qaClock shows sec as mm:ss, or h:mm:ss from an hour.
func qaClock(sec int) string {
	sec = max(sec, 0)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%02d:%02d", sec/60, sec%60)
}

// parseClock reads a moment as typed or as the player fills it: seconds
// ("83"), mm:ss ("01:23") or h:mm:ss; ok is false for anything else.
func parseClock(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	sec := 0
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (i > 0 && (n >= 60 || len(p) != 2)) {
			return 0, false
		}
		sec = sec*60 + n
	}
	return sec, true
}

// recordingSrc is the console route of call's recording.
func recordingSrc(call projections.CallView) string {
	return "/recordings/" + url.PathEscape(call.Recording.SHA256) + "?" + url.Values{"call": {call.ID}}.Encode()
}

// startSec is the page's ?t= (seconds or mm:ss) within the call's
// duration, 0 without one.
func startSec(r *http.Request, duration int) int {
	t, ok := parseClock(r.URL.Query().Get("t"))
	if !ok {
		return 0
	}
	return min(t, max(duration, 0))
}

// getRecording streams call ?call='s recording to the player, Range and
// all, by the API's route (GET /v1/recordings/{sha256}, which records the
// play in the access record): only the recording of a call the member may
// open (callFor), and only that call's.
func (c *Console) getRecording(w http.ResponseWriter, r *http.Request, s *Session) error {
	call, err := c.callFor(r, s, r.URL.Query().Get("call"))
	if err != nil {
		return err
	}
	if call.Recording.SHA256 != r.PathValue("sha256") {
		return errNoPage
	}
	h := http.Header{}
	for _, k := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	// The API's answer (its status, Content-Range, ETag, body) goes to the
	// browser as it is: an <audio> element reads it, not a person.
	_ = c.API.DispatchTo(r.Context(), w, s.Principal(), http.MethodGet, "/v1/recordings/"+url.PathEscape(call.Recording.SHA256), h)
	return nil
}

// callAnswer is GET /v1/calls/{id}'s answer.
type callAnswer struct {
	Call           projections.CallView        `json:"call"`
	CoachingPoints []projections.CoachingPoint `json:"coachingPoints"`
}

// callFor reads call id for s: supervisors, centre heads and auditors may
// open any call, a rep or private banker only their own (any other is
// "not found", as a call that does not exist).
func (c *Console) callFor(r *http.Request, s *Session, id string) (projections.CallView, error) {
	if !events.ValidID(id) {
		return projections.CallView{}, errNoPage
	}
	var a callAnswer
	if err := c.apiJSON(r.Context(), s, "/v1/calls/"+url.PathEscape(id), &a); err != nil {
		return projections.CallView{}, err
	}
	if (s.Role == "rep" || s.Role == "private_banker") && a.Call.StaffID != s.StaffID {
		return projections.CallView{}, errNoPage
	}
	return a.Call, nil
}

// ── the queue ────────────────────────────────────────────────────────────

// queueRow is one call of the queue (GET /v1/qa/queue).
type queueRow struct {
	projections.QueueItem
	Rep        string `json:"-"` // the rep's name
	Supervisor string `json:"-"` // the assigned supervisor's name, "" for none
	Age        string `json:"-"` // since the selection, in words
}

// Plan is the selecting plan's version, -1 for a supervisor's request.
func (q queueRow) Plan() int {
	if q.PlanVersion == nil {
		return -1
	}
	return *q.PlanVersion
}

// Length shows the call's duration as the player does.
func (q queueRow) Length() string { return qaClock(q.DurationSec) }

// queuePage is /qa's data.
type queuePage struct {
	Rows []queueRow
}

// queuePage lists the calls awaiting review, oldest selection first: a
// supervisor's own and the unassigned ones (the API's default for them).
func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	var q struct {
		Items []queueRow `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/queue", &q); err != nil {
		return err
	}
	names, lang, now := c.staffNameMap(r), language(r), c.now()
	for i := range q.Items {
		row := &q.Items[i]
		row.Rep = cmpName(names, row.StaffID)
		if row.SupervisorID != "" {
			row.Supervisor = cmpName(names, row.SupervisorID)
		}
		row.Age = c.duration(lang, now.Sub(row.SelectedAt).Seconds())
	}
	c.render(w, r, http.StatusOK, "qa_queue", "qa.queue.title", queuePage{Rows: q.Items})
	return nil
}

// cmpName is id's name, or id.
func cmpName(names map[string]string, id string) string {
	if n := names[id]; n != "" {
		return n
	}
	return id
}

// ── the call page ────────────────────────────────────────────────────────

// callPage is /qa/calls/{id}'s data.
type callPage struct {
	Call     projections.CallView
	Rep      string // the rep's name
	Player   playerView
	Evals    []evalBlock // newest first
	Disputes []disputeRow
	Open     *disputeRow // the open dispute, if any
	// Card is the scorecard this member may submit (nil: none: not a
	// supervisor, or a dispute is open); Forms the forms a first review
	// may be scored on, to switch between.
	Card  *scorecard
	Forms []projections.ScorecardForm
	Done  string // a catalog key: what was just done
	Error string // a refusal not about one field, translated
}

// evalBlock is one evaluation with its coaching points.
type evalBlock struct {
	projections.Review
	Reviewer string
	Points   []callPoint
	Current  bool // the latest evaluation (what reports use)
}

// callPoint is a coaching point as the call page lists it.
type callPoint struct{ projections.CoachingPoint }

// Sec is the point's second in the call (0 for one about the whole call).
func (p callPoint) Sec() int {
	if p.AtSec == nil {
		return 0
	}
	return *p.AtSec
}

// At shows the point's moment as the player does.
func (p callPoint) At() string { return qaClock(p.Sec()) }

// Score shows an item's score out of its max ("3 / 5"), "N/A", or pass
// and fail for a critical item.
func (evalBlock) Score(it events.ReviewItem) string {
	switch {
	case it.NA || it.Score == nil:
		return "N/A"
	case it.Critical:
		return map[bool]string{true: "✓", false: "✗"}[*it.Score > 0]
	}
	return strconv.Itoa(*it.Score) + " / " + strconv.Itoa(it.Max)
}

// Failed reports whether it is a critical item scored 0.
func (evalBlock) Failed(it events.ReviewItem) bool {
	return it.Critical && !it.NA && it.Score != nil && *it.Score == 0
}

// Total shows a total to one decimal.
func (evalBlock) Total(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// disputeRow is a dispute with its people's names.
type disputeRow struct {
	projections.Dispute
	Rep, Resolver string
}

// Done notices of the call page (?done=).
var callDone = map[string]string{
	"reviewed": "qa.done.reviewed",
	"upheld":   "qa.done.upheld",
	"rescored": "qa.done.rescored",
}

// callPage shows call {id}: its recording in the player (from ?t=), the
// scorecard for a supervisor (a review, or a correction of the latest
// evaluation; with ?dispute= the re-score of an open dispute), every
// evaluation newest first with the superseded ones marked, and the
// call's disputes.
func (c *Console) callPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	p, err := c.callData(r, s, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.Done = callDone[r.URL.Query().Get("done")]
	if p.Card != nil {
		c.fillCard(p.Card, nil, p.Evals)
	}
	c.render(w, r, http.StatusOK, "qa_call", "qa.call.title", p)
	return nil
}

// callData reads what call id's page shows (the scorecard empty).
func (c *Console) callData(r *http.Request, s *Session, id string) (*callPage, error) {
	call, err := c.callFor(r, s, id)
	if err != nil {
		return nil, err
	}
	names := c.staffNameMap(r)
	p := &callPage{Call: call, Rep: cmpName(names, call.StaffID)}
	points, err := c.callPoints(r, s, call)
	if err != nil {
		return nil, err
	}
	var marks []playerMark
	for i := len(call.Evaluations) - 1; i >= 0; i-- {
		ev := call.Evaluations[i]
		b := evalBlock{Review: ev, Reviewer: cmpName(names, ev.ReviewerID), Current: i == len(call.Evaluations)-1}
		for _, pt := range points {
			if pt.Evaluation == ev.Evaluation || (pt.Evaluation == 0 && b.Current) {
				b.Points = append(b.Points, callPoint{pt})
				if pt.AtSec != nil {
					marks = append(marks, playerMark{Sec: *pt.AtSec, Label: pt.Criterion, ID: pt.ID})
				}
			}
		}
		p.Evals = append(p.Evals, b)
	}
	for _, d := range call.Disputes {
		row := disputeRow{Dispute: d, Rep: cmpName(names, d.RepID), Resolver: cmpName(names, d.ResolverID)}
		p.Disputes = append(p.Disputes, row)
		if d.Status == projections.DisputeOpen {
			p.Open = &p.Disputes[len(p.Disputes)-1]
		}
	}
	p.Player = c.newPlayer(r, playerView{Src: recordingSrc(call), DurationSec: call.DurationSec,
		StartSec: startSec(r, call.DurationSec), Marks: marks, AddPoints: s.Role == "supervisor"})
	if s.Role != "supervisor" {
		return p, nil
	}
	return p, c.chooseCard(r, s, p)
}

// callPoints are the coaching points raised on call (GET /v1/coaching of
// its rep), in the order raised.
func (c *Console) callPoints(r *http.Request, s *Session, call projections.CallView) ([]projections.CoachingPoint, error) {
	if len(call.Evaluations) == 0 {
		return nil, nil
	}
	all, err := c.coachingPoints(r, s, url.Values{"rep": {call.StaffID}}.Encode())
	if err != nil {
		return nil, err
	}
	var out []projections.CoachingPoint
	for _, pt := range all {
		if pt.CallID == call.ID {
			out = append(out, pt)
		}
	}
	return out, nil
}

// scorecard is the form a supervisor scores the call with: a first
// review, a correction (Supersedes: the latest evaluation) or the re-score
// of an open dispute (Dispute set), on one version of a scorecard form.
type scorecard struct {
	Form       projections.ScorecardForm
	Supersedes int
	Dispute    *disputeRow
	Items      []cardItem
	Points     []cardPoint
	Note       string // a re-score's resolution note
	NoteErr    string
	Key        string // the Idempotency-Key
	Total      string // the server's total of the scores as filled (the page recomputes it as they change)
	Failed     bool   // a critical item scored 0
}

// Action is where the scorecard posts.
func (s *scorecard) Action(callID string) string {
	if s.Dispute != nil {
		return "/qa/disputes/" + url.PathEscape(s.Dispute.ID) + "/resolution"
	}
	return "/qa/calls/" + url.PathEscape(callID) + "/review"
}

// cardItem is one item of the scorecard as filled.
type cardItem struct {
	events.FormItem
	Score   string // "" (not scored), "0".."max", or "na"
	Comment string
	Err     string
}

// Choices are the scores a radio group offers (max ≤ 10; a number field
// beyond), highest first.
func (it cardItem) Choices() []string {
	if it.Max > 10 {
		return nil
	}
	out := make([]string, 0, it.Max+1)
	for v := it.Max; v >= 0; v-- {
		out = append(out, strconv.Itoa(v))
	}
	return out
}

// cardPoint is one coaching point row of the scorecard as typed.
type cardPoint struct {
	At, ItemID, Note string
	Err              string
}

// chooseCard sets p.Card: with ?dispute= (the call's open dispute) its
// re-score on the disputed evaluation's form version; with an open
// dispute otherwise none (it is resolved, not corrected); on a reviewed
// call a correction of the latest evaluation on its form version; on a
// call not reviewed a first review on ?form= (or the first form) at its
// latest version. A posted scorecard names its form, version and the
// evaluation it supersedes itself.
func (c *Console) chooseCard(r *http.Request, s *Session, p *callPage) error {
	card := &scorecard{Key: newKey()}
	id, version := "", 0
	switch {
	case p.Open != nil:
		if r.URL.Query().Get("dispute") != p.Open.ID && r.PostFormValue("dispute") != p.Open.ID {
			return nil
		}
		card.Dispute = p.Open
		for _, ev := range p.Call.Evaluations {
			if ev.Evaluation == p.Open.Evaluation {
				id, version = ev.FormID, ev.FormVersion
			}
		}
	case p.Call.Review != nil:
		card.Supersedes = p.Call.Review.Evaluation
		id, version = p.Call.Review.FormID, p.Call.Review.FormVersion
	default:
		var list struct {
			Items []projections.ScorecardForm `json:"items"`
		}
		if err := c.apiJSON(r.Context(), s, "/v1/qa/forms", &list); err != nil {
			return err
		}
		if p.Forms = list.Items; len(p.Forms) == 0 {
			return nil // no form to score on: the page says so
		}
		id = p.Forms[0].ID
		for _, f := range p.Forms {
			if f.ID == r.URL.Query().Get("form") {
				id = f.ID
			}
		}
	}
	if r.Method == http.MethodPost && card.Dispute == nil {
		// A submitted scorecard is what its page showed: a resubmission
		// after the first was saved is the same request (idempotent), and
		// one overtaken by another's correction is refused, not re-aimed.
		id = r.PostFormValue("formId")
		version, _ = strconv.Atoi(r.PostFormValue("formVersion"))
		card.Supersedes, _ = strconv.Atoi(r.PostFormValue("supersedes"))
	}
	if !events.ValidID(id) {
		return events.InvalidField("formId", "must be a form id")
	}
	q := url.Values{}
	if version > 0 {
		q.Set("version", strconv.Itoa(version))
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/forms/"+url.PathEscape(id)+"?"+q.Encode(), &card.Form); err != nil {
		return err
	}
	p.Card = card
	return nil
}

// fillCard fills card's items and points: from the submitted form when
// posted (non-nil), else from the evaluation it corrects or re-scores,
// else blank; and its total as the server computes it.
func (c *Console) fillCard(card *scorecard, posted *http.Request, evals []evalBlock) {
	var from *projections.Review
	for i := range evals {
		n := card.Supersedes
		if card.Dispute != nil {
			n = card.Dispute.Evaluation
		}
		if evals[i].Evaluation == n && n > 0 {
			from = &evals[i].Review
		}
	}
	card.Items = card.Items[:0]
	for _, fi := range card.Form.Items {
		it := cardItem{FormItem: fi}
		switch {
		case posted != nil:
			it.Score, it.Comment = postedScore(posted, fi), posted.PostFormValue("comment."+fi.ItemID)
		case from != nil:
			for _, ri := range from.Items {
				if ri.ItemID == fi.ItemID {
					it.Score, it.Comment = reviewScore(ri), ri.Comment
				}
			}
		}
		card.Items = append(card.Items, it)
	}
	if posted != nil {
		card.Points = postedPoints(posted)
		card.Note = posted.PostFormValue("note")
	}
	if len(card.Points) == 0 {
		card.Points = []cardPoint{{}}
	}
	_, items := card.inputs()
	card.Total, card.Failed = scoreTotal(items)
}

// postedScore is item fi's score as posted: a radio's value, or the
// number field's with its N/A box.
func postedScore(r *http.Request, fi events.FormItem) string {
	if r.PostFormValue("na."+fi.ItemID) != "" {
		return "na"
	}
	return strings.TrimSpace(r.PostFormValue("score." + fi.ItemID))
}

// reviewScore is a review item's score as the scorecard holds it.
func reviewScore(ri events.ReviewItem) string {
	if ri.NA || ri.Score == nil {
		return "na"
	}
	return strconv.Itoa(*ri.Score)
}

// postedPoints are the coaching point rows as posted (pt.at, pt.item,
// pt.note, repeated).
func postedPoints(r *http.Request) []cardPoint {
	at, item, note := r.PostForm["pt.at"], r.PostForm["pt.item"], r.PostForm["pt.note"]
	var out []cardPoint
	for i := range note {
		p := cardPoint{Note: note[i]}
		if i < len(at) {
			p.At = strings.TrimSpace(at[i])
		}
		if i < len(item) {
			p.ItemID = item[i]
		}
		out = append(out, p)
	}
	return out
}

// scoreInput is an item as the API takes it (api/qa_items.go).
type scoreInput struct {
	ItemID  string `json:"itemId"`
	Score   *int   `json:"score,omitempty"`
	NA      bool   `json:"na,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// pointInput is a coaching point as the API takes it.
type pointInput struct {
	Note      string `json:"note"`
	AtSec     *int   `json:"atSec,omitempty"`
	ItemID    string `json:"itemId,omitempty"`
	Criterion string `json:"criterion,omitempty"`
}

// inputs are the card's items as the API takes them; an item whose score
// is not a number is sent without one, for the API to name.
func (card *scorecard) inputs() ([]scoreInput, []events.ReviewItem) {
	in := make([]scoreInput, 0, len(card.Items))
	items := make([]events.ReviewItem, 0, len(card.Items))
	for _, it := range card.Items {
		x := scoreInput{ItemID: it.ItemID, Comment: it.Comment, NA: it.Score == "na"}
		if n, err := strconv.Atoi(it.Score); err == nil {
			x.Score = &n
		}
		in = append(in, x)
		items = append(items, events.ReviewItem{ItemID: it.ItemID, Criterion: it.Label, Weight: it.Weight, Max: it.Max,
			Critical: it.Critical, NA: x.NA, Score: x.Score})
	}
	return in, items
}

// scoreTotal is the total the server computes for items on form f
// (events.ReviewTotal), "" while an item is unscored, and whether a
// critical item failed.
func scoreTotal(items []events.ReviewItem) (string, bool) {
	for _, it := range items {
		if !it.NA && it.Score == nil {
			return "", false
		}
	}
	return strconv.FormatFloat(events.ReviewTotal(items), 'f', 1, 64), events.CriticalFailed(items)
}

// points are the card's coaching points as the API takes them (rows
// without a note left out), with each one's row, for the API's field
// names; a moment that is no clock is the page's own refusal.
func (c *Console) cardPoints(lang string, card *scorecard) ([]pointInput, []int, bool) {
	var out []pointInput
	var rows []int
	ok := true
	for i := range card.Points {
		pt := &card.Points[i]
		if strings.TrimSpace(pt.Note) == "" && pt.At == "" {
			continue
		}
		x := pointInput{Note: pt.Note, ItemID: pt.ItemID}
		if pt.At != "" {
			sec, good := parseClock(pt.At)
			if !good {
				pt.Err, ok = c.cat.text(lang, "qa.point.badat"), false
				continue
			}
			x.AtSec = &sec
		}
		if x.ItemID == "" {
			x.Criterion = c.cat.text(lang, "qa.point.general")
		}
		out = append(out, x)
		rows = append(rows, i)
	}
	return out, rows, ok
}

// postReview submits the scorecard as POST /v1/calls/{id}/reviews (a
// correction with supersedes). A refusal shows the page again with the
// scores and points as typed and the message at its item or point.
func (c *Console) postReview(w http.ResponseWriter, r *http.Request, s *Session) error {
	p, err := c.callData(r, s, r.PathValue("id"))
	if err != nil {
		return err
	}
	if p.Card == nil || p.Card.Dispute != nil {
		return events.Errorf(events.Conflict, "this call cannot be scored here now")
	}
	card := p.Card
	card.Key = r.PostFormValue("_key")
	c.fillCard(card, r, p.Evals)
	lang := language(r)
	items, _ := card.inputs()
	pts, rows, ok := c.cardPoints(lang, card)
	if !ok {
		return c.refuseCard(w, r, p, http.StatusBadRequest, nil, rows)
	}
	body := map[string]any{"formId": card.Form.ID, "formVersion": card.Form.Version, "items": items, "coachingPoints": pts}
	if card.Supersedes > 0 {
		body["supersedes"] = card.Supersedes
	}
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/calls/"+url.PathEscape(p.Call.ID)+"/reviews", "_key", body)
	if err != nil {
		return c.refuseCard(w, r, p, status, err, rows)
	}
	http.Redirect(w, r, "/qa/calls/"+url.PathEscape(p.Call.ID)+"?done=reviewed#evaluations", http.StatusSeeOther)
	return nil
}

// refuseCard shows the call page again with the scorecard as typed and
// err at the item ("items[2].score"), the point ("coachingPoints[0].atSec",
// rows maps the points sent to their rows) or the note it names, or above
// the scorecard.
func (c *Console) refuseCard(w http.ResponseWriter, r *http.Request, p *callPage, status int, err error, rows []int) error {
	if err != nil && status < 400 {
		status = statusOf(err)
	}
	if status >= 500 {
		return err
	}
	if err != nil {
		c.placeError(language(r), p, err, rows)
	}
	c.render(w, r, status, "qa_call", "qa.call.title", p)
	return nil
}

// placeError puts err's message where its field is on the scorecard.
func (c *Console) placeError(lang string, p *callPage, err error, rows []int) {
	msg := c.cat.errorText(lang, err)
	var ee *events.Error
	field := ""
	if asEventsError(err, &ee) && ee.Code == events.Invalid {
		field = ee.Field
	}
	card := p.Card
	if i, ok := fieldIndex(field, "items["); ok && i < len(card.Items) {
		card.Items[i].Err = msg
		return
	}
	if i, ok := fieldIndex(field, "coachingPoints["); ok && i < len(rows) {
		card.Points[rows[i]].Err = msg
		return
	}
	if field == "note" {
		card.NoteErr = msg
		return
	}
	p.Error = msg
}

// fieldIndex reads n from a field name "<prefix>n]…".
func fieldIndex(field, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(field, prefix)
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n)
	return i, err == nil && i >= 0
}

// ── disputes ─────────────────────────────────────────────────────────────

// disputesPage is /qa/disputes' data.
type disputesPage struct {
	Status   string // the filter: open (default), upheld, rescored or all
	Statuses []string
	Rows     []disputeView
	Done     string
	DoneCall string
}

// disputeView is one dispute with the evaluation it disputes and the
// uphold form.
type disputeView struct {
	disputeRow
	Eval     *projections.Review
	Reviewer string // the disputed evaluation's reviewer's name
	Total    string
	Key      string
	Typed    string // the uphold note as typed (refused)
	NoteErr  string
}

var disputeStatuses = []string{projections.DisputeOpen, projections.DisputeUpheld, projections.DisputeRescored, "all"}

// disputesPage lists disputes, the open ones by default, oldest first:
// each with the rep's reason, the disputed evaluation's total, an uphold
// form (a note) and the re-score on the call page.
func (c *Console) disputesPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := disputesPage{Status: q.Get("status"), Statuses: disputeStatuses}
	if p.Status == "" {
		p.Status = projections.DisputeOpen
	}
	if d := q.Get("done"); d == "upheld" {
		p.Done, p.DoneCall = "qa.done.upheld", q.Get("call")
	}
	return c.renderDisputes(w, r, s, http.StatusOK, p, "", "", "")
}

// renderDisputes shows the disputes page; refusedID's form shows note and
// msg as refused.
func (c *Console) renderDisputes(w http.ResponseWriter, r *http.Request, s *Session, status int, p disputesPage, refusedID, note, msg string) error {
	path := "/v1/qa/disputes"
	if p.Status != "all" {
		path += "?" + url.Values{"status": {p.Status}}.Encode()
	}
	var list struct {
		Items []projections.Dispute `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, path, &list); err != nil {
		return err
	}
	names := c.staffNameMap(r)
	for _, d := range list.Items {
		v := disputeView{disputeRow: disputeRow{Dispute: d, Rep: cmpName(names, d.RepID), Resolver: cmpName(names, d.ResolverID)}, Key: newKey()}
		var a callAnswer
		if err := c.apiJSON(r.Context(), s, "/v1/calls/"+url.PathEscape(d.CallID), &a); err == nil {
			for i := range a.Call.Evaluations {
				if ev := &a.Call.Evaluations[i]; ev.Evaluation == d.Evaluation {
					v.Eval, v.Total = ev, strconv.FormatFloat(ev.Total, 'f', 1, 64)
					v.Reviewer = cmpName(names, ev.ReviewerID)
				}
			}
		}
		if d.ID == refusedID {
			v.Typed, v.NoteErr = note, msg
		}
		p.Rows = append(p.Rows, v)
	}
	c.render(w, r, status, "qa_disputes", "qa.disputes.title", p)
	return nil
}

// postResolution resolves dispute {id}: resolution=upheld with a note
// (from the disputes page or the call page), or rescored with the
// scorecard on the disputed evaluation's form version (from the call
// page, ?dispute=; the form names its call), through POST /v1/qa/disputes/{id}/resolution.
func (c *Console) postResolution(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoPage
	}
	if r.PostFormValue("resolution") == "upheld" {
		return c.postUphold(w, r, s, id)
	}
	p, err := c.callData(r, s, r.PostFormValue("call"))
	if err != nil {
		return err
	}
	if p.Card == nil || p.Card.Dispute == nil || p.Card.Dispute.ID != id {
		return events.Errorf(events.Conflict, "this dispute is not open on this call")
	}
	card := p.Card
	card.Key = r.PostFormValue("_key")
	c.fillCard(card, r, p.Evals)
	items, _ := card.inputs()
	pts, rows, ok := c.cardPoints(language(r), card)
	if !ok {
		return c.refuseCard(w, r, p, http.StatusBadRequest, nil, rows)
	}
	body := map[string]any{"resolution": "rescored", "note": card.Note, "items": items, "coachingPoints": pts}
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/qa/disputes/"+url.PathEscape(id)+"/resolution", "_key", body)
	if err != nil {
		return c.refuseCard(w, r, p, status, err, rows)
	}
	http.Redirect(w, r, "/qa/calls/"+url.PathEscape(p.Call.ID)+"?done=rescored#evaluations", http.StatusSeeOther)
	return nil
}

// postUphold upholds dispute id with the form's note; a refusal shows the
// disputes page again with the note at its form.
func (c *Console) postUphold(w http.ResponseWriter, r *http.Request, s *Session, id string) error {
	note := r.PostFormValue("note")
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/qa/disputes/"+url.PathEscape(id)+"/resolution", "_key",
		map[string]any{"resolution": "upheld", "note": note})
	if err == nil {
		http.Redirect(w, r, "/qa/disputes?"+url.Values{"done": {"upheld"}, "call": {r.PostFormValue("call")}}.Encode(), http.StatusSeeOther)
		return nil
	}
	if status < 400 {
		status = statusOf(err)
	}
	if status >= 500 || events.ErrorCode(err) == events.NotFound {
		return err
	}
	return c.renderDisputes(w, r, s, status, disputesPage{Status: projections.DisputeOpen, Statuses: disputeStatuses}, id, note, c.cat.errorText(language(r), err))
}
