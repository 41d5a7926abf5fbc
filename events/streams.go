package events

import "strings"

// Stream categories: a stream is named "<category>-<id>", except the single
// ledger stream. Categories contain no '-', so the first '-' splits a name.
const (
	CategoryCustomer = "customer"
	CategoryCall     = "call"
	CategoryStaff    = "staff"
	CategoryCampaign = "campaign"

	// LedgerStream is the one stream of LedgerSealed events; it is also
	// its own category.
	LedgerStream = "ledger"
)

// CustomerStream returns "customer-<id>". It does not check id; see ValidID.
func CustomerStream(id string) string { return CategoryCustomer + "-" + id }

// CallStream returns "call-<id>". It does not check id; see ValidID.
func CallStream(id string) string { return CategoryCall + "-" + id }

// StaffStream returns "staff-<id>". It does not check id; see ValidID.
func StaffStream(id string) string { return CategoryStaff + "-" + id }

// CampaignStream returns "campaign-<id>". It does not check id; see ValidID.
func CampaignStream(id string) string { return CategoryCampaign + "-" + id }

// StreamID splits a stream name at its first '-' into its category and id:
// "customer-C1" gives ("customer", "C1"), "call-A-7" gives ("call", "A-7"),
// and "ledger" gives ("ledger", "").
func StreamID(stream string) (category, id string) {
	category, id, _ = strings.Cut(stream, "-")
	return category, id
}

// CategorySettings is the category of the bank's settings streams, one
// stream per subject, such as SignInSettingsStream.
const CategorySettings = "settings"

// SignInSettingsStream is the one stream of the sign-in policy
// (SecondFactorPolicySet).
const SignInSettingsStream = CategorySettings + "-signin"
