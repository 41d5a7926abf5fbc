package events

// Event types of the ledger stream.

func init() {
	Register(func() Data { return new(LedgerSealed) })
}

// LedgerSealed closes the range fromPosition..toPosition of the log (both
// included) with the count of events in it, a Merkle root over their hashes
// in log order, and the SHA-256 of the previous seal (64 zeros for the first
// seal). An auditor who keeps the latest seal's hash outside the system can
// later prove the log up to it complete and unaltered. Positions are JSON
// numbers, or "commit/prepare" strings on KurrentDB.
type LedgerSealed struct {
	FromPosition Position `json:"fromPosition"`
	ToPosition   Position `json:"toPosition"`
	Count        int64    `json:"count"`
	MerkleRoot   string   `json:"merkleRoot"`          // 64 lowercase hex
	PrevSealHash string   `json:"prevSealHash"`        // 64 lowercase hex
	Signature    string   `json:"signature,omitempty"` // base64 Ed25519 signature (64 bytes), optional
}

// EventType returns "LedgerSealed".
func (*LedgerSealed) EventType() string { return "LedgerSealed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
// Positions are required: no event is at Start, the position before the
// first event, so a zero position reads as missing.
func (d *LedgerSealed) Validate() error {
	c := check{}
	c.present("fromPosition", !d.FromPosition.IsZero())
	c.present("toPosition", !d.ToPosition.IsZero())
	if d.ToPosition.Less(d.FromPosition) {
		c.fail("toPosition", "must not be before fromPosition")
	}
	c.nonZero("count", d.Count)
	c.rangeInt("count", d.Count, 1, 1<<53-1)
	c.hex64("merkleRoot", &d.MerkleRoot, true)
	c.hex64("prevSealHash", &d.PrevSealHash, true)
	c.signature("signature", &d.Signature)
	return c.errOrNil()
}
