package projections

import (
	"slices"
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
	byTerm map[string][]string // term → ids of the customers holding it, in id order
	terms  map[string][]string // customer id → its terms, sorted, distinct
}

// NewSearch returns an empty index over cs's customers, built with index.
func NewSearch(cs *Customers, index SearchIndex) *Search {
	return &Search{cs: cs, index: index, byTerm: map[string][]string{}, terms: map[string][]string{}}
}

// Name returns "search".
func (*Search) Name() string { return "search" }

// Apply recomputes the terms of the customer whose name or phone e may
// change (CustomerRegistered, ProfileChanged or ProfileReported naming
// either, PersonalDataErased).
func (s *Search) Apply(e Event) {
	cat, id := e.StreamID()
	if cat != events.CategoryCustomer || !SearchRelevant(e.Data) {
		return
	}
	if c := s.cs.folding(id); c != nil {
		s.set(c.id, customerTerms(c, s.index)) // c.id: a copy the read model owns
	}
}

// SearchRelevant reports whether an event of a customer's stream can change
// that customer's search terms: a registration, a change of name or phone,
// an erasure. A read store that persists the terms rewrites them after such
// an event only.
func SearchRelevant(d events.Data) bool {
	switch d := d.(type) {
	case *events.CustomerRegistered, *events.PersonalDataErased, *events.CustomerMergedInto:
		return true
	case *events.ProfileChanged:
		return namesNameOrPhone(d.Changes)
	case *events.ProfileReported: // its claim may survive (provenance.go)
		return namesNameOrPhone(d.Fields)
	}
	return false
}

// namesNameOrPhone reports whether a profile map has a name or a phone.
func namesNameOrPhone(fields map[string]string) bool {
	_, name := fields["name"]
	_, phone := fields["phone"]
	return name || phone
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
			if i, ok := slices.BinarySearch(ids, id); ok {
				ids = slices.Delete(ids, i, i+1)
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
			// Kept in id order, for Find's merge; ids mostly arrive in
			// order (ULIDs, core banking's numbers), so this appends.
			ids := s.byTerm[t]
			if i, ok := slices.BinarySearch(ids, id); !ok {
				s.byTerm[t] = slices.Insert(ids, i, id)
			}
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

// Find returns the ids of the customers holding any of terms: those holding
// more of them first, then by id; at most limit (DefaultSearchLimit when
// limit is not positive). Repeated terms count once.
//
// It merges the terms' id-ordered lists, so its cost is the number of
// matches (a fifth of the bank shares the surname Kim), with no map or
// sort of them: for each count of matching terms it keeps the first limit
// ids, which are the best of that count.
func (s *Search) Find(terms []string, limit int) []string {
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	var lists [][]string
	for _, t := range distinct(terms) {
		if ids := s.byTerm[t]; len(ids) > 0 {
			lists = append(lists, ids)
		}
	}
	if len(lists) == 1 {
		return slices.Clone(lists[0][:min(limit, len(lists[0]))])
	}
	best := make([][]string, len(lists)+1) // by how many terms match
	at := make([]int, len(lists))
	for len(best[len(lists)]) < limit {
		id, found := "", false
		for j, l := range lists {
			if at[j] < len(l) && (!found || l[at[j]] < id) {
				id, found = l[at[j]], true
			}
		}
		if !found {
			break
		}
		n := 0
		for j, l := range lists {
			if at[j] < len(l) && l[at[j]] == id {
				n++
				at[j]++
			}
		}
		if len(best[n]) < limit {
			best[n] = append(best[n], id)
		}
	}
	ids := make([]string, 0, limit)
	for n := len(lists); n > 0 && len(ids) < limit; n-- {
		ids = append(ids, best[n][:min(len(best[n]), limit-len(ids))]...)
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
// distinct; none once c is erased or merged.
func customerTerms(c *customer, index SearchIndex) []string {
	if c.gone() || index == nil {
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
			out = append(out, c.summary(now))
		}
	}
	return out
}
