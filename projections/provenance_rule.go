package projections

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
)

// Survivorship criteria: how the claims of a profile field are compared to
// pick the one that stands (docs/provenance.md). A rule applies its
// criteria in order; claims equal on every one go to the later event.
const (
	ByVerified = "verified" // a claim the customer verified beats one they did not; of two verified, the later observed
	ByPriority = "priority" // a claim of a system earlier in the priority list beats a later or unlisted one
	ByLatest   = "latest"   // a claim observed later beats an older one
)

// CRMSystem is the system name of the bank's own record: what staff entered
// from the customer (ProfileChanged) and what the customer confirmed to
// them (ProfileVerified, a data_refresh contact).
const CRMSystem = "crm"

// Survivorship is the rule that picks, for each profile field, the claim
// whose value the customer view shows. The zero value is
// DefaultSurvivorship's rule. A rule is read-only once in use: a Customers
// read model keeps the one it was given.
type Survivorship struct {
	// Order lists the criteria (ByVerified, ByPriority, ByLatest), each at
	// most once; empty means verified, priority, latest.
	Order []string `json:"order,omitempty"`
	// Priority lists source systems, most trusted first; a system not
	// listed ranks after every listed one. Empty means DefaultPriority.
	Priority []string `json:"priority,omitempty"`
	// Fields overrides Order or Priority for one profile field
	// (events.ProfileFields).
	Fields map[string]FieldRule `json:"fields,omitempty"`
}

// FieldRule overrides the rule's order or priority for one field; an empty
// list keeps the rule's own.
type FieldRule struct {
	Order    []string `json:"order,omitempty"`
	Priority []string `json:"priority,omitempty"`
}

// DefaultOrder is the criteria of the default rule: the latest verified
// claim wins, then source priority, then the latest claim.
var DefaultOrder = []string{ByVerified, ByPriority, ByLatest}

// DefaultPriority is the source priority of the default rule: the bank's own
// record, then core banking, the branches, loans, cards, internet banking.
var DefaultPriority = []string{CRMSystem, "core", "branch", "loan", "card", "internet"}

// SetSurvivorship makes the read model pick surviving claims by rule (nil:
// DefaultSurvivorship) from the next event it applies; call it before the
// first. Values already folded keep the survivor of the rule they were
// folded under until their field is claimed again: a changed rule applies
// to the whole bank after a replay (Memory: every start) or a rebuild of a
// persistent read store (docs/provenance.md).
func (cs *Customers) SetSurvivorship(rule *Survivorship) {
	if rule == nil {
		rule = DefaultSurvivorship()
	}
	cs.rule = rule
}

// WithSurvivorship makes a Memory's customers pick surviving claims by rule.
func WithSurvivorship(rule *Survivorship) MemoryOption {
	return func(m *Memory) { m.Customers.SetSurvivorship(rule) }
}

// DefaultSurvivorship returns the rule a Customers read model uses unless
// it is given another.
func DefaultSurvivorship() *Survivorship { return &Survivorship{} }

// ParseSurvivorship reads a rule from its JSON form (docs/provenance.md),
// strictly: unknown keys, unknown criteria or fields, a criterion given
// twice and a malformed system name are Invalid errors naming the key.
func ParseSurvivorship(b []byte) (*Survivorship, error) {
	var r Survivorship
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, events.InvalidField("", "survivorship rule: %v", err)
	}
	if dec.More() {
		return nil, events.InvalidField("", "survivorship rule: unexpected data after the JSON object")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// check validates the rule's lists.
func (r *Survivorship) check() error {
	if err := checkRuleLists("", r.Order, r.Priority); err != nil {
		return err
	}
	for _, f := range slices.Sorted(maps.Keys(r.Fields)) {
		if !slices.Contains(events.ProfileFields, f) {
			return events.InvalidField("fields", "%q is not a profile field (%s)", f, strings.Join(events.ProfileFields, ", "))
		}
		fr := r.Fields[f]
		if err := checkRuleLists("fields."+f+".", fr.Order, fr.Priority); err != nil {
			return err
		}
	}
	return nil
}

func checkRuleLists(prefix string, order, priority []string) error {
	for i, c := range order {
		if !slices.Contains(DefaultOrder, c) {
			return events.InvalidField(prefix+"order", "%q is not a criterion (%s)", c, strings.Join(DefaultOrder, ", "))
		}
		if slices.Contains(order[:i], c) {
			return events.InvalidField(prefix+"order", "%q is listed twice", c)
		}
	}
	for i, s := range priority {
		if s == "" || len(s) > 64 || strings.TrimSpace(s) != s || strings.ContainsFunc(s, isControl) {
			return events.InvalidField(prefix+"priority", "entry %d must be a system name of 1-64 printable characters", i)
		}
		if slices.Contains(priority[:i], s) {
			return events.InvalidField(prefix+"priority", "%q is listed twice", s)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// order returns the criteria for field.
func (r *Survivorship) order(field string) []string {
	if fr := r.Fields[field]; len(fr.Order) > 0 {
		return fr.Order
	}
	if len(r.Order) > 0 {
		return r.Order
	}
	return DefaultOrder
}

// priority returns the source priority for field.
func (r *Survivorship) priority(field string) []string {
	if fr := r.Fields[field]; len(fr.Priority) > 0 {
		return fr.Priority
	}
	if len(r.Priority) > 0 {
		return r.Priority
	}
	return DefaultPriority
}

// better reports whether claim a beats claim b for field under the rule.
func (r *Survivorship) better(field string, a, b Claim) bool {
	for _, c := range r.order(field) {
		switch c {
		case ByVerified:
			if a.Verified != b.Verified {
				return a.Verified
			}
			if a.Verified && !a.ObservedAt.Equal(b.ObservedAt) { // the latest verified value wins
				return a.ObservedAt.After(b.ObservedAt)
			}
		case ByPriority:
			p := r.priority(field)
			if ra, rb := rank(p, a.System), rank(p, b.System); ra != rb {
				return ra < rb
			}
		case ByLatest:
			if !a.ObservedAt.Equal(b.ObservedAt) {
				return a.ObservedAt.After(b.ObservedAt)
			}
		}
	}
	return a.Version > b.Version
}

// rank is system's place in priority; unlisted systems share the last.
func rank(priority []string, system string) int {
	if i := slices.Index(priority, system); i >= 0 {
		return i
	}
	return len(priority)
}
