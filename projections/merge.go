package projections

import (
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// A merge (docs/merge.md) links two customers found to be one person: the
// merged customer's CustomerMergedInto names the survivor, who from then on
// stands for them in every view. Both keep their fold state (and their
// streams their history); the merged customer leaves their advisor's book,
// the search index, the likely duplicates, campaign lists and the counts of
// the reports, and Customer(merged id) answers with the survivor's view.

// mergeLink is a customer's part in merges, kept in the fold state (and so
// in the PostgreSQL row's JSON and in snapshots).
type mergeLink struct {
	Into string `json:"into,omitempty"` // the survivor this customer was merged into
	// Absorbed are the customers merged into this one, directly or through
	// a chain (M4 into M3, then M3 into M1: M1's lists M3 and M4), sorted.
	Absorbed []string `json:"absorbed,omitempty"`
}

// MaxMergeHops bounds how many links a view follows: the API refuses a
// merge into a merged customer, so a chain only forms when a customer who
// absorbed others is merged in turn, one link per merge.
const MaxMergeHops = 64

// MergedTier is the tier column a read store that filters customers by tier
// in SQL writes for a merged customer (CustomerRecord.Tier): no tier equals
// it, so no tier filter or tier count includes the merged customer.
const MergedTier = "-merged"

// mergedInto returns the survivor c was merged into, "" if none.
func (c *customer) mergedInto() string {
	if c.merge == nil {
		return ""
	}
	return c.merge.Into
}

// absorbed returns the customers merged into c (nil if none).
func (c *customer) absorbed() []string {
	if c.merge == nil {
		return nil
	}
	return c.merge.Absorbed
}

// gone reports whether c counts no more as a customer of their own: erased
// or merged into another.
func (c *customer) gone() bool { return c.erased || c.mergedInto() != "" }

// mergeInto folds CustomerMergedInto on c's stream: c, and whom c absorbed,
// join the absorbed list of the survivor and of every customer the
// survivor's chain leads to (Survivors), and c leaves their advisor's book.
// A second link of c, a link
// to c itself, to a customer never registered, or to one whose chain ends
// at c (a cycle, which would leave the person in no list or book) changes
// nothing: the API refuses all four.
func (cs *Customers) mergeInto(c *customer, d *events.CustomerMergedInto) {
	s := cs.byID[d.SurvivorID]
	if c.mergedInto() != "" || s == nil || cs.survivor(s) == c {
		return
	}
	if c.merge == nil {
		c.merge = &mergeLink{}
	}
	c.merge.Into = s.id
	joined := append([]string{c.id}, c.absorbed()...)
	for _, t := range cs.chain(s) {
		if t.merge == nil {
			t.merge = &mergeLink{}
		}
		for _, id := range joined {
			if i, found := slices.BinarySearch(t.merge.Absorbed, id); !found {
				t.merge.Absorbed = slices.Insert(t.merge.Absorbed, i, id)
			}
		}
	}
	if c.advisorID != "" {
		delete(cs.books[c.advisorID], c.id)
	}
	c.advisorID, c.advisorKind = "", ""
}

// survivor returns whom c stands for now: c, or the customer the chain of
// its merges ends at.
func (cs *Customers) survivor(c *customer) *customer {
	for range MaxMergeHops {
		s := cs.byID[c.mergedInto()]
		if s == nil {
			return c
		}
		c = s
	}
	return c
}

// chain returns s and the customers its merges lead to, in order, as far
// as survivor follows them.
func (cs *Customers) chain(s *customer) []*customer {
	out := []*customer{s}
	for range MaxMergeHops {
		n := cs.byID[s.mergedInto()]
		if n == nil || slices.Contains(out, n) {
			break
		}
		out = append(out, n)
		s = n
	}
	return out
}

// Survivors returns the ids customer id's merges lead to, nearest first
// (nil if id was merged into no one): a read store that keeps each
// customer's fold state rewrites them all when id absorbs a customer, since
// their absorbed lists gain the same ids.
func (cs *Customers) Survivors(id string) []string {
	c := cs.byID[id]
	if c == nil {
		return nil
	}
	var out []string
	for _, t := range cs.chain(c)[1:] {
		out = append(out, t.id)
	}
	return out
}

// MergedInto returns the survivor the record's customer was merged into,
// "" if none: a read store loads that customer's record too to answer for
// the merged one.
func (r CustomerRecord) MergedInto() string { return r.c.mergedInto() }

// isMergedInto reports whether d is a CustomerMergedInto.
func isMergedInto(d events.Data) bool { _, ok := d.(*events.CustomerMergedInto); return ok }

// mergedOut takes customer id, merged into another at at, out of the tier
// migration from the month of the merge on (that month included): the
// survivor counts for the person. Earlier months keep them, and their
// TierAssigned from then on count nowhere.
func (tm *TierMigration) mergedOut(id string, at time.Time) {
	if tm.merged == nil {
		tm.merged = map[string]struct{}{}
	}
	tm.merged[strings.Clone(id)] = struct{}{} // e.Stream shares a read buffer
	held, known := tm.tiers[id]
	if !known {
		return
	}
	tm.advance(at)
	from, moved := tm.from[id]
	if !moved {
		from = held.tier
	}
	tm.months[len(tm.months)-1].cells[from][held.tier].add(-1, -held.profit)
	delete(tm.tiers, id)
	delete(tm.from, id)
}
