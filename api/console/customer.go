package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The customer page is one picture of a customer for whoever works with
// them: the view of the read side (profile, tier and its basis, consents
// and do-not-contact, holdings, financials, life events, last pitches,
// open requests, advisor, freshness), the timeline from the customer's
// stream (paged by the API's cursor, loaded on scroll), and a form for
// every rep and private-banker write (forms.go). It reads one Customer
// query and one timeline page; the names of the people on it come from
// the staff read model, once each.

// fragmentHeader asks the customer page for its live sections only
// (customer.js, on a live event) or the timeline route for its entries
// only ("more").
const fragmentHeader = "X-Dangol-Fragment"

// timelineLimit is how many timeline entries a page (and each "more") shows.
const timelineLimit = 25

// asOfRoles may look at a customer as of a date: the roles the API's
// GET /v1/customers/{id}?as_of= serves (every reader). The view as of a
// date is the API's answer, so a refusal there is the page's.
var asOfRoles = readerRoles

func (c *Console) customerRoutes() {
	c.page("GET /customers/{id}", readerRoles, c.customerPage)
	c.page("GET /customers/{id}/timeline", readerRoles, c.timelinePage)
	for _, spec := range formSpecs {
		c.page("POST /customers/{id}/"+spec.path, advisorRoles, c.submit(spec))
		// A page re-rendered after an error has the form's route as its
		// address: reloading it or switching language comes back here.
		c.page("GET /customers/{id}/"+spec.path, readerRoles, func(w http.ResponseWriter, r *http.Request, s *Session) error {
			http.Redirect(w, r, "/customers/"+url.PathEscape(r.PathValue("id"))+"#form-"+spec.kind, http.StatusSeeOther)
			return nil
		})
	}
}

var errNoCustomer = events.Errorf(events.NotFound, "customer not found")

// customerPage is the customer page's data.
type customerPage struct {
	V         projections.CustomerView
	AsOf      string // the date the view is shown as of (KST), "" for now
	Today     string // the KST date now, the as-of input's bound
	CanAsOf   bool
	CanWrite  bool   // the forms are shown: an advisor, now, a customer not erased
	Advisor   string // the advisor's name
	Consents  []consentRow
	Marketing []string // consent channels with marketing granted, translated
	Verified  time.Time
	Forms     []*form
	Timeline  timeline
	Flash     string // the notice of the write just saved (its entry is marked New)
	Topic     string // the live topic
	From      string // the live feed resumes after this position
	// AsOfErr is the message of a date the view cannot be shown as of
	// (malformed, after today, before the customer was registered), shown
	// next to it, AsOfTyped, on the page of now; AsOfStatus is its status.
	AsOfErr, AsOfTyped string
	AsOfStatus         int
	MergedFrom         string // the merged customer whose page led here (duplicates.go)
}

// consentRow is one consent channel's state per purpose: "granted",
// "withdrawn" or "" (never stated).
type consentRow struct {
	Channel  string
	Purposes []consentCell
}

type consentCell struct{ Purpose, State string }

// OutcomeClass is the tag class of a pitch outcome.
func (p *customerPage) OutcomeClass(outcome string) string { return outcomeClass(outcome) }

func (c *Console) customerPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if err := c.awaitPosition(r); err != nil { // a live refresh: the event that caused it is in
		return err
	}
	p, err := c.customerData(r, s, id, r.URL.Query().Get("asOf"), nil)
	if followMerge(w, r, id, err) { // duplicates.go
		return nil
	}
	if err != nil {
		return err
	}
	p.MergedFrom = r.URL.Query().Get("merged")
	if r.Header.Get(fragmentHeader) == "sections" {
		return c.renderWorkFragment(w, r, "customer", "cust_sections", "sections", p)
	}
	if kind, ver, ok := c.takeFlash(w, r); ok && p.AsOf == "" {
		p.Flash = c.cat.text(language(r), "cust.saved."+kind)
		for i := range p.Timeline.Entries {
			p.Timeline.Entries[i].New = p.Timeline.Entries[i].Version == ver
		}
	}
	status := http.StatusOK
	if p.AsOfStatus != 0 {
		status = p.AsOfStatus
	}
	c.render(w, r, status, "customer", "cust.title", p)
	return nil
}

// customerData assembles the page for customer id (as of the KST date
// asOf, if set). open, if set, replaces the form of its kind.
func (c *Console) customerData(r *http.Request, s *Session, id, asOf string, open *form) (*customerPage, error) {
	if !events.ValidID(id) {
		return nil, errNoCustomer
	}
	ctx, lang, now := r.Context(), language(r), c.now()
	names := c.staffNames(lang)
	p := &customerPage{Today: now.In(kst).Format(time.DateOnly), CanAsOf: slices.Contains(asOfRoles, s.Role),
		Topic: "customer:" + id, From: c.livePosition()}
	if asOf != "" {
		v, err := c.customerAsOf(ctx, s, id, asOf, now)
		switch code := events.ErrorCode(err); {
		case err == nil:
			p.V, p.AsOf = v, asOf
			p.Timeline = c.recentTimeline(ctx, &v, names)
		case code == events.Invalid:
			p.AsOfErr, p.AsOfTyped, p.AsOfStatus = c.cat.errorText(lang, err), asOf, http.StatusBadRequest
		case code == events.NotFound: // no view that day; the page of now says whether the customer exists at all
			p.AsOfErr, p.AsOfTyped, p.AsOfStatus = c.cat.text(lang, "cust.asOf.before"), asOf, http.StatusNotFound
		default:
			return nil, err
		}
	}
	if p.AsOf == "" {
		v, err := c.Queries.Customer(ctx, id, now)
		if err != nil {
			return nil, err
		}
		if v.ID != id { // merged: the survivor's view (duplicates.go)
			return nil, &mergedError{survivor: v.ID}
		}
		c.recordRead(r, s, &v, "customer_view") // as of a date, the API's route records it
		p.V = v
		if p.Timeline, err = c.timelineFrom(ctx, s, id, "", lang, names); err != nil {
			return nil, err
		}
		c.mergeCalls(ctx, &p.Timeline, &v, names)
	}
	v := &p.V
	if v.Erased {
		erased := c.cat.text(lang, "cust.erasedValue")
		v.Name = erased
		for i := range v.Requests {
			v.Requests[i].Text = erased
		}
	}
	p.CanWrite = p.AsOf == "" && !v.Erased && slices.Contains(advisorRoles, s.Role)
	if v.Advisor != nil {
		p.Advisor = names.name(ctx, v.Advisor.ID)
	}
	p.Verified = v.VerifiedAt
	if p.Verified.IsZero() {
		p.Verified = v.RegisteredAt
	}
	p.Consents, p.Marketing = c.consents(lang, v.Consents)
	if p.CanWrite {
		for i, spec := range formSpecs {
			f := open
			if open == nil || open.Kind != spec.kind {
				f = c.newForm(spec, id, lang, events.NewID().String(), v.Version, spec.defaults(v, now, r.URL.Query()))
				// "Record an outcome" of a product opens the pitch form for it.
				f.Open = spec.kind == "pitch" && f.vals.Get("product") != ""
			}
			f.N = i + 1
			p.Forms = append(p.Forms, f)
		}
		c.formChoices(ctx, id, now, p.Forms) // forms.go: the pitch form's campaigns
	}
	return p, nil
}

// recordRead notes the member's read of v in the access record, as a
// lookup for a rep's or private banker's customer outside their book.
func (c *Console) recordRead(r *http.Request, s *Session, v *projections.CustomerView, action string) {
	advisor := ""
	if v.Advisor != nil {
		advisor = v.Advisor.ID
	}
	c.API.RecordRead(r.Context(), s.Principal(), c.clientAddr(r), api.ReadAction(s.Principal(), advisor, action), v.ID, "")
}

// customerAsOf is the API's view of customer id at the end of the KST day
// asOf (YYYY-MM-DD), or at now if that day is today: the view judges
// freshness and upcoming life events at the moment it is asked for, and
// the rest of today has not happened. A day after today is refused.
func (c *Console) customerAsOf(ctx context.Context, s *Session, id, asOf string, now time.Time) (projections.CustomerView, error) {
	day, err := time.ParseInLocation(time.DateOnly, asOf, kst)
	if err != nil {
		return projections.CustomerView{}, events.InvalidField("asOf", "must be a date YYYY-MM-DD")
	}
	if day.After(now) {
		return projections.CustomerView{}, events.InvalidField("asOf", "must not be after today (%s)", now.In(kst).Format(time.DateOnly))
	}
	end := day.AddDate(0, 0, 1).Add(-time.Nanosecond)
	if end.After(now) {
		end = now
	}
	at := end.UTC().Format(time.RFC3339Nano)
	d := c.API.Dispatch(ctx, s.Principal(), http.MethodGet, "/v1/customers/"+url.PathEscape(id)+"?as_of="+url.QueryEscape(at), nil, nil)
	var v projections.CustomerView
	if d.Status != http.StatusOK {
		return v, dispatchError(d)
	}
	if err := json.Unmarshal(d.Body, &v); err != nil {
		return v, &events.Error{Code: events.Internal, Message: "decode the customer view", Err: err}
	}
	return v, nil
}

// dispatchError is the error of an API answer that is not a success.
func dispatchError(d api.Dispatched) error {
	if d.Err != nil {
		return d.Err
	}
	switch d.Status {
	case http.StatusNotFound:
		return errNoCustomer
	case http.StatusForbidden:
		return events.Errorf("forbidden", "your role may not do this")
	}
	return events.Errorf(events.Internal, "the API answered %d", d.Status)
}

// consents lays the view's consents out as a channel × purpose grid, and
// lists the channels marketing may use.
func (c *Console) consents(lang string, list []projections.Consent) ([]consentRow, []string) {
	var rows []consentRow
	var marketing []string
	for _, ch := range events.ConsentChannels {
		row := consentRow{Channel: ch}
		for _, pu := range events.ConsentPurposes {
			cell := consentCell{Purpose: pu}
			for _, x := range list {
				if x.Channel == ch && x.Purpose == pu {
					cell.State = "withdrawn"
					if x.Granted {
						cell.State = "granted"
						if pu == "marketing" {
							marketing = append(marketing, c.cat.text(lang, "cust.consentChannel."+ch))
						}
					}
				}
			}
			row.Purposes = append(row.Purposes, cell)
		}
		rows = append(rows, row)
	}
	return rows, marketing
}

// flashCookie carries the notice of a write across its redirect: the
// form's kind and the version it appended ("contact.12").
const flashCookie = "dangol_flash"

func (c *Console) setFlash(w http.ResponseWriter, kind string, version uint64) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: kind + "." + strconv.FormatUint(version, 10), Path: "/customers/",
		MaxAge: 60, HttpOnly: true, Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// takeFlash reads and clears the flash cookie; only a form's kind is taken.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) (kind string, version uint64, ok bool) {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return "", 0, false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/customers/", MaxAge: -1, HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode})
	kind, vs, _ := strings.Cut(ck.Value, ".")
	version, err = strconv.ParseUint(vs, 10, 63)
	if err != nil || formSpecOf(kind) == nil {
		return "", 0, false
	}
	return kind, version, true
}
