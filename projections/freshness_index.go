package projections

import (
	"slices"
	"sort"
	"time"
)

// What the freshness report counts is kept as the customers change, so
// that a report costs O(advisors), not a look-up and a calendar sum per
// customer of every book: for each advisor's book, the instants after which
// its customers' data is stale (staleAt, in unix seconds), sorted. The
// fold has no clock; the report asks how many of them are before its now.

// staleTimes is a sorted multiset of unix seconds in blocks, so that a
// change costs O(block) and counting the values before a cut costs
// O(blocks + log block): a book of the case's size (≈600) is one block.
type staleTimes struct {
	// each block sorted and not empty; every value of blocks[i] is at most
	// every value of blocks[i+1]
	blocks [][]int64
}

// staleBlock is half the most values a block holds before it splits.
const staleBlock = 512

// block returns the first block whose last value is at least x, or the
// last block: where x is, or goes.
func (s *staleTimes) block(x int64) int {
	i := sort.Search(len(s.blocks), func(i int) bool { b := s.blocks[i]; return b[len(b)-1] >= x })
	return min(i, len(s.blocks)-1)
}

// add adds x.
func (s *staleTimes) add(x int64) {
	if len(s.blocks) == 0 {
		s.blocks = [][]int64{{x}}
		return
	}
	i := s.block(x)
	b := s.blocks[i]
	j, _ := slices.BinarySearch(b, x)
	b = slices.Insert(b, j, x)
	if len(b) > 2*staleBlock {
		s.blocks = slices.Insert(s.blocks, i+1, slices.Clone(b[staleBlock:]))
		b = slices.Clip(b[:staleBlock])
	}
	s.blocks[i] = b
}

// remove removes one x (nothing if there is none).
func (s *staleTimes) remove(x int64) {
	if len(s.blocks) == 0 {
		return
	}
	i := s.block(x)
	b := s.blocks[i]
	j, found := slices.BinarySearch(b, x)
	if !found {
		return
	}
	if b = slices.Delete(b, j, j+1); len(b) == 0 {
		s.blocks = slices.Delete(s.blocks, i, i+1)
		return
	}
	s.blocks[i] = b
}

// before returns how many values are less than cut.
func (s *staleTimes) before(cut int64) int {
	n := 0
	for _, b := range s.blocks {
		if b[len(b)-1] < cut {
			n += len(b)
			continue
		}
		j, _ := slices.BinarySearch(b, cut)
		return n + j
	}
	return n
}

// staleKey is what staleTimes holds for c: the second after which c's data
// is stale.
func (c *customer) staleKey() int64 { return c.staleAt().Unix() }

// staleCut returns the least unix second a customer's stale instant must be
// below to be stale at now (stale: staleAt before now; staleAt is whole
// seconds).
func staleCut(now time.Time) int64 {
	c := now.Unix()
	if now.Nanosecond() > 0 {
		c++
	}
	return c
}

// bookedKey returns c's stale instant and true if c is in the book of
// c.advisorID (0 and false otherwise: the fold computes no instant for
// customers in no book).
func (cs *Customers) bookedKey(c *customer) (int64, bool) {
	if _, ok := cs.books[c.advisorID][c.id]; !ok {
		return 0, false
	}
	return c.staleKey(), true
}

// booked notes that c joined the book of c.advisorID.
func (cs *Customers) booked(c *customer) {
	if cs.fresh == nil {
		cs.fresh = map[string]*staleTimes{}
	}
	s := cs.fresh[c.advisorID]
	if s == nil {
		s = &staleTimes{}
		cs.fresh[c.advisorID] = s
	}
	s.add(c.staleKey())
}

// unbooked notes that c, whose stale instant was key, left the book of
// advisor.
func (cs *Customers) unbooked(advisor string, key int64) {
	if s := cs.fresh[advisor]; s != nil {
		s.remove(key)
	}
}

// restaled notes that the stale instant of c, in a book, was key before an
// event may have changed it.
func (cs *Customers) restaled(c *customer, key int64) {
	if c.staleKey() != key {
		cs.unbooked(c.advisorID, key)
		cs.booked(c)
	}
}

// verified notes that c's data was confirmed at unix second at, moving
// its stale instant in its book if that changed it.
func (cs *Customers) verified(c *customer, at int64) {
	key, booked := cs.bookedKey(c)
	c.verifiedAt = max(c.verifiedAt, at)
	if booked {
		cs.restaled(c, key)
	}
}

// recountFresh rebuilds the books' stale instants from the books (after
// RestoreCustomers put records there).
func (cs *Customers) recountFresh() {
	cs.fresh = map[string]*staleTimes{}
	for _, book := range cs.books {
		for id := range book {
			cs.booked(cs.byID[id])
		}
	}
}
