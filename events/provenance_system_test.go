package events_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
)

// ProfileReported's source.system is a claim's system: the survivorship
// rule ranks it by name and the importer derives event ids from it, so the
// event holds it as the importer's --source does (ops/importer
// CheckSystem): an id-shaped name in lower case, not the CRM's own.
func init() {
	invalidCases = slices.Concat(invalidCases, []invalid{
		{"ProfileReported", "source.system", "Card", ""},
		{"ProfileReported", "source.system", "CORE", ""},
		{"ProfileReported", "source.system", "card app", ""},
		{"ProfileReported", "source.system", "-card", ""},
		{"ProfileReported", "source.system", "card.app", ""},
		{"ProfileReported", "source.system", "카드", ""},
		{"ProfileReported", "source.system", "crm", ""},
	})
}

// TestProfileReportedSystem checks what source.system accepts, that a
// refusal says what a name must be, and that a refused report, built
// through NewEvent as the importer and the API build events, appends
// nothing to a real store.
func TestProfileReportedSystem(t *testing.T) {
	report := func(system string) *events.ProfileReported {
		return &events.ProfileReported{Source: events.RecordSource{System: system, Ref: "R1", Version: "1", ObservedAt: eventstest.Epoch},
			Fields: map[string]string{"phone": "010-5550-1234"}}
	}
	for _, ok := range []string{"core", "card", "card_app", "loan-2", "internet", "b" + strings.Repeat("x", 63)} {
		if err := report(ok).Validate(); err != nil {
			t.Errorf("source.system %q refused: %v", ok, err)
		}
	}
	for sys, says := range map[string]string{
		"Core":                  "lower case",
		"card app":              "letters, digits",
		"b" + rep("x", 64):      "at most 64",
		" core ":                "", // trimmed, as every line
		"crm":                   "bank's own record",
		"core\u200bbanking":     "letters, digits",
		strings.Repeat("가", 10): "letters, digits",
	} {
		err := report(sys).Validate()
		if says == "" {
			if err != nil {
				t.Errorf("source.system %q: %v", sys, err)
			}
			continue
		}
		assertInvalid(t, err, "source.system")
		if !strings.Contains(err.Error(), says) {
			t.Errorf("source.system %q: %q does not say %q", sys, err, says)
		}
	}

	st, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := events.NewEvent(&events.CustomerRegistered{CustomerID: "C1", Name: "Kim", BranchID: "B1", Source: events.Source{System: "core"}},
		events.Meta{Actor: events.System("import:core")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Append(t.Context(), "customer-C1", events.NoStream, reg); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"Card", "crm", "card app"} {
		ev, err := events.NewEvent(report(sys), events.Meta{Actor: events.System("import:card")})
		assertInvalid(t, err, "source.system")
		if _, err := st.Append(t.Context(), "customer-C1", events.StreamExists, ev); err == nil {
			t.Errorf("source.system %q: the zero event NewEvent returned with its error was appended", sys)
		}
		raw := []byte(`{"source":{"system":"` + sys + `","ref":"R1","version":"1","observedAt":"2026-11-24T05:00:00Z"},"fields":{"phone":"010-5550-1234"}}`)
		if d, err := events.Parse("ProfileReported", raw); d != nil || events.ErrorCode(err) != events.Invalid {
			t.Errorf("Parse of source.system %q: %v, %v", sys, d, err)
		}
	}
	evs, err := st.ReadAll(t.Context(), events.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("the log holds %d events after the refused reports, want the registration only", len(evs))
	}
}
