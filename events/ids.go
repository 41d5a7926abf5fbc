package events

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new ULID: time-ordered, and monotonic within this process.
func NewID() ulid.ULID {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
}

// ParseID parses a ULID in its canonical 26-character form. The error has
// code Invalid and names field.
func ParseID(field, s string) (ulid.ULID, error) {
	id, err := ulid.ParseStrict(s)
	if err != nil {
		return ulid.ULID{}, InvalidField(field, "must be a ULID (26 characters of Crockford base32)")
	}
	return id, nil
}
