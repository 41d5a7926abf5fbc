package importer

import (
	"crypto/sha256"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// eventID is the id of the event of type typ that the import of a source
// record makes: the same system, kind, record and version give the same
// id on every run, so the store finds a second import's events already
// appended and writes nothing (events.Store.Append's idempotency). All of
// its 128 bits are the first bytes of a SHA-256 of those parts, each
// length-prefixed so that no two records' parts run together alike.
// Nothing else of the row goes in, observedAt neither: a record re-sent
// at the same version with any value changed meets the stored event, and
// the import compares the two (run.sameAsStored) and rejects the row.
func eventID(system string, kind Kind, src events.RecordSource, typ string) ulid.ULID {
	h := sha256.New()
	for _, part := range []string{"dangol-import/v1", system, string(kind), src.Ref, src.Version, typ} {
		n := len(part)
		h.Write([]byte{byte(n >> 8), byte(n)})
		h.Write([]byte(part))
	}
	var id ulid.ULID
	copy(id[:], h.Sum(nil))
	return id
}
