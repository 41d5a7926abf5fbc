package projections

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
)

// Customers is the customer 360 read model: one compact record per
// customer, folded from the customer-<id> streams. Only a short recent
// timeline is held in memory (TimelineDepth entries); the full timeline is
// the stream itself.
type Customers struct {
	byID    map[string]*customer
	order   []*customer                    // byID's customers in the order they came (a campaign's launch judges them all; a map is slow to walk)
	books   map[string]map[string]struct{} // advisor id → customer ids
	sortMu  sync.Mutex                     // queries run concurrently under the runner's read lock
	sorted  []string                       // customer ids in order, rebuilt lazily
	dirty   bool
	erasedN int
	rule    *Survivorship // picks each profile field's surviving claim; provenance.go
	// What the tiers report counts, kept as the customers change so that
	// the report copies it under the runner's read lock instead of walking
	// byID there (reports.go): the customers not merged per tier (""
	// for none; no zero entries), and the profit contribution of each such
	// customer with financials, in no order, profOf[i] being whose
	// profits[i] is (customer.pslot is i+1).
	tierN   map[string]int
	profits []int64
	profOf  []*customer
	// What the freshness report counts, kept likewise: per advisor, the
	// stale instants of the customers in their book (freshness_index.go).
	fresh map[string]*staleTimes
	// last is the customer the fold looked up last (folding): a customer's
	// events mostly come one after another in the log (a registration and
	// its history appended together, a conversation's notes), and the
	// read models after Customers look up the same customer for the same
	// event, so one remembered pointer saves most of the fold's look-ups in
	// a map of millions. byID never drops a customer, so it cannot go stale.
	last *customer
}

// folding returns customer id for the fold (Apply of the read models that
// read Customers' state), or nil. Only the fold calls it: it updates last,
// which queries, running concurrently under the read lock, never touch.
func (cs *Customers) folding(id string) *customer {
	if c := cs.last; c != nil && c.id == id {
		return c
	}
	c := cs.byID[id]
	if c != nil {
		cs.last = c
	}
	return c
}

// TimelineDepth is how many recent timeline entries the view keeps per customer.
const TimelineDepth = 8

// maxPitches bounds the per-product pitch memory of one customer.
const maxPitches = 16

type customer struct {
	id, branchID                        string
	name, birthDate, phone, email, addr string
	tier, tierRule                      string
	tierDeposit, tierProfit             int64
	advisorID, advisorKind              string
	consent                             uint16   // bit per (channel, purpose) granted; see consentBit
	consentSet                          uint16   // bit per (channel, purpose) ever stated
	pslot                               uint32   // 1 + index in Customers.profits, 0 if not there; in consentSet's padding
	consentVer                          []uint64 // per consentBit index: stream version of the ConsentChanged that set it; nil until one did
	holdings                            []Holding
	fin                                 *Financials
	balances                            []balancePoint // the reports VIP at risk compares, by asOf; see vip_risk.go
	life                                []LifeEvent
	// the registration's source.system, and the profile's claims (nil
	// while only the registration is known); regEarlier below, in erased's
	// padding, is how many seconds before registeredAt that system
	// recorded the registration: provenance.go
	regSystem                           string
	prov                                *provenance
	registeredAt, verifiedAt, contactAt int64         // unix seconds
	timeline                            []timelineRec // oldest first; timeline_rec.go
	pitches                             []PitchOutcome
	requests                            []Request
	erased                              bool
	regEarlier                          int32
	merge                               *mergeLink // nil unless in a merge; merge.go
	version                             uint64
}

// NewCustomers returns an empty customer read model.
func NewCustomers() *Customers {
	return &Customers{byID: map[string]*customer{}, books: map[string]map[string]struct{}{}, rule: DefaultSurvivorship()}
}

// expect sizes byID and order for n customers while both are empty.
func (cs *Customers) expect(n int) {
	if len(cs.byID) == 0 && len(cs.order) == 0 {
		cs.byID, cs.order = make(map[string]*customer, n), make([]*customer, 0, n)
	}
}

// Name returns "customers".
func (*Customers) Name() string { return "customers" }

// Apply folds the events of customer streams and CallRecorded (for the timeline).
func (cs *Customers) Apply(e Event) {
	cat, id := e.StreamID()
	if cat == "call" {
		if d, ok := e.Data.(*events.CallRecorded); ok {
			if c := cs.byID[d.CustomerID]; c != nil {
				c.addTimeline(TimelineEntry{Kind: "call", At: d.StartedAt, Channel: d.Direction, StaffID: d.StaffID,
					CallID: d.CallID, DurationSec: d.DurationSec, Position: e.Position.Seq()})
			}
		}
		return
	}
	if cat != "customer" {
		return
	}
	c := cs.folding(id)
	if c == nil {
		reg, ok := e.Data.(*events.CustomerRegistered)
		if !ok {
			return
		}
		id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
		c = &customer{id: id, registeredAt: e.RecordedAt.Unix()}
		c.name, c.birthDate, c.phone, c.email, c.addr = reg.Name, reg.BirthDate, reg.Phone, reg.Email, reg.Address
		c.branchID = reg.BranchID
		c.regSystem = intern(reg.Source.System)
		if !e.OccurredAt.IsZero() { // an import says when the source recorded it
			c.setRegObserved(e.OccurredAt.Unix())
		}
		cs.byID[id] = c
		cs.order = append(cs.order, c)
		cs.dirty = true
		cs.countTier("", 1)
		c.version = e.Version
		return
	}
	c.version = e.Version
	at := When(e.Envelope) // interactions may report when they happened; see timeline.go
	switch d := e.Data.(type) {
	case *events.ProfileChanged:
		for k, v := range d.Changes {
			c.claim(cs.rule, k, eventClaim(e, CRMSystem, v, at, true))
		}
		c.addTimeline(TimelineEntry{Kind: "profile", At: at, Channel: d.Source, Position: e.Position.Seq()})
	case *events.ProfileVerified:
		// A confirmation entered late does not make the data fresher than
		// a later one did.
		cs.verified(c, at.Unix())
		c.confirm(cs.rule, d.Fields, at, e)
	case *events.ProfileReported:
		c.report(cs.rule, d, e)
	case *events.ConsentChanged:
		bit := consentBit(d.Channel, d.Purpose)
		c.consentSet |= bit
		c.setConsentVersion(bit, e.Version)
		if d.Granted != nil && *d.Granted {
			c.consent |= bit
		} else {
			c.consent &^= bit
		}
	case *events.LifeEventRecorded:
		c.life = append(c.life, LifeEvent{Kind: d.Kind, ExpectedOn: d.ExpectedOn, Note: d.Note, RecordedAt: e.RecordedAt})
		if len(c.life) > 8 {
			c.life = c.life[len(c.life)-8:]
		}
	case *events.FinancialsReported:
		c.fin = &Financials{AsOf: d.AsOf, DepositBalance: deref(d.DepositBalance), ProfitContribution: deref(d.ProfitContribution), Currency: d.Currency}
		if c.mergedInto() == "" {
			cs.setProfit(c, c.fin.ProfitContribution)
		}
		c.addBalance(d.AsOf, deref(d.DepositBalance))
	case *events.TierAssigned:
		if c.mergedInto() == "" {
			cs.countTier(c.tier, -1)
			cs.countTier(d.Tier, 1)
		}
		c.tier, c.tierRule = d.Tier, d.Basis.Rule
		c.tierDeposit, c.tierProfit = deref(d.Basis.DepositBalance), deref(d.Basis.ProfitContribution)
	case *events.AdvisorAssigned:
		if c.mergedInto() != "" {
			break // the survivor's advisor serves the person
		}
		if key, booked := cs.bookedKey(c); booked {
			cs.unbooked(c.advisorID, key)
		}
		if c.advisorID != "" {
			delete(cs.books[c.advisorID], id)
		}
		c.advisorID, c.advisorKind = d.AdvisorID, d.Kind
		book := cs.books[d.AdvisorID]
		if book == nil {
			book = map[string]struct{}{}
			cs.books[d.AdvisorID] = book
		}
		book[c.id] = struct{}{}
		cs.booked(c)
	case *events.ProductHoldingChanged:
		h := Holding{Product: d.Product, AccountRef: d.AccountRef}
		i := slices.Index(c.holdings, h)
		if d.Change == "opened" && i < 0 {
			c.holdings = append(c.holdings, h)
		} else if d.Change == "closed" && i >= 0 {
			c.holdings = slices.Delete(c.holdings, i, i+1)
		}
	case *events.ContactLogged:
		if t := d.OccurredAt.Unix(); t > c.contactAt {
			c.contactAt = t
		}
		if d.Purpose == "data_refresh" {
			cs.verified(c, d.OccurredAt.Unix())
			c.confirm(cs.rule, nil, d.OccurredAt, e)
		}
		c.addTimeline(TimelineEntry{Kind: "contact", At: d.OccurredAt, Channel: d.Channel, Purpose: d.Purpose,
			Summary: d.Summary, StaffID: d.StaffID, CallID: d.CallID, DurationSec: d.DurationSec, Position: e.Position.Seq()})
	case *events.ProductPitched:
		p := PitchOutcome{Product: d.Product, Channel: d.Channel, Outcome: d.Outcome, At: at, FollowUpOn: d.FollowUpOn,
			CampaignID: d.CampaignID, StaffID: strings.Clone(e.Actor.ID)}
		if i := slices.IndexFunc(c.pitches, func(q PitchOutcome) bool { return q.Product == d.Product }); i >= 0 {
			// The last pitch is the latest made, not the latest entered:
			// an older pitch entered late keeps neither its outcome nor
			// its follow-up date over a newer one's.
			if !at.Before(c.pitches[i].At) {
				c.pitches[i] = p
			}
		} else if len(c.pitches) < maxPitches {
			c.pitches = append(c.pitches, p)
		}
		c.addTimeline(TimelineEntry{Kind: "pitch", At: at, Channel: d.Channel, Product: d.Product, Outcome: d.Outcome,
			StaffID: e.Actor.ID, Position: e.Position.Seq()}) // the name table keeps a copy
	case *events.CustomerRequestNoted:
		c.requests = append(c.requests, Request{Text: d.Text, Category: d.Category, At: at, EventID: e.ID.String()})
		if len(c.requests) > 8 {
			c.requests = c.requests[len(c.requests)-8:]
		}
	case *events.PersonalDataErased:
		c.erase()
		cs.erasedN++
	case *events.CustomerMergedInto:
		if c.mergedInto() == "" {
			adv := c.advisorID
			key, booked := cs.bookedKey(c)
			cs.mergeInto(c, d)
			if c.mergedInto() != "" { // counted as their survivor from now on
				cs.countTier(c.tier, -1)
				cs.dropProfit(c)
				if booked { // and out of their advisor's book
					cs.unbooked(adv, key)
				}
			}
		}
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// erase drops every personal value the view holds; the events keep their
// ciphertext, now unreadable.
func (c *customer) erase() {
	c.erased = true
	c.prov = nil
	c.name, c.birthDate, c.phone, c.email, c.addr = Erased, "", "", "", ""
	for i := range c.timeline {
		c.timeline[i].summary = ""
	}
	for i := range c.life {
		c.life[i].Note = ""
	}
	for i := range c.requests {
		c.requests[i].Text = Erased
	}
}

// Erased replaces personal values after PersonalDataErased.
const Erased = "[erased]"

// addTimeline keeps the TimelineDepth latest entries by when they happened
// (compareTimeline), oldest first: an entry older than all of a full
// timeline is not recent, however late it was recorded.
func (c *customer) addTimeline(e TimelineEntry) {
	t := e.rec()
	i, _ := slices.BinarySearchFunc(c.timeline, t, compareRec)
	for i < len(c.timeline) && compareRec(c.timeline[i], t) == 0 {
		i++ // equal keys stay in log order
	}
	if len(c.timeline) == TimelineDepth {
		if i == 0 {
			return
		}
		copy(c.timeline, c.timeline[1:i])
		c.timeline[i-1] = t
		return
	}
	c.timeline = slices.Insert(c.timeline, i, t)
}

var consentChannels = []string{"phone", "sms", "email", "post"}
var consentPurposes = []string{"marketing", "service"}

// setConsentVersion notes that the ConsentChanged at stream version v set
// the consent of bit.
func (c *customer) setConsentVersion(bit uint16, v uint64) {
	if c.consentVer == nil {
		c.consentVer = make([]uint64, len(consentChannels)*len(consentPurposes))
	}
	for i := range c.consentVer {
		if bit == 1<<i {
			c.consentVer[i] = v
		}
	}
}

// consentVersion returns the stream version of the ConsentChanged that last
// set the consent of bit, or 0 if none did (or the record was written by a
// release that did not keep it).
func (c *customer) consentVersion(bit uint16) uint64 {
	for i, v := range c.consentVer {
		if bit == 1<<i {
			return v
		}
	}
	return 0
}

func consentBit(channel, purpose string) uint16 {
	ci := slices.Index(consentChannels, channel)
	pi := slices.Index(consentPurposes, purpose)
	if ci < 0 || pi < 0 {
		return 0
	}
	return 1 << (ci*len(consentPurposes) + pi)
}

// Len returns the number of customers.
func (cs *Customers) Len() int { return len(cs.byID) }

// Has reports whether customer id is registered.
func (cs *Customers) Has(id string) bool { _, ok := cs.byID[id]; return ok }

// ids returns every customer id in order.
func (cs *Customers) ids() []string {
	cs.sortMu.Lock()
	defer cs.sortMu.Unlock()
	if cs.dirty || len(cs.sorted) != len(cs.byID) {
		cs.sorted = cs.sorted[:0]
		for id := range cs.byID {
			cs.sorted = append(cs.sorted, id)
		}
		sort.Strings(cs.sorted)
		cs.dirty = false
	}
	return cs.sorted
}

// each calls f for every customer in id order, starting after the id after.
func (cs *Customers) each(after string, f func(*customer) bool) {
	ids := cs.ids()
	i := sort.SearchStrings(ids, after)
	if i < len(ids) && ids[i] == after {
		i++
	}
	for ; i < len(ids); i++ {
		if !f(cs.byID[ids[i]]) {
			return
		}
	}
}

func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
