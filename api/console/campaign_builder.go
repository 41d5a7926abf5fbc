package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The campaign builder (docs/console.md, "Campaigns"): one form, the
// partial _campaign_form.html, launches a campaign (/campaigns/new) and
// amends one (/campaigns/{id}); its Count button (and Enter in a field)
// shows the targets its criteria select now through POST
// /v1/campaigns/preview and appends nothing. static/campaigns.js posts the
// same form to /campaigns/preview as criteria change, for a live count.

// campaignDraft is the builder's form as typed, with its refusals.
type campaignDraft struct {
	Amend bool   // the amendment's form: name, criteria, end and reason only
	Base  uint64 // amending: the campaign's version the form was opened at (If-Match)

	ID, Name, Product, Channel       string
	StartsOn, EndsOn                 string
	HoldOut, Attribution             string
	Tiers, LifeEvents                []string
	WithinDays, NoContactDays        string
	NotHolding, Branches, MinBalance string
	Reason                           string

	Key    string            // the Idempotency-Key of the launch or amendment
	Fields map[string]string // API field ("criteria.tiers") → message
	Error  string            // a refusal not about one field
	Focus  string            // the input to focus
}

// Field names of the builder's inputs: the API's (criteria's prefixed).
const (
	fTiers      = "criteria.tiers"
	fLifeEvents = "criteria.lifeEvents"
	fWithin     = "criteria.lifeEventWithinDays"
	fNotHolding = "criteria.notHolding"
	fBranches   = "criteria.branchIds"
	fMinBalance = "criteria.minBalance"
	fNoContact  = "criteria.noContactDays"
)

// campaignDraftFrom reads the builder's fields from a posted form.
func campaignDraftFrom(v url.Values, amend bool) campaignDraft {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	d := campaignDraft{Amend: amend, ID: get("campaignId"), Name: get("name"), Product: get("product"), Channel: get("channel"),
		StartsOn: get("startsOn"), EndsOn: get("endsOn"), HoldOut: get("holdOutPercent"), Attribution: get("attributionDays"),
		Tiers: v[fTiers], LifeEvents: v[fLifeEvents], WithinDays: get(fWithin), NoContactDays: get(fNoContact),
		NotHolding: get(fNotHolding), Branches: get(fBranches), MinBalance: get(fMinBalance),
		Reason: lineBreaks([]string{v.Get("reason")})[0], Key: v.Get("_key"), Fields: map[string]string{}}
	d.Base, _ = strconv.ParseUint(v.Get("base"), 10, 64)
	return d
}

// draftOfCampaign is the amendment's form opened on campaign cp.
func draftOfCampaign(cp projections.Campaign) campaignDraft {
	cr := cp.Criteria
	d := campaignDraft{Amend: true, Base: cp.Version, ID: cp.ID, Name: cp.Name, Product: cp.Product, Channel: cp.Channel,
		StartsOn: cp.StartsOn, EndsOn: cp.EndsOn, HoldOut: strconv.Itoa(cp.HoldOutPercent), Attribution: strconv.Itoa(cp.AttributionDays),
		Tiers: cr.Tiers, LifeEvents: cr.LifeEvents, NotHolding: strings.Join(cr.NotHolding, ", "), Branches: strings.Join(cr.BranchIDs, ", "),
		Fields: map[string]string{}}
	if cr.LifeEventWithinDays > 0 {
		d.WithinDays = strconv.Itoa(cr.LifeEventWithinDays)
	}
	if cr.NoContactDays > 0 {
		d.NoContactDays = strconv.Itoa(cr.NoContactDays)
	}
	if cr.MinBalance != nil {
		d.MinBalance = strconv.FormatInt(*cr.MinBalance, 10)
	}
	return d
}

// criteria are the draft's criteria as the API takes them; a number that
// is not one is Invalid naming its field.
func (d campaignDraft) criteria() (*events.CampaignCriteria, error) {
	cr := &events.CampaignCriteria{Tiers: d.Tiers, LifeEvents: d.LifeEvents, NotHolding: idList(d.NotHolding), BranchIDs: idList(d.Branches)}
	var err error
	if cr.LifeEventWithinDays, err = optionalInt(fWithin, d.WithinDays); err != nil {
		return nil, err
	}
	if cr.NoContactDays, err = optionalInt(fNoContact, d.NoContactDays); err != nil {
		return nil, err
	}
	if s := strings.NewReplacer(",", "", "₩", "", " ", "").Replace(d.MinBalance); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, events.InvalidField(fMinBalance, "must be a whole number")
		}
		cr.MinBalance = &n
	}
	return cr, nil
}

// idList splits a list typed with commas or spaces between its entries.
func idList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// optionalInt reads a whole number, 0 when left empty.
func optionalInt(field, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, events.InvalidField(field, "must be a whole number")
	}
	return n, nil
}

// launch is the draft as POST /v1/campaigns' body.
func (d campaignDraft) launch() (*events.CampaignLaunched, error) {
	cr, err := d.criteria()
	if err != nil {
		return nil, err
	}
	l := &events.CampaignLaunched{CampaignID: d.ID, Name: d.Name, Product: d.Product, Criteria: cr, Channel: d.Channel,
		StartsOn: d.StartsOn, EndsOn: d.EndsOn}
	if l.HoldOutPercent, err = optionalInt("holdOutPercent", d.HoldOut); err != nil {
		return nil, err
	}
	if l.AttributionDays, err = optionalInt("attributionDays", d.Attribution); err != nil {
		return nil, err
	}
	return l, nil
}

// amendment is the draft as POST /v1/campaigns/{id}/amendments' body.
func (d campaignDraft) amendment() (*events.CampaignAmended, error) {
	cr, err := d.criteria()
	if err != nil {
		return nil, err
	}
	return &events.CampaignAmended{Name: d.Name, Criteria: cr, EndsOn: d.EndsOn, Reason: d.Reason}, nil
}

// previewBody is the draft as POST /v1/campaigns/preview's body: the
// criteria, channel and hold-out (an amendment's are the campaign's), and
// the campaign's id once it is one, which decides who is held out.
func (d campaignDraft) previewBody() (map[string]any, error) {
	cr, err := d.criteria()
	if err != nil {
		return nil, err
	}
	hold, err := optionalInt("holdOutPercent", d.HoldOut)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"criteria": cr, "channel": d.Channel, "holdOutPercent": hold}
	if events.ValidID(d.ID) { // the hold-out this campaign has (or would have)
		body["campaignId"] = d.ID
	}
	return body, nil
}

// countTargets asks the API what the draft's criteria select now; nothing is
// appended.
func (c *Console) countTargets(r *http.Request, s *Session, d campaignDraft) (*projections.CampaignPreview, error) {
	body, err := d.previewBody()
	if err != nil {
		return nil, err
	}
	res, _, err := c.dispatch(r, s, http.MethodPost, "/v1/campaigns/preview", "", body)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var p projections.CampaignPreview
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "decode the preview", Err: err}
	}
	return &p, nil
}

// builderFields are the fields a refusal may name, in the form's order;
// any other field's refusal shows on top of the form.
var builderFields = []string{"campaignId", "name", "product", "channel", "startsOn", "endsOn", "holdOutPercent", "attributionDays",
	fTiers, fLifeEvents, fWithin, fNotHolding, fBranches, fMinBalance, fNoContact, "reason"}

// refuseCampaign puts an Invalid refusal next to its field (or on top of the
// form) and returns the status to answer with; a conflict is told on top.
// Other errors are returned.
func (c *Console) refuseCampaign(r *http.Request, d *campaignDraft, status int, err error) (int, error) {
	code := events.ErrorCode(err)
	if code != events.Invalid && code != events.Conflict {
		return 0, err
	}
	msg := c.cat.errorText(language(r), err)
	field, _, _ := strings.Cut(invalidField(err), "[")
	if code == events.Invalid && field != "" && slices.Contains(builderFields, field) {
		d.Fields[field], d.Focus = msg, inputID(field)
	} else {
		d.Error = msg
	}
	if status < 400 {
		status = statusOf(err)
	}
	return status, nil
}

// inputID is the id of the builder's input of API field f
// ("criteria.tiers" → "cmp-criteria-tiers").
func inputID(f string) string { return "cmp-" + strings.ReplaceAll(f, ".", "-") }

// campaignForm is the dot of the "campaign_form" partial: the draft, its
// count, where it posts and the page's view.
type campaignForm struct {
	D       *campaignDraft
	Count   *projections.CampaignPreview // the count shown (Count pressed), nil before
	Action  string
	Tiers   []string
	Events  []string
	Chans   []string
	Default int // the attribution window a campaign naming none gets
	v       view
}

// T is the page's message key.
func (f campaignForm) T(key string, args ...any) string { return f.v.T(key, args...) }

// CSRF is the page's form token.
func (f campaignForm) CSRF() string { return f.v.CSRF }

// ID is the input id of API field name.
func (campaignForm) ID(name string) string { return inputID(name) }

// Err is the refusal at field name ("" none).
func (f campaignForm) Err(name string) string { return f.D.Fields[name] }

// Attrs are an input's attributes for field name: aria-invalid and its
// message's id when refused, autofocus when the focus is on it.
func (f campaignForm) Attrs(name string) template.HTMLAttr {
	id := inputID(name)
	a := ""
	if f.D.Fields[name] != "" {
		a = ` aria-invalid="true" aria-describedby="` + id + `-msg"`
	}
	if f.D.Focus == id {
		a += " autofocus"
	}
	return template.HTMLAttr(a)
}

// ByTier lists the count's targets by tier in the builder's order, the
// untiered last.
func (f campaignForm) ByTier() []tierCount {
	out := []tierCount{}
	for _, t := range append(append([]string{}, f.Tiers...), "") {
		n := 0
		if f.Count != nil {
			n = f.Count.ByTier[t]
		}
		out = append(out, tierCount{Tier: t, N: n})
	}
	return out
}

// tierCount is one tier of the count.
type tierCount struct {
	Tier string // "" untiered
	N    int
}

func init() {
	funcs["campaignForm"] = func(v view, d campaignDraft, count *projections.CampaignPreview, action string) campaignForm {
		return campaignForm{D: &d, Count: count, Action: action, Tiers: events.Tiers, Events: events.LifeEventKinds, Chans: events.Channels,
			Default: events.DefaultAttributionDays, v: v}
	}
	funcs["grouped"] = func(n int) string { return groupDigits(strconv.Itoa(n)) }
}

// postPreview answers static/campaigns.js's live count: the form as
// posted, counted through POST /v1/campaigns/preview, as JSON — the
// preview, or {"error","field"} for a refusal (a criterion out of range):
// an answer to show, not a failure of the request, so 200 either way.
func (c *Console) postPreview(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := r.ParseForm(); err != nil {
		return events.Errorf(events.Invalid, "the form cannot be read")
	}
	d := campaignDraftFrom(r.PostForm, r.PostFormValue("amend") == "1")
	p, err := c.countTargets(r, s, d)
	answer := map[string]any{"preview": p}
	if err != nil {
		if code := events.ErrorCode(err); code != events.Invalid && code != events.NotFound {
			return err
		}
		field, _, _ := strings.Cut(invalidField(err), "[")
		lang, msg := language(r), c.cat.errorText(language(r), err)
		if key := "cmp.field." + field; c.cat.has(lang, key) { // the count is beside the form: say which field
			msg = c.cat.text(lang, key) + ": " + msg
		}
		answer = map[string]any{"error": msg, "field": field}
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}

// cmpInput is the dot of the "cmp_input" partial: one input of the
// builder.
type cmpInput struct {
	F                              campaignForm
	Name, Type, Value, Placeholder string
	Class                          string
}

// Input is the builder's input of API field name.
func (f campaignForm) Input(name, typ, value string) cmpInput {
	return cmpInput{F: f, Name: name, Type: typ, Value: value}
}

// Hold returns the input with placeholder p.
func (in cmpInput) Hold(p string) cmpInput { in.Placeholder = p; return in }

// cmpChecks is the dot of the "cmp_checks" partial: a criterion chosen by
// ticking its values.
type cmpChecks struct {
	F               campaignForm
	Name, Prefix    string // Prefix: the catalog key of an option's label, less the option
	Options, Values []string
}

// Checks is the builder's check boxes of API field name.
func (f campaignForm) Checks(name string, options, values []string, prefix string) cmpChecks {
	return cmpChecks{F: f, Name: name, Prefix: prefix, Options: options, Values: values}
}

// Summary is the count in one sentence (cmp.count.summary, whose
// {targets}, {holdOut} and {matching} static/campaigns.js fills alike).
func (f campaignForm) Summary() string {
	p := f.Count
	if p == nil {
		return ""
	}
	return strings.NewReplacer("{targets}", groupDigits(strconv.Itoa(p.Targets)), "{holdOut}", groupDigits(strconv.Itoa(p.HoldOut)),
		"{matching}", groupDigits(strconv.Itoa(p.Matching))).Replace(f.T("cmp.count.summary"))
}
