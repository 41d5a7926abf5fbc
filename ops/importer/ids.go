package importer

import (
	"crypto/sha256"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// eventID is the id of the event of type typ that the import of a source
// record makes: the same system, kind, record and version give the same
// id on every run, so the store finds a second import's events already
// appended and writes nothing (events.Store.Append's idempotency). Its
// time part is the record's observedAt (the epoch for a time before it),
// its 80 random bits the first bytes of a SHA-256 of the rest, each part
// length-prefixed so that no two records' parts run together alike.
func eventID(system string, kind Kind, src events.RecordSource, typ string) ulid.ULID {
	h := sha256.New()
	for _, part := range []string{"dangol-import/v1", system, string(kind), src.Ref, src.Version, typ} {
		n := len(part)
		h.Write([]byte{byte(n >> 8), byte(n)})
		h.Write([]byte(part))
	}
	sum := h.Sum(nil)
	var id ulid.ULID
	ms := src.ObservedAt.UnixMilli()
	if ms < 0 || uint64(ms) > ulid.MaxTime() {
		ms = 0
	}
	_ = id.SetTime(uint64(ms)) // in range: checked above
	copy(id[6:], sum)
	return id
}
