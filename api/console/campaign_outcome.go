package console

// Campaign outcomes (docs/console.md, "Campaign outcomes"): a campaign's
// funnel and lift (/campaigns/{id}/outcome, from GET
// /v1/reports/campaigns/{id}), the tier migration matrix
// (/reports/tier-migration) and the worklist's campaign and VIP-at-risk
// reasons. TODO(console-outcomes).

// outcomeRoutes registers the outcome pages.
func (c *Console) outcomeRoutes() {
	// TODO(console-outcomes)
}
