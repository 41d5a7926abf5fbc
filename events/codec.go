package events

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"
)

// The record is the canonical binary form of an envelope, identical on every
// backend. Its layout:
//
//	format byte (1)
//	prevHash [32]
//	id [16]
//	stream, version, type, schema, recordedAt, occurredAt,
//	actor.id, actor.role, correlationId, causationId, data
//	hash [32]
//
// Strings and data are uvarint-length-prefixed; integers are uvarints and
// times are zigzag varint Unix nanoseconds (0 = unset). The hash is
// SHA-256 over every byte before it, which is SHA256(prevHash ‖
// canonical(envelope without hash)) of shared/DESIGN.md with the format byte
// leading. The position is not part of the record: backends such as
// KurrentDB assign it only at commit, and LedgerSealed covers log order.
const recordFormat = 1

// MaxEventSize is the largest record accepted for one event, in bytes.
const MaxEventSize = 64 << 10

// EncodeRecord fills in e.Hash from e.PrevHash and the other fields and
// returns the canonical record. e.Position is ignored.
func EncodeRecord(e *Envelope) []byte { return AppendRecord(make([]byte, 0, RecordBound(e)), e) }

// RecordBound returns an upper bound of the length of e's record.
func RecordBound(e *Envelope) int {
	return 1 + 32 + 16 + 32 + 10*12 + len(e.Stream) + len(e.Type) + len(e.Actor.ID) +
		len(e.Actor.Role) + len(e.CorrelationID) + len(e.CausationID) + len(e.Data)
}

// AppendRecord is EncodeRecord appending the record to dst: it fills in
// e.Hash and returns dst extended by the record, which e then holds (so
// dst's bytes from its old length on must not change). A store framing
// many events encodes them into one buffer this way (RecordBound sizes it).
func AppendRecord(dst []byte, e *Envelope) []byte {
	start := len(dst)
	b := append(dst, recordFormat)
	b = append(b, e.PrevHash[:]...)
	b = append(b, e.ID[:]...)
	b = appendString(b, e.Stream)
	b = binary.AppendUvarint(b, e.Version)
	b = appendString(b, e.Type)
	b = binary.AppendUvarint(b, uint64(e.Schema))
	b = binary.AppendVarint(b, unixNano(e.RecordedAt))
	b = binary.AppendVarint(b, unixNano(e.OccurredAt))
	b = appendString(b, e.Actor.ID)
	b = appendString(b, e.Actor.Role)
	b = appendString(b, e.CorrelationID)
	b = appendString(b, e.CausationID)
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	e.Hash = sha256.Sum256(b[start:])
	b = append(b, e.Hash[:]...)
	e.record = b[start:len(b):len(b)]
	return b
}

// DecodeRecord decodes a record produced by EncodeRecord into e, setting
// every field but Position. The strings and Data of e share memory with b,
// which the caller must not modify afterwards. It does not verify the hash;
// see Envelope.Verify.
func DecodeRecord(b []byte, e *Envelope) error {
	d := decoder{b: b}
	if len(b) < 1+32+16+32 || b[0] != recordFormat {
		return Errorf(Internal, "record: unknown format or truncated (%d bytes)", len(b))
	}
	d.off = 1
	copy(e.PrevHash[:], d.take(32))
	copy(e.ID[:], d.take(16))
	e.Stream = d.str()
	e.Version = d.uvarint()
	e.Type = d.str()
	e.Schema = int(d.uvarint())
	e.RecordedAt = fromUnixNano(d.varint())
	e.OccurredAt = fromUnixNano(d.varint())
	e.Actor.ID = d.str()
	e.Actor.Role = d.str()
	e.CorrelationID = d.str()
	e.CausationID = d.str()
	e.Data = d.bytes()
	if d.err != nil || len(b)-d.off != 32 {
		return Errorf(Internal, "record: malformed at byte %d", d.off)
	}
	copy(e.Hash[:], b[d.off:])
	e.record = b
	return nil
}

// Record returns the canonical bytes of e: those it was decoded from, or a
// fresh encoding (which also recomputes e.Hash) if it was built in memory.
func (e *Envelope) Record() []byte {
	if e.record == nil {
		return EncodeRecord(e)
	}
	return e.record
}

// Verify checks that e's stored hash is the SHA-256 of its record and that
// its prevHash equals prev. The error has code Internal and says which.
func (e *Envelope) Verify(prev Hash) error {
	if e.PrevHash != prev {
		return Errorf(Internal, "%s@%d: prevHash %s does not match the previous event's hash %s",
			e.Stream, e.Version, short(e.PrevHash), short(prev))
	}
	rec := e.record
	if rec == nil {
		c := *e
		rec = EncodeRecord(&c)
	}
	if sha256.Sum256(rec[:len(rec)-32]) != e.Hash {
		return Errorf(Internal, "%s@%d: hash does not match the event's content", e.Stream, e.Version)
	}
	return nil
}

func short(h Hash) string { return h.String()[:12] }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n < 0 || d.off+n > len(d.b) {
		d.err = fmt.Errorf("truncated")
		return nil
	}
	s := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return s
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("bad uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("length out of range")
		return nil
	}
	return d.take(int(n))
}

// str returns a string sharing memory with the record, which is never
// modified after decoding: one allocation per event (the record copy) instead
// of one per field keeps whole-log reads fast.
func (d *decoder) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
