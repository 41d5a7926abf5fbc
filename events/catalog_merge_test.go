package events_test

import "slices"

// The catalog cases of CustomerMerged and CustomerMergedInto
// (events/merge.go), added to the shared tables of catalog_test.go.
func init() {
	// Merge is the other half of issue 14's item 2 (one picture from many
	// systems), whose types catalogProvenance lists.
	catalogProvenance = append(catalogProvenance, "CustomerMerged", "CustomerMergedInto")
	examples["CustomerMerged"] = `{"mergedId":"C2002","reason":"same phone and birth date; confirmed by the customer"}`
	examples["CustomerMergedInto"] = `{"survivorId":"C1001","reason":"same phone and birth date; confirmed by the customer"}`
	invalidCases = slices.Concat(invalidCases, []invalid{
		{"CustomerMerged", "mergedId", del, ""},
		{"CustomerMerged", "mergedId", "not an id!", ""},
		{"CustomerMerged", "reason", del, ""},
		{"CustomerMerged", "reason", rep("r", 501), ""},
		{"CustomerMergedInto", "survivorId", del, ""},
		{"CustomerMergedInto", "survivorId", "", ""},
		{"CustomerMergedInto", "reason", "line\nbreak", ""},
	})
}
