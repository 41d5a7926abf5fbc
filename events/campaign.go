package events

// Event types of the campaign-<campaignId> and ledger streams.

func init() {
	Register(func() Data { return new(CampaignLaunched) })
	Register(func() Data { return new(CampaignClosed) })
	Register(func() Data { return new(LedgerSealed) })
}

// CampaignCriteria select the customers a campaign targets.
type CampaignCriteria struct {
	Tiers      []string `json:"tiers,omitempty"`
	LifeEvents []string `json:"lifeEvents,omitempty"`
	NotHolding []string `json:"notHolding,omitempty"`
	BranchIDs  []string `json:"branchIds,omitempty"`
}

// CampaignLaunched starts a campaign.
type CampaignLaunched struct {
	CampaignID string            `json:"campaignId"`
	Name       string            `json:"name"`
	Product    string            `json:"product"`
	Criteria   *CampaignCriteria `json:"criteria"`
	Channel    string            `json:"channel"`
	StartsOn   string            `json:"startsOn"`
	EndsOn     string            `json:"endsOn,omitempty"`
}

// EventType returns "CampaignLaunched".
func (*CampaignLaunched) EventType() string { return "CampaignLaunched" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CampaignLaunched) Validate() error {
	c := check{}
	c.id("campaignId", &d.CampaignID, true)
	c.required("name", &d.Name, 200)
	c.id("product", &d.Product, true)
	c.present("criteria", d.Criteria != nil)
	if d.Criteria != nil {
		c.enums("criteria.tiers", d.Criteria.Tiers, Tiers)
		c.enums("criteria.lifeEvents", d.Criteria.LifeEvents, LifeEventKinds)
		c.ids("criteria.notHolding", d.Criteria.NotHolding, 50)
		c.ids("criteria.branchIds", d.Criteria.BranchIDs, 200)
	}
	c.enum("channel", &d.Channel, Channels...)
	c.date("startsOn", &d.StartsOn, true)
	c.date("endsOn", &d.EndsOn, false)
	if c.err == nil && d.EndsOn != "" && d.EndsOn < d.StartsOn {
		c.fail("endsOn", "must not be before startsOn")
	}
	return c.errOrNil()
}

// CampaignClosed ends a campaign.
type CampaignClosed struct {
	Reason string `json:"reason"`
}

// EventType returns "CampaignClosed".
func (*CampaignClosed) EventType() string { return "CampaignClosed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CampaignClosed) Validate() error {
	c := check{}
	c.required("reason", &d.Reason, 500)
	return c.errOrNil()
}

// LedgerSealed closes a range of the log with a Merkle root over its events'
// hashes in log order, chained to the previous seal.
type LedgerSealed struct {
	FromPosition Position `json:"fromPosition"`
	ToPosition   Position `json:"toPosition"`
	Count        int64    `json:"count"`
	MerkleRoot   string   `json:"merkleRoot"`
	PrevSealHash string   `json:"prevSealHash"`
	Signature    string   `json:"signature,omitempty"` // base64 Ed25519, optional
}

// EventType returns "LedgerSealed".
func (*LedgerSealed) EventType() string { return "LedgerSealed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *LedgerSealed) Validate() error {
	c := check{}
	if d.ToPosition.Less(d.FromPosition) {
		c.fail("toPosition", "must not be before fromPosition")
	}
	c.rangeInt("count", d.Count, 1, 1<<62)
	c.hex64("merkleRoot", &d.MerkleRoot, true)
	c.hex64("prevSealHash", &d.PrevSealHash, true)
	c.optional("signature", &d.Signature, 100)
	return c.errOrNil()
}
