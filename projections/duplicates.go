package projections

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
)

// DuplicatePair is two customers who are likely one person: neither erased
// nor merged, the same birth date and the same phone once normalised
// (NormalizePhone). It names the customers and what matched, never the
// values.
type DuplicatePair struct {
	CustomerIDs [2]string `json:"customerIds"` // in id order
	Matched     []string  `json:"matched"`     // the fields that matched: birthDate, phone
}

// duplicateFields are what a pair matched on.
var duplicateFields = []string{"birthDate", "phone"}

// Duplicates is the read model of likely duplicates, kept from each
// customer's current phone and birth date as the Customers read model holds
// them. It must be applied after Customers (Memory.Projections orders them
// so) and, like every projection, not queried while it is applied. It holds
// no personal value: customers are grouped by a keyed hash of the two
// values, process-local, and a pair is confirmed on the values themselves.
type Duplicates struct {
	cs      *Customers
	seed    maphash.Seed
	keyOf   map[string]uint64   // customer id → its key
	single  map[uint64]string   // key → the one customer holding it
	groups  map[uint64][]string // key → the customers holding it, two or more, in id order
	changed bool
}

// NewDuplicates returns the read model over cs, holding the customers cs
// holds already (so that it can be built over restored state).
func NewDuplicates(cs *Customers) *Duplicates {
	d := &Duplicates{cs: cs, seed: maphash.MakeSeed(), keyOf: map[string]uint64{}, single: map[uint64]string{}, groups: map[uint64][]string{}}
	for _, c := range cs.byID {
		d.set(c)
	}
	d.changed = true
	return d
}

// Name returns "duplicates".
func (*Duplicates) Name() string { return "duplicates" }

// Apply recomputes the key of the customer whose phone, birth date or
// standing e may change.
func (d *Duplicates) Apply(e Event) {
	cat, id := events.StreamID(e.Stream)
	if cat != events.CategoryCustomer || !duplicateRelevant(e.Data) {
		return
	}
	if c := d.cs.byID[id]; c != nil {
		d.set(c)
	}
}

// duplicateRelevant reports whether an event of a customer's stream can
// change that customer's phone, birth date or standing.
func duplicateRelevant(data events.Data) bool {
	switch data.(type) {
	case *events.CustomerRegistered, *events.ProfileChanged, *events.ProfileReported, *events.PersonalDataErased,
		*events.CustomerMergedInto:
		return true
	}
	return false
}

// set files c under its current key, or under none.
func (d *Duplicates) set(c *customer) {
	key, ok := d.key(c)
	old, had := d.keyOf[c.id]
	if had == ok && old == key {
		return
	}
	if had {
		d.drop(old, c.id)
		delete(d.keyOf, c.id)
	}
	if ok {
		d.add(key, c.id)
		d.keyOf[c.id] = key
	}
}

// add files id under key.
func (d *Duplicates) add(key uint64, id string) {
	if ids, ok := d.groups[key]; ok {
		i, _ := slices.BinarySearch(ids, id)
		d.groups[key], d.changed = slices.Insert(ids, i, id), true
		return
	}
	other, ok := d.single[key]
	if !ok {
		d.single[key] = id
		return
	}
	delete(d.single, key)
	d.groups[key], d.changed = []string{min(id, other), max(id, other)}, true
}

// drop removes id from key's holders.
func (d *Duplicates) drop(key uint64, id string) {
	ids, ok := d.groups[key]
	if !ok {
		delete(d.single, key)
		return
	}
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(ids, i, i+1)
	}
	d.changed = true
	if len(ids) == 1 {
		delete(d.groups, key)
		d.single[key] = ids[0]
		return
	}
	d.groups[key] = ids
}

// key returns c's group key, or false if c takes part in no pair.
func (d *Duplicates) key(c *customer) (uint64, bool) {
	if c.gone() || c.birthDate == "" {
		return 0, false
	}
	phone := NormalizePhone(c.phone)
	if phone == "" {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(phone)
	h.WriteByte(0)
	h.WriteString(c.birthDate)
	return h.Sum64(), true
}

// Pairs returns every likely duplicate pair, by the first id then the
// second.
func (d *Duplicates) Pairs() []DuplicatePair {
	out := []DuplicatePair{}
	for _, ids := range d.groups {
		for i, a := range ids {
			for _, b := range ids[i+1:] {
				if d.same(a, b) {
					out = append(out, DuplicatePair{CustomerIDs: [2]string{a, b}, Matched: slices.Clone(duplicateFields)})
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y DuplicatePair) int {
		if c := cmpString(x.CustomerIDs[0], y.CustomerIDs[0]); c != 0 {
			return c
		}
		return cmpString(x.CustomerIDs[1], y.CustomerIDs[1])
	})
	return out
}

// same reports whether customers a and b hold the same birth date and
// normalised phone (two keys may collide).
func (d *Duplicates) same(a, b string) bool {
	x, y := d.cs.byID[a], d.cs.byID[b]
	return x.birthDate == y.birthDate && NormalizePhone(x.phone) == NormalizePhone(y.phone)
}

// TakeChanged reports whether the pairs may have changed since it was last
// called (or since the model was built), and clears the flag: a read store
// that persists the pairs rewrites them then.
func (d *Duplicates) TakeChanged() bool {
	ch := d.changed
	d.changed = false
	return ch
}

// NormalizePhone returns the digits of a phone number in the Korean
// domestic form: "010-1234-5678", "+82 10 1234 5678" and
// "+82 (0)10-1234-5678" all give "01012345678". A value with no digits
// gives "".
func NormalizePhone(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	ds := b.String()
	// A domestic number starts with 0: one starting 82 (or 0082) starts
	// with Korea's country code.
	switch {
	case strings.HasPrefix(ds, "0082"):
		ds = ds[4:]
	case strings.HasPrefix(ds, "82"):
		ds = ds[2:]
	default:
		return ds
	}
	if !strings.HasPrefix(ds, "0") {
		ds = "0" + ds
	}
	return ds
}

// Duplicates returns the likely duplicate pairs, by customer ids.
func (m *Memory) Duplicates(context.Context) (pairs []DuplicatePair, err error) {
	m.view(func() { pairs = m.Dups.Pairs() })
	return pairs, nil
}
