package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A customer's brief is the part of its fold state that the worklist and
// the customer lists read (Customers.Worklist, List and Summaries): the
// id, branch, name, tier, advisor and its kind, consents, stream version,
// the instants of registration, verification and last contact, of the life
// events and last pitches only what a reason to call is decided by, and
// the deposit balances VIP at risk compares (vip_risk.go). A Customers
// read model restored from briefs (RestoreCustomers) answers those three
// queries exactly as one restored from whole records. Every other query
// needs the whole record.
//
// A read store keeps the brief beside the whole record so that a
// 600-customer worklist does not decode 600 timelines: in a binary form
// of a few hundred bytes (about a third of the JSON of the same fields),
// which decodes about ten times faster than that JSON would.
//
// A query that comes to read another field of the fold must have it
// added here (and the version raised); TestBriefAnswersAsTheRecord
// compares the answers on a generated bank.

// briefVersion is the first byte of a brief's binary form. Version 2
// added the advisor's kind and the balances after the pitches; a version 1
// brief still decodes, to a record without them (so without VIP at risk
// until its brief is written again). A version 2 brief may end with the
// customer's data conflicts (provenance.go); one without any is byte for
// byte the brief of the releases before them.
const briefVersion = 2

// CurrentBrief reports whether b is a brief of the version MarshalBrief
// writes. A read store rewrites older ones, and the whole records written
// with them, from its folds: a record of an earlier release keeps no
// balances, so it shows no VIP at risk until it is written again.
func CurrentBrief(b []byte) bool { return len(b) > 0 && b[0] == briefVersion }

// MarshalBrief returns the record's brief in its binary form.
func (r CustomerRecord) MarshalBrief() []byte {
	c := r.c
	b := make([]byte, 0, 112+len(c.name)+32*len(c.life)+48*len(c.pitches)+12*len(c.balances))
	b = append(b, briefVersion)
	for _, s := range []string{c.id, c.branchID, c.name, c.tier, c.advisorID} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(c.consent))
	b = binary.AppendVarint(b, c.registeredAt)
	b = binary.AppendVarint(b, c.verifiedAt)
	b = binary.AppendVarint(b, c.contactAt)
	b = binary.AppendUvarint(b, c.version)
	b = binary.AppendUvarint(b, uint64(len(c.life)))
	for _, l := range c.life {
		b = appendString(appendString(b, l.Kind), l.ExpectedOn)
	}
	b = binary.AppendUvarint(b, uint64(len(c.pitches)))
	for _, p := range c.pitches {
		b = appendString(appendString(appendString(b, p.Product), p.Outcome), p.FollowUpOn)
	}
	b = appendString(b, c.advisorKind)
	b = binary.AppendUvarint(b, uint64(len(c.balances)))
	for _, p := range c.balances {
		b = binary.AppendVarint(binary.AppendVarint(b, int64(p.day)), p.balance)
	}
	return appendConflicts(b, c)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// UnmarshalBrief replaces r with the brief MarshalBrief encoded: a record
// holding only the brief's fields. A brief that is cut short, has bytes
// left over or a version other than 1 and 2 is an error.
func (r *CustomerRecord) UnmarshalBrief(b []byte) error {
	if len(b) == 0 || b[0] != 1 && b[0] != briefVersion {
		return errors.New("customer brief: unknown version")
	}
	// One string holds every field's bytes: the fields are slices of it
	// (a dozen allocations fewer per customer; a brief is short, and a
	// record keeps all its fields alive anyway).
	d := briefDecoder{b: b[1:], all: string(b[1:])}
	c := &customer{}
	c.id, c.branchID, c.name, c.tier, c.advisorID = d.string(), d.string(), d.string(), d.string(), d.string()
	consent := d.uvarint()
	c.consent = uint16(consent)
	c.registeredAt, c.verifiedAt, c.contactAt = d.varint(), d.varint(), d.varint()
	c.version = d.uvarint()
	if n := d.count(2); n > 0 {
		c.life = make([]LifeEvent, n)
		for i := range c.life {
			c.life[i] = LifeEvent{Kind: d.string(), ExpectedOn: d.string()}
		}
	}
	if n := d.count(3); n > 0 {
		c.pitches = make([]PitchOutcome, n)
		for i := range c.pitches {
			c.pitches[i] = PitchOutcome{Product: d.string(), Outcome: d.string(), FollowUpOn: d.string()}
		}
	}
	if b[0] >= 2 {
		c.advisorKind = d.string()
		c.balances = d.balances()
		c.prov = d.conflicts()
	}
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) > 0:
		return fmt.Errorf("customer brief: %d bytes left over", len(d.b))
	case consent > 0xffff:
		return errors.New("customer brief: consents out of range")
	}
	r.c = c
	return nil
}

// briefDecoder reads a brief's fields; past the first error every read
// returns zero, and err tells what went wrong.
type briefDecoder struct {
	b   []byte // what is left to read
	all string // the bytes of b when decoding began
	err error
}

var errBriefShort = errors.New("customer brief: cut short")

func (d *briefDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBriefShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *briefDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBriefShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *briefDecoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errBriefShort
		return ""
	}
	at := len(d.all) - len(d.b)
	d.b = d.b[n:]
	return d.all[at : at+int(n)]
}

// balances reads the balances of a version 2 brief: a day and an amount
// each, days that fit in 32 bits.
func (d *briefDecoder) balances() []balancePoint {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]balancePoint, n)
	for i := range ps {
		day := d.varint()
		if day != int64(int32(day)) && d.err == nil {
			d.err = errors.New("customer brief: balance day out of range")
		}
		ps[i] = balancePoint{day: int32(day), balance: d.varint()}
	}
	return ps
}

// count reads the length of a list whose entries hold fields strings
// each, refusing one the bytes left could not hold (each string takes at
// least a byte), so that a corrupt length allocates nothing large.
func (d *briefDecoder) count(fields int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/fields) {
		d.err = errBriefShort
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}
