package events

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Event types of the campaign-<campaignId> stream. docs/campaigns.md has
// the rules a campaign's target list is kept by.

func init() {
	Register(func() Data { return new(CampaignLaunched) })
	Register(func() Data { return new(CampaignAmended) })
	Register(func() Data { return new(CampaignClosed) })
}

// Limits of a campaign's numbers.
const (
	MaxCampaignDays    = 366 // lifeEventWithinDays, noContactDays
	MaxHoldOutPercent  = 50
	MaxAttributionDays = 365
	// DefaultAttributionDays is the attribution window of a campaign that
	// names none: a product opened within it after a customer joined
	// counts as the campaign's.
	DefaultAttributionDays = 30
)

// CampaignCriteria select the customers a campaign targets: every set
// criterion must match, an unset one does not restrict (an empty object
// targets everyone who may be contacted).
//   - tiers: the customer's current tier is one of them;
//   - lifeEvents: the customer has a recorded life event of one of these
//     kinds; with lifeEventWithinDays N, expected within N days of the day
//     the match is judged (KST days; today counts);
//   - notHolding: the customer holds none of these products;
//   - branchIds: the customer's branch is one of them;
//   - minBalance: the latest reported deposit balance is at least this
//     (a customer without financials does not match);
//   - noContactDays N: no contact logged in the N days before the match
//     is judged (or none ever).
//
// Entries of a list are distinct.
type CampaignCriteria struct {
	Tiers               []string `json:"tiers,omitempty"`               // Tiers
	LifeEvents          []string `json:"lifeEvents,omitempty"`          // LifeEventKinds
	LifeEventWithinDays int      `json:"lifeEventWithinDays,omitempty"` // 1..MaxCampaignDays, only with lifeEvents
	NotHolding          []string `json:"notHolding,omitempty"`          // product codes, at most 50
	BranchIDs           []string `json:"branchIds,omitempty"`           // at most 200
	MinBalance          *int64   `json:"minBalance,omitempty"`          // smallest unit of currency, ≥ 0
	NoContactDays       int      `json:"noContactDays,omitempty"`       // 1..MaxCampaignDays
}

func (c *check) criteria(at string, cr *CampaignCriteria) {
	c.present(at, cr != nil)
	if cr == nil {
		return
	}
	c.enums(at+".tiers", cr.Tiers, Tiers)
	c.enums(at+".lifeEvents", cr.LifeEvents, LifeEventKinds)
	c.rangeInt(at+".lifeEventWithinDays", int64(cr.LifeEventWithinDays), 0, MaxCampaignDays)
	if c.err == nil && cr.LifeEventWithinDays > 0 && len(cr.LifeEvents) == 0 {
		c.fail(at+".lifeEventWithinDays", "needs lifeEvents")
	}
	c.ids(at+".notHolding", cr.NotHolding, 50)
	c.ids(at+".branchIds", cr.BranchIDs, 200)
	if cr.MinBalance != nil {
		c.money(at+".minBalance", cr.MinBalance, 0)
	}
	c.rangeInt(at+".noContactDays", int64(cr.NoContactDays), 0, MaxCampaignDays)
}

// CampaignLaunched starts a campaign: the target list is computed from the
// customers as they stand at this event, and customers who come to match
// while the campaign runs join it (docs/campaigns.md). Criteria is
// required (a pointer, so that a missing object is told from an empty
// one). Channel is the contact channel the campaign reaches customers by;
// a customer is a target only with marketing consent for it
// (ConsentChannelFor). StartsOn and EndsOn are KST days; the campaign runs
// from the start of startsOn to the end of endsOn (open-ended without it).
// HoldOutPercent of the matching customers, chosen by InHoldOut, are held
// out (never put on a worklist) to measure lift; product openings within
// AttributionDays (0: DefaultAttributionDays) of joining are attributed.
type CampaignLaunched struct {
	CampaignID      string            `json:"campaignId"`
	Name            string            `json:"name"`
	Product         string            `json:"product"` // product code, id syntax
	Criteria        *CampaignCriteria `json:"criteria"`
	Channel         string            `json:"channel"`
	StartsOn        string            `json:"startsOn"`         // YYYY-MM-DD
	EndsOn          string            `json:"endsOn,omitempty"` // YYYY-MM-DD, not before startsOn
	HoldOutPercent  int               `json:"holdOutPercent,omitempty"`
	AttributionDays int               `json:"attributionDays,omitempty"`
}

// EventType returns "CampaignLaunched".
func (*CampaignLaunched) EventType() string { return "CampaignLaunched" }

// Validate checks the catalog rules; errors are Invalid naming the field
// ("criteria.tiers[1]").
func (d *CampaignLaunched) Validate() error {
	c := check{}
	c.id("campaignId", &d.CampaignID, true)
	c.line("name", &d.Name, maxName, true)
	c.id("product", &d.Product, true)
	c.criteria("criteria", d.Criteria)
	c.enum("channel", &d.Channel, Channels...)
	c.day("startsOn", &d.StartsOn, true)
	c.day("endsOn", &d.EndsOn, false)
	if c.err == nil && d.EndsOn != "" && d.EndsOn < d.StartsOn { // YYYY-MM-DD sorts as it reads
		c.fail("endsOn", "must not be before startsOn")
	}
	c.rangeInt("holdOutPercent", int64(d.HoldOutPercent), 0, MaxHoldOutPercent)
	c.rangeInt("attributionDays", int64(d.AttributionDays), 0, MaxAttributionDays)
	return c.errOrNil()
}

// Attribution returns the campaign's attribution window.
func (d *CampaignLaunched) Attribution() time.Duration {
	days := d.AttributionDays
	if days == 0 {
		days = DefaultAttributionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// CampaignAmended replaces what may change of a running campaign: its
// name, criteria and end. Product, channel, start, hold-out and attribution
// are fixed at launch (a different one is a new campaign). Targets who no
// longer match and were not yet contacted leave the list; customers who
// now match join it (docs/campaigns.md).
type CampaignAmended struct {
	Name     string            `json:"name"`
	Criteria *CampaignCriteria `json:"criteria"`
	EndsOn   string            `json:"endsOn,omitempty"` // YYYY-MM-DD; the API checks it is not before startsOn
	Reason   string            `json:"reason,omitempty"`
}

// EventType returns "CampaignAmended".
func (*CampaignAmended) EventType() string { return "CampaignAmended" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CampaignAmended) Validate() error {
	c := check{}
	c.line("name", &d.Name, maxName, true)
	c.criteria("criteria", d.Criteria)
	c.day("endsOn", &d.EndsOn, false)
	c.line("reason", &d.Reason, maxReason, false)
	return c.errOrNil()
}

// CampaignClosed ends a campaign; the reason is optional.
type CampaignClosed struct {
	Reason string `json:"reason,omitempty"`
}

// EventType returns "CampaignClosed".
func (*CampaignClosed) EventType() string { return "CampaignClosed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CampaignClosed) Validate() error {
	c := check{}
	c.line("reason", &d.Reason, maxReason, false)
	return c.errOrNil()
}

// ConsentChannelFor returns the consent channel (ConsentChannels) that
// marketing over contact channel ch needs: phone for phone_inbound and
// phone_outbound, sms for sms, email for email. The other contact channels
// (branch, internet, mobile, atm) have no consent channel of their own:
// marketing over them needs marketing consent on at least one channel,
// that is, a customer who is not do-not-contact; ConsentChannelFor returns
// "" for them.
func ConsentChannelFor(ch string) string {
	switch ch {
	case "phone_inbound", "phone_outbound":
		return "phone"
	case "sms":
		return "sms"
	case "email":
		return "email"
	}
	return ""
}

// InHoldOut reports whether customer is in the hold-out group of a
// campaign holding out percent of its matching customers: the first eight
// bytes of SHA-256(campaignId, 0x00, customerId), big-endian, modulo
// 10,000, below 100 × percent. It depends on the two ids alone, so every
// replay, store and server chooses the same group.
func InHoldOut(campaignID, customerID string, percent int) bool {
	if percent <= 0 {
		return false
	}
	var b [160]byte // ids are at most 128 bytes (ValidID): no allocation for a million judged at a launch
	sum := sha256.Sum256(append(append(append(b[:0], campaignID...), 0), customerID...))
	return binary.BigEndian.Uint64(sum[:8])%10000 < uint64(percent)*100
}
