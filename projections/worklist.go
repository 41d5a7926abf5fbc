package projections

import (
	"slices"
	"time"
)

// WorklistOptions tune the reasons to call now.
type WorklistOptions struct {
	LifeEventWithinDays int // a life event expected within this many days (default 60)
	NoContactDays       int // no contact for this many days (default 90)
	// VIPRiskPercent: a VIP whose private banker this is and whose deposit
	// balance fell by more than this percentage over three months (the
	// latest FinancialsReported against the latest one at least three
	// calendar months older) is at risk (default 20).
	VIPRiskPercent int
}

func (o *WorklistOptions) defaults() {
	if o.LifeEventWithinDays <= 0 {
		o.LifeEventWithinDays = 60
	}
	if o.NoContactDays <= 0 {
		o.NoContactDays = 90
	}
	if o.VIPRiskPercent <= 0 {
		o.VIPRiskPercent = 20
	}
}

// Reasons a customer is on the worklist now.
const (
	ReasonStale         = "stale_data"
	ReasonLifeEvent     = "life_event_soon"
	ReasonPitchFollowUp = "pitch_follow_up_due"
	ReasonNoContact     = "no_recent_contact"
	ReasonVIPAtRisk     = "vip_at_risk" // detail "balance -25% since 2026-08-31"; see WorklistOptions.VIPRiskPercent
	// ReasonDataConflict: systems disagree on a profile field
	// (provenance.go); a detail per field names it and the systems, never
	// the values: "phone: card, core".
	ReasonDataConflict = "data_conflict"
)

// WorkItem is one customer in an advisor's book with the reasons to call.
type WorkItem struct {
	CustomerID   string    `json:"customerId"`
	Name         string    `json:"name"`
	Tier         string    `json:"tier,omitempty"`
	BranchID     string    `json:"branchId"`
	Reasons      []string  `json:"reasons"`
	LastContact  time.Time `json:"lastContactAt,omitzero"`
	DoNotContact bool      `json:"doNotContact"`
	Details      []string  `json:"details,omitempty"` // e.g. "child_wedding on 2027-03-01", "loan follow-up on 2026-12-01"
}

// Worklist returns the advisor's book with the reasons to call each customer
// at now: customers with at least one reason first (most reasons first), then
// the rest, each group by customer id.
func (cs *Customers) Worklist(advisorID string, now time.Time, opt WorklistOptions) []WorkItem {
	opt.defaults()
	book := cs.books[advisorID]
	items := make([]WorkItem, 0, len(book))
	today := now.UTC().Format(time.DateOnly)
	horizon := now.UTC().AddDate(0, 0, opt.LifeEventWithinDays).Format(time.DateOnly)
	noContactBefore := now.Add(-time.Duration(opt.NoContactDays) * 24 * time.Hour).Unix()
	for id := range book {
		c := cs.byID[id]
		it := WorkItem{CustomerID: id, Name: c.name, Tier: c.tier, BranchID: c.branchID, LastContact: unixTime(c.contactAt),
			Reasons: []string{}}
		if c.stale(now) {
			it.Reasons = append(it.Reasons, ReasonStale)
		}
		for _, l := range c.life {
			if l.ExpectedOn != "" && l.ExpectedOn >= today && l.ExpectedOn <= horizon {
				it.Reasons = appendOnce(it.Reasons, ReasonLifeEvent)
				it.Details = append(it.Details, l.Kind+" on "+l.ExpectedOn)
			}
		}
		for _, p := range c.pitches {
			if p.FollowUpOn != "" && p.FollowUpOn <= today && (p.Outcome == "considering" || p.Outcome == "unreachable") {
				it.Reasons = appendOnce(it.Reasons, ReasonPitchFollowUp)
				it.Details = append(it.Details, p.Product+" follow-up on "+p.FollowUpOn)
			}
		}
		if c.contactAt < noContactBefore {
			it.Reasons = append(it.Reasons, ReasonNoContact)
		}
		if detail, ok := c.vipAtRisk(opt.VIPRiskPercent); ok {
			it.Reasons = append(it.Reasons, ReasonVIPAtRisk)
			it.Details = append(it.Details, detail)
		}
		if details := c.dataConflicts(); details != nil {
			it.Reasons = append(it.Reasons, ReasonDataConflict)
			it.Details = append(it.Details, details...)
		}
		it.DoNotContact = c.view0DoNotContact()
		items = append(items, it)
	}
	sortWorkItems(items)
	return items
}

// sortWorkItems puts items in the worklist's order: more reasons first,
// then by customer id. AddCampaignReasons sorts again with it.
func sortWorkItems(items []WorkItem) {
	slices.SortFunc(items, func(a, b WorkItem) int {
		if len(a.Reasons) != len(b.Reasons) {
			return len(b.Reasons) - len(a.Reasons)
		}
		return cmpString(a.CustomerID, b.CustomerID)
	})
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// view0DoNotContact is "marketing not granted on any channel".
func (c *customer) view0DoNotContact() bool {
	for ci := range consentChannels {
		if c.consent&(1<<(ci*len(consentPurposes))) != 0 { // marketing is purpose 0
			return false
		}
	}
	return true
}
