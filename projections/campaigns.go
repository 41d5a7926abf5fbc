package projections

import (
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
type Campaigns struct {
	customers *Customers
	// TODO(fold): campaigns by id, their targets, the time-driven
	// re-evaluation queue, the log's time.
}

// NewCampaigns returns an empty campaign read model over customers' state.
func NewCampaigns(customers *Customers) *Campaigns { return &Campaigns{customers: customers} }

// Name returns "campaigns".
func (*Campaigns) Name() string { return "campaigns" }

// Apply folds CampaignLaunched, CampaignAmended and CampaignClosed, and the
// customer events that may make a customer join, leave or progress in a
// campaign (after Customers has applied them).
func (cm *Campaigns) Apply(e Event) {
	// TODO(fold)
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

// Campaign returns campaign id with its status at now, or false.
func (cm *Campaigns) Campaign(id string, now time.Time) (Campaign, bool) {
	return Campaign{}, false // TODO(fold)
}

// List returns the campaigns matching f at now, newest launched first
// (then by id).
func (cm *Campaigns) List(f CampaignFilter, now time.Time) []Campaign {
	return []Campaign{} // TODO(fold)
}

// Targets returns campaign id's targets matching f by customer id, and the
// cursor of the next page ("" at the end); false if no such campaign.
func (cm *Campaigns) Targets(id string, f TargetFilter) ([]CampaignTarget, string, bool) {
	return []CampaignTarget{}, "", false // TODO(fold)
}

// Target returns customer's entry on campaign id's list (removed ones
// included), or false if they never joined it.
func (cm *Campaigns) Target(id, customer string) (CampaignTarget, bool) {
	return CampaignTarget{}, false // TODO(fold)
}

// CustomerTargets returns the active targets (not removed) of the given
// customers in every campaign, by campaign id then customer id: what the
// worklist's campaign reason is decided by.
func (cm *Campaigns) CustomerTargets(customerIDs []string) []CampaignTarget {
	return []CampaignTarget{} // TODO(fold)
}

// Preview returns what d's criteria, channel and hold-out would select
// among the customers as they stand, judged at now.
func (cm *Campaigns) Preview(d *events.CampaignLaunched, now time.Time) CampaignPreview {
	return CampaignPreview{ByTier: map[string]int{}} // TODO(fold)
}

// Report returns campaign id's outcome at now, or false.
func (cm *Campaigns) Report(id string, now time.Time) (CampaignReport, bool) {
	return CampaignReport{}, false // TODO(fold)
}

// ReasonCampaign is the worklist reason of a campaign's target; its detail
// is "campaign: <name>".
const ReasonCampaign = "campaign"

// AddCampaignReasons adds ReasonCampaign (with the detail "campaign:
// <name>") to the items of customers who are active targets in the target
// group of a campaign running at now and not done with it (no campaign
// pitch accepted or declined, the product not opened); campaigns maps the
// targets' campaign ids to the campaigns. Memory's and PostgreSQL's
// worklists both call it, so they answer alike. It then sorts items again
// as Worklist does (more reasons first, then by customer id).
func AddCampaignReasons(items []WorkItem, targets []CampaignTarget, campaigns map[string]Campaign, now time.Time) {
	// TODO(fold)
}
