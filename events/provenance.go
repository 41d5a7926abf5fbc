package events

import (
	"strings"
	"time"
)

// Event types of the customer-<customerId> stream that carry what the
// bank's other systems (core banking, cards, loans, internet banking,
// branches) hold about a customer, for per-field provenance and
// survivorship (docs/provenance.md). See docs/events.md.

func init() {
	Register(func() Data { return new(ProfileReported) })
}

// RecordSource names one record of a source system: which system, which
// record, which version of it. The three strings identify the record's
// version across imports (docs/import.md derives the event id from them).
type RecordSource struct {
	System     string    `json:"system"`             // core, card, loan, internet, branch, …: a lower-case id, not crm
	Ref        string    `json:"ref"`                // the record's key in that system (≤ 128)
	Version    string    `json:"version"`            // the record's version there (≤ 64)
	ObservedAt time.Time `json:"observedAt"`         // when that system recorded the values
	Verified   bool      `json:"verified,omitempty"` // the system verified them with the customer
}

// check validates the source under the path prefix ("source.").
func (s *RecordSource) check(c *check, prefix string) {
	c.system(prefix+"system", &s.System)
	c.line(prefix+"ref", &s.Ref, 128, true)
	c.line(prefix+"version", &s.Version, 64, true)
	c.instant(prefix+"observedAt", &s.ObservedAt, true)
}

// system checks a source system's name (SystemNameProblem).
func (c *check) system(field string, s *string) {
	if !c.str0(field, s, 64, true) {
		return
	}
	if p := SystemNameProblem(*s); p != "" {
		c.fail(field, "%s", p)
	}
}

// registrar checks the name of the system a customer was registered
// from: a source system's name as SystemNameProblem has it, or crm, the
// CRM itself (a customer staff registered).
func (c *check) registrar(field string, s *string) {
	if !c.str0(field, s, 64, true) {
		return
	}
	if p := systemNameForm(*s); p != "" {
		c.fail(field, "%s", p)
	}
}

// SystemNameProblem returns why s is not a source system's name, "" if it
// is one: the survivorship rule ranks claims by it and the importer
// derives event ids from it, so a ProfileReported's source.system and
// `dangol import --source` hold it alike: 1-64 letters, digits, '_' or
// '-', in lower case ("Core" would be another system, unlisted in the
// priority), and not the CRM's own name, whose claims are what staff
// entered and the customer confirmed.
func SystemNameProblem(s string) string {
	if s == "crm" {
		return "crm is the bank's own record (what staff enter and the customer confirms): a report names the system it comes from"
	}
	return systemNameForm(s)
}

// systemNameForm is SystemNameProblem without the rule against crm.
func systemNameForm(s string) string {
	switch {
	case !ValidID(s):
		return "must be a system name: 1-64 letters, digits, '_' or '-' (core, card, loan, internet)"
	case strings.ToLower(s) != s:
		return "must be in lower case (core, card, loan, internet): the same system in another case would be another source"
	}
	return ""
}

// ProfileReported is what a source system's record says of a customer's
// profile fields. It changes nothing by itself: the customer view keeps
// every system's latest claim per field and a survivorship rule picks the
// value that stands (docs/provenance.md).
type ProfileReported struct {
	Source RecordSource `json:"source"`
	// Fields maps a profile field (ProfileFields) to the value the record
	// holds; every value is personal. A field the record does not hold is
	// left out: an empty value is refused.
	Fields map[string]string `json:"fields"`
}

// EventType returns "ProfileReported".
func (*ProfileReported) EventType() string { return "ProfileReported" }

// Validate checks the catalog rules; errors are Invalid naming the field,
// "fields.<field>" for a value.
func (d *ProfileReported) Validate() error {
	c := check{}
	d.Source.check(&c, "source.")
	if len(d.Fields) == 0 {
		c.fail("fields", "at least one field is required")
	}
	c.profileMap("fields", d.Fields, func(field, v string) {
		if v == "" {
			c.fail(field, "must not be empty: leave out a field the record does not hold")
		}
	})
	return c.errOrNil()
}

// profileMap checks each value of m, a profile field → value map under
// name ("changes", "fields"), by its field's rule (profileField), writing
// the trimmed values back, in key order; then, while nothing failed, calls
// more with the value's path ("<name>.<field>") and value. A key that is
// not id-shaped is reported as name, so whatever a client sent is not
// echoed back.
func (c *check) profileMap(name string, m map[string]string, more func(field, v string)) {
	for _, k := range sortedKeys(m) {
		v := m[k]
		field := name
		if ValidID(k) {
			field += "." + k
		}
		c.profileField(field, k, &v)
		if c.err == nil {
			more(field, v)
		}
		m[k] = v
	}
}

// EachPersonal visits every value as "fields.<field>", in sorted field
// order, writing the value back into the map.
func (d *ProfileReported) EachPersonal(f func(string, *string)) {
	for _, k := range sortedKeys(d.Fields) {
		v := d.Fields[k]
		f("fields."+k, &v)
		d.Fields[k] = v
	}
}
