package projections

// Brief returns the part of the record that the worklist and the customer
// lists read (Customers.Worklist, List and Summaries): the name, branch,
// tier, advisor, consents, stream version, the instants of registration,
// verification and last contact, and of the life events and last pitches
// only what a reason to call is decided by. A Customers read model
// restored from briefs (RestoreCustomers) answers those three queries
// exactly as one restored from whole records, and is a fraction of the
// size to store and decode: a read store keeps the brief beside the whole
// record so that a 600-customer worklist does not decode 600 timelines.
// Every other query needs the whole record.
//
// A query that comes to read another field of the fold must have it copied
// here too; TestBriefAnswersAsTheRecord compares the answers on a
// generated bank.
func (r CustomerRecord) Brief() CustomerRecord {
	c := r.c
	b := &customer{id: c.id, branchID: c.branchID, name: c.name, tier: c.tier, advisorID: c.advisorID,
		consent: c.consent, registeredAt: c.registeredAt, verifiedAt: c.verifiedAt, contactAt: c.contactAt,
		version: c.version}
	if len(c.life) > 0 {
		b.life = make([]LifeEvent, len(c.life))
		for i, l := range c.life {
			b.life[i] = LifeEvent{Kind: l.Kind, ExpectedOn: l.ExpectedOn}
		}
	}
	if len(c.pitches) > 0 {
		b.pitches = make([]PitchOutcome, len(c.pitches))
		for i, p := range c.pitches {
			b.pitches[i] = PitchOutcome{Product: p.Product, Outcome: p.Outcome, FollowUpOn: p.FollowUpOn}
		}
	}
	return CustomerRecord{c: b}
}
