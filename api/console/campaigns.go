package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Campaigns (docs/console.md, "Campaigns"): the list (/campaigns), the
// builder with its live count of targets (/campaigns/new,
// campaign_builder.go), a campaign's page with amendment and closure
// (/campaigns/{id}) and its target list. Reads go through GET
// /v1/campaigns…, the count through POST /v1/campaigns/preview, writes
// through the API's campaign routes (c.dispatch), as the signed-in member.

// campaignRoles launch, amend and close campaigns (the API's campaigners).
var campaignRoles = []string{"marketer", "centre_head"}

// campaignRoutes registers the campaign pages.
func (c *Console) campaignRoutes() {
	c.page("GET /campaigns", campaignRoles, c.campaignsPage)
	c.page("GET /campaigns/new", campaignRoles, c.newCampaignPage)
	c.page("POST /campaigns", campaignRoles, c.postCampaign)
	c.page("POST /campaigns/preview", campaignRoles, c.postPreview)
	c.page("GET /campaigns/{id}", campaignRoles, c.campaignPage)
	c.page("POST /campaigns/{id}/amendments", campaignRoles, c.postAmendment)
	c.page("POST /campaigns/{id}/closure", campaignRoles, c.postClosure)
}

// campaignStatuses are the list's filters, "" every campaign.
var campaignStatuses = []string{"", projections.CampaignScheduled, projections.CampaignRunning, projections.CampaignEnded, projections.CampaignIsClosed}

// campaignList is /campaigns' data.
type campaignList struct {
	Status   string
	Statuses []string
	Items    []projections.Campaign
}

func (c *Console) campaignsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	p := campaignList{Status: r.URL.Query().Get("status"), Statuses: campaignStatuses}
	if !slices.Contains(campaignStatuses, p.Status) {
		p.Status = ""
	}
	var list struct {
		Items []projections.Campaign `json:"items"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/campaigns?"+url.Values{"status": {p.Status}}.Encode(), &list); err != nil {
		return err
	}
	p.Items = list.Items
	c.render(w, r, http.StatusOK, "campaigns", "cmp.title", p)
	return nil
}

// builderPage is /campaigns/new's data: the draft and its count.
type builderPage struct {
	Draft campaignDraft
	Count *projections.CampaignPreview
}

func (c *Console) newCampaignPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	d := campaignDraft{StartsOn: formatDate(c.now()), Channel: "phone_outbound", HoldOut: "0", Fields: map[string]string{}}
	return c.renderBuilder(w, r, http.StatusOK, builderPage{Draft: d})
}

func (c *Console) renderBuilder(w http.ResponseWriter, r *http.Request, status int, p builderPage) error {
	if p.Draft.Key == "" {
		p.Draft.Key = newKey()
	}
	c.render(w, r, status, "campaign_new", "cmp.new.title", p)
	return nil
}

// postCampaign handles the builder: count shows what the criteria select
// (appending nothing), launch runs POST /v1/campaigns and goes to the new
// campaign. A refusal shows the builder again as typed.
func (c *Console) postCampaign(w http.ResponseWriter, r *http.Request, s *Session) error {
	p := builderPage{Draft: campaignDraftFrom(r.PostForm, false)}
	var err error
	status := http.StatusOK
	switch r.PostFormValue("op") {
	case "count":
		p.Count, err = c.countTargets(r, s, p.Draft)
	case "launch":
		var body *events.CampaignLaunched
		if body, err = p.Draft.launch(); err == nil {
			if _, status, err = c.dispatch(r, s, http.MethodPost, "/v1/campaigns", "_key", body); err == nil {
				http.Redirect(w, r, "/campaigns/"+url.PathEscape(p.Draft.ID)+"?done=launched", http.StatusSeeOther)
				return nil
			}
		}
	default:
		return events.InvalidField("op", "is not an action of the campaign builder")
	}
	if err != nil {
		if status, err = c.refuseCampaign(r, &p.Draft, status, err); err != nil {
			return err
		}
	}
	return c.renderBuilder(w, r, status, p)
}

// ── one campaign ─────────────────────────────────────────────────────────

// campaignView is /campaigns/{id}'s data.
type campaignView struct {
	Campaign   projections.Campaign
	Criteria   []string // the criteria in words
	LaunchedBy string
	ClosedBy   string
	Done       string // a catalog key: what was just done
	Amendable  bool   // scheduled or running
	Closable   bool   // not closed yet
	Draft      campaignDraft
	Count      *projections.CampaignPreview
	Conflict   bool // the amendment met a newer version of the campaign
	Close      closeForm
	Targets    targetList
}

// closeForm is the closure's form as typed.
type closeForm struct {
	Key, Reason, Error string
}

// targetList is a page of the campaign's target list.
type targetList struct {
	Group, Status string // the filters
	After         string // this page's cursor ("" the first page)
	Rows          []targetRow
	Next          string // the next page's link ("" the last page)
	Links         bool   // the member may open customers' pages
}

// targetRow is one target with their advisor's name.
type targetRow struct {
	projections.CampaignTarget
	Advisor string
}

// targetPage is how many targets a page of the list shows.
const targetPage = 50

// campaignDone are the notices ?done= may show.
var campaignDone = map[string]string{"launched": "cmp.done.launched", "amended": "cmp.done.amended", "closed": "cmp.done.closed"}

func (c *Console) campaignPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	v, err := c.campaignData(r, s)
	if err != nil {
		return err
	}
	v.Done = campaignDone[r.URL.Query().Get("done")]
	v.Draft = draftOfCampaign(v.Campaign)
	return c.renderCampaign(w, r, http.StatusOK, v)
}

func (c *Console) renderCampaign(w http.ResponseWriter, r *http.Request, status int, v *campaignView) error {
	if v.Draft.Key == "" {
		v.Draft.Key = newKey()
	}
	if v.Close.Key == "" {
		v.Close.Key = newKey()
	}
	c.render(w, r, status, "campaign", "cmp.page.title", v)
	return nil
}

// campaignData reads campaign {id} and a page of its targets.
func (c *Console) campaignData(r *http.Request, s *Session) (*campaignView, error) {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return nil, errNoPage
	}
	v := &campaignView{}
	if err := c.apiJSON(r.Context(), s, "/v1/campaigns/"+url.PathEscape(id), &v.Campaign); err != nil {
		return nil, err
	}
	cp := &v.Campaign
	names := c.staffNameMap(r)
	v.LaunchedBy, v.ClosedBy = nameOr(names, cp.LaunchedBy), nameOr(names, cp.ClosedBy)
	v.Criteria = c.criteriaWords(language(r), cp.Criteria)
	v.Amendable = cp.Status == projections.CampaignScheduled || cp.Status == projections.CampaignRunning
	v.Closable = cp.Status != projections.CampaignIsClosed
	if err := c.campaignTargets(r, s, v, names); err != nil {
		return nil, err
	}
	return v, nil
}

// campaignTargets reads the page of targets the query asks for.
func (c *Console) campaignTargets(r *http.Request, s *Session, v *campaignView, names map[string]string) error {
	q := r.URL.Query()
	t := &v.Targets
	t.Group, t.Status, t.After = q.Get("group"), q.Get("status"), q.Get("after")
	if t.Group != projections.GroupTarget && t.Group != projections.GroupHoldOut {
		t.Group = ""
	}
	if t.Status != "active" && t.Status != "removed" {
		t.Status = ""
	}
	t.Links = slices.Contains(readerRoles, s.Role)
	f := t.query()
	f.Set("limit", strconv.Itoa(targetPage))
	if t.After != "" {
		f.Set("after", t.After)
	}
	var page struct {
		Items []projections.CampaignTarget `json:"items"`
		Next  string                       `json:"next"`
	}
	if err := c.apiJSON(r.Context(), s, "/v1/campaigns/"+url.PathEscape(v.Campaign.ID)+"/targets?"+f.Encode(), &page); err != nil {
		return err
	}
	for _, tg := range page.Items {
		t.Rows = append(t.Rows, targetRow{CampaignTarget: tg, Advisor: nameOr(names, tg.AdvisorID)})
	}
	if page.Next != "" {
		n := t.query()
		n.Set("after", page.Next)
		t.Next = "/campaigns/" + url.PathEscape(v.Campaign.ID) + "?" + n.Encode() + "#targets"
	}
	return nil
}

// query is the list's filters as a query.
func (t *targetList) query() url.Values {
	f := url.Values{}
	if t.Group != "" {
		f.Set("group", t.Group)
	}
	if t.Status != "" {
		f.Set("status", t.Status)
	}
	return f
}

// Filter is the link to the list filtered by group g and status st, on
// its first page.
func (t targetList) Filter(g, st string) string {
	f := (&targetList{Group: g, Status: st}).query()
	if len(f) == 0 {
		return "?#targets"
	}
	return "?" + f.Encode() + "#targets"
}

// criteriaWords writes campaign criteria cr as sentences, one per set
// criterion (or one saying it selects everyone who may be contacted).
func (c *Console) criteriaWords(lang string, cr events.CampaignCriteria) []string {
	t := func(key string, args ...any) string { return c.cat.text(lang, key, args...) }
	names := func(prefix string, vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = t(prefix + v)
		}
		return strings.Join(out, ", ")
	}
	var w []string
	if len(cr.Tiers) > 0 {
		w = append(w, t("cmp.crit.tiers", names("cust.tier.", cr.Tiers)))
	}
	if len(cr.LifeEvents) > 0 && cr.LifeEventWithinDays > 0 {
		w = append(w, t("cmp.crit.lifeEventsWithin", grouped(cr.LifeEventWithinDays), names("cust.lifeEvent.", cr.LifeEvents)))
	} else if len(cr.LifeEvents) > 0 {
		w = append(w, t("cmp.crit.lifeEvents", names("cust.lifeEvent.", cr.LifeEvents)))
	}
	if len(cr.NotHolding) > 0 {
		w = append(w, t("cmp.crit.notHolding", strings.Join(cr.NotHolding, ", ")))
	}
	if len(cr.BranchIDs) > 0 {
		w = append(w, t("cmp.crit.branches", strings.Join(cr.BranchIDs, ", ")))
	}
	if cr.MinBalance != nil {
		w = append(w, t("cmp.crit.minBalance", formatWon(*cr.MinBalance)))
	}
	if cr.NoContactDays > 0 {
		w = append(w, t("cmp.crit.noContact", grouped(cr.NoContactDays)))
	}
	if len(w) == 0 {
		w = append(w, t("cmp.crit.none"))
	}
	return w
}

// postAmendment handles the amendment's form: count shows what the
// criteria would select, amend runs POST /v1/campaigns/{id}/amendments
// with If-Match the version the form was opened at. A refusal or a
// conflict shows the page again with the draft as typed (a conflict moves
// its base to the campaign's version, so amending again replaces it
// knowingly).
func (c *Console) postAmendment(w http.ResponseWriter, r *http.Request, s *Session) error {
	v, err := c.campaignData(r, s)
	if err != nil {
		return err
	}
	v.Draft = campaignDraftFrom(r.PostForm, true)
	cp := v.Campaign
	v.Draft.ID, v.Draft.Channel, v.Draft.HoldOut = cp.ID, cp.Channel, strconv.Itoa(cp.HoldOutPercent)
	v.Draft.StartsOn, v.Draft.Product, v.Draft.Attribution = cp.StartsOn, cp.Product, strconv.Itoa(cp.AttributionDays)
	status := http.StatusOK
	switch r.PostFormValue("op") {
	case "count":
		v.Count, err = c.countTargets(r, s, v.Draft)
	case "amend":
		if _, berr := strconv.ParseUint(r.PostFormValue("base"), 10, 64); berr != nil {
			// Read as 0 it would be the If-Match of a campaign never amended.
			status, err = http.StatusBadRequest, events.InvalidField("base", "must be the campaign's version the form was opened at")
		} else if status, err = c.amend(r, s, v.Draft); err == nil {
			http.Redirect(w, r, "/campaigns/"+url.PathEscape(cp.ID)+"?done=amended", http.StatusSeeOther)
			return nil
		}
	default:
		return events.InvalidField("op", "is not an action of the campaign builder")
	}
	if err != nil {
		if status, err = c.refuseCampaign(r, &v.Draft, status, err); err != nil {
			return err
		}
		if status == http.StatusConflict {
			v.Conflict, v.Draft.Error, v.Draft.Base = true, "", cp.Version
		}
	}
	return c.renderCampaign(w, r, status, v)
}

// amend runs the API's amendment of draft d as s: If-Match d's base and
// the form's Idempotency-Key.
func (c *Console) amend(r *http.Request, s *Session, d campaignDraft) (int, error) {
	body, err := d.amendment()
	if err != nil {
		return http.StatusBadRequest, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	h := http.Header{"Content-Type": {"application/json"}, "If-Match": {`"` + strconv.FormatUint(d.Base, 10) + `"`}}
	if d.Key != "" {
		h.Set("Idempotency-Key", d.Key)
	}
	a := c.API.Dispatch(r.Context(), s.Principal(), http.MethodPost, "/v1/campaigns/"+url.PathEscape(d.ID)+"/amendments", h, b)
	if a.Err == nil && a.Status != http.StatusCreated {
		return a.Status, events.Errorf(events.Internal, "the API answered %d", a.Status)
	}
	return a.Status, a.Err
}

// postClosure closes the campaign (POST /v1/campaigns/{id}/closure) with
// its reason; a refusal shows on the closure's form.
func (c *Console) postClosure(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoPage
	}
	reason := lineBreaks([]string{r.PostFormValue("reason")})[0]
	path := "/v1/campaigns/" + url.PathEscape(id) + "/closure"
	_, status, err := c.dispatch(r, s, http.MethodPost, path, "_key", map[string]string{"reason": reason})
	if err == nil {
		http.Redirect(w, r, "/campaigns/"+url.PathEscape(id)+"?done=closed", http.StatusSeeOther)
		return nil
	}
	if code := events.ErrorCode(err); code != events.Invalid && code != events.Conflict {
		return err
	}
	v, rerr := c.campaignData(r, s)
	if rerr != nil {
		return rerr
	}
	v.Draft = draftOfCampaign(v.Campaign)
	v.Close = closeForm{Key: r.PostFormValue("_key"), Reason: reason, Error: c.cat.errorText(language(r), err)}
	return c.renderCampaign(w, r, max(status, http.StatusBadRequest), v)
}

// statusTag is the dot of the "cmp_status" partial.
type statusTag struct {
	Status string
	v      view
}

// T is the page's message key.
func (t statusTag) T(key string, args ...any) string { return t.v.T(key, args...) }

// progressView is the dot of the "cmp_progress" partial: a target's
// progress in the campaign.
type progressView struct {
	Target projections.CampaignTarget
	v      view
}

// Text is the page's message key.
func (p progressView) Text(key string, args ...any) string { return p.v.T(key, args...) }

func init() {
	funcs["campaignStatus"] = func(v view, status string) statusTag { return statusTag{Status: status, v: v} }
	funcs["targetProgress"] = func(v view, t projections.CampaignTarget) progressView { return progressView{Target: t, v: v} }
}
