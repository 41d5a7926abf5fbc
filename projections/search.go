package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// SearchIndex returns the terms a customer whose field ("name" or "phone")
// holds value is found by: pii.BlindIndex.Terms, keyed HMACs of the
// normalised value, so that no read store holds a searchable name or phone
// in clear (docs/personal-data.md, "Search"). It must be a pure function,
// safe for concurrent use, and give nil for a value it does not index. The
// read side never imports the key: it is handed this function.
type SearchIndex func(field, value string) []string

// DefaultSearchLimit is how many customers FindCustomers returns when its
// limit is not positive.
const DefaultSearchLimit = 20

// MemoryOption configures a Memory (NewMemory).
type MemoryOption func(*Memory)

// WithSearchIndex makes the Memory keep a search index built with index,
// which FindCustomers answers from; nil keeps none.
func WithSearchIndex(index SearchIndex) MemoryOption {
	return func(m *Memory) {
		if index != nil {
			m.Search = NewSearch(m.Customers, index)
		}
	}
}

// Search is the customer search index: term → customers, kept from each
// customer's current name and phone as the Customers read model holds them,
// through a SearchIndex. A change of either replaces the customer's terms;
// PersonalDataErased removes them all, so an erased customer is found by
// neither. It holds no name or phone, only their terms.
//
// Search reads the customer's state from Customers, so it must be applied
// after it (Memory.Projections orders them so). Like every projection its
// queries must not run concurrently with Apply (the runner's lock).
type Search struct {
	cs     *Customers
	index  SearchIndex
	byTerm map[string][]string // term → ids of the customers holding it, in no order
	terms  map[string][]string // customer id → its terms, sorted, distinct
}

// NewSearch returns an empty index over cs's customers, built with index.
func NewSearch(cs *Customers, index SearchIndex) *Search {
	return &Search{cs: cs, index: index, byTerm: map[string][]string{}, terms: map[string][]string{}}
}

// Name returns "search".
func (*Search) Name() string { return "search" }

// Apply recomputes the terms of the customer whose name or phone e may
// change (CustomerRegistered, ProfileChanged naming either,
// PersonalDataErased).
func (s *Search) Apply(e Event) {
	cat, id := events.StreamID(e.Stream)
	if cat != events.CategoryCustomer || !SearchRelevant(e.Data) {
		return
	}
	if c := s.cs.byID[id]; c != nil {
		s.set(c.id, customerTerms(c, s.index)) // c.id: a copy the read model owns
	}
}

// SearchRelevant reports whether an event of a customer's stream can change
// that customer's search terms: a registration, a change of name or phone,
// an erasure. A read store that persists the terms rewrites them after such
// an event only.
func SearchRelevant(d events.Data) bool {
	switch d := d.(type) {
	case *events.CustomerRegistered, *events.PersonalDataErased:
		return true
	case *events.ProfileChanged:
		_, name := d.Changes["name"]
		_, phone := d.Changes["phone"]
		return name || phone
	}
	return false
}

// set replaces customer id's terms by terms (sorted, distinct).
func (s *Search) set(id string, terms []string) {
	old := s.terms[id]
	if slices.Equal(old, terms) {
		return
	}
	for _, t := range old {
		if !hasTerm(terms, t) {
			ids := s.byTerm[t]
			if i := slices.Index(ids, id); i >= 0 {
				ids[i] = ids[len(ids)-1]
				ids = ids[:len(ids)-1]
			}
			if len(ids) == 0 {
				delete(s.byTerm, t)
			} else {
				s.byTerm[t] = ids
			}
		}
	}
	for _, t := range terms {
		if !hasTerm(old, t) {
			s.byTerm[t] = append(s.byTerm[t], id)
		}
	}
	if len(terms) == 0 {
		delete(s.terms, id)
	} else {
		s.terms[id] = terms
	}
}

// hasTerm reports whether sorted holds t.
func hasTerm(sorted []string, t string) bool {
	_, ok := slices.BinarySearch(sorted, t)
	return ok
}

// Terms returns customer id's terms, sorted; nil if it has none.
func (s *Search) Terms(id string) []string { return slices.Clone(s.terms[id]) }

// Find returns the ids of the customers holding any of terms: those holding
// more of them first, then by id; at most limit (DefaultSearchLimit when
// limit is not positive). Repeated terms count once.
func (s *Search) Find(terms []string, limit int) []string {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	hits := map[string]int{}
	for _, t := range distinct(terms) {
		for _, id := range s.byTerm[t] {
			hits[id]++
		}
	}
	type hit struct {
		id string
		n  int
	}
	ranked := make([]hit, 0, len(hits))
	for id, n := range hits {
		ranked = append(ranked, hit{id, n})
	}
	slices.SortFunc(ranked, func(a, b hit) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		return strings.Compare(a.id, b.id)
	})
	ids := make([]string, 0, min(limit, len(ranked)))
	for _, h := range ranked[:min(limit, len(ranked))] {
		ids = append(ids, h.id)
	}
	return ids
}

// distinct returns terms sorted, without repeats.
func distinct(terms []string) []string {
	terms = slices.Clone(terms)
	slices.Sort(terms)
	return slices.Compact(terms)
}

// customerTerms returns the terms of c's current name and phone, sorted and
// distinct; none once c is erased.
func customerTerms(c *customer, index SearchIndex) []string {
	if c.erased || index == nil {
		return nil
	}
	terms := slices.Concat(index("name", c.name), index("phone", c.phone))
	if len(terms) == 0 {
		return nil
	}
	return distinct(terms)
}

// SearchTerms returns customer id's search terms as index gives them for
// its current name and phone (sorted, distinct); nil for an unknown or an
// erased customer. A read store that persists the index writes these.
func (cs *Customers) SearchTerms(id string, index SearchIndex) []string {
	c := cs.byID[id]
	if c == nil {
		return nil
	}
	return customerTerms(c, index)
}

// EachSearchTerms calls f with every customer's id and search terms, in id
// order, skipping customers without terms: what a read store writes when
// it builds its index whole.
func (cs *Customers) EachSearchTerms(index SearchIndex, f func(id string, terms []string)) {
	cs.each("", func(c *customer) bool {
		if t := customerTerms(c, index); len(t) > 0 {
			f(c.id, t)
		}
		return true
	})
}

// Summaries returns the summaries at now of the customers ids names, in
// that order, skipping unknown ids.
func (cs *Customers) Summaries(ids []string, now time.Time) []CustomerSummary {
	out := make([]CustomerSummary, 0, len(ids))
	for _, id := range ids {
		if c := cs.byID[id]; c != nil {
			out = append(out, CustomerSummary{ID: c.id, Name: c.name, BranchID: c.branchID, Tier: c.tier,
				AdvisorID: c.advisorID, Stale: c.stale(now), Version: c.version})
		}
	}
	return out
}
