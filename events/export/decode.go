package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// line is a CloudEvents line as Decode reads it.
type line struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema"`
	Position        string          `json:"position"`
	StreamVersion   *uint64         `json:"streamversion"`
	SchemaVersion   *int            `json:"schemaversion"`
	Hash            *events.Hash    `json:"hash"`
	PrevHash        *events.Hash    `json:"prevhash"`
	OccurredAt      string          `json:"occurredat"`
	ActorID         string          `json:"actorid"`
	ActorRole       string          `json:"actorrole"`
	CorrelationID   string          `json:"correlationid"`
	CausationID     string          `json:"causationid"`
	Erased          bool            `json:"erased"`
	StoredData      []byte          `json:"storeddata"` // base64
	Data            json.RawMessage `json:"data"`
}

// Decode reads one line of an export (with or without its line break)
// back into the envelope it was written from: every field, Position, and
// Data as stored (from storeddata when the line has it), so that
// Envelope.Verify checks the line's hash against its content. Decode does
// not verify: a line whose content was altered decodes, and Verify then
// fails. The error is Invalid and says what is missing or malformed.
func Decode(b []byte) (events.Envelope, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return events.Envelope{}, events.Errorf(events.Invalid, "export line: %v", err)
	}
	if dec.More() {
		return events.Envelope{}, events.Errorf(events.Invalid, "export line: more than one JSON value")
	}
	return l.envelope()
}

func (l *line) envelope() (events.Envelope, error) {
	var e events.Envelope
	bad := func(what string) (events.Envelope, error) {
		return events.Envelope{}, events.Errorf(events.Invalid, "export line %s: %s", l.ID, what)
	}
	if l.SpecVersion != "1.0" {
		return bad("specversion is not 1.0")
	}
	id, err := ulid.ParseStrict(l.ID)
	if err != nil {
		return bad("id is not a ULID")
	}
	typ, ok := strings.CutPrefix(l.Type, "dangol.")
	if !ok || typ == "" {
		return bad(`type does not start with "dangol."`)
	}
	if l.Subject == "" || l.StreamVersion == nil || l.SchemaVersion == nil || l.Hash == nil || l.PrevHash == nil || l.ActorID == "" {
		return bad("subject, streamversion, schemaversion, hash, prevhash or actorid is missing")
	}
	e = events.Envelope{ID: id, Stream: l.Subject, Version: *l.StreamVersion, Type: typ, Schema: *l.SchemaVersion,
		Actor: events.Actor{ID: l.ActorID, Role: l.ActorRole}, CorrelationID: l.CorrelationID, CausationID: l.CausationID,
		Hash: *l.Hash, PrevHash: *l.PrevHash}
	if e.Position, err = events.ParsePosition(l.Position); err != nil || e.Position.IsZero() {
		return bad("position is not a log position")
	}
	if e.RecordedAt, err = parseTime(l.Time); err != nil || e.RecordedAt.IsZero() {
		return bad("time is not an RFC 3339 time")
	}
	if l.OccurredAt != "" {
		if e.OccurredAt, err = parseTime(l.OccurredAt); err != nil {
			return bad("occurredat is not an RFC 3339 time")
		}
	}
	switch {
	case l.StoredData != nil:
		e.Data = l.StoredData
	case l.Data != nil:
		e.Data = l.Data
	default:
		return bad("data is missing")
	}
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}
