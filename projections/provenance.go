package projections

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/dangol/dangol/events"
)

// Per-field provenance (docs/provenance.md): for each profile field the
// customer fold keeps every system's latest claim, and the customer's field
// holds the value of the claim that survives under the Customers' rule
// (Survivorship). Claims come from
//
//   - CustomerRegistered: its values, claimed by its source.system at
//     registration, not verified;
//   - ProfileChanged: each changed value (an empty one included), claimed
//     by CRMSystem when it occurred, verified (the customer asked for it);
//   - ProfileVerified and a data_refresh ContactLogged: the surviving value
//     of each confirmed field (every field if none is named) claimed anew
//     by CRMSystem when the customer confirmed it, verified;
//   - ProfileReported: each value, claimed by its source.system when that
//     system observed it, verified if it says so.
//
// A customer of whom only the registration is known keeps no claims (most
// of a large bank: nothing is spent on them), and a field only the
// registration claims keeps none either: the first claim of a field seeds
// it with the registration's and, if the customer confirmed their data
// since, that confirmation's (seedClaims), which the view shows of the
// fields that keep none.

// Claim is one system's latest statement of one profile field.
type Claim struct {
	System     string    `json:"system"`
	Value      string    `json:"value"` // personal; "" is a claim that the field is empty
	ObservedAt time.Time `json:"observedAt"`
	Verified   bool      `json:"verified,omitempty"`
	Ref        string    `json:"ref,omitempty"` // the record's key in the system (ProfileReported)
	Event      string    `json:"event"`         // the type of the event that made the claim
	Version    uint64    `json:"version"`       // its version in the customer stream
}

// Conflict is a profile field whose claims disagree: systems whose latest
// claims, none superseded by a later verified one, differ from the
// surviving value. Systems names them with the survivor's own, sorted; it
// never holds a value.
type Conflict struct {
	Field   string   `json:"field"`
	Systems []string `json:"systems"`
}

// Detail returns the conflict as a worklist detail: "phone: card, core".
func (c Conflict) Detail() string { return c.Field + ": " + strings.Join(c.Systems, ", ") }

// FieldProvenance is one profile field of the customer view: the value
// that stands, whose claim it is, every system's latest claim (the
// survivor's first, then by system), and the disagreeing systems if any.
type FieldProvenance struct {
	Field    string   `json:"field"`
	Value    string   `json:"value"`
	System   string   `json:"system"`
	Claims   []Claim  `json:"claims"`
	Conflict []string `json:"conflict,omitempty"`
}

// provenance is a customer's claims, per profile field in the order of
// events.ProfileFields, with the surviving claim's index (-1: none), and
// the conflicts they make. A record restored from a brief holds only the
// conflicts.
type provenance struct {
	fields    [numProfileFields]fieldClaims
	conflicts []Conflict
}

type fieldClaims struct {
	claims   []Claim
	survivor int
}

const numProfileFields = 5

// fieldIndex returns the index of a profile field, or -1.
func fieldIndex(field string) int { return slices.Index(events.ProfileFields, field) }

// field returns a pointer to the customer's value of the field at index i.
func (c *customer) field(i int) *string {
	return [numProfileFields]*string{&c.name, &c.birthDate, &c.phone, &c.email, &c.addr}[i]
}

// provenanceOf returns c's claims, an empty set first if c has none.
func (c *customer) provenanceOf() *provenance {
	if c.prov == nil {
		c.prov = newProvenance()
	}
	return c.prov
}

// newProvenance returns a provenance without claims.
func newProvenance() *provenance {
	p := &provenance{}
	for i := range p.fields {
		p.fields[i].survivor = -1
	}
	return p
}

// seedClaims returns the claims field i holds before any is kept for it:
// the registration's value, and, if the customer confirmed their data
// since (verifiedAt), the CRM's verified claim of it then, whose event the
// fold did not keep (Event "", Version 0); only that one if the CRM made
// the registration (a system's latest claim replaces its earlier one). A field no claim was kept for
// still holds the registration's value: every claim but these is kept.
func (c *customer) seedClaims(i int) []Claim {
	v := *c.field(i)
	if v == "" {
		return nil
	}
	claims := []Claim{{System: c.regSystem, Value: v, ObservedAt: unixTime(c.registeredAt - int64(c.regEarlier)), Event: "CustomerRegistered"}}
	if c.verifiedAt > c.registeredAt {
		confirmed := Claim{System: CRMSystem, Value: v, ObservedAt: unixTime(c.verifiedAt), Verified: true}
		if c.regSystem == CRMSystem { // one claim per system: the confirmation is crm's latest
			return []Claim{confirmed}
		}
		claims = append(claims, confirmed)
	}
	return claims
}

// setRegObserved notes when the registration's source recorded it (unix
// seconds; 0: when it was registered), kept as the difference, which fits
// the customer's padding: up to 68 years either way, a farther one clamped.
func (c *customer) setRegObserved(at int64) {
	if at == 0 {
		c.regEarlier = 0
		return
	}
	c.regEarlier = int32(min(max(c.registeredAt-at, math.MinInt32), math.MaxInt32))
}

// regObserved returns when the registration's source recorded it, or 0 if
// that is when it was registered.
func (c *customer) regObserved() int64 {
	if c.regEarlier == 0 {
		return 0
	}
	return c.registeredAt - int64(c.regEarlier)
}

// add keeps cl as its system's latest claim: it replaces the system's
// claim unless that one was observed later. It reports whether it did.
func (f *fieldClaims) add(cl Claim) bool {
	i := slices.IndexFunc(f.claims, func(o Claim) bool { return o.System == cl.System })
	switch {
	case i < 0:
		f.claims = append(f.claims, cl)
	case cl.ObservedAt.Before(f.claims[i].ObservedAt):
		return false
	default:
		f.claims[i] = cl
	}
	return true
}

// claim folds one claim of field into c's provenance and sets the field to
// the surviving value under rule. Unknown fields and erased customers are
// ignored.
func (c *customer) claim(rule *Survivorship, field string, cl Claim) {
	i := fieldIndex(field)
	if i < 0 || c.erased {
		return
	}
	p := c.provenanceOf()
	if len(p.fields[i].claims) == 0 {
		p.fields[i].claims = c.seedClaims(i) // only the fields other systems claim keep claims
	}
	if p.fields[i].add(cl) {
		c.settle(rule, p, i)
	}
}

// report folds a ProfileReported: each value is its system's claim.
func (c *customer) report(rule *Survivorship, d *events.ProfileReported, e Event) {
	src := d.Source
	for k, v := range d.Fields {
		cl := eventClaim(e, src.System, v, src.ObservedAt, src.Verified)
		cl.Ref = strings.Clone(src.Ref)
		c.claim(rule, k, cl)
	}
}

// eventClaim returns the claim of system made by event e.
func eventClaim(e Event, system, value string, at time.Time, verified bool) Claim {
	return Claim{System: intern(system), Value: value, ObservedAt: at, Verified: verified, Event: intern(e.Type), Version: e.Version}
}

// confirm claims anew, as CRMSystem's verified claim at at, the surviving
// value of each field (every field if fields is empty) — the customer
// confirmed it. A customer without claims has nothing to settle: their
// confirmation is seeded from verifiedAt when claims begin.
func (c *customer) confirm(rule *Survivorship, fields []string, at time.Time, e Event) {
	p := c.prov
	if p == nil || c.erased {
		return
	}
	if len(fields) == 0 {
		fields = events.ProfileFields
	}
	for _, f := range fields {
		i := fieldIndex(f)
		if i < 0 || p.fields[i].survivor < 0 {
			continue
		}
		v := p.fields[i].claims[p.fields[i].survivor].Value
		if p.fields[i].add(eventClaim(e, CRMSystem, v, at, true)) {
			c.settle(rule, p, i)
		}
	}
}

// settle picks field i's surviving claim, copies its value into the
// customer and recomputes the conflicts.
func (c *customer) settle(rule *Survivorship, p *provenance, i int) {
	p.pick(rule, i)
	*c.field(i) = p.fields[i].claims[p.fields[i].survivor].Value
	p.findConflicts()
}

// pick sets field i's surviving claim under rule (none without claims).
func (p *provenance) pick(rule *Survivorship, i int) {
	f := &p.fields[i]
	f.survivor = -1
	for j := range f.claims {
		if f.survivor < 0 || rule.better(events.ProfileFields[i], f.claims[j], f.claims[f.survivor]) {
			f.survivor = j
		}
	}
}

// findConflicts recomputes the conflicts of every field.
func (p *provenance) findConflicts() {
	p.conflicts = p.conflicts[:0]
	for k := range p.fields {
		if systems := p.fields[k].conflict(events.ProfileFields[k]); systems != nil {
			p.conflicts = append(p.conflicts, Conflict{Field: events.ProfileFields[k], Systems: systems})
		}
	}
	if len(p.conflicts) == 0 {
		p.conflicts = nil
	}
}

// conflict returns the systems that disagree on the field, the survivor's
// included, sorted; nil if none do. A claim observed before the latest
// verified claim is superseded: the customer confirmed a value after it.
func (f *fieldClaims) conflict(field string) []string {
	if f.survivor < 0 {
		return nil
	}
	var verifiedAt time.Time
	for _, cl := range f.claims {
		if cl.Verified && cl.ObservedAt.After(verifiedAt) {
			verifiedAt = cl.ObservedAt
		}
	}
	s := f.claims[f.survivor]
	var systems []string
	for j, cl := range f.claims {
		if j != f.survivor && !cl.ObservedAt.Before(verifiedAt) && !sameValue(field, cl.Value, s.Value) {
			systems = append(systems, cl.System)
		}
	}
	if systems == nil {
		return nil
	}
	systems = append(systems, s.System)
	slices.Sort(systems)
	return slices.Compact(systems)
}

// sameValue reports whether two values of field say the same thing
// written differently: phone numbers in their domestic form
// (NormalizePhone: +82 10…, +82 (0)10… and 0082 10… are 010…), e-mail
// addresses ignoring case, other fields ignoring case and runs of white
// space.
func sameValue(field, a, b string) bool {
	switch field {
	case "phone":
		return NormalizePhone(a) == NormalizePhone(b) // as the likely duplicates read them
	case "email":
		return strings.EqualFold(a, b)
	}
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// provenanceView returns the per-field view of c's claims, or nil if c
// has none (only its registration is known) or was erased.
func (c *customer) provenanceView() []FieldProvenance {
	p := c.prov
	if p == nil || c.erased {
		return nil
	}
	out := make([]FieldProvenance, 0, numProfileFields)
	for i, f := range p.fields {
		claims, survivor := f.claims, f.survivor
		if len(claims) == 0 { // no other system claimed it
			claims = c.seedClaims(i)
			survivor = len(claims) - 1 // the confirmation if any: the values are the same
		}
		if survivor < 0 {
			continue
		}
		s := claims[survivor]
		claims = slices.Clone(claims)
		slices.SortStableFunc(claims, func(a, b Claim) int {
			switch {
			case a.System == s.System:
				return -1
			case b.System == s.System:
				return 1
			}
			return strings.Compare(a.System, b.System)
		})
		out = append(out, FieldProvenance{Field: events.ProfileFields[i], Value: s.Value, System: s.System, Claims: claims,
			Conflict: f.conflict(events.ProfileFields[i])})
	}
	return out
}

// dataConflicts returns the worklist details of c's conflicts.
func (c *customer) dataConflicts() []string {
	if c.prov == nil || len(c.prov.conflicts) == 0 || c.erased {
		return nil
	}
	out := make([]string, len(c.prov.conflicts))
	for i, k := range c.prov.conflicts {
		out[i] = k.Detail()
	}
	return out
}

// intern returns s as a canonical copy, for system names and event types:
// a bank has a handful of systems, and every registration names one.
func intern(s string) string { return unique.Make(s).Value() }

// fieldState is the JSON form of one field's claims in a customer's fold
// state (CustomerRecord).
type fieldState struct {
	Claims   []Claim `json:"claims"`
	Survivor int     `json:"survivor"`
}

// state returns p's JSON form: the fields with claims, by name; nil for no
// provenance.
func (p *provenance) state() map[string]fieldState {
	if p == nil {
		return nil
	}
	m := make(map[string]fieldState, numProfileFields)
	for i, f := range p.fields {
		if len(f.claims) > 0 {
			m[events.ProfileFields[i]] = fieldState{Claims: f.claims, Survivor: f.survivor}
		}
	}
	return m
}

// provenanceFromState returns the provenance m holds (nil for none), its
// conflicts recomputed. A survivor out of range (a corrupt row) picks none.
func provenanceFromState(m map[string]fieldState) *provenance {
	if m == nil {
		return nil
	}
	p := newProvenance()
	for i := range p.fields {
		f := m[events.ProfileFields[i]]
		p.fields[i] = fieldClaims{claims: f.Claims, survivor: -1}
		for j := range f.Claims {
			f.Claims[j].System, f.Claims[j].Event = intern(f.Claims[j].System), intern(f.Claims[j].Event)
		}
		if f.Survivor >= 0 && f.Survivor < len(f.Claims) {
			p.fields[i].survivor = f.Survivor
		}
	}
	p.findConflicts()
	return p
}

// appendConflicts appends c's conflicts to its brief: their count, then
// each field and its systems. A customer without conflicts adds nothing.
func appendConflicts(b []byte, c *customer) []byte {
	if c.prov == nil || len(c.prov.conflicts) == 0 || c.erased {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(c.prov.conflicts)))
	for _, k := range c.prov.conflicts {
		b = binary.AppendUvarint(appendString(b, k.Field), uint64(len(k.Systems)))
		for _, s := range k.Systems {
			b = appendString(b, s)
		}
	}
	return b
}

// conflicts reads what appendConflicts appended, if anything is left: a
// provenance holding only the conflicts, which is all a brief's queries
// read of it.
func (d *briefDecoder) conflicts() *provenance {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	n := d.count(2)
	if n == 0 && d.err == nil {
		d.err = errors.New("customer brief: an empty list of conflicts") // appendConflicts writes none
	}
	p := newProvenance()
	p.conflicts = make([]Conflict, n)
	for i := range p.conflicts {
		p.conflicts[i].Field = d.string()
		p.conflicts[i].Systems = make([]string, d.count(1))
		for j := range p.conflicts[i].Systems {
			p.conflicts[i].Systems[j] = d.string()
		}
	}
	return p
}
