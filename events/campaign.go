package events

// Event types of the campaign-<campaignId> stream.

func init() {
	Register(func() Data { return new(CampaignLaunched) })
	Register(func() Data { return new(CampaignClosed) })
}

// CampaignCriteria select the customers a campaign targets: every given
// list must match (tier in tiers, a life event in lifeEvents, none of the
// products in notHolding, branch in branchIds); an empty list does not
// restrict. Entries are distinct.
type CampaignCriteria struct {
	Tiers      []string `json:"tiers,omitempty"`      // Tiers
	LifeEvents []string `json:"lifeEvents,omitempty"` // LifeEventKinds
	NotHolding []string `json:"notHolding,omitempty"` // product codes, at most 50
	BranchIDs  []string `json:"branchIds,omitempty"`  // at most 200
}

// CampaignLaunched starts a campaign. Criteria is required (a pointer, so
// that a missing object is told from an empty one, which targets everyone).
type CampaignLaunched struct {
	CampaignID string            `json:"campaignId"`
	Name       string            `json:"name"`
	Product    string            `json:"product"` // product code, id syntax
	Criteria   *CampaignCriteria `json:"criteria"`
	Channel    string            `json:"channel"`
	StartsOn   string            `json:"startsOn"`         // YYYY-MM-DD
	EndsOn     string            `json:"endsOn,omitempty"` // YYYY-MM-DD, not before startsOn
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
	c.present("criteria", d.Criteria != nil)
	if d.Criteria != nil {
		c.enums("criteria.tiers", d.Criteria.Tiers, Tiers)
		c.enums("criteria.lifeEvents", d.Criteria.LifeEvents, LifeEventKinds)
		c.ids("criteria.notHolding", d.Criteria.NotHolding, 50)
		c.ids("criteria.branchIds", d.Criteria.BranchIDs, 200)
	}
	c.enum("channel", &d.Channel, Channels...)
	c.day("startsOn", &d.StartsOn, true)
	c.day("endsOn", &d.EndsOn, false)
	if c.err == nil && d.EndsOn != "" && d.EndsOn < d.StartsOn { // YYYY-MM-DD sorts as it reads
		c.fail("endsOn", "must not be before startsOn")
	}
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
