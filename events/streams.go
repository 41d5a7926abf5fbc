package events

import "strings"

// Stream categories.
const (
	CategoryCustomer = "customer"
	CategoryCall     = "call"
	CategoryStaff    = "staff"
	CategoryCampaign = "campaign"
	LedgerStream     = "ledger"
)

// CustomerStream returns "customer-<id>".
func CustomerStream(id string) string { return CategoryCustomer + "-" + id }

// CallStream returns "call-<id>".
func CallStream(id string) string { return CategoryCall + "-" + id }

// StaffStream returns "staff-<id>".
func StaffStream(id string) string { return CategoryStaff + "-" + id }

// CampaignStream returns "campaign-<id>".
func CampaignStream(id string) string { return CategoryCampaign + "-" + id }

// StreamID splits a stream name into its category and id: "customer-C1"
// gives ("customer", "C1"); "ledger" gives ("ledger", "").
func StreamID(stream string) (category, id string) {
	category, id, _ = strings.Cut(stream, "-")
	return category, id
}
