package events

import "unicode/utf8"

// Event types of the ledger stream.

func init() {
	Register(func() Data { return new(LedgerSealed) })
}

// LedgerSealed seals the first treeSize events of the log: merkleRoot is the
// root of the RFC 6962 Merkle tree (events/seal) over their hashes in log
// order, every event included (earlier seals too; a seal never covers
// itself). fromPosition..toPosition (both included) are the positions of
// the count events this seal covers that the previous one did not;
// prevSealHash is the previous seal event's hash (64 zeros for the first).
// checkpoint is the signed note of the tree (C2SP checkpoint text: origin,
// treeSize, base64 root; an Ed25519 note signature) and signature the raw
// base64 Ed25519 signature of its text. An auditor who keeps the latest
// seal's hash or checkpoint outside the system can later prove the log up
// to it complete and unaltered. Positions are JSON numbers, or
// "commit/prepare" strings on KurrentDB.
type LedgerSealed struct {
	FromPosition Position `json:"fromPosition"`
	ToPosition   Position `json:"toPosition"`
	Count        int64    `json:"count"`
	MerkleRoot   string   `json:"merkleRoot"`           // 64 lowercase hex
	PrevSealHash string   `json:"prevSealHash"`         // 64 lowercase hex
	Signature    string   `json:"signature,omitempty"`  // base64 Ed25519 signature (64 bytes), optional
	TreeSize     int64    `json:"treeSize,omitempty"`   // leaves of the tree merkleRoot is the root of
	Checkpoint   string   `json:"checkpoint,omitempty"` // the signed note of (origin, treeSize, merkleRoot)
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
	c.rangeInt("treeSize", d.TreeSize, 0, 1<<53-1)
	if d.TreeSize > 0 && d.TreeSize < d.Count {
		c.fail("treeSize", "must not be below count")
	}
	// Not trimmed: a signed note ends with a line break.
	switch {
	case !utf8.ValidString(d.Checkpoint):
		c.fail("checkpoint", "must be valid UTF-8")
	case len(d.Checkpoint) > 4096:
		c.fail("checkpoint", "must be at most 4096 bytes")
	default:
		c.noControl("checkpoint", d.Checkpoint, "\n")
	}
	return c.errOrNil()
}
