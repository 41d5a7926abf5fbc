package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The sampling plan screen (docs/console.md, "The sampling plan"): the
// rules in force, in words; each version beside the one before it, what
// changed highlighted; the next version's editor, which writes through
// PUT /v1/qa/sampling-plan (putVersion) and keeps a stale draft on a
// conflict. Enter in a field only checks the draft.

// qaSamplingRoutes registers the sampling plan screen.
func (c *Console) qaSamplingRoutes() {
	c.page("GET /qa/sampling", qaLeadRoles, c.samplingPage)
	c.page("POST /qa/sampling", qaLeadRoles, c.postSamplingPlan)
}

// planFields are the rules of a plan, in the editor's order.
var planFields = []string{"newRepCalls", "perRepWeek", "longCallSec", "complaintDays"}

// samplingView is the data of /qa/sampling.
type samplingView struct {
	Fields   []string // planFields, for the editor
	Current  planRow
	Versions []planRow // published, newest first
	Draft    planDraft
	Done     bool   // the current version was just published
	Checked  bool   // the draft was checked and is valid
	Error    string // a refusal not about one field, translated
	Conflict int    // a version published since the draft's: the latest
}

// planRow is one version of the plan and the rules it changed from the
// version before it.
type planRow struct {
	projections.SamplingPlan
	Changed map[string]bool
}

// LongCall is the long-call threshold as minutes:seconds.
func (p planRow) LongCall() string {
	return fmt.Sprintf("%d:%02d", p.LongCallSec/60, p.LongCallSec%60)
}

// planDraft is the editor's state, as typed.
type planDraft struct {
	Base   int               // the version the draft started from: If-Match
	Values map[string]string // planFields → as typed
	Note   string
	Key    string            // the Idempotency-Key of the publication
	Fields map[string]string // field → message
	Focus  string            // the field to focus
}

func (c *Console) samplingPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	v, err := c.samplingVersions(r, s)
	if err != nil {
		return err
	}
	v.Done = r.URL.Query().Get("done") == "published" && v.Current.Version > 0
	v.Draft = draftOfPlan(v.Current.SamplingPlan)
	return c.renderSampling(w, r, http.StatusOK, v)
}

// samplingVersions reads the plan and its versions through the API.
func (c *Console) samplingVersions(r *http.Request, s *Session) (samplingView, error) {
	var a struct {
		Current  projections.SamplingPlan   `json:"current"`
		Versions []projections.SamplingPlan `json:"versions"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/qa/sampling-plan", &a); err != nil {
		return samplingView{}, err
	}
	v := samplingView{Current: planRow{SamplingPlan: a.Current}}
	names := c.staffNameMap(r)
	for i, p := range a.Versions {
		row := planRow{SamplingPlan: p, Changed: map[string]bool{}}
		row.PublishedBy = cmpName(names, p.PublishedBy) // shown by name
		if i+1 < len(a.Versions) {
			row.Changed = planChanges(a.Versions[i+1], p)
		}
		v.Versions = append(v.Versions, row)
	}
	if len(v.Versions) > 0 {
		v.Current = v.Versions[0]
	}
	return v, nil
}

// planChanges returns the rules cur changed from prev.
func planChanges(prev, cur projections.SamplingPlan) map[string]bool {
	a, b := planValues(prev), planValues(cur)
	out := map[string]bool{}
	for i, f := range planFields {
		if a[i] != b[i] {
			out[f] = true
		}
	}
	return out
}

// planValues are p's rules in planFields' order.
func planValues(p projections.SamplingPlan) []int {
	return []int{p.NewRepCalls, p.PerRepWeek, p.LongCallSec, p.ComplaintDays}
}

// draftOfPlan is the editor opened on plan p.
func draftOfPlan(p projections.SamplingPlan) planDraft {
	d := planDraft{Base: p.Version, Values: map[string]string{}, Fields: map[string]string{}}
	for i, n := range planValues(p) {
		d.Values[planFields[i]] = strconv.Itoa(n)
	}
	return d
}

// planDraftFrom reads the editor's fields.
func planDraftFrom(r *http.Request) planDraft {
	d := planDraft{Values: map[string]string{}, Note: r.PostFormValue("note"), Fields: map[string]string{}}
	d.Base, _ = strconv.Atoi(r.PostFormValue("base"))
	for _, f := range planFields {
		d.Values[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	return d
}

// request is the draft as the API's body: a rule left empty is absent,
// which the API refuses naming it; one that is not a whole number is
// Invalid naming it here.
func (d planDraft) request() (map[string]any, error) {
	body := map[string]any{"note": d.Note}
	for _, f := range planFields {
		if d.Values[f] == "" {
			continue
		}
		n, err := strconv.Atoi(d.Values[f])
		if err != nil {
			return nil, events.InvalidField(f, "must be a whole number")
		}
		body[f] = n
	}
	return body, nil
}

// check validates the draft as the API would, without publishing.
func (d planDraft) check(body map[string]any) error {
	for _, f := range planFields {
		if _, ok := body[f]; !ok {
			return events.InvalidField(f, "is required (0 turns the rule off)")
		}
	}
	p := events.SamplingPlanPublished{Version: d.Base + 1, NewRepCalls: body["newRepCalls"].(int), PerRepWeek: body["perRepWeek"].(int),
		LongCallSec: body["longCallSec"].(int), ComplaintDays: body["complaintDays"].(int), Note: d.Note}
	return p.Validate()
}

// postSamplingPlan handles the editor: check validates the draft, publish
// runs the API's PUT and shows the plan published.
func (c *Console) postSamplingPlan(w http.ResponseWriter, r *http.Request, s *Session) error {
	d := planDraftFrom(r)
	op := r.PostFormValue("op")
	if op != "publish" && op != "check" {
		return events.InvalidField("op", "is not an action of the sampling plan editor")
	}
	body, err := d.request()
	switch {
	case err == nil && op == "check":
		err = d.check(body)
	case err == nil:
		if err = c.putVersion(r, s, "/v1/qa/sampling-plan", d.Base, body); err == nil {
			http.Redirect(w, r, "/qa/sampling?done=published", http.StatusSeeOther)
			return nil
		}
	}
	v, verr := c.samplingVersions(r, s)
	if verr != nil {
		return verr
	}
	status := http.StatusOK
	v.Checked = err == nil
	if err != nil {
		if status, err = c.refusePlan(r, &v, &d, err); err != nil {
			return err
		}
	}
	v.Draft = d
	return c.renderSampling(w, r, status, v)
}

// refusePlan puts a refusal next to its field, or on the page; a conflict
// moves the draft's base to the latest version, so that publishing again
// replaces it knowingly. Errors other than Invalid and Conflict are
// returned.
func (c *Console) refusePlan(r *http.Request, v *samplingView, d *planDraft, err error) (int, error) {
	var ee *events.Error
	switch {
	case !errors.As(err, &ee):
		return 0, err
	case ee.Code == events.Conflict:
		v.Conflict, d.Base = v.Current.Version, v.Current.Version
		return http.StatusConflict, nil
	case ee.Code != events.Invalid:
		return 0, err
	}
	msg := c.cat.errorText(language(r), err)
	if _, ok := d.Values[ee.Field]; ok || ee.Field == "note" {
		d.Fields[ee.Field], d.Focus = msg, "plan-"+ee.Field
	} else {
		v.Error = msg
	}
	return http.StatusBadRequest, nil
}

// putVersion runs the API's PUT of a versioned setting (the sampling plan,
// a scorecard form) at path as s: body as JSON, If-Match base (the version
// the draft started from; 0: none yet) and the form's _key as the
// Idempotency-Key. It returns the API's refusal.
func (c *Console) putVersion(r *http.Request, s *Session, path string, base int, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/json"}, "If-Match": {`"` + strconv.Itoa(base) + `"`}}
	if k := r.PostFormValue("_key"); k != "" {
		h.Set("Idempotency-Key", k)
	}
	d := c.API.Dispatch(r.Context(), s.Principal(), http.MethodPut, path, h, b)
	if d.Err == nil && d.Status != http.StatusCreated {
		return events.Errorf(events.Internal, "the API answered %d", d.Status)
	}
	return d.Err
}

func (c *Console) renderSampling(w http.ResponseWriter, r *http.Request, status int, v samplingView) error {
	v.Draft.Key, v.Fields = newKey(), planFields
	c.render(w, r, status, "qa_sampling", "qasamp.title", v)
	return nil
}

// Autofocus is the autofocus attribute for the field the draft's focus is
// on, else nothing.
func (d planDraft) Autofocus(id string) template.HTMLAttr {
	if d.Focus == id {
		return " autofocus"
	}
	return ""
}
