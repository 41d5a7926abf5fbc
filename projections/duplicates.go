package projections

import (
	"context"
	"hash/maphash"
	"maps"
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

// MaxDuplicateGroup is the most customers one phone and birth date may be
// held by and still be listed as likely duplicates: a value held by more is
// no person's, but a shared line or a placeholder (docs/provenance.md), and its
// n·(n-1)/2 pairs would be all the list showed. The customers of a larger
// group are kept, as a set (dupGroup), so that the group is listed again once it
// shrinks to the cap; its pairs are neither made nor compared, which keeps
// the list's work linear in the customers (at most MaxDuplicateGroup/2
// pairs each).
const MaxDuplicateGroup = 50

// Duplicates is the read model of likely duplicates, kept from each
// customer's current phone and birth date as the Customers read model holds
// them. It must be applied after Customers (Memory.Projections orders them
// so) and, like every projection, not queried while it is applied. It holds
// no personal value: customers are grouped by a keyed hash of the two
// values, process-local, and a pair is confirmed on the values themselves.
// A placeholder phone (PlaceholderPhone) files a customer under no key.
type Duplicates struct {
	cs          *Customers
	seed        maphash.Seed
	keyOf       map[string]uint64    // customer id → its key
	single      map[uint64]string    // key → the one customer holding it
	groups      map[uint64]*dupGroup // key → the customers holding it, two or more
	placeholder map[string]struct{}  // customers whose phone is a placeholder
	changed     bool
	// withheldChanged: the placeholders or a crowded group changed since
	// TakeWithheldChanged last said so.
	withheldChanged bool
}

// NewDuplicates returns the read model over cs, holding the customers cs
// holds already (so that it can be built over restored state).
func NewDuplicates(cs *Customers) *Duplicates {
	d := &Duplicates{cs: cs, seed: maphash.MakeSeed(), keyOf: map[string]uint64{}, single: map[uint64]string{},
		groups: map[uint64]*dupGroup{}, placeholder: map[string]struct{}{}}
	for _, c := range cs.byID {
		d.set(c)
	}
	d.changed, d.withheldChanged = true, true
	return d
}

// expect sizes keyOf and single, which hold almost every customer, for n
// while both are empty.
func (d *Duplicates) expect(n int) {
	if len(d.keyOf) == 0 && len(d.single) == 0 {
		d.keyOf, d.single = make(map[string]uint64, n), make(map[uint64]string, n)
	}
}

// Name returns "duplicates".
func (*Duplicates) Name() string { return "duplicates" }

// Apply recomputes the key of the customer whose phone, birth date or
// standing e may change.
func (d *Duplicates) Apply(e Event) {
	cat, id := e.StreamID()
	if cat != events.CategoryCustomer || !duplicateRelevant(e.Data) {
		return
	}
	if c := d.cs.folding(id); c != nil {
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
	phone := ""
	if !c.gone() {
		phone = NormalizePhone(c.phone)
	}
	_, was := d.placeholder[c.id]
	if is := phone != "" && PlaceholderPhone(phone); is != was {
		if is {
			d.placeholder[c.id] = struct{}{}
		} else {
			delete(d.placeholder, c.id)
		}
		d.withheldChanged = true
	}
	key, ok := d.key(phone, c.birthDate)
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

// listed reports whether a group of n customers is listed.
func listed(n int) bool { return n >= 2 && n <= MaxDuplicateGroup }

// dupGroup is the customers holding one key, two or more: a sorted slice
// while the group is listed (what Pairs reads, in order), a set once it
// is larger, so that adding or dropping a customer of a crowded group
// moves none of the others.
type dupGroup struct {
	ids []string
	set map[string]struct{}
}

func (g *dupGroup) len() int {
	if g.set != nil {
		return len(g.set)
	}
	return len(g.ids)
}

// add files id under key: in constant time in a crowded group, in at most
// MaxDuplicateGroup steps otherwise.
func (d *Duplicates) add(key uint64, id string) {
	if g, ok := d.groups[key]; ok {
		if g.set != nil {
			g.set[id] = struct{}{}
		} else if i, _ := slices.BinarySearch(g.ids, id); len(g.ids) < MaxDuplicateGroup {
			g.ids = slices.Insert(g.ids, i, id)
		} else { // crowded from now on: a set
			g.set = make(map[string]struct{}, len(g.ids)+1)
			for _, x := range g.ids {
				g.set[x] = struct{}{}
			}
			g.set[id], g.ids = struct{}{}, nil
		}
		d.changed = d.changed || listed(g.len()) || listed(g.len()-1)
		d.withheldChanged = d.withheldChanged || g.len() > MaxDuplicateGroup
		return
	}
	other, ok := d.single[key]
	if !ok {
		d.single[key] = id
		return
	}
	delete(d.single, key)
	d.groups[key], d.changed = &dupGroup{ids: []string{min(id, other), max(id, other)}}, true
}

// drop removes id from key's holders, as add files it.
func (d *Duplicates) drop(key uint64, id string) {
	g, ok := d.groups[key]
	if !ok {
		delete(d.single, key)
		return
	}
	if g.set != nil {
		delete(g.set, id)
		if len(g.set) <= MaxDuplicateGroup { // listed again: sorted
			g.ids = slices.Sorted(maps.Keys(g.set))
			g.set = nil
		}
	} else if i, found := slices.BinarySearch(g.ids, id); found {
		g.ids = slices.Delete(g.ids, i, i+1)
	}
	d.changed = d.changed || listed(g.len()) || listed(g.len()+1)
	d.withheldChanged = d.withheldChanged || g.len()+1 > MaxDuplicateGroup
	if g.len() == 1 {
		delete(d.groups, key)
		d.single[key] = g.ids[0]
	}
}

// key returns the group key of a customer with phone (normalised; "" for an
// erased or merged customer) and birthDate, or false if they take part in
// no pair.
func (d *Duplicates) key(phone, birthDate string) (uint64, bool) {
	if phone == "" || birthDate == "" || PlaceholderPhone(phone) {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	h.WriteString(phone)
	h.WriteByte(0)
	h.WriteString(birthDate)
	return h.Sum64(), true
}

// PlaceholderPhone reports whether phone, normalised (NormalizePhone), is
// one entered for want of a number rather than a customer's: fewer than 7
// digits (no subscriber number), or one digit repeated after the first
// three ("010-0000-0000", "010-1111-1111", "000-0000-0000"). Customers who
// share one are no likely duplicates.
func PlaceholderPhone(phone string) bool {
	if len(phone) < 7 {
		return true
	}
	rest := phone[3:]
	return strings.Count(rest, rest[:1]) == len(rest)
}

// Pairs returns every likely duplicate pair, by the first id then the
// second: those of the groups of at most MaxDuplicateGroup customers.
func (d *Duplicates) Pairs() []DuplicatePair {
	out, _ := d.pairs()
	return out
}

// pairs returns Pairs and how many candidate pairs it compared (the work,
// for the tests: it must not grow with a crowded group).
func (d *Duplicates) pairs() (out []DuplicatePair, compared int) {
	out = []DuplicatePair{}
	for _, g := range d.groups {
		if g.set != nil { // crowded: not listed
			continue
		}
		for i, a := range g.ids {
			for _, b := range g.ids[i+1:] {
				compared++
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
	return out, compared
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

// WithheldSample is how many customer ids Withheld names per group.
const WithheldSample = 20

// WithheldValues is what the likely duplicate pairs leave out
// (docs/provenance.md, "placeholder and crowded values"): the customers
// whose phone is a placeholder, and each phone and birth date held by more
// than MaxDuplicateGroup customers, largest first. It is for whoever keeps
// the data clean at its source; like the pairs it names customers, never
// the values.
type WithheldValues struct {
	Placeholder WithheldGroup   `json:"placeholderPhones"`
	Crowded     []WithheldGroup `json:"crowded"`
}

// WithheldGroup is a count of customers and the first WithheldSample of
// their ids, in id order.
type WithheldGroup struct {
	Customers int      `json:"customers"`
	Sample    []string `json:"sample"`
}

// Withheld returns the placeholders and the crowded groups; groups of the
// same size by their first id.
func (d *Duplicates) Withheld() WithheldValues {
	out := WithheldValues{Placeholder: withheldGroup(d.placeholder), Crowded: []WithheldGroup{}}
	for _, g := range d.groups {
		if g.set != nil {
			out.Crowded = append(out.Crowded, withheldGroup(g.set))
		}
	}
	slices.SortFunc(out.Crowded, func(x, y WithheldGroup) int {
		if x.Customers != y.Customers {
			return y.Customers - x.Customers
		}
		return cmpString(x.Sample[0], y.Sample[0])
	})
	return out
}

func withheldGroup(ids map[string]struct{}) WithheldGroup {
	all := slices.Sorted(maps.Keys(ids))
	sample := make([]string, min(len(all), WithheldSample)) // [] when none, for JSON
	copy(sample, all)
	return WithheldGroup{Customers: len(all), Sample: sample}
}

// TakeWithheldChanged is TakeChanged for Withheld.
func (d *Duplicates) TakeWithheldChanged() bool {
	ch := d.withheldChanged
	d.withheldChanged = false
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

// WithheldValues returns what the pairs leave out (Duplicates.Withheld).
func (m *Memory) WithheldValues(context.Context) (w WithheldValues, err error) {
	m.view(func() { w = m.Dups.Withheld() })
	return w, nil
}
