package events_test

import "slices"

// The catalog cases of ProfileReported (events/provenance.go), added to the
// shared tables of catalog_test.go and personal_test.go.
func init() {
	examples["ProfileReported"] = `{"source":{"system":"card","ref":"CARD-APP-20261124-0042","version":"3",` +
		`"observedAt":"2026-11-24T05:00:00Z","verified":true},"fields":{"email":"minji@example.com","phone":"+82 10-5550-9999"}}`
	personalFields["ProfileReported"] = []string{"fields.email", "fields.phone"} // every value, in key order
	invalidCases = slices.Concat(invalidCases, []invalid{
		{"ProfileReported", "source", del, "source.system"},
		{"ProfileReported", "source.system", del, ""},
		{"ProfileReported", "source.system", rep("s", 65), ""},
		{"ProfileReported", "source.system", "card\napp", ""},
		{"ProfileReported", "source.ref", del, ""},
		{"ProfileReported", "source.ref", rep("r", 129), ""},
		{"ProfileReported", "source.version", del, ""},
		{"ProfileReported", "source.version", rep("v", 65), ""},
		{"ProfileReported", "source.observedAt", del, ""},
		{"ProfileReported", "source.observedAt", "2201-01-01T00:00:00Z", ""},
		{"ProfileReported", "source.verified", "yes", ""},
		{"ProfileReported", "fields", del, ""},
		{"ProfileReported", "fields", map[string]any{}, ""},
		{"ProfileReported", "fields.nickname", "Minnie", ""},
		{"ProfileReported", "fields", map[string]any{"not a field!": "x"}, "fields"},
		{"ProfileReported", "fields.name", "", ""},
		{"ProfileReported", "fields.phone", "", ""}, // a field the record does not hold is left out
		{"ProfileReported", "fields.birthDate", "1970-13-01", ""},
		{"ProfileReported", "fields.phone", "none", ""},
		{"ProfileReported", "fields.address", rep("a", 501), ""},
	})
}
