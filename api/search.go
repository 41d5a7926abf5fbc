package api

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
)

// Searcher turns what a person typed into the search terms to look up in
// the read side's index (Queries.FindCustomers): pii.BlindIndex, whose
// terms are keyed HMACs of normalised names and phone numbers. It must be
// safe for concurrent use.
type Searcher interface {
	// Query returns the terms for q; none if q can match no one.
	Query(q string) []string
}

// maxSearchQuery is the longest q, in characters: longer than any name or
// phone number, short enough that a query costs little.
const maxSearchQuery = 100

// customerSearch is the answer of GET /v1/search/customers.
type customerSearch struct {
	Items []projections.CustomerSummary `json:"items"`
}

// searchCustomers handles GET /v1/search/customers?q=: the customer whose
// id q is, first, then the customers the search index finds for q by name
// or phone, best match first (Queries.FindCustomers), at most limit. The
// query is personal data: it is never logged, echoed in an error, or kept.
// Without a Searcher only the id matches. A rep or private banker finds
// any customer by an exact id or whole phone number (an inbound caller),
// recorded as a lookup when outside their book, and by anything else (a
// name, a phone's last four digits) only the customers of their book.
func (s *Server) searchCustomers(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || !utf8.ValidString(q) || utf8.RuneCountInString(q) > maxSearchQuery || strings.ContainsFunc(q, unicode.IsControl) {
		return events.InvalidField("q", "must be 1 to %d characters, without control characters", maxSearchQuery)
	}
	limit, err := intParam(r, "limit", projections.DefaultSearchLimit, 1, 100)
	if err != nil {
		return err
	}
	now := s.now()
	items := []projections.CustomerSummary{}
	if events.ValidID(q) {
		v, err := s.Queries.Customer(r.Context(), q, now)
		switch {
		case err == nil:
			items = append(items, summaryOf(v))
		case events.ErrorCode(err) != events.NotFound:
			return err
		}
	}
	if s.Search != nil {
		if terms := s.Search.Query(q); len(terms) > 0 {
			mine := SearchBookOnly(p, terms)
			ask := limit
			if mine {
				ask = BookSearchLimit // filtered down to the book below
			}
			found, err := s.Queries.FindCustomers(r.Context(), terms, ask, now)
			if err != nil {
				return err
			}
			for _, c := range found {
				if len(items) < limit && (len(items) == 0 || c.ID != items[0].ID) && (!mine || c.AdvisorID == p.StaffID) {
					items = append(items, c)
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, customerSearch{Items: items})
	for _, c := range items {
		s.recordRead(r, p, ReadAction(p, c.AdvisorID, "search_hit"), c.ID, "")
	}
	return nil
}

// BookSearchLimit is how many of the index's matches a search limited to
// the reader's book (SearchBookOnly) filters down to it: a name shared by
// more customers may miss some of the book's (Queries.FindCustomers has
// no advisor filter yet).
const BookSearchLimit = 2000

// SearchBookOnly reports whether p's search by terms (Searcher.Query's)
// finds only p's own book: for a rep or private banker, unless the terms
// look a whole phone number up, whose match is the caller on the line.
func SearchBookOnly(p Principal, terms []string) bool { return bookBound(p) && !exactTerms(terms) }

// exactTerms reports whether terms look a whole phone number up.
func exactTerms(terms []string) bool {
	for _, t := range terms {
		if !strings.HasPrefix(t, pii.TermPhone+":") {
			return false
		}
	}
	return true
}

// summaryOf returns the list row of a customer's view.
func summaryOf(v projections.CustomerView) projections.CustomerSummary {
	c := projections.CustomerSummary{ID: v.ID, Name: v.Name, BranchID: v.BranchID, Tier: v.Tier, Stale: v.Stale, Version: v.Version}
	if v.Advisor != nil {
		c.AdvisorID = v.Advisor.ID
	}
	return c
}
