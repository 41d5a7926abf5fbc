package projections

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// This file lets read stores that persist the folds' state (PostgreSQL)
// save it entity by entity and load it back into the same read-model types,
// so that their queries run the very code Memory's do. The folds stay the
// single source of truth: a persisted record is the fold's state, never
// something recomputed from it in another language.

// CustomerRecord is one customer's fold state, as a value a read store can
// encode (JSON), index and load back into a Customers read model.
type CustomerRecord struct{ c *customer }

// Record returns customer id's current fold state, or false if there is no
// such customer. The record shares nothing mutable with the read model once
// encoded; encode it before the next Apply.
func (cs *Customers) Record(id string) (CustomerRecord, bool) {
	c := cs.byID[id]
	return CustomerRecord{c: c}, c != nil
}

// ID returns the customer id.
func (r CustomerRecord) ID() string { return r.c.id }

// AdvisorID returns the current advisor's id ("" if none).
func (r CustomerRecord) AdvisorID() string { return r.c.advisorID }

// Tier returns the current tier ("" if none was assigned); MergedTier for
// a merged customer, whom no tier filter or count includes.
func (r CustomerRecord) Tier() string {
	if r.c.mergedInto() != "" {
		return MergedTier
	}
	return r.c.tier
}

// Profit returns the latest reported profit contribution, and false if no
// financials were reported.
func (r CustomerRecord) Profit() (int64, bool) {
	if r.c.fin == nil {
		return 0, false
	}
	return r.c.fin.ProfitContribution, true
}

// StaleAt returns the instant after which the customer's data is stale: the
// customer is stale at now exactly when StaleAt().Before(now).
func (r CustomerRecord) StaleAt() time.Time { return r.c.staleAt() }

// customerState is the JSON form of a customer's fold state.
type customerState struct {
	ID           string          `json:"id"`
	BranchID     string          `json:"branchId"`
	Name         string          `json:"name,omitempty"`
	BirthDate    string          `json:"birthDate,omitempty"`
	Phone        string          `json:"phone,omitempty"`
	Email        string          `json:"email,omitempty"`
	Addr         string          `json:"address,omitempty"`
	Tier         string          `json:"tier,omitempty"`
	TierRule     string          `json:"tierRule,omitempty"`
	TierDeposit  int64           `json:"tierDeposit,omitempty"`
	TierProfit   int64           `json:"tierProfit,omitempty"`
	AdvisorID    string          `json:"advisorId,omitempty"`
	AdvisorKind  string          `json:"advisorKind,omitempty"`
	Consent      uint16          `json:"consent,omitempty"`
	ConsentSet   uint16          `json:"consentSet,omitempty"`
	ConsentVer   []uint64        `json:"consentVersions,omitempty"`
	Holdings     []Holding       `json:"holdings,omitempty"`
	Fin          *Financials     `json:"financials,omitempty"`
	Balances     []balanceJSON   `json:"balances,omitempty"` // the reports VIP at risk compares
	Life         []LifeEvent     `json:"life,omitempty"`
	RegisteredAt int64           `json:"registeredAt"`
	VerifiedAt   int64           `json:"verifiedAt,omitempty"`
	ContactAt    int64           `json:"contactAt,omitempty"`
	Timeline     []TimelineEntry `json:"timeline,omitempty"`
	Pitches      []PitchOutcome  `json:"pitches,omitempty"`
	Requests     []Request       `json:"requests,omitempty"`
	Erased       bool            `json:"erased,omitempty"`
	Merge        *mergeLink      `json:"merge,omitempty"`
	Version      uint64          `json:"version"`

	// RegSystem and Provenance: the profile's claims (provenance.go).
	RegSystem     string                `json:"regSystem,omitempty"`
	RegObservedAt int64                 `json:"regObservedAt,omitempty"`
	Provenance    map[string]fieldState `json:"provenance,omitempty"`
}

// MarshalJSON encodes the fold state.
func (r CustomerRecord) MarshalJSON() ([]byte, error) {
	if r.c == nil {
		return []byte("null"), nil
	}
	c := r.c
	return json.Marshal(customerState{ID: c.id, BranchID: c.branchID, Name: c.name, BirthDate: c.birthDate, Phone: c.phone,
		Email: c.email, Addr: c.addr, Tier: c.tier, TierRule: c.tierRule, TierDeposit: c.tierDeposit, TierProfit: c.tierProfit,
		AdvisorID: c.advisorID, AdvisorKind: c.advisorKind, Consent: c.consent, ConsentSet: c.consentSet, ConsentVer: c.consentVer,
		Holdings: c.holdings, Fin: c.fin, Balances: c.balancesJSON(), Life: c.life, RegisteredAt: c.registeredAt, VerifiedAt: c.verifiedAt,
		ContactAt: c.contactAt, Timeline: entries(c.timeline), Pitches: c.pitches, Requests: c.requests, Erased: c.erased,
		RegSystem: c.regSystem, RegObservedAt: c.regObserved(), Provenance: c.prov.state(),
		Merge: c.merge, Version: c.version})
}

// UnmarshalJSON decodes what MarshalJSON encoded.
func (r *CustomerRecord) UnmarshalJSON(b []byte) error {
	var s customerState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("customer state: %w", err)
	}
	r.c = &customer{id: s.ID, branchID: s.BranchID, name: s.Name, birthDate: s.BirthDate, phone: s.Phone, email: s.Email,
		addr: s.Addr, tier: s.Tier, tierRule: s.TierRule, tierDeposit: s.TierDeposit, tierProfit: s.TierProfit,
		advisorID: s.AdvisorID, advisorKind: s.AdvisorKind, consent: s.Consent, consentSet: s.ConsentSet, consentVer: s.ConsentVer,
		holdings: s.Holdings, fin: s.Fin, life: s.Life, registeredAt: s.RegisteredAt, verifiedAt: s.VerifiedAt,
		contactAt: s.ContactAt, timeline: recs(s.Timeline), pitches: s.Pitches, requests: s.Requests, erased: s.Erased,
		merge: s.Merge, version: s.Version}
	r.c.setBalancesJSON(s.Balances)
	r.c.regSystem, r.c.prov = intern(s.RegSystem), provenanceFromState(s.Provenance)
	r.c.setRegObserved(s.RegObservedAt)
	return nil
}

// RestoreCustomers returns a Customers read model holding exactly recs (with
// the advisors' books they imply), for running its queries over records a
// read store loaded. It takes ownership of recs.
func RestoreCustomers(recs []CustomerRecord) *Customers {
	cs := NewCustomers()
	for _, r := range recs {
		c := r.c
		cs.byID[c.id] = c
		cs.order = append(cs.order, c)
		if c.advisorID != "" {
			book := cs.books[c.advisorID]
			if book == nil {
				book = map[string]struct{}{}
				cs.books[c.advisorID] = book
			}
			book[c.id] = struct{}{}
		}
	}
	cs.dirty = true
	cs.recountTiers()
	cs.recountFresh()
	return cs
}

// HasBook reports whether advisor was ever assigned a customer: such an
// advisor appears in the freshness report even once the book is empty.
func (cs *Customers) HasBook(advisor string) bool { _, ok := cs.books[advisor]; return ok }

// LargestBook returns the advisor with the most customers and how many
// (the smallest id among equals), or "" and 0 when no customer has an
// advisor: what a benchmark of the worklist times.
func (cs *Customers) LargestBook() (advisor string, size int) {
	for id, book := range cs.books {
		if len(book) > size || (len(book) == size && size > 0 && id < advisor) {
			advisor, size = id, len(book)
		}
	}
	return advisor, size
}

// CallRecord returns call id's fold state and whether it is in the QA queue,
// or false if there is no such call.
func (cs *Calls) CallRecord(id string) (v CallView, queued, ok bool) {
	c := cs.byID[id]
	if c == nil {
		return CallView{}, false, false
	}
	_, queued = cs.queue[id]
	return *c, queued, true
}

// PointRecord returns coaching point id's fold state (no overdue flag: that
// is computed at query time), or false.
func (cs *Calls) PointRecord(id string) (CoachingPoint, bool) {
	p := cs.points[id]
	if p == nil {
		return CoachingPoint{}, false
	}
	q := *p
	q.History = slices.Clone(p.History)
	return q, true
}

// Reviews returns every review score in log order. The slice only grows:
// a read store persists the entries past those it already holds. It must
// not be modified, and is valid until the next Apply.
func (cs *Calls) Reviews() []ReviewScore { return cs.reviews }

// FollowUps returns every coaching follow-up check in log order; like
// Reviews, it only grows and must not be modified.
func (cs *Calls) FollowUps() []FollowUpResult { return cs.followUp }

// RestoreCalls returns a Calls read model holding the given state, for
// running its queries over records a read store loaded: calls (those whose
// id is in queued are in the QA queue), coaching points, review scores and
// follow-up checks in log order. It takes ownership of its arguments.
func RestoreCalls(calls []CallView, queued []string, points []CoachingPoint, reviews []ReviewScore, followUps []FollowUpResult) *Calls {
	cs := NewCalls()
	for _, v := range calls {
		cs.byID[v.ID] = &v
		for _, d := range v.Disputes {
			cs.disputes[d.ID] = v.ID
		}
	}
	for _, id := range queued {
		if cs.byID[id] != nil {
			cs.queue[id] = struct{}{}
		}
	}
	for i := range points {
		cs.points[points[i].ID] = &points[i]
	}
	cs.reviews, cs.followUp = reviews, followUps
	return cs
}

// countersState is the JSON form of the counters' fold state.
type countersState struct {
	Pitches  []Conversion  `json:"pitches"`
	Requests []RequestWeek `json:"requests"`
}

// MarshalJSON encodes the counters' fold state.
func (c *Counters) MarshalJSON() ([]byte, error) {
	s := countersState{Pitches: make([]Conversion, 0, len(c.pitches)), Requests: make([]RequestWeek, 0, len(c.requests))}
	for _, v := range c.pitches {
		s.Pitches = append(s.Pitches, *v)
	}
	for k, n := range c.requests {
		s.Requests = append(s.Requests, RequestWeek{Week: k.week, Category: k.category, Count: n})
	}
	// A stable order makes equal states encode to equal bytes.
	slices.SortFunc(s.Pitches, func(a, b Conversion) int {
		if a.Dimension != b.Dimension {
			return cmpString(a.Dimension, b.Dimension)
		}
		return cmpString(a.Value, b.Value)
	})
	slices.SortFunc(s.Requests, func(a, b RequestWeek) int {
		if a.Week != b.Week {
			return cmpString(a.Week, b.Week)
		}
		return cmpString(a.Category, b.Category)
	})
	return json.Marshal(s)
}

// UnmarshalJSON replaces the counters with what MarshalJSON encoded.
func (c *Counters) UnmarshalJSON(b []byte) error {
	var s countersState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("counters state: %w", err)
	}
	*c = *NewCounters()
	for i := range s.Pitches {
		v := s.Pitches[i]
		c.pitches[pitchKey{v.Dimension, v.Value}] = &v
	}
	for _, r := range s.Requests {
		c.requests[requestKey{r.Week, r.Category}] = r.Count
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
