package projections

import (
	"cmp"
	"container/heap"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// This file decides whether a customer matches a campaign's criteria at an
// instant of the log, and when a customer who does not match yet will come
// to by time alone (the re-evaluation queue).

const day = 24 * time.Hour

// matcher is a campaign's criteria and channel, compiled for judging a
// million customers quickly. It caches the KST day of the last instant it
// judged at, so it must not be shared between goroutines: Apply keeps one
// per campaign, Preview compiles its own.
type matcher struct {
	cr        *events.CampaignCriteria
	branches  map[string]struct{} // nil: any branch
	noContact int64               // ns; 0: no such criterion
	ccBit     uint16              // marketing consent bit of the channel; 0: some channel will do

	cacheDay        int64 // KST day number the strings below are for
	today, lifeLast string
}

func newMatcher(cr *events.CampaignCriteria, channel string) *matcher {
	if cr == nil {
		cr = &events.CampaignCriteria{}
	}
	m := &matcher{cr: cr, noContact: int64(cr.NoContactDays) * int64(day), cacheDay: -1}
	if len(cr.BranchIDs) > 0 {
		m.branches = make(map[string]struct{}, len(cr.BranchIDs))
		for _, b := range cr.BranchIDs {
			m.branches[b] = struct{}{}
		}
	}
	if cc := events.ConsentChannelFor(channel); cc != "" {
		m.ccBit = consentBit(cc, "marketing")
	}
	return m
}

// timed reports whether a criterion depends on time, so that a customer
// who does not match now may match later without an event of theirs.
func (m *matcher) timed() bool { return m.noContact > 0 || m.cr.LifeEventWithinDays > 0 }

// kstDay returns the number of the KST calendar day holding t (ns).
func kstDay(t int64) int64 {
	const offset = 9 * int64(time.Hour)
	d := (t + offset) / int64(day)
	if (t+offset)%int64(day) < 0 {
		d--
	}
	return d
}

// kstDayStart returns the instant (ns) day YYYY-MM-DD begins in KST, and
// false for a malformed day.
func kstDayStart(s string) (int64, bool) {
	t, err := time.ParseInLocation(time.DateOnly, s, reportZone)
	if err != nil {
		return 0, false
	}
	return t.UnixNano(), true
}

// window returns today and the last day of the life event window at t, as
// YYYY-MM-DD in KST.
func (m *matcher) window(t int64) (string, string) {
	if d := kstDay(t); d != m.cacheDay {
		kt := time.Unix(0, t).In(reportZone)
		m.cacheDay = d
		m.today = kt.Format(time.DateOnly)
		m.lifeLast = kt.AddDate(0, 0, m.cr.LifeEventWithinDays).Format(time.DateOnly)
	}
	return m.today, m.lifeLast
}

// fits reports whether c meets the criteria at t (ns), consent aside, and
// the index in c.life of the life event it matched by (-1 if no life
// event criterion). Erased customers never fit.
func (m *matcher) fits(c *customer, t int64) (int, bool) {
	cr := m.cr
	if c.gone() || !m.fitsStatic(c) {
		return -1, false
	}
	if m.noContact > 0 && c.contactAt != 0 && c.contactAt*int64(time.Second)+m.noContact >= t {
		return -1, false
	}
	if len(cr.LifeEvents) == 0 {
		return -1, true
	}
	var today, last string
	if cr.LifeEventWithinDays > 0 {
		today, last = m.window(t)
	}
	for i, l := range c.life {
		if !slices.Contains(cr.LifeEvents, l.Kind) {
			continue
		}
		if cr.LifeEventWithinDays == 0 || (l.ExpectedOn != "" && l.ExpectedOn >= today && l.ExpectedOn <= last) {
			return i, true
		}
	}
	return -1, false
}

// fitsStatic checks the criteria that do not depend on time.
func (m *matcher) fitsStatic(c *customer) bool {
	cr := m.cr
	if len(cr.Tiers) > 0 && !slices.Contains(cr.Tiers, c.tier) {
		return false
	}
	if m.branches != nil {
		if _, ok := m.branches[c.branchID]; !ok {
			return false
		}
	}
	if cr.MinBalance != nil && (c.fin == nil || c.fin.DepositBalance < *cr.MinBalance) {
		return false
	}
	for _, h := range c.holdings {
		if slices.Contains(cr.NotHolding, h.Product) {
			return false
		}
	}
	return true
}

// Consent verdicts of a customer who fits a campaign's criteria.
const (
	consentOK = iota
	consentMissing
	consentDNC
)

// consent judges c's consents for the campaign's channel.
func (m *matcher) consent(c *customer) int {
	if m.ccBit != 0 && c.consent&m.ccBit != 0 {
		return consentOK
	}
	if c.view0DoNotContact() {
		return consentDNC
	}
	if m.ccBit != 0 {
		return consentMissing
	}
	return consentOK
}

// nextDue returns the first instant after t (ns) and before end (0: no
// end) at which c, as they stand, would match by time alone (no contact
// for N days elapsing, a life event entering its window), or 0 if none.
func (m *matcher) nextDue(c *customer, t, end int64) int64 {
	if !m.timed() || c.gone() || m.consent(c) != consentOK || !m.fitsStatic(c) {
		return 0
	}
	at := make([]int64, 0, 9) // on the stack: c.life holds at most 8
	if m.noContact > 0 && c.contactAt != 0 {
		at = append(at, c.contactAt*int64(time.Second)+m.noContact+1)
	}
	if n := m.cr.LifeEventWithinDays; n > 0 {
		for _, l := range c.life {
			if l.ExpectedOn == "" || !slices.Contains(m.cr.LifeEvents, l.Kind) {
				continue
			}
			if s, ok := kstDayStart(l.ExpectedOn); ok {
				at = append(at, time.Unix(0, s).In(reportZone).AddDate(0, 0, -n).UnixNano())
			}
		}
	}
	slices.Sort(at)
	for _, a := range at {
		if a <= t || (end != 0 && a >= end) {
			continue
		}
		if _, ok := m.fits(c, a); ok {
			return a
		}
	}
	return 0
}

// matched renders what a target matched by, one entry per set criterion
// of cr, the criteria they joined under (CampaignTarget.Matched), from
// the facts noted when they joined; branch is the customer's (a
// customer's branch does not change).
func (f *facts) matched(cr *events.CampaignCriteria, branch string) []string {
	out := []string{}
	if cr == nil {
		return out
	}
	if len(cr.Tiers) > 0 {
		out = append(out, "tier:"+enumName(events.Tiers, f.tier))
	}
	if len(cr.LifeEvents) > 0 {
		v := "lifeEvent:" + enumName(events.LifeEventKinds, f.lifeKind)
		if f.lifeOn != 0 {
			v += ":" + time.Unix(int64(f.lifeOn)*int64(day/time.Second), 0).UTC().Format(time.DateOnly)
		}
		out = append(out, v)
	}
	if len(cr.NotHolding) > 0 {
		out = append(out, "notHolding:"+strings.Join(cr.NotHolding, ","))
	}
	if len(cr.BranchIDs) > 0 {
		out = append(out, "branch:"+branch)
	}
	if cr.MinBalance != nil {
		out = append(out, "balance:"+strconv.FormatInt(f.balance, 10))
	}
	if cr.NoContactDays > 0 {
		v := "noContactSince:never"
		if f.contactAt != 0 {
			v = "noContactSince:" + time.Unix(f.contactAt, 0).In(reportZone).Format(time.DateOnly)
		}
		out = append(out, v)
	}
	return out
}

// facts are what a target matched by when they joined, kept compact and
// free of pointers (a million targets must fit): enum values as codes
// (enumCode), the life event's day as days since 1970-01-01.
type facts struct {
	balance, contactAt int64
	lifeOn             int32
	tier, lifeKind     uint8
}

// factsOf notes the facts of c that cr's set criteria render (reading
// only those: a launch reads a million customers); life is the index in
// c.life of the life event they matched by (-1: none).
func factsOf(cr *events.CampaignCriteria, c *customer, life int) facts {
	var f facts
	if len(cr.Tiers) > 0 {
		f.tier = enumCode(events.Tiers, c.tier)
	}
	if cr.NoContactDays > 0 {
		f.contactAt = c.contactAt
	}
	if life >= 0 {
		l := c.life[life]
		f.lifeKind = enumCode(events.LifeEventKinds, l.Kind)
		if d, err := time.Parse(time.DateOnly, l.ExpectedOn); err == nil {
			f.lifeOn = int32(d.Unix() / int64(day/time.Second))
		}
	}
	if cr.MinBalance != nil && c.fin != nil {
		f.balance = c.fin.DepositBalance
	}
	return f
}

// enumCode returns v's position in list counting from 1, or 0 for a value
// not in it ("" included): targets keep enum values as a byte.
func enumCode(list []string, v string) uint8 {
	return uint8(slices.Index(list, v) + 1)
}

// enumName returns the value enumCode coded as code.
func enumName(list []string, code uint8) string {
	if code == 0 || int(code) > len(list) {
		return ""
	}
	return list[code-1]
}

// Join and removal reasons as enumCode codes them.
var (
	joinReasons   = []string{JoinedAtLaunch, JoinedAmended, JoinedRegistered, JoinedLifeEvent, JoinedTier, JoinedFinancials, JoinedHolding, JoinedConsent, JoinedTime}
	removeReasons = []string{RemovedConsent, RemovedDNC, RemovedErased, RemovedAmended, RemovedMerged}
)

// dueEntry is one customer to judge again at an instant (ns).
type dueEntry struct {
	at int64
	c  *customer
}

// dueHeap is a campaign's re-evaluation queue, a min-heap by instant (then
// customer id, so that the order is a function of the log).
type dueHeap []dueEntry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].c.id < h[j].c.id
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// schedule queues c to be judged again at at (ns); only the latest
// instant scheduled for a customer counts (pending), earlier entries are
// skipped when popped.
func (k *campaign) schedule(c *customer, at int64, launching bool) {
	if k.pending[c] == at {
		return
	}
	k.pending[c] = at
	if launching { // heap.Init once the launch is judged: linear
		k.due = append(k.due, dueEntry{at, c})
		return
	}
	heap.Push(&k.due, dueEntry{at, c})
}

// popDue returns the next customer due at or before t (ns), skipping
// entries a later schedule replaced.
func (k *campaign) popDue(t int64) (*customer, bool) {
	for len(k.due) > 0 && k.due[0].at <= t {
		e := heap.Pop(&k.due).(dueEntry)
		if k.pending[e.c] == e.at {
			delete(k.pending, e.c)
			return e.c, true
		}
	}
	return nil, false
}

// dropQueue forgets the queue: the campaign takes no one new any more.
func (k *campaign) dropQueue() { k.due, k.pending = nil, map[*customer]int64{} }

// sortedIDs returns the ids of the campaign's targets in order, merging
// in those who joined since the last call (a list of a million is sorted
// once, not again for every late joiner); the caller holds the Campaigns'
// sort lock. The slice returned is never modified afterwards: a merge
// makes a new one, so callers may read it after unlocking.
func (k *campaign) sortedIDs() []string {
	if len(k.fresh) == 0 {
		return k.sorted
	}
	fresh := sortIDs(k.fresh)
	merged := make([]string, 0, len(k.sorted)+len(fresh))
	i, j := 0, 0
	for i < len(k.sorted) && j < len(fresh) {
		if k.sorted[i] < fresh[j] {
			merged = append(merged, k.sorted[i])
			i++
		} else {
			merged = append(merged, fresh[j])
			j++
		}
	}
	merged = append(append(merged, k.sorted[i:]...), fresh[j:]...)
	k.sorted, k.fresh = merged, nil
	return merged
}

// sortIDs sorts ids and returns them. It sorts by the first eight bytes
// as a number first, in an array without pointers: comparing those reads
// contiguous memory, where comparing the strings would read each one's
// bytes wherever they lie (a million cache misses per pass); only equal
// prefixes compare the strings.
func sortIDs(ids []string) []string {
	type keyed struct {
		prefix uint64
		i      int
	}
	keys := make([]keyed, len(ids))
	for i, id := range ids {
		var b [8]byte
		copy(b[:], id)
		keys[i] = keyed{binary.BigEndian.Uint64(b[:]), i}
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return strings.Compare(ids[a.i], ids[b.i])
	})
	sorted := make([]string, len(ids))
	for i, k := range keys {
		sorted[i] = ids[k.i]
	}
	return sorted
}

// holds reports whether c holds product (in any account).
func (c *customer) holds(product string) bool {
	for _, h := range c.holdings {
		if h.Product == product {
			return true
		}
	}
	return false
}
