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

// CategoryAccess is the category of the access record: AccessStream
// holds a month's PersonalDataRead batches, AccessCheckStream its
// AccessCheckSignedOff. Both are "access-..." (a month starts with a
// digit, "check-" with a letter, so the two never meet).
const CategoryAccess = "access"

// AccessStream returns "access-<month>", the access record of the UTC
// month "YYYY-MM" (AccessMonth). It does not check month; see ValidMonth.
func AccessStream(month string) string { return CategoryAccess + "-" + month }

// AccessCheckStream returns "access-check-<month>", the stream of the
// auditor's sign-off of month's access check. It does not check month.
func AccessCheckStream(month string) string { return CategoryAccess + "-check-" + month }
