package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The centre head's likely duplicates (docs/console.md, "Likely duplicates
// and merge"): the pairs GET /v1/duplicates lists, one of them open with
// the merge form (which customer survives, why, and a confirmation), sent
// to POST /v1/customers/{survivor}/merges with the survivor's version as
// If-Match. A customer page asked for a merged customer shows the
// survivor's (customerPage follows the view's id).

// duplicateRoutes registers the duplicates list and its merge.
func (c *Console) duplicateRoutes() {
	c.page("GET /duplicates", headRoles, c.duplicates)
	c.page("POST /duplicates/merge", headRoles, c.postMerge)
}

// duplicatesPage is /duplicates's data.
type duplicatesPage struct {
	Pairs    []api.DuplicatePair
	After    string     // the cursor this page follows ("" for the first)
	Next     string     // the cursor of the next page ("" at the end)
	Selected *mergeForm // the pair open with its form (nil: none)
	Done     string     // the survivor of the merge just made
	Merged   string     // the id merged into Done
	Error    string     // a refused merge of a pair no longer listed
	// Withheld is what the pairs leave out (GET /v1/duplicates/withheld):
	// shown on the first page, under the pairs.
	Withheld *projections.WithheldValues
}

// mergeForm is the merge form of one pair.
type mergeForm struct {
	Pair                       api.DuplicatePair
	Key                        string // the Idempotency-Key
	Survivor                   string // the id chosen to survive
	Reason                     string
	Confirmed                  bool
	Err, ReasonErr, ConfirmErr string
}

// PairKey names a pair in links: "firstId+secondId".
func (duplicatesPage) PairKey(p api.DuplicatePair) string {
	return p.Customers[0].ID + "+" + p.Customers[1].ID
}

// MaxGroup is the most customers a listed group may hold.
func (duplicatesPage) MaxGroup() int { return projections.MaxDuplicateGroup }

// Sample is how many ids a withheld group names.
func (duplicatesPage) Sample() int { return projections.WithheldSample }

// SelectedKey is the open pair's key, "" if none.
func (d duplicatesPage) SelectedKey() string {
	if d.Selected == nil {
		return ""
	}
	return d.PairKey(d.Selected.Pair)
}

func (c *Console) duplicates(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := duplicatesPage{}
	if done, merged := q.Get("done"), q.Get("merged"); events.ValidID(done) && events.ValidID(merged) {
		p.Done, p.Merged = done, merged
	}
	return c.renderDuplicates(w, r, s, http.StatusOK, p, q.Get("pair"), nil)
}

// renderDuplicates shows the pairs with pair open (the first if pick is
// not listed and nothing was just merged); refused is a refused merge of
// that pair, shown at its form, or above the list when the pair is gone.
func (c *Console) renderDuplicates(w http.ResponseWriter, r *http.Request, s *Session, status int, p duplicatesPage, pick string, refused *mergeForm) error {
	var page api.DuplicatePage
	q := url.Values{"limit": {strconv.Itoa(duplicatesPageSize)}}
	if p.After = r.FormValue("after"); p.After != "" { // the page a pair's link or form came from
		q.Set("cursor", p.After)
	}
	if err := c.apiJSON(r.Context(), s, "/v1/duplicates?"+q.Encode(), &page); err != nil {
		return err
	}
	p.Pairs, p.Next = page.Items, page.NextCursor
	if p.After == "" {
		var wv projections.WithheldValues
		if err := c.apiJSON(r.Context(), s, "/v1/duplicates/withheld", &wv); err != nil {
			return err
		}
		p.Withheld = &wv
	}
	for _, pr := range p.Pairs {
		if p.PairKey(pr) == pick || pick == "" && p.Done == "" && p.Selected == nil {
			p.Selected = &mergeForm{Pair: pr, Key: newKey(), Survivor: olderOf(pr)}
		}
	}
	switch {
	case refused != nil && p.Selected != nil && p.PairKey(p.Selected.Pair) == pick:
		refused.Pair = p.Selected.Pair
		p.Selected = refused
	case refused != nil:
		p.Error = refused.Err
	}
	c.render(w, r, status, "duplicates", "dup.title", p)
	return nil
}

// duplicatesPageSize is how many pairs a page of the list holds.
const duplicatesPageSize = 200

// olderOf returns the id of the pair's customer registered first: the
// form's default survivor.
func olderOf(p api.DuplicatePair) string {
	if p.Customers[1].RegisteredAt.Before(p.Customers[0].RegisteredAt) {
		return p.Customers[1].ID
	}
	return p.Customers[0].ID
}

// postMerge merges the pair's other customer into the one chosen to
// survive, against the version the list showed of it. The confirmation
// must be ticked; a refusal shows the list again with the form open.
func (c *Console) postMerge(w http.ResponseWriter, r *http.Request, s *Session) error {
	f := &mergeForm{Key: r.PostFormValue("_key"), Survivor: r.PostFormValue("survivor"), Reason: r.PostFormValue("reason"),
		Confirmed: r.PostFormValue("confirm") == "yes"}
	pick, merged := r.PostFormValue("pair"), r.PostFormValue("merged_"+f.Survivor)
	lang := language(r)
	if !events.ValidID(f.Survivor) || !events.ValidID(merged) {
		f.Err = c.cat.text(lang, "dup.error.survivor")
		return c.renderDuplicates(w, r, s, http.StatusBadRequest, duplicatesPage{}, pick, f)
	}
	if !f.Confirmed {
		f.ConfirmErr = c.cat.text(lang, "dup.error.confirm")
		return c.renderDuplicates(w, r, s, http.StatusBadRequest, duplicatesPage{}, pick, f)
	}
	err := c.merge(r, s, f, merged, r.PostFormValue("version_"+f.Survivor))
	if err == nil {
		http.Redirect(w, r, "/duplicates?"+url.Values{"done": {f.Survivor}, "merged": {merged}}.Encode(), http.StatusSeeOther)
		return nil
	}
	var ee *events.Error
	switch {
	case asEventsError(err, &ee) && ee.Code == events.Invalid && ee.Field == "reason":
		f.ReasonErr = c.cat.errorText(lang, err)
	case events.ErrorCode(err) == events.Invalid:
		f.Err = c.cat.errorText(lang, err)
	case events.ErrorCode(err) == events.Conflict:
		f.Err = c.cat.text(lang, "dup.error.conflict")
	default:
		return err
	}
	f.Key = newKey() // what was refused appended nothing
	return c.renderDuplicates(w, r, s, statusOf(err), duplicatesPage{}, pick, f)
}

// merge sends the merge of merged into f.Survivor, whose version the form
// showed, with the form's Idempotency-Key.
func (c *Console) merge(r *http.Request, s *Session, f *mergeForm, merged, version string) error {
	if _, err := strconv.ParseUint(version, 10, 63); err != nil {
		return events.InvalidField("If-Match", "must be a quoted stream version")
	}
	body, err := json.Marshal(api.MergeRequest{MergedID: merged, Reason: f.Reason})
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}, "If-Match": {`"` + version + `"`}}
	if f.Key != "" {
		h.Set("Idempotency-Key", f.Key)
	}
	d := c.API.Dispatch(r.Context(), s.Principal(), http.MethodPost, "/v1/customers/"+url.PathEscape(f.Survivor)+"/merges", h, body)
	if d.Err != nil {
		return d.Err
	}
	if d.Status != http.StatusCreated {
		return dispatchError(d)
	}
	return nil
}

// mergedError says the customer asked for was merged: its view is the
// survivor's, whose page the console shows instead.
type mergedError struct{ survivor string }

func (e *mergedError) Error() string { return "the customer was merged into " + e.survivor }

// Unwrap makes a merged customer a Conflict where the page cannot follow it
// (a form of the merged customer's page sent after the merge).
func (e *mergedError) Unwrap() error { return events.Errorf(events.Conflict, "%s", e.Error()) }

// followMerge sends a request for a merged customer's page to the
// survivor's, saying whom it came from; it reports whether err was that.
func followMerge(w http.ResponseWriter, r *http.Request, id string, err error) bool {
	var m *mergedError
	if !errors.As(err, &m) {
		return false
	}
	http.Redirect(w, r, "/customers/"+url.PathEscape(m.survivor)+"?"+url.Values{"merged": {id}}.Encode(), http.StatusSeeOther)
	return true
}
