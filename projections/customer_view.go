package projections

import (
	"slices"
	"time"
)

// StaleAfter is how old verified personal data may be before it is stale:
// the bank refreshes it every two months.
const staleMonths = 2

// CustomerView is the 360 view of one customer at query time.
type CustomerView struct {
	ID           string          `json:"id"`
	Version      uint64          `json:"version"`
	Name         string          `json:"name"`
	BirthDate    string          `json:"birthDate,omitempty"`
	Phone        string          `json:"phone,omitempty"`
	Email        string          `json:"email,omitempty"`
	Address      string          `json:"address,omitempty"`
	BranchID     string          `json:"branchId"`
	Erased       bool            `json:"erased,omitempty"`
	Tier         string          `json:"tier,omitempty"`
	TierBasis    *TierBasis      `json:"tierBasis,omitempty"`
	Advisor      *Advisor        `json:"advisor,omitempty"`
	Consents     []Consent       `json:"consents"`
	DoNotContact bool            `json:"doNotContact"`
	Holdings     []Holding       `json:"holdings"`
	Financials   *Financials     `json:"financials,omitempty"`
	LifeEvents   []LifeEvent     `json:"upcomingLifeEvents"`
	RegisteredAt time.Time       `json:"registeredAt"`
	VerifiedAt   time.Time       `json:"lastVerifiedAt,omitzero"`
	Stale        bool            `json:"stale"`
	LastContact  time.Time       `json:"lastContactAt,omitzero"`
	Timeline     []TimelineEntry `json:"recentTimeline"`
	Pitches      []PitchOutcome  `json:"lastPitchPerProduct"`
	Requests     []Request       `json:"openRequests"`
	// Provenance is every system's claims on each profile field, which
	// survives and where they conflict (docs/provenance.md); left out
	// while only the registration is known.
	Provenance []FieldProvenance `json:"provenance,omitempty"`
	// MergedIDs are the customers merged into this one, directly or
	// through a chain, sorted (docs/merge.md).
	MergedIDs []string `json:"mergedIds,omitempty"`
}

// TierBasis is why a customer has its tier.
type TierBasis struct {
	DepositBalance     int64  `json:"depositBalance"`
	ProfitContribution int64  `json:"profitContribution"`
	Rule               string `json:"rule"`
}

// Advisor is a customer's current advisor.
type Advisor struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

// Consent is one channel and purpose's consent.
type Consent struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
	Granted bool   `json:"granted"`
	// Version is the customer stream version of the ConsentChanged that
	// set it (what a gated pitch records as the consent it relied on); 0
	// on a PostgreSQL row an earlier release wrote, until it is rewritten.
	Version uint64 `json:"version,omitempty"`
}

// Holding is a product the customer holds.
type Holding struct {
	Product    string `json:"product"`
	AccountRef string `json:"accountRef"`
}

// Financials are the latest figures from core banking.
type Financials struct {
	AsOf               string `json:"asOf"`
	DepositBalance     int64  `json:"depositBalance"`
	ProfitContribution int64  `json:"profitContribution"`
	Currency           string `json:"currency"`
}

// LifeEvent is a life event the customer told the bank about.
type LifeEvent struct {
	Kind       string    `json:"kind"`
	ExpectedOn string    `json:"expectedOn,omitempty"`
	Note       string    `json:"note,omitempty"`
	RecordedAt time.Time `json:"recordedAt"`
}

// TimelineEntry is one interaction in a customer's timeline.
type TimelineEntry struct {
	Kind        string    `json:"kind"` // contact, pitch, call, profile
	At          time.Time `json:"at"`   // when it happened: occurredAt, else recordedAt
	Channel     string    `json:"channel,omitempty"`
	Purpose     string    `json:"purpose,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	Product     string    `json:"product,omitempty"`
	Outcome     string    `json:"outcome,omitempty"`
	StaffID     string    `json:"staffId,omitempty"`
	CallID      string    `json:"callId,omitempty"`
	DurationSec int       `json:"durationSec,omitempty"`
	Position    uint64    `json:"position"`
}

// PitchOutcome is the last pitch of one product to the customer: the latest
// made (At is its occurredAt, else its recordedAt), whatever order the
// pitches were entered in.
type PitchOutcome struct {
	Product    string    `json:"product"`
	Channel    string    `json:"channel"`
	Outcome    string    `json:"outcome"`
	At         time.Time `json:"at"`
	FollowUpOn string    `json:"followUpOn,omitempty"`
	CampaignID string    `json:"campaignId,omitempty"`
	StaffID    string    `json:"staffId,omitempty"`
}

// Request is a request the customer made, for the weekly idea meeting. At
// is when it was made (occurredAt, else recordedAt).
type Request struct {
	Text     string    `json:"text"`
	Category string    `json:"category,omitempty"`
	At       time.Time `json:"at"`
	EventID  string    `json:"eventId"`
}

// Customer returns the view of customer id with time-dependent flags
// computed at now, or false if there is no such customer. A merged
// customer's view is its survivor's.
func (cs *Customers) Customer(id string, now time.Time) (CustomerView, bool) {
	c := cs.byID[id]
	if c == nil {
		return CustomerView{}, false
	}
	return cs.survivor(c).view(now), true
}

func newestEntryFirst(a, b TimelineEntry) int { return compareTimeline(b, a) }

func (c *customer) view(now time.Time) CustomerView {
	v := CustomerView{
		ID: c.id, Version: c.version, Name: c.name, BirthDate: c.birthDate, Phone: c.phone, Email: c.email,
		Address: c.addr, BranchID: c.branchID, Erased: c.erased, Tier: c.tier,
		RegisteredAt: unixTime(c.registeredAt), VerifiedAt: unixTime(c.verifiedAt), Stale: c.stale(now),
		LastContact: unixTime(c.contactAt),
		Consents:    []Consent{}, Holdings: slices.Clone(c.holdings), LifeEvents: []LifeEvent{},
		Pitches: slices.Clone(c.pitches), Requests: slices.Clone(c.requests), MergedIDs: slices.Clone(c.absorbed()),
	}
	v.Provenance = c.provenanceView()
	if c.tier != "" {
		v.TierBasis = &TierBasis{DepositBalance: c.tierDeposit, ProfitContribution: c.tierProfit, Rule: c.tierRule}
	}
	if c.advisorID != "" {
		v.Advisor = &Advisor{ID: c.advisorID, Kind: c.advisorKind}
	}
	if c.fin != nil {
		f := *c.fin
		v.Financials = &f
	}
	marketing := false
	for _, ch := range consentChannels {
		for _, p := range consentPurposes {
			bit := consentBit(ch, p)
			if c.consentSet&bit != 0 {
				granted := c.consent&bit != 0
				v.Consents = append(v.Consents, Consent{Channel: ch, Purpose: p, Granted: granted, Version: c.consentVersion(bit)})
				if p == "marketing" && granted {
					marketing = true
				}
			}
		}
	}
	v.DoNotContact = !marketing
	today := now.UTC().Format(time.DateOnly)
	for _, l := range c.life {
		if l.ExpectedOn == "" || l.ExpectedOn >= today {
			v.LifeEvents = append(v.LifeEvents, l)
		}
	}
	if v.Holdings == nil {
		v.Holdings = []Holding{}
	}
	if v.Pitches == nil {
		v.Pitches = []PitchOutcome{}
	}
	if v.Requests == nil {
		v.Requests = []Request{}
	}
	v.Timeline = entries(c.timeline)
	slices.Reverse(v.Timeline) // newest first
	// The fold keeps its entries in order already; a PostgreSQL row
	// written by a release that kept them in log order is put in order
	// here (it may still hold a different eight until it is rewritten:
	// see docs/api.md).
	if !slices.IsSortedFunc(v.Timeline, newestEntryFirst) {
		slices.SortStableFunc(v.Timeline, newestEntryFirst)
	}
	return v
}

// stale reports whether the customer's personal data was last verified (or,
// never verified, registered) more than two calendar months before now.
func (c *customer) stale(now time.Time) bool {
	return c.staleAt().Before(now)
}

// staleAt is the instant after which the customer's data is stale: two
// calendar months after it was last verified (or, never verified, registered).
func (c *customer) staleAt() time.Time {
	last := max(c.verifiedAt, c.registeredAt)
	return unixTime(last).AddDate(0, staleMonths, 0)
}

// CustomerSummary is one row of the customer list.
type CustomerSummary struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	BranchID  string `json:"branchId"`
	Tier      string `json:"tier,omitempty"`
	AdvisorID string `json:"advisorId,omitempty"`
	Stale     bool   `json:"stale"`
	Version   uint64 `json:"version"`
}

// CustomerFilter selects customers for List.
type CustomerFilter struct {
	Advisor string
	Tier    string
	Stale   *bool
	After   string // cursor: the last id of the previous page
	Limit   int
}

// summary returns c's summary, its staleness at now: what the customer
// lists and the search answer for each customer.
func (c *customer) summary(now time.Time) CustomerSummary {
	return CustomerSummary{ID: c.id, Name: c.name, BranchID: c.branchID, Tier: c.tier,
		AdvisorID: c.advisorID, Stale: c.stale(now), Version: c.version}
}

// List returns up to f.Limit customers matching f in id order, and the
// cursor of the next page ("" at the end).
func (cs *Customers) List(f CustomerFilter, now time.Time) ([]CustomerSummary, string) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	out := []CustomerSummary{}
	match := func(c *customer) bool {
		return c.mergedInto() == "" && (f.Tier == "" || c.tier == f.Tier) && (f.Advisor == "" || c.advisorID == f.Advisor) &&
			(f.Stale == nil || c.stale(now) == *f.Stale)
	}
	add := func(c *customer) bool {
		if match(c) {
			out = append(out, c.summary(now))
		}
		return len(out) <= f.Limit
	}
	if f.Advisor != "" {
		ids := make([]string, 0, len(cs.books[f.Advisor]))
		for id := range cs.books[f.Advisor] {
			if id > f.After {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if !add(cs.byID[id]) {
				break
			}
		}
	} else {
		cs.each(f.After, add)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next
}
