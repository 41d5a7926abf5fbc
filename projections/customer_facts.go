package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A customer's facts are the part of its fold state that a campaign's
// criteria and consent are judged by (Campaigns.Preview): the id, branch,
// tier, consents, last contact, whether erased, the latest deposit
// balance, the products held and the life events' kinds and expected
// days. None is a personal field (events' EachPersonal), so a read store
// may keep them in clear beside a sealed record; a Campaigns read model
// over customers restored from facts (UnmarshalFacts, RestoreCustomers)
// previews exactly as one over whole records, which a builder's live
// count over 100,000 customers needs (a few dozen bytes each, not the
// record's JSON). TestFactsPreviewAsTheRecord compares them: a criterion
// that comes to read another field must have it added here (and the
// version raised).

// factsVersion is the first byte of the facts' binary form.
const factsVersion = 1

// Bits of the facts' flags byte.
const (
	factErased = 1 << iota
	factFinancials
)

// MarshalFacts returns the record's facts in their binary form.
func (r CustomerRecord) MarshalFacts() []byte {
	c := r.c
	b := make([]byte, 0, 48+16*len(c.holdings)+24*len(c.life))
	b = append(b, factsVersion)
	for _, s := range []string{c.id, c.branchID, c.tier} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(c.consent))
	b = binary.AppendVarint(b, c.contactAt)
	var flags byte
	if c.erased {
		flags |= factErased
	}
	if c.fin != nil {
		flags |= factFinancials
	}
	b = append(b, flags)
	if c.fin != nil {
		b = binary.AppendVarint(b, c.fin.DepositBalance)
	}
	b = binary.AppendUvarint(b, uint64(len(c.holdings)))
	for _, h := range c.holdings {
		b = appendString(b, h.Product)
	}
	b = binary.AppendUvarint(b, uint64(len(c.life)))
	for _, l := range c.life {
		b = appendString(appendString(b, l.Kind), l.ExpectedOn)
	}
	return b
}

// UnmarshalFacts replaces r with the facts MarshalFacts encoded: a record
// holding only those fields. Facts cut short, with bytes left over or of
// another version are an error.
func (r *CustomerRecord) UnmarshalFacts(b []byte) error {
	if len(b) < 2 || b[0] != factsVersion {
		return errors.New("customer facts: unknown version")
	}
	d := briefDecoder{b: b[1:], all: string(b[1:])}
	c := &customer{}
	c.id, c.branchID, c.tier = d.string(), d.string(), d.string()
	consent := d.uvarint()
	c.consent = uint16(consent)
	c.contactAt = d.varint()
	flags := d.byte()
	c.erased = flags&factErased != 0
	if flags&factFinancials != 0 {
		c.fin = &Financials{DepositBalance: d.varint()}
	}
	if n := d.count(1); n > 0 {
		c.holdings = make([]Holding, n)
		for i := range c.holdings {
			c.holdings[i] = Holding{Product: d.string()}
		}
	}
	if n := d.count(2); n > 0 {
		c.life = make([]LifeEvent, n)
		for i := range c.life {
			c.life[i] = LifeEvent{Kind: d.string(), ExpectedOn: d.string()}
		}
	}
	switch {
	case d.err != nil:
		return fmt.Errorf("customer facts: %w", d.err)
	case len(d.b) > 0:
		return fmt.Errorf("customer facts: %d bytes left over", len(d.b))
	case consent > 0xffff:
		return errors.New("customer facts: consents out of range")
	}
	r.c = c
	return nil
}

// byte reads one byte.
func (d *briefDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errBriefShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
