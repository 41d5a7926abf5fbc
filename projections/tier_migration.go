package projections

// TierMigration is the read model of moves between tiers month by month
// (KST months, reportMonth), folded from TierAssigned.
type TierMigration struct {
	// TODO(tiers)
}

// NewTierMigration returns an empty tier migration read model.
func NewTierMigration() *TierMigration { return &TierMigration{} }

// Name returns "tier-migration".
func (*TierMigration) Name() string { return "tier-migration" }

// Apply folds TierAssigned.
func (tm *TierMigration) Apply(e Event) {
	// TODO(tiers)
}

// TierMonth is one month's matrix of tier moves. For every customer tiered
// by the end of the month, From is their tier at the end of the previous
// month ("" if they had none) and To their tier at the end of this one;
// Cells has one entry per (From, To) pair that occurs, the diagonal
// (stayed) included, in the order "", general, potential_vip, vip of From
// then To. Profit is the profit contribution of each customer's latest
// TierAssigned basis by the end of the month; ProfitShare is a cell's
// profit over the month's total (0 when the total is not positive).
type TierMonth struct {
	Month       string     `json:"month"` // "2027-03"
	Customers   int        `json:"customers"`
	Profit      int64      `json:"profit"`
	Moved       int        `json:"moved"`       // customers whose From ≠ To
	MovedProfit int64      `json:"movedProfit"` // their profit
	Cells       []TierCell `json:"cells"`
}

// TierCell is one (From, To) cell of a month's matrix.
type TierCell struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Customers   int     `json:"customers"`
	Profit      int64   `json:"profit"`
	ProfitShare float64 `json:"profitShare"`
}

// Report returns every month from the first with a TierAssigned to the
// last, oldest first (a month without one repeats the previous month's
// tiers on the diagonal).
func (tm *TierMigration) Report() []TierMonth {
	return []TierMonth{} // TODO(tiers)
}
