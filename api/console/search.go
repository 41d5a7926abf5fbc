package console

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Customer search: an exact customer id opens the customer; anything else
// is looked up in the blind index (Config.Search, events/pii), by name or
// phone, never in clear. As GET /v1/search/customers, a rep or private
// banker finds any customer by a whole phone number (an inbound caller)
// and only their own book by anything else (api.SearchBookOnly); other
// readers find every customer, the member's own marked. Every hit is in
// the access record.
//
// What is typed is a name or a phone number, so it travels in a POST's
// body (with the session's _csrf, as every form) and never in a URL: a URL
// stays in the browser's history and in every access log it passes. The
// results are the POST's answer itself; only an exact customer id
// redirects, to /customers/{id} (ids are not personal data, and are in the
// API's paths anyway). GET /search is the empty form.

const (
	maxSearchQuery = 100 // characters, as the search field's maxlength
	searchLimit    = 50
)

func (c *Console) searchRoutes() {
	c.page("GET /search", readerRoles, c.searchForm)
	c.page("POST /search", readerRoles, c.search)
}

// searchPage is the search template's data.
type searchPage struct {
	Q       string
	Message string // the field's message, translated; "" if q is fine
	Results []searchRow
	More    bool // the limit was reached: there may be more
	IDOnly  bool // no search index: ids only
	Done    bool // a search ran (q was valid)
}

type searchRow struct {
	projections.CustomerSummary
	TierLabel string
	Mine      bool
}

// searchForm is the empty search form. A q in its URL (an old bookmark)
// is neither searched nor shown.
func (c *Console) searchForm(w http.ResponseWriter, r *http.Request, s *Session) error {
	c.render(w, r, http.StatusOK, "search", "search.page.title", searchPage{IDOnly: c.Search == nil})
	return nil
}

// search answers the search form's POST: its q from the body only.
func (c *Console) search(w http.ResponseWriter, r *http.Request, s *Session) error {
	lang := language(r)
	formErr := r.ParseForm() // r.PostForm: the body's fields only, never the URL's
	raw := r.PostForm.Get("q")
	q := strings.TrimSpace(raw)
	p := searchPage{Q: raw, IDOnly: c.Search == nil}
	switch n := utf8.RuneCountInString(q); {
	case formErr != nil:
		p.Q, p.Message = "", c.cat.text(lang, "search.page.invalid")
	case n == 0:
		p.Message = c.cat.text(lang, "search.page.empty")
	case n > maxSearchQuery:
		p.Message = c.cat.text(lang, "search.page.too_long", maxSearchQuery)
	case !utf8.ValidString(q) || strings.ContainsFunc(q, unicode.IsControl):
		p.Message = c.cat.text(lang, "search.page.invalid")
	}
	if p.Message != "" {
		c.render(w, r, http.StatusBadRequest, "search", "search.page.title", p)
		return nil
	}
	if id, err := c.customerID(r, q); err != nil {
		return err
	} else if id != "" {
		http.Redirect(w, r, "/customers/"+id, http.StatusSeeOther)
		return nil
	}
	p.Done = true
	if terms := c.terms(q); len(terms) > 0 {
		mine, ask := api.SearchBookOnly(s.Principal(), terms), searchLimit // as GET /v1/search/customers
		if mine {
			ask = api.BookSearchLimit
		}
		found, err := c.Queries.FindCustomers(r.Context(), terms, ask, c.now())
		if err != nil {
			return err
		}
		if mine {
			found = slices.DeleteFunc(found, func(f projections.CustomerSummary) bool { return f.AdvisorID != s.StaffID })
			found = found[:min(len(found), searchLimit)]
		}
		for _, f := range found {
			c.API.RecordRead(r.Context(), s.Principal(), c.clientAddr(r), api.ReadAction(s.Principal(), f.AdvisorID, "search_hit"), f.ID, "")
		}
		p.More = len(found) >= searchLimit
		p.Results = make([]searchRow, len(found))
		for i, f := range found {
			p.Results[i] = searchRow{CustomerSummary: f, TierLabel: c.cat.text(lang, "work.tier."+cmp.Or(f.Tier, workTierNone)),
				Mine: f.AdvisorID == s.StaffID}
		}
	}
	c.render(w, r, http.StatusOK, "search", "search.page.title", p)
	return nil
}

// terms are the search index's terms for q; none without an index.
func (c *Console) terms(q string) []string {
	if c.Search == nil {
		return nil
	}
	return c.Search.Query(q)
}

// customerID returns the id of the customer q names exactly (as typed, or
// in capitals: ids are typed from the phone), "" if q names none.
func (c *Console) customerID(r *http.Request, q string) (string, error) {
	for _, id := range []string{q, strings.ToUpper(q)} {
		if !events.ValidID(id) {
			continue
		}
		ok, err := c.Queries.CustomerExists(r.Context(), id)
		if err != nil {
			return "", err
		}
		if ok {
			return id, nil
		}
	}
	return "", nil
}
