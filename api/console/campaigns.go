package console

// Campaigns (docs/console.md, "Campaigns"): the list (/campaigns), the
// builder with its live count of targets (/campaigns/new), a campaign's
// page with amendment and closure (/campaigns/{id}) and its target list.
// Reads go through GET /v1/campaigns…, the count through POST
// /v1/campaigns/preview, writes through the API's campaign routes
// (c.dispatch). TODO(console-campaigns).

// campaignRoles launch, amend and close campaigns (the API's campaigners).
var campaignRoles = []string{"marketer", "centre_head"}

// campaignRoutes registers the campaign pages.
func (c *Console) campaignRoutes() {
	// TODO(console-campaigns)
}
