package projections

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// walkedFreshnessReport is Customers.FreshnessReport as it was before the
// books' stale instants were kept as the customers change: every customer
// of every book looked up and its stale instant computed, all of which ran
// under the runner's read lock.
func walkedFreshnessReport(cs *Customers, now time.Time) []Freshness {
	out := make([]Freshness, 0, len(cs.books))
	for adv, book := range cs.books {
		f := Freshness{AdvisorID: adv, Customers: len(book)}
		for id := range book {
			if cs.byID[id].stale(now) {
				f.Stale++
			}
		}
		out = append(out, f)
	}
	return FreshnessFrom(out)
}

// freshBenchCustomers returns 1,000,000 synthetic customers registered
// over the year before now, half of them verified since, the first
// books×book of them in books of book customers each.
func freshBenchCustomers(books, book int, now time.Time) *Customers {
	cs := NewCustomers()
	rng := rand.New(rand.NewPCG(3, 4))
	start := now.AddDate(-1, 0, 0).Unix()
	span := now.Unix() - start
	for i := range 1_000_000 {
		c := &customer{id: fmt.Sprintf("C%07d", i+1), registeredAt: start + rng.Int64N(span)}
		if rng.IntN(2) == 0 {
			c.verifiedAt = c.registeredAt + rng.Int64N(now.Unix()-c.registeredAt+1)
		}
		if i < books*book {
			c.advisorID = fmt.Sprintf("A%04d", i%books)
			b := cs.books[c.advisorID]
			if b == nil {
				b = map[string]struct{}{}
				cs.books[c.advisorID] = b
			}
			b[c.id] = struct{}{}
		}
		cs.byID[c.id] = c
	}
	cs.recountFresh()
	return cs
}

// BenchmarkFreshnessReport: the freshness report at 1,000,000 customers,
// the whole of which runs under the runner's read lock, before (walk: every
// book customer looked up) and now (kept: the books' stale instants
// counted), with books as the 1M PostgreSQL bank's (61 advisors, 2.3% of
// the customers; "case") and with every customer in a book of 600 ("all").
// Run with -count to alternate them.
func BenchmarkFreshnessReport(b *testing.B) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, shape := range []struct {
		name        string
		books, book int
	}{{"case", 61, 377}, {"all", 1667, 600}} {
		cs := freshBenchCustomers(shape.books, shape.book, now)
		if w, g := walkedFreshnessReport(cs, now), cs.FreshnessReport(now); !reflect.DeepEqual(w, g) {
			b.Fatalf("reports differ:\n%+v\n%+v", w, g)
		}
		b.Run(shape.name+"/walk", func(b *testing.B) {
			for range b.N {
				_ = walkedFreshnessReport(cs, now)
			}
		})
		b.Run(shape.name+"/kept", func(b *testing.B) {
			for range b.N {
				_ = cs.FreshnessReport(now)
			}
		})
	}
}
