package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Data is the body of one catalog event type. Implementations are pointers
// to structs whose JSON field order is the canonical order.
type Data interface {
	// EventType returns the catalog name, e.g. "ContactLogged".
	EventType() string
	// Validate trims strings, normalises times to UTC, and checks every rule
	// of the catalog. It returns an Invalid *Error whose Field is the JSON
	// path inside data ("channel", "items[1].score").
	Validate() error
}

// Personal is implemented by data holding personal fields (names, contact
// details, free text about the customer). EachPersonal calls f with a
// pointer to each such field, so the encryption layer can seal or open it in
// place. Fields are visited in a stable order.
type Personal interface {
	Data
	EachPersonal(f func(field string, value *string))
}

// Upcaster turns the JSON of one schema version into the next.
type Upcaster func(old json.RawMessage) (json.RawMessage, error)

type entry struct {
	name      string
	schema    int // current schema version
	new       func() Data
	upcasters map[int]Upcaster // from version -> version+1
}

var registry = map[string]*entry{}

// Register adds a type to the catalog at schema version 1. It panics on a
// duplicate; call it from init.
func Register(newData func() Data) {
	d := newData()
	name := d.EventType()
	if _, dup := registry[name]; dup {
		panic("events: duplicate type " + name)
	}
	registry[name] = &entry{name: name, schema: 1, new: newData, upcasters: map[int]Upcaster{}}
}

// RegisterUpcaster declares that typ's current schema is from+1 and that
// events stored at schema from are read through up. Decode chains upcasters,
// so a v1 event is read as v3 through 1→2 and 2→3. Call it from init, after
// Register, in increasing order of from.
func RegisterUpcaster(typ string, from int, up Upcaster) {
	e, ok := registry[typ]
	if !ok || from != e.schema {
		panic(fmt.Sprintf("events: upcaster %s v%d does not follow the current schema", typ, from))
	}
	e.upcasters[from] = up
	e.schema = from + 1
}

// Types returns the names of every catalog type, sorted.
func Types() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Schema returns the current schema version of typ, or 0 if it is unknown.
func Schema(typ string) int {
	if e, ok := registry[typ]; ok {
		return e.schema
	}
	return 0
}

// New returns an empty value of the registered type, or nil.
func New(typ string) Data {
	if e, ok := registry[typ]; ok {
		return e.new()
	}
	return nil
}

// Encode validates d and returns its canonical JSON (struct field order, no
// insignificant whitespace). Errors are Invalid.
func Encode(d Data) (json.RawMessage, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return marshal(d)
}

func marshal(d Data) (json.RawMessage, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, &Error{Code: Invalid, Message: "cannot encode", Err: err}
	}
	if len(b) > MaxEventSize-1024 {
		return nil, InvalidField("", "event data exceeds %d bytes", MaxEventSize-1024)
	}
	return b, nil
}

// Parse decodes untrusted JSON into the registered type typ, strictly:
// invalid UTF-8, unknown fields, wrong types, trailing data and any catalog
// rule fail with an Invalid error naming the field.
func Parse(typ string, raw []byte) (Data, error) {
	d := New(typ)
	if d == nil {
		return nil, InvalidField("type", "unknown event type %q", typ)
	}
	if err := Strict(raw, d); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Strict decodes raw into v rejecting invalid UTF-8, unknown fields, wrong
// types, and trailing data, with an Invalid error naming the field.
func Strict(raw []byte, v any) error {
	if !utf8.Valid(raw) {
		return InvalidField("", "body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, raw, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return InvalidField("", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error, raw []byte, v any) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return InvalidField(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return InvalidField("", "malformed JSON at byte %d", se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return InvalidField("", "body is empty or truncated JSON")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return InvalidField(strings.Trim(f, `"`), "unknown field")
	}
	// Errors from UnmarshalJSON/UnmarshalText methods (times, positions).
	if e := unmarshalerError(raw, v); e != nil {
		return e
	}
	return InvalidField("", "%s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "uint64", "uint32", "uint", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return k
}

// Decode returns the data of a stored event as its registered type at the
// current schema, upcasting older schema versions. It does not re-validate:
// what is stored passed validation when it was appended. Unknown types are
// NotFound; undecodable data is Internal.
func Decode(e *Envelope) (Data, error) {
	ent, ok := registry[e.Type]
	if !ok {
		return nil, Errorf(NotFound, "unknown event type %q", e.Type)
	}
	raw := e.Data
	for v := e.Schema; v < ent.schema; v++ {
		up := ent.upcasters[v]
		if up == nil {
			return nil, Errorf(Internal, "%s: no upcaster from schema %d", e.Type, v)
		}
		var err error
		if raw, err = up(raw); err != nil {
			return nil, &Error{Code: Internal, Message: fmt.Sprintf("%s: upcast from schema %d", e.Type, v), Err: err}
		}
	}
	if d, ok := decodeFast(e.Type, raw); ok {
		return d, nil
	}
	d := ent.new()
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, &Error{Code: Internal, Message: fmt.Sprintf("decode %s@%d", e.Stream, e.Version), Err: err}
	}
	return d, nil
}

// MaxOccurredAhead is how far after the receiving clock a reported time of
// occurrence may lie: a client's clock may run a little fast, but a contact
// or pitch dated later than that has not happened yet, and would head the
// customer's timeline until it had.
const MaxOccurredAhead = 5 * time.Minute

// CheckOccurred returns an Invalid error naming the field (occurredAt, or
// startedAt for a call) if d reports, through an Occurred method, a time
// more than MaxOccurredAhead after now. Data that reports no time passes.
// Validate has no clock (a stored event must decode the same any day), so
// the edges that append on a caller's word call this with theirs.
func CheckOccurred(d Data, now time.Time) error {
	o, ok := d.(interface{ Occurred() time.Time })
	if !ok || !o.Occurred().After(now.Add(MaxOccurredAhead)) {
		return nil
	}
	field := "occurredAt"
	if _, call := d.(*CallRecorded); call {
		field = "startedAt"
	}
	return InvalidField(field, "must not be in the future (at most %s ahead of the server's clock, %s)",
		MaxOccurredAhead, now.UTC().Format(time.RFC3339))
}

// Meta is what NewEvent needs besides the data.
type Meta struct {
	ID            [16]byte // zero: a new ULID
	Actor         Actor
	CorrelationID string
	CausationID   string

	// Seal, if set, encrypts the personal fields of validated data in place
	// before it is encoded (see Sealer). It is called only for Personal data.
	Seal func(Personal) error
}

// NewEvent validates d and wraps it into an Event at the current schema.
// Personal fields are sealed by m.Seal after validation. Errors are Invalid,
// or whatever m.Seal returns.
func NewEvent(d Data, m Meta) (Event, error) {
	if err := d.Validate(); err != nil {
		return Event{}, err
	}
	if p, ok := d.(Personal); ok && m.Seal != nil {
		if err := m.Seal(p); err != nil {
			return Event{}, err
		}
	}
	raw, err := marshal(d)
	if err != nil {
		return Event{}, err
	}
	ev := Event{
		ID: m.ID, Type: d.EventType(), Schema: Schema(d.EventType()), Actor: m.Actor,
		CorrelationID: m.CorrelationID, CausationID: m.CausationID, Data: raw,
	}
	if ev.Schema == 0 {
		return Event{}, InvalidField("type", "type %q is not registered", d.EventType())
	}
	if ev.ID == [16]byte{} {
		ev.ID = NewID()
	}
	if o, ok := d.(interface{ Occurred() time.Time }); ok {
		ev.OccurredAt = o.Occurred()
	}
	return ev, nil
}
