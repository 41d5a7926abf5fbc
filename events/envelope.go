package events

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"
)

// Hash is a SHA-256 digest in the per-stream chain.
type Hash [32]byte

// String returns the lowercase hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a 64-digit hex hash.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return Errorf(Invalid, "hash must be 64 hex digits")
	}
	_, err := hex.Decode(h[:], b)
	if err != nil {
		return Errorf(Invalid, "hash must be 64 hex digits")
	}
	return nil
}

// Actor is who appended an event: a staff member with their role, or a
// system component ("system:sampler").
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role,omitempty"`
}

// System returns the actor for a component of dangol itself.
func System(component string) Actor { return Actor{ID: "system:" + component} }

// Event is what a caller hands to Store.Append: the envelope fields the caller
// chooses. The store assigns version, position, recordedAt and the hashes.
type Event struct {
	ID            ulid.ULID       // idempotency key; must be set (see NewID)
	Type          string          // catalog type name, e.g. "ContactLogged"
	Schema        int             // schema version of Data, >= 1
	OccurredAt    time.Time       // when it happened, as reported; zero if not reported
	Actor         Actor           // who appends it
	CorrelationID string          // ties a command's events together; optional
	CausationID   string          // the event or command that caused this one; optional
	Data          json.RawMessage // a JSON object, already validated and (for personal fields) encrypted
}

// Envelope is a stored event with every field of shared/DESIGN.md.
type Envelope struct {
	ID            ulid.ULID       `json:"id"`
	Stream        string          `json:"stream"`
	Version       uint64          `json:"version"`
	Position      Position        `json:"position"`
	Type          string          `json:"type"`
	Schema        int             `json:"schema"`
	RecordedAt    time.Time       `json:"recordedAt"`
	OccurredAt    time.Time       `json:"occurredAt,omitzero"`
	Actor         Actor           `json:"actor"`
	CorrelationID string          `json:"correlationId,omitempty"`
	CausationID   string          `json:"causationId,omitempty"`
	Data          json.RawMessage `json:"data"`
	PrevHash      Hash            `json:"prevHash"`
	Hash          Hash            `json:"hash"`

	// record holds the canonical bytes this envelope was decoded from, so
	// that verification hashes exactly what is stored.
	record []byte
}

// Event returns the caller-chosen part of e, as it was appended.
func (e *Envelope) Event() Event {
	return Event{
		ID: e.ID, Type: e.Type, Schema: e.Schema, OccurredAt: e.OccurredAt, Actor: e.Actor,
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, Data: e.Data,
	}
}
