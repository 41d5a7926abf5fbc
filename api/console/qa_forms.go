package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The scorecard forms screen (docs/console.md, "Scorecard forms"): the
// forms (/qa/forms), and one form (/qa/forms/{id}) with its versions,
// what each changed, and an editor of the next version: items added,
// removed and moved up or down by real buttons (the page is drawn again
// by the server with the draft, focus where it was), each item's id,
// label, weight, max, critical and N/A allowed. Publishing runs PUT
// /v1/qa/forms/{id} as the member with If-Match the version the draft
// started from, so it appends what the API appends, after the same
// checks; a version published meanwhile is a conflict shown with the
// draft kept.

// qaFormRoutes registers the scorecard forms screen.
func (c *Console) qaFormRoutes() {
	c.page("GET /qa/forms", qaLeadRoles, c.formsPage)
	c.page("GET /qa/forms/{id}", qaLeadRoles, c.formPage)
	c.page("POST /qa/forms/{id}", qaLeadRoles, c.postForm)
}

// formsView is the data of /qa/forms.
type formsView struct {
	Forms  []formRow
	NewID  string // the id typed into "new form"
	NewErr string // why it was refused
}

// formRow is a form in the list, with its count of critical items.
type formRow struct {
	projections.ScorecardForm
	Critical int
}

// formView is the data of /qa/forms/{id}.
type formView struct {
	ID       string
	Shown    *projections.ScorecardForm  // the version shown; nil: not published yet
	Latest   int                         // the form's latest version (0: none)
	Versions []projections.ScorecardForm // newest first
	Changes  []itemChange                // what Shown changed from the version before
	Draft    formDraft
	Weights  int    // the sum of Shown's weights
	Done     string // a catalog key: what was just done, of version DoneArg
	DoneArg  int
	Error    string // a refusal not about one field, translated
	Conflict int    // a version published since the draft's: the latest
}

// formDraft is the editor's state, as typed.
type formDraft struct {
	Base   int // the version the draft started from: If-Match
	Name   string
	Note   string
	Rows   []draftRow
	Key    string            // the form's Idempotency-Key
	Fields map[string]string // "name", "note", "items" → message
	Focus  string            // the id of the element to focus
	Max    int               // events.MaxFormItems
}

// draftRow is one item of the draft, as typed, with its messages.
type draftRow struct {
	ItemID, Label, Weight, Max string
	Critical, NA               bool
	Errs                       map[string]string // "itemId", "label", "weight", "max", "critical", "naAllowed"
}

// itemChange is one difference between a version and the one before.
type itemChange struct {
	Kind   string // added, removed, changed, moved
	ItemID string
	Label  string
}

func (c *Console) formsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	v := formsView{}
	if id, ok := r.URL.Query()["new"]; ok {
		v.NewID = strings.TrimSpace(id[0])
		if events.ValidID(v.NewID) {
			http.Redirect(w, r, "/qa/forms/"+url.PathEscape(v.NewID), http.StatusSeeOther)
			return nil
		}
		v.NewErr = c.cat.text(language(r), "qaform.new.bad")
	}
	var list struct {
		Items []projections.ScorecardForm `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/forms", &list); err != nil {
		return err
	}
	names := c.staffNameMap(r)
	for _, f := range list.Items {
		f.PublishedBy = cmpName(names, f.PublishedBy) // shown by name
		v.Forms = append(v.Forms, formRow{ScorecardForm: f, Critical: criticalItems(f.Items)})
	}
	status := http.StatusOK
	if v.NewErr != "" {
		status = http.StatusBadRequest
	}
	c.render(w, r, status, "qa_forms", "qaform.title", v)
	return nil
}

// formDone are the notices /qa/forms/{id}?done= may show.
var formDone = map[string]string{"published": "qaform.done.published"}

func (c *Console) formPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoPage
	}
	want := 0
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return errNoPage
		}
		want = n
	}
	v, err := c.formVersions(r, s, id, want)
	if err != nil {
		return err
	}
	v.Done, v.DoneArg = formDone[r.URL.Query().Get("done")], v.Latest
	v.Draft = draftOf(v.latest())
	return c.renderForm(w, r, http.StatusOK, v)
}

// formVersions reads form id's versions through the API, newest first,
// and shows version want (0: the latest). A form not published yet has
// none; a version it does not have is no page.
func (c *Console) formVersions(r *http.Request, s *Session, id string, want int) (formView, error) {
	v := formView{ID: id}
	var f projections.ScorecardForm
	found, err := c.apiForm(r, s, id, 0, &f)
	switch {
	case err != nil:
		return v, err
	case !found && want > 0:
		return v, errNoPage
	case !found:
		return v, nil // not published yet
	}
	v.Latest, v.Versions = f.Latest, []projections.ScorecardForm{f}
	for n := v.Latest - 1; n >= 1; n-- {
		var f projections.ScorecardForm
		if found, err := c.apiForm(r, s, id, n, &f); err != nil || !found {
			return v, cmp.Or(err, error(errNoPage))
		}
		v.Versions = append(v.Versions, f)
	}
	shown := cmp.Or(want, v.Latest)
	if shown > v.Latest {
		return v, errNoPage
	}
	names := c.staffNameMap(r)
	for i := range v.Versions {
		v.Versions[i].PublishedBy = cmpName(names, v.Versions[i].PublishedBy) // shown by name
	}
	v.Shown = &v.Versions[v.Latest-shown]
	for _, it := range v.Shown.Items {
		v.Weights += it.Weight
	}
	if shown > 1 {
		v.Changes = formChanges(v.Versions[v.Latest-shown+1], *v.Shown)
	}
	return v, nil
}

// latest returns the latest version read, or nil.
func (v formView) latest() *projections.ScorecardForm {
	if len(v.Versions) == 0 {
		return nil
	}
	return &v.Versions[0]
}

// apiForm reads version n of form id (0: the latest) into f, reporting
// false when the API has no such form or version.
func (c *Console) apiForm(r *http.Request, s *Session, id string, n int, f *projections.ScorecardForm) (bool, error) {
	path := "/v1/qa/forms/" + url.PathEscape(id)
	if n > 0 {
		path += "?version=" + strconv.Itoa(n)
	}
	d := c.API.Dispatch(r.Context(), s.Principal(), http.MethodGet, path, nil, nil)
	switch {
	case d.Status == http.StatusNotFound:
		return false, nil
	case d.Err != nil || d.Status != http.StatusOK:
		return false, dispatchError(d)
	}
	if err := json.Unmarshal(d.Body, f); err != nil {
		return false, &events.Error{Code: events.Internal, Message: "decode " + path, Err: err}
	}
	return true, nil
}

// formChanges lists what version cur changed from prev, in cur's order, the
// removed items after.
func formChanges(prev, cur projections.ScorecardForm) []itemChange {
	var out []itemChange
	before := map[string]int{}
	for i, it := range prev.Items {
		before[it.ItemID] = i
	}
	kept := 0
	for _, it := range cur.Items {
		i, ok := before[it.ItemID]
		switch {
		case !ok:
			out = append(out, itemChange{"added", it.ItemID, it.Label})
			continue
		case prev.Items[i] != it:
			out = append(out, itemChange{"changed", it.ItemID, it.Label})
		case i != kept:
			out = append(out, itemChange{"moved", it.ItemID, it.Label})
		}
		kept++
		delete(before, it.ItemID)
	}
	for _, it := range prev.Items {
		if _, gone := before[it.ItemID]; gone {
			out = append(out, itemChange{"removed", it.ItemID, it.Label})
		}
	}
	return out
}

// draftOf is the editor opened on version f (nil: a new form, one empty
// item).
func draftOf(f *projections.ScorecardForm) formDraft {
	d := formDraft{Fields: map[string]string{}}
	if f == nil {
		d.Rows = []draftRow{{Weight: "1", Max: "5"}}
		return d
	}
	d.Base, d.Name = f.Version, f.Name
	for _, it := range f.Items {
		d.Rows = append(d.Rows, draftRow{ItemID: it.ItemID, Label: it.Label, Weight: strconv.Itoa(it.Weight),
			Max: strconv.Itoa(it.Max), Critical: it.Critical, NA: it.NAAllowed})
	}
	return d
}

func (c *Console) renderForm(w http.ResponseWriter, r *http.Request, status int, v formView) error {
	v.Draft.Key, v.Draft.Max = newKey(), events.MaxFormItems
	for i := range v.Draft.Rows {
		if v.Draft.Rows[i].Errs == nil {
			v.Draft.Rows[i].Errs = map[string]string{}
		}
	}
	c.render(w, r, status, "qa_form", "qaform.title", v)
	return nil
}

// postForm handles the editor: an edit of the draft (add, remove-N, up-N,
// down-N) draws it again; check validates it as the API would; publish
// runs the API's PUT.
func (c *Console) postForm(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoPage
	}
	d := draftFrom(r)
	op := r.PostFormValue("op")
	if edit(&d, op) {
		v, err := c.formVersions(r, s, id, 0)
		if err != nil {
			return err
		}
		v.Draft = d
		return c.renderForm(w, r, http.StatusOK, v)
	}
	if op != "publish" && op != "check" {
		return events.InvalidField("op", "is not an action of the form editor")
	}
	body, err := d.request()
	if err == nil && op == "check" {
		err = (&events.ScorecardFormPublished{FormID: id, Version: d.Base + 1, Name: body.Name, Items: body.Items, Note: body.Note}).Validate()
	}
	if err == nil && op == "publish" {
		err = c.publishForm(r, s, id, d.Base, body)
		if err == nil {
			http.Redirect(w, r, "/qa/forms/"+url.PathEscape(id)+"?done=published", http.StatusSeeOther)
			return nil
		}
	}
	v, verr := c.formVersions(r, s, id, 0)
	if verr != nil {
		return verr
	}
	if err == nil {
		v.Done, v.DoneArg = "qaform.done.checked", d.Base+1
	}
	status := http.StatusOK
	if err != nil {
		if status, err = c.refuseDraft(r, &v, &d, err); err != nil {
			return err
		}
	}
	v.Draft = d
	return c.renderForm(w, r, status, v)
}

// refuseDraft puts a refusal of the draft next to its field, or on the
// page; a conflict moves the draft's base to the latest version, so that
// publishing again replaces it knowingly. Errors other than the API's
// Invalid and Conflict are returned.
func (c *Console) refuseDraft(r *http.Request, v *formView, d *formDraft, err error) (int, error) {
	lang := language(r)
	var ee *events.Error
	switch {
	case !errors.As(err, &ee):
		return 0, err
	case ee.Code == events.Conflict:
		v.Conflict, d.Base = v.Latest, v.Latest
		if v.Latest == 0 { // a draft of a version the form never had
			v.Error = c.cat.errorText(lang, err)
		}
		return http.StatusConflict, nil
	case ee.Code != events.Invalid:
		return 0, err
	}
	msg := c.cat.errorText(lang, err)
	row, field, ok := rowField(ee.Field)
	switch {
	case ok && row < len(d.Rows):
		d.Rows[row].Errs = map[string]string{field: msg}
		d.Focus = "item-" + strconv.Itoa(row) + "-" + field
	case ee.Field == "name" || ee.Field == "note" || ee.Field == "items" || strings.HasPrefix(ee.Field, "items."):
		f, _, _ := strings.Cut(ee.Field, ".")
		d.Fields[f] = msg
		d.Focus = "form-" + f
	default:
		v.Error = msg
	}
	return http.StatusBadRequest, nil
}

// rowField splits "items[2].max" into 2 and "max".
func rowField(field string) (int, string, bool) {
	rest, ok := strings.CutPrefix(field, "items[")
	if !ok {
		return 0, "", false
	}
	n, f, ok := strings.Cut(rest, "].")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 {
		return 0, "", false
	}
	return i, f, true
}

// publishForm runs PUT /v1/qa/forms/{id} as s with If-Match base (the
// version the draft started from; 0: a new form) and the form's key.
func (c *Console) publishForm(r *http.Request, s *Session, id string, base int, body formBody) error {
	return c.putVersion(r, s, "/v1/qa/forms/"+url.PathEscape(id), base, body) // qa_sampling.go
}

// formBody is the body of PUT /v1/qa/forms/{id}.
type formBody struct {
	Name  string            `json:"name"`
	Items []events.FormItem `json:"items"`
	Note  string            `json:"note,omitempty"`
}

// draftFrom reads the editor's fields: name, note, base, and per row N
// item-N-itemId, -label, -weight, -max, -critical, -na (rows counts them).
func draftFrom(r *http.Request) formDraft {
	d := formDraft{Name: r.PostFormValue("name"), Note: r.PostFormValue("note"), Fields: map[string]string{}}
	d.Base, _ = strconv.Atoi(r.PostFormValue("base"))
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	for i := range min(max(n, 0), events.MaxFormItems+1) {
		at := "item-" + strconv.Itoa(i) + "-"
		d.Rows = append(d.Rows, draftRow{ItemID: r.PostFormValue(at + "itemId"), Label: r.PostFormValue(at + "label"),
			Weight: r.PostFormValue(at + "weight"), Max: r.PostFormValue(at + "max"),
			Critical: r.PostFormValue(at+"critical") != "", NA: r.PostFormValue(at+"na") != ""})
	}
	return d
}

// edit applies op to the draft if it is an edit (add, remove-N, up-N,
// down-N), and says whether it was; focus stays on the control used, or
// moves to the new row's first field.
func edit(d *formDraft, op string) bool {
	verb, n, _ := strings.Cut(op, "-")
	i, err := strconv.Atoi(n)
	inRange := err == nil && i >= 0 && i < len(d.Rows)
	switch {
	case op == "add":
		if len(d.Rows) < events.MaxFormItems {
			d.Rows = append(d.Rows, draftRow{Weight: "1", Max: "5"})
		}
		d.Focus = "item-" + strconv.Itoa(len(d.Rows)-1) + "-itemId"
	case verb == "remove" && inRange:
		d.Rows = slices.Delete(d.Rows, i, i+1)
		d.Focus = "form-add"
		if len(d.Rows) > 0 {
			d.Focus = "item-" + strconv.Itoa(min(i, len(d.Rows)-1)) + "-remove"
		}
	case verb == "up" && inRange && i > 0:
		d.Rows[i-1], d.Rows[i] = d.Rows[i], d.Rows[i-1]
		d.Focus = "item-" + strconv.Itoa(i-1) + "-up"
	case verb == "down" && inRange && i < len(d.Rows)-1:
		d.Rows[i], d.Rows[i+1] = d.Rows[i+1], d.Rows[i]
		d.Focus = "item-" + strconv.Itoa(i+1) + "-down"
	case (verb == "up" || verb == "down") && inRange:
		d.Focus = "item-" + n + "-" + verb // at the end already: nothing moves
	default:
		return false
	}
	return true
}

// request is the draft as the API's body; a weight or max that is not a
// whole number is Invalid naming the row's field, as the API would name it.
func (d formDraft) request() (formBody, error) {
	b := formBody{Name: d.Name, Note: d.Note, Items: []events.FormItem{}}
	for i, row := range d.Rows {
		it := events.FormItem{ItemID: strings.TrimSpace(row.ItemID), Label: row.Label, Critical: row.Critical, NAAllowed: row.NA}
		for _, f := range []struct {
			name, in string
			out      *int
		}{{"weight", row.Weight, &it.Weight}, {"max", row.Max, &it.Max}} {
			v, err := strconv.Atoi(strings.TrimSpace(f.in))
			if err != nil {
				return b, events.InvalidField("items["+strconv.Itoa(i)+"]."+f.name, "must be a whole number")
			}
			*f.out = v
		}
		b.Items = append(b.Items, it)
	}
	return b, nil
}

// criticalItems counts the critical items of a form.
func criticalItems(items []events.FormItem) int {
	n := 0
	for _, it := range items {
		if it.Critical {
			n++
		}
	}
	return n
}

// Autofocus is the autofocus attribute for the element id the draft's
// focus is on, else nothing.
func (d formDraft) Autofocus(id string) template.HTMLAttr {
	if d.Focus != "" && d.Focus == id {
		return " autofocus"
	}
	return ""
}

// draftCell is one text or number cell of the editor (the qf-cell
// template).
type draftCell struct {
	V            view
	D            formDraft
	R            draftRow
	Row, N       int
	Field, Value string
	Limit, Type  string
}

// Cell is the cell of row i's field: a text input of at most limit
// characters, or a number input of at most limit (typ "number").
func (d formDraft) Cell(v view, i int, field, limit, typ string) draftCell {
	r := d.Rows[i]
	value := map[string]string{"itemId": r.ItemID, "label": r.Label, "weight": r.Weight, "max": r.Max}[field]
	return draftCell{V: v, D: d, R: r, Row: i, N: i + 1, Field: field, Value: value, Limit: limit, Type: typ}
}
