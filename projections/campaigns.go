package projections

import (
	"container/heap"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
)

// Campaigns is the read model of target marketing: every campaign with its
// target list, kept current as events arrive (docs/campaigns.md has the
// rules). It reads the customers' fold state, so a runner applies it after
// Customers. Everything it decides is a function of the log: a criterion
// that depends on time (a life event within N days, no contact for N days,
// the campaign's period) is judged at the recordedAt of the event being
// applied (the log's time), never at a clock's.
//
// A target is a customer who matched while the campaign ran, in the target
// group or the hold-out group (events.InHoldOut). Targets stay on the list
// when they stop matching (they were chosen, and what happens next is the
// campaign's outcome), except: consent for the campaign's channel
// withdrawn, do-not-contact or erasure removes a target at once (Korea's
// Credit Information Act), and an amendment removes targets who no longer
// match and were not contacted yet. A removed target who comes to match
// again (consent granted again) rejoins.
//
// Customers who meet every criterion but one of time wait in a queue per
// campaign (a min-heap by instant); whenever the log's time passes an
// instant, the customers due are judged again, as they stand after the
// event that moved the time. The start of startsOn needs no such judging:
// nothing a customer matches by changes at it, and the list is kept before
// the start as after it (only worklists wait for the start).
//
// A launch or an amendment judges every customer, on up to four
// goroutines; Apply returns once they are done. Queries may run
// concurrently with each other, never with Apply (the Runner's lock).
type Campaigns struct {
	customers *Customers
	byID      map[string]*campaign
	now       int64 // the log's time: the latest recordedAt applied (unix ns)
	onChange  func(campaignID, customerID string)
	changed   []*campaign // the campaigns the current Apply changed
	sortMu    sync.Mutex  // queries sort target ids lazily, concurrently under the runner's read lock
}

// campaign is one campaign's fold state.
type campaign struct {
	Campaign                       // Status unset: it is a function of the query's now
	m        *matcher              // the current criteria and channel
	end      int64                 // ns: the end of endsOn, KST (0: open-ended)
	window   int64                 // attribution window, ns
	targets  map[*customer]*target // by the customer's fold state: hashing a pointer reads no id
	slab     []target              // targets are allocated in blocks: a launch may take a million
	sorted   []string              // target ids in order, as of the last query (sortedIDs)
	fresh    []string              // ids of the targets who joined since
	due      dueHeap
	pending  map[*customer]int64 // the instant each customer queued is due (ns)
	changed  bool                // in Campaigns.changed
	tally    tally               // the report, kept as targets change
}

// target is one customer on a campaign's list; instants are unix ns, 0
// unset. Enum values are enumCode codes: reason of joinReasons, removedReason of
// removeReasons, outcome of events.PitchOutcomes, pitchChannel of
// events.Channels.
type target struct {
	id                   string
	advisor              string                   // the customer's advisor, as the tally counts them
	cr                   *events.CampaignCriteria // the criteria they (last) joined under
	facts                facts                    // what they matched by
	joinedAt, removedAt  int64
	contactedAt          int64
	pitchedAt, lastPitch int64
	acceptedAt, openedAt int64
	holdOut              bool
	reason               uint8
	removedReason        uint8
	outcome              uint8
	pitchChannel         uint8
}

// NewCampaigns returns an empty campaign read model over customers' state.
func NewCampaigns(customers *Customers) *Campaigns {
	return &Campaigns{customers: customers, byID: map[string]*campaign{}}
}

// OnChange sets f to be called during Apply for what the event changed:
// f(campaignID, customerID) once for every target whose entry
// (CampaignTarget: joined, rejoined, removed, progress, or the customer's
// advisor) changed, as it changes, and f(campaignID, "") once at the end of
// the Apply for every campaign whose Campaign (its definition or counts)
// or report changed — which is every campaign named in the first form too.
// A campaign's Status is not a change: it is computed at the query's now
// (Campaign.StatusAt). f runs on the runner's goroutine, inside Apply; it
// must not call back into the Campaigns. Set it before the first Apply;
// nil stops the calls.
func (cm *Campaigns) OnChange(f func(campaignID, customerID string)) { cm.onChange = f }

// Name returns "campaigns".
func (*Campaigns) Name() string { return "campaigns" }

// Apply folds CampaignLaunched, CampaignAmended and CampaignClosed, and the
// customer events that may make a customer join, leave or progress in a
// campaign (after Customers has applied them). First the log's time moves
// to e's recordedAt, and customers whose time criteria came true by then
// are judged again (JoinedTime).
func (cm *Campaigns) Apply(e Event) {
	if t := e.RecordedAt.UnixNano(); t > cm.now {
		cm.now = t
	}
	cm.runDue()
	cat, id := e.StreamID()
	switch cat {
	case "campaign":
		cm.applyCampaign(id, e)
	case "customer":
		if c := cm.customers.folding(id); c != nil {
			cm.applyCustomer(c, e)
		}
	}
	cm.flush()
}

// flush reports the campaigns this Apply changed.
func (cm *Campaigns) flush() {
	for _, k := range cm.changed {
		k.changed = false
		if cm.onChange != nil {
			cm.onChange(k.ID, "")
		}
	}
	clear(cm.changed)
	cm.changed = cm.changed[:0]
}

// touch notes that k changed in this Apply.
func (cm *Campaigns) touch(k *campaign) {
	if !k.changed {
		k.changed = true
		cm.changed = append(cm.changed, k)
	}
}

// change applies f to t, c's entry on k's list, keeping k's tally, and
// notes the change.
func (cm *Campaigns) change(k *campaign, t *target, c *customer, f func()) {
	k.tally.count(t, c, -1)
	f()
	cm.counted(k, t, c)
}

// counted counts t (new, or taken out of the tally) in k's tally under
// c's current advisor, and notes the change.
func (cm *Campaigns) counted(k *campaign, t *target, c *customer) {
	t.advisor = c.advisorID
	k.tally.count(t, c, 1)
	cm.noted(k, t)
}

// noted notes that t, on k's list, changed.
func (cm *Campaigns) noted(k *campaign, t *target) {
	cm.touch(k)
	if cm.onChange != nil {
		cm.onChange(k.ID, t.id)
	}
}

// runDue judges again the customers whose time criteria came true by the
// log's time, in every campaign still taking customers.
func (cm *Campaigns) runDue() {
	for _, k := range cm.byID {
		if len(k.due) == 0 || k.due[0].at > cm.now {
			continue
		}
		if !k.joinable(cm.now) {
			k.dropQueue()
			continue
		}
		for {
			c, ok := k.popDue(cm.now)
			if !ok {
				break
			}
			cm.judge(k, c, JoinedTime, false)
		}
	}
}

// joinable reports whether k takes new targets at t (ns): not closed, not
// past the end of endsOn.
func (k *campaign) joinable(t int64) bool {
	return k.ClosedAt.IsZero() && (k.end == 0 || t < k.end)
}

func (cm *Campaigns) applyCampaign(id string, e Event) {
	switch d := e.Data.(type) {
	case *events.CampaignLaunched:
		if cm.byID[id] != nil {
			return // the API appends a launch with NoStream
		}
		k := newCampaign(d, e)
		cm.byID[k.ID] = k
		cm.touch(k)
		cm.judgeEveryone(k, JoinedAtLaunch)
	case *events.CampaignAmended:
		if k := cm.byID[id]; k != nil {
			cm.amend(k, d, e)
		}
	case *events.CampaignClosed:
		if k := cm.byID[id]; k != nil && k.ClosedAt.IsZero() {
			k.ClosedAt, k.ClosedBy, k.CloseReason = e.RecordedAt, strings.Clone(e.Actor.ID), d.Reason
			k.Version = e.Version
			cm.touch(k)
			k.dropQueue()
		}
	}
}

func newCampaign(d *events.CampaignLaunched, e Event) *campaign {
	cr := d.Criteria
	if cr == nil {
		cr = &events.CampaignCriteria{}
	}
	k := &campaign{Campaign: Campaign{ID: d.CampaignID, Name: d.Name, Product: d.Product, Channel: d.Channel,
		ConsentChannel: events.ConsentChannelFor(d.Channel), Criteria: *cr, StartsOn: d.StartsOn, EndsOn: d.EndsOn,
		HoldOutPercent: d.HoldOutPercent, AttributionDays: int(d.Attribution() / day), Version: e.Version,
		LaunchedAt: e.RecordedAt, LaunchedBy: strings.Clone(e.Actor.ID)},
		m: newMatcher(cr, d.Channel), window: int64(d.Attribution()), targets: map[*customer]*target{},
		pending: map[*customer]int64{}}
	k.setEnd(d.EndsOn)
	return k
}

// setEnd sets the end of endsOn (the start of the next KST day).
func (k *campaign) setEnd(endsOn string) {
	k.EndsOn, k.end = endsOn, 0
	if s, ok := kstDayStart(endsOn); ok {
		k.end = time.Unix(0, s).In(reportZone).AddDate(0, 0, 1).UnixNano()
	}
}

// judgeEveryone judges every customer for k, as at launch or after an
// amendment, and builds its queue anew. A million customers are judged in
// parallel (judging reads the customers only), then the matching ones join
// in one go, into a list sized for them.
func (cm *Campaigns) judgeEveryone(k *campaign, reason string) {
	k.dropQueue()
	if !k.joinable(cm.now) {
		return
	}
	all := cm.customers.all()
	parts := judgeParts(k, all, cm.now)
	hits, due := 0, 0
	for _, p := range parts {
		hits, due = hits+len(p.hits), due+len(p.due)
	}
	rejoins := len(k.targets) > 0 // an amendment: removed targets may rejoin
	if !rejoins {
		k.targets = make(map[*customer]*target, hits)
	}
	k.slab = make([]target, 0, hits)
	k.fresh = slices.Grow(k.fresh, hits)
	k.pending = make(map[*customer]int64, due)
	for _, p := range parts {
		if !rejoins {
			k.tally.add(&p.tally) // the workers counted the new targets
		}
		for _, h := range p.hits {
			c, t := all[h.i], (*target)(nil)
			if rejoins {
				t = k.targets[c]
			}
			cm.join(k, t, c, reason, h.facts, h.holdOut, rejoins)
		}
		for _, d := range p.due {
			k.schedule(d.c, d.at, true)
		}
	}
	heap.Init(&k.due)
}

// judged is what one worker of judgeEveryone found: customers matching
// now and customers due later.
type judged struct {
	hits  []hit
	due   []dueEntry
	tally tally // the hits as new targets, when nobody can rejoin
}

// hit is a customer who matches: their index in judgeEveryone's slice,
// what they match by, and (for a new entry) whether they are held out. It
// holds no pointer, so that growing a worker's slice of a million is a
// plain copy.
type hit struct {
	i       int32
	holdOut bool
	facts   facts
}

// judgeParts judges cs for k at t (ns) in parallel (inParts), skipping
// its active targets.
func judgeParts(k *campaign, cs []*customer, t int64) []judged {
	parts := make([]judged, partsFor(len(cs)))
	inParts(len(cs), len(parts), func(w, lo, hi int) {
		m := *k.m // its own day cache
		p := &parts[w]
		p.hits = make([]hit, 0, (hi-lo)/2) // 32 bytes each, for the launch's duration
		for i := lo; i < hi; i++ {
			c := cs[i]
			t0 := k.targets[c]
			if t0 != nil && t0.removedAt == 0 {
				continue
			}
			if life, ok := m.fits(c, t); ok && m.consent(c) == consentOK {
				var held bool
				if t0 == nil {
					held = events.InHoldOut(k.ID, c.id, k.HoldOutPercent)
				}
				if len(k.targets) == 0 {
					p.tally.count(&target{holdOut: held, advisor: c.advisorID}, c, 1)
				}
				p.hits = append(p.hits, hit{int32(i), held, factsOf(m.cr, c, life)})
			} else if at := m.nextDue(c, t, k.end); at != 0 {
				p.due = append(p.due, dueEntry{at, c})
			}
		}
	})
	return parts
}

// partsFor returns how many goroutines judge n customers: up to four, one
// below 50,000 customers.
func partsFor(n int) int {
	if n < 50_000 {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 4)
}

// inParts calls f(w, lo, hi) for parts consecutive ranges [lo, hi) of
// [0, n), each on its own goroutine, and waits for them.
func inParts(n, parts int, f func(w, lo, hi int)) {
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() { f(w, w*n/parts, (w+1)*n/parts) })
	}
	wg.Wait()
}

// all returns every customer, in the order they came: Customers' own
// list, not to be changed (the fold appends to it under the runner's write
// lock only, so a query under the read lock may walk it).
func (cs *Customers) all() []*customer {
	return cs.order[:len(cs.order):len(cs.order)]
}

// amend replaces k's name, criteria and end; targets not matching any
// more and not contacted leave, customers now matching join.
func (cm *Campaigns) amend(k *campaign, d *events.CampaignAmended, e Event) {
	cr := d.Criteria
	if cr == nil {
		cr = &events.CampaignCriteria{}
	}
	k.Name, k.Criteria, k.m = d.Name, *cr, newMatcher(cr, k.Channel)
	k.setEnd(d.EndsOn)
	k.Amendments++
	k.AmendedAt, k.Version = e.RecordedAt, e.Version
	cm.touch(k)
	for c, t := range k.targets {
		if t.removedAt != 0 || t.contactedAt != 0 || t.pitchedAt != 0 {
			continue
		}
		if _, ok := k.m.fits(c, cm.now); !ok || k.m.consent(c) != consentOK {
			cm.remove(k, t, c, RemovedAmended)
		}
	}
	cm.judgeEveryone(k, JoinedAmended)
}

// judge makes c join k (or rejoin it) for reason if they match at the
// log's time and k takes customers; if they do not match yet but will by
// time alone, it queues them.
func (cm *Campaigns) judge(k *campaign, c *customer, reason string, launching bool) {
	if !k.joinable(cm.now) {
		return
	}
	t := k.targets[c]
	if t != nil && t.removedAt == 0 {
		return
	}
	if life, ok := k.m.fits(c, cm.now); ok && k.m.consent(c) == consentOK {
		delete(k.pending, c)
		cm.join(k, t, c, reason, factsOf(k.m.cr, c, life), t == nil && events.InHoldOut(k.ID, c.id, k.HoldOutPercent), true)
		return
	}
	if at := k.m.nextDue(c, cm.now, k.end); at != 0 {
		k.schedule(c, at, launching)
	}
}

// join puts c on k's list, matching by f (t: their earlier, removed entry,
// or nil; for a new entry, holdOut is whether they are held out), counting
// them in k's tally unless the caller did (count false: a new entry).
func (cm *Campaigns) join(k *campaign, t *target, c *customer, reason string, f facts, holdOut, count bool) {
	if t == nil {
		if len(k.slab) == cap(k.slab) { // judgeEveryone sizes the slab for its joins
			k.slab = make([]target, 0, min(4096, max(64, len(k.targets))))
		}
		k.slab = append(k.slab, target{id: c.id, holdOut: holdOut})
		t = &k.slab[len(k.slab)-1]
		k.targets[c] = t
		k.fresh = append(k.fresh, c.id)
	} else {
		k.tally.count(t, c, -1)
		t.removedAt, t.removedReason = 0, 0
		k.Removed--
	}
	t.reason, t.joinedAt, t.cr, t.facts = enumCode(joinReasons, reason), cm.now, k.m.cr, f
	if t.holdOut {
		k.HoldOut++
	} else {
		k.Targets++
	}
	if !count {
		t.advisor = c.advisorID
		cm.noted(k, t)
		return
	}
	cm.counted(k, t, c)
}

// remove takes t, c's entry, off k's list for reason.
func (cm *Campaigns) remove(k *campaign, t *target, c *customer, reason string) {
	cm.change(k, t, c, func() { t.removedAt, t.removedReason = cm.now, enumCode(removeReasons, reason) })
	if t.holdOut {
		k.HoldOut--
	} else {
		k.Targets--
	}
	k.Removed++
}

// applyCustomer folds a customer event (the customer's state already
// updated by Customers) into every campaign.
func (cm *Campaigns) applyCustomer(c *customer, e Event) {
	reason := ""
	switch d := e.Data.(type) {
	case *events.CustomerRegistered:
		reason = JoinedRegistered
	case *events.LifeEventRecorded:
		reason = JoinedLifeEvent
	case *events.TierAssigned:
		reason = JoinedTier
	case *events.FinancialsReported:
		reason = JoinedFinancials
	case *events.ProductHoldingChanged:
		reason = JoinedHolding
		if d.Change == "opened" {
			cm.opened(c, d.Product, e.RecordedAt.UnixNano())
		}
		cm.heldChanged(c, d.Product)
	case *events.ConsentChanged:
		reason = JoinedConsent
		cm.barred(c)
	case *events.PersonalDataErased, *events.CustomerMergedInto:
		cm.barred(c)
	case *events.ContactLogged:
		cm.contacted(c, d.OccurredAt.UnixNano())
	case *events.ProductPitched:
		cm.pitched(c, d, When(e.Envelope).UnixNano())
	case *events.AdvisorAssigned:
		cm.eachTarget(c, func(k *campaign, t *target) { cm.change(k, t, c, func() {}) })
	}
	if reason == "" {
		return
	}
	for _, k := range cm.byID {
		cm.judge(k, c, reason, false)
	}
}

// eachTarget calls f for c's entry in every campaign they joined.
func (cm *Campaigns) eachTarget(c *customer, f func(*campaign, *target)) {
	for _, k := range cm.byID {
		if t := k.targets[c]; t != nil {
			f(k, t)
		}
	}
}

// barred removes c from every list they may not be on any more: erased, merged,
// do-not-contact, or without consent for the campaign's channel.
func (cm *Campaigns) barred(c *customer) {
	cm.eachTarget(c, func(k *campaign, t *target) {
		if t.removedAt != 0 {
			return
		}
		switch {
		case c.erased:
			cm.remove(k, t, c, RemovedErased)
		case c.mergedInto() != "":
			cm.remove(k, t, c, RemovedMerged)
		case k.m.consent(c) == consentDNC:
			cm.remove(k, t, c, RemovedDNC)
		case k.m.consent(c) == consentMissing:
			cm.remove(k, t, c, RemovedConsent)
		}
	})
}

// contacted notes a contact at (ns) in every campaign c joined before it.
func (cm *Campaigns) contacted(c *customer, at int64) {
	cm.eachTarget(c, func(k *campaign, t *target) {
		if at >= t.joinedAt && (t.contactedAt == 0 || at < t.contactedAt) {
			cm.change(k, t, c, func() { t.contactedAt = at })
		}
	})
}

// pitched notes a pitch made at (ns): progress in the campaign it names,
// and an acceptance in every campaign of its product whose attribution
// window holds it.
func (cm *Campaigns) pitched(c *customer, d *events.ProductPitched, at int64) {
	cm.eachTarget(c, func(k *campaign, t *target) {
		ours := d.CampaignID == k.ID
		accepted := d.Product == k.Product && d.Outcome == "accepted" && k.inWindow(t, at) && (t.acceptedAt == 0 || at < t.acceptedAt)
		if !ours && !accepted {
			return
		}
		cm.change(k, t, c, func() {
			if accepted {
				t.acceptedAt = at
			}
			if !ours {
				return
			}
			if t.pitchedAt == 0 || at < t.pitchedAt {
				t.pitchedAt = at
			}
			if at >= t.lastPitch { // the latest made, not the latest entered
				t.lastPitch, t.outcome, t.pitchChannel = at, enumCode(events.PitchOutcomes, d.Outcome), enumCode(events.Channels, d.Channel)
			}
			if t.contactedAt == 0 || at < t.contactedAt {
				t.contactedAt = at
			}
		})
	})
}

// opened notes an opening of product recorded at (ns) in every campaign
// of the product whose attribution window holds it.
func (cm *Campaigns) opened(c *customer, product string, at int64) {
	cm.eachTarget(c, func(k *campaign, t *target) {
		if product == k.Product && k.inWindow(t, at) && (t.openedAt == 0 || at < t.openedAt) {
			cm.change(k, t, c, func() { t.openedAt = at })
		}
	})
}

// heldChanged notes c's entry in every campaign of product as changed: its
// HoldsProduct (read off the customer) may have.
func (cm *Campaigns) heldChanged(c *customer, product string) {
	cm.eachTarget(c, func(k *campaign, t *target) {
		if product == k.Product {
			cm.noted(k, t)
		}
	})
}

// inWindow reports whether at (ns) is in t's attribution window, both ends
// included.
func (k *campaign) inWindow(t *target, at int64) bool {
	return at >= t.joinedAt && at <= t.joinedAt+k.window
}

// Campaign statuses at a time (Campaign.Status).
const (
	CampaignScheduled = "scheduled" // launched, before the start of startsOn (KST)
	CampaignRunning   = "running"
	CampaignEnded     = "ended"  // past the end of endsOn (KST)
	CampaignIsClosed  = "closed" // CampaignClosed
)

// Target groups (CampaignTarget.Group).
const (
	GroupTarget  = "target"
	GroupHoldOut = "holdout"
)

// Why a customer joined a campaign (CampaignTarget.Reason): matched at
// launch, after an amendment, or when an event of theirs made them match.
const (
	JoinedAtLaunch   = "launch"
	JoinedAmended    = "amended"
	JoinedRegistered = "registered" // a new customer
	JoinedLifeEvent  = "life_event" // LifeEventRecorded
	JoinedTier       = "tier"       // TierAssigned
	JoinedFinancials = "financials" // FinancialsReported (minBalance)
	JoinedHolding    = "holding"    // ProductHoldingChanged (notHolding)
	JoinedConsent    = "consent"    // ConsentChanged granted
	JoinedTime       = "time"       // a time criterion came true (life event window, no contact for N days)
)

// Why a target left (CampaignTarget.RemovedReason).
const (
	RemovedConsent = "consent_withdrawn" // marketing consent for the campaign's channel withdrawn
	RemovedDNC     = "do_not_contact"    // marketing withdrawn on every channel
	RemovedErased  = "erased"            // PersonalDataErased
	RemovedMerged  = "merged"            // CustomerMergedInto (docs/merge.md)
	RemovedAmended = "criteria_amended"  // no longer matches after an amendment, not yet contacted
)

// Campaign is one campaign as it stands, its status at the query's now.
type Campaign struct {
	ID              string                  `json:"id"`
	Name            string                  `json:"name"`
	Product         string                  `json:"product"`
	Channel         string                  `json:"channel"`
	ConsentChannel  string                  `json:"consentChannel"` // events.ConsentChannelFor(Channel); "": marketing consent on some channel
	Criteria        events.CampaignCriteria `json:"criteria"`
	StartsOn        string                  `json:"startsOn"`
	EndsOn          string                  `json:"endsOn,omitempty"`
	HoldOutPercent  int                     `json:"holdOutPercent"`
	AttributionDays int                     `json:"attributionDays"` // the default filled in
	Status          string                  `json:"status"`
	Version         uint64                  `json:"version"` // stream version of its latest event (If-Match)
	LaunchedAt      time.Time               `json:"launchedAt"`
	LaunchedBy      string                  `json:"launchedBy"`
	Amendments      int                     `json:"amendments"`
	AmendedAt       time.Time               `json:"amendedAt,omitzero"`
	ClosedAt        time.Time               `json:"closedAt,omitzero"`
	ClosedBy        string                  `json:"closedBy,omitempty"`
	CloseReason     string                  `json:"closeReason,omitempty"`
	Targets         int                     `json:"targets"` // on the list now: target group, not removed
	HoldOut         int                     `json:"holdOut"` // hold-out group, not removed
	Removed         int                     `json:"removed"` // removed, either group
}

// CampaignTarget is one customer on a campaign's list.
type CampaignTarget struct {
	CampaignID string `json:"campaignId"`
	CustomerID string `json:"customerId"`
	AdvisorID  string `json:"advisorId,omitempty"` // the customer's current advisor
	BranchID   string `json:"branchId"`
	Group      string `json:"group"`  // GroupTarget or GroupHoldOut
	Reason     string `json:"reason"` // Joined*
	// Matched lists what the customer matched when they (last) joined,
	// one entry per set criterion, as "kind:value": "tier:potential_vip",
	// "lifeEvent:child_wedding:2027-03-01", "notHolding:LOAN-WED",
	// "branch:B01", "balance:52000000", "noContactSince:2026-07-01" (or
	// "noContactSince:never").
	Matched       []string  `json:"matched"`
	JoinedAt      time.Time `json:"joinedAt"`
	RemovedAt     time.Time `json:"removedAt,omitzero"`
	RemovedReason string    `json:"removedReason,omitempty"`
	// ContactedAt: the first ContactLogged (when it occurred) or campaign
	// pitch at or after joining.
	ContactedAt time.Time `json:"contactedAt,omitzero"`
	// PitchedAt: the first ProductPitched for this campaign; Outcome and
	// PitchChannel are the latest one's.
	PitchedAt    time.Time `json:"pitchedAt,omitzero"`
	Outcome      string    `json:"outcome,omitempty"`
	PitchChannel string    `json:"pitchChannel,omitempty"`
	// AcceptedAt: the first pitch of the campaign's product accepted
	// within the attribution window after joining, whatever campaign (or
	// none) it named: what lift compares between the groups.
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
	// OpenedAt: the first ProductHoldingChanged opening the campaign's
	// product within the attribution window after joining.
	OpenedAt time.Time `json:"openedAt,omitzero"`
	// HoldsProduct: the customer holds the campaign's product now (opened
	// inside the window or not): no worklist calls them to sell it.
	HoldsProduct bool `json:"holdsProduct,omitempty"`
}

// TargetFilter selects a campaign's targets: every set field must match.
type TargetFilter struct {
	Group   string // GroupTarget, GroupHoldOut
	Status  string // "active" (not removed), "removed"
	Advisor string
	After   string // customer id cursor
	Limit   int    // 100 when not positive, at most 1000
}

// CampaignFilter selects campaigns.
type CampaignFilter struct {
	Status string // a campaign status at now
}

// CampaignPreview is what a campaign's criteria would select now: the
// builder's live count.
type CampaignPreview struct {
	Matching     int            `json:"matching"`     // match the criteria, consent aside (erased customers never match)
	DoNotContact int            `json:"doNotContact"` // of those, do-not-contact
	NoConsent    int            `json:"noConsent"`    // of the rest, no marketing consent for the channel
	Targets      int            `json:"targets"`      // would join the target group
	HoldOut      int            `json:"holdOut"`      // would be held out
	ByTier       map[string]int `json:"byTier"`       // targets and hold-out by tier ("" untiered)
}

// CampaignFunnel counts one group of a campaign's targets. Every count is
// of customers: Contacted ≤ Targets, Pitched ≤ Contacted, and Accepted +
// Declined + Considering + Unreachable = Pitched (by the latest campaign
// pitch's outcome). Opened counts product openings in the attribution
// window whether pitched or not.
type CampaignFunnel struct {
	Targets     int `json:"targets"` // joined, removed ones included
	Removed     int `json:"removed"`
	Contacted   int `json:"contacted"`
	Pitched     int `json:"pitched"`
	Accepted    int `json:"accepted"`
	Declined    int `json:"declined"`
	Considering int `json:"considering"`
	Unreachable int `json:"unreachable"`
	Opened      int `json:"opened"`
}

// FunnelRow is the funnel of the targets sharing one key: an advisor, a
// branch, or the channel of the latest campaign pitch ("" not pitched).
type FunnelRow struct {
	Key string `json:"key"`
	CampaignFunnel
}

// CampaignLift compares the target group with the hold-out group: the
// share of each that accepted a pitch of the product, and that opened it,
// within the attribution window; lifts are target rate − hold-out rate.
type CampaignLift struct {
	Targets           int     `json:"targets"`
	HoldOut           int     `json:"holdOut"`
	TargetAccepted    int     `json:"targetAccepted"`
	HoldOutAccepted   int     `json:"holdOutAccepted"`
	TargetOpened      int     `json:"targetOpened"`
	HoldOutOpened     int     `json:"holdOutOpened"`
	TargetAcceptRate  float64 `json:"targetAcceptRate"`
	HoldOutAcceptRate float64 `json:"holdOutAcceptRate"`
	AcceptLift        float64 `json:"acceptLift"`
	TargetOpenRate    float64 `json:"targetOpenRate"`
	HoldOutOpenRate   float64 `json:"holdOutOpenRate"`
	OpenLift          float64 `json:"openLift"`
}

// CampaignReport is a campaign's outcome: the target group's funnel, per
// advisor, branch and pitch channel (by key), and the lift over the
// hold-out group (nil without one).
type CampaignReport struct {
	Campaign  Campaign       `json:"campaign"`
	Funnel    CampaignFunnel `json:"funnel"`
	HoldOut   CampaignFunnel `json:"holdOutFunnel"`
	ByAdvisor []FunnelRow    `json:"byAdvisor"`
	ByBranch  []FunnelRow    `json:"byBranch"`
	ByChannel []FunnelRow    `json:"byChannel"`
	Lift      *CampaignLift  `json:"lift,omitempty"`
}
