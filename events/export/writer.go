// Package export writes the log as JSON Lines of CloudEvents 1.0, one
// event per line, and reads such lines back into envelopes whose hashes
// still verify: the auditor's copy of the ledger, to keep and to check
// outside the system (docs/audit.md, "Export").
//
// A line holds, in this order: specversion "1.0"; id (the event's ULID);
// source "urn:dangol:<origin>"; type "dangol.<Type>"; subject (the
// stream); time (recordedAt, RFC 3339 with nanoseconds, UTC);
// datacontenttype "application/json"; dataschema
// "urn:dangol:schema:<Type>:<schema>"; the extension attributes position
// (Position.String()), streamversion and schemaversion (integers), hash
// and prevhash (64 hex digits), occurredat (omitted when zero), actorid,
// actorrole, correlationid and causationid (each omitted when empty);
// storeddata and erased where they apply (below); and data, the stored
// data JSON verbatim: personal fields stay ciphertext.
//
// storeddata is the base64 of the stored data bytes, present when data is
// not those bytes: in an export in clear, for an event whose personal
// fields were decrypted (data is then the clear JSON), and for stored bytes
// that cannot stand verbatim in a line (white space around or line breaks
// inside; data is then their compact form). Decode takes the stored bytes
// from storeddata when it is there, so the hash verifies either way.
// erased (true) marks, in an export in clear, an event of a customer whose
// data key was destroyed: its data stays ciphertext.
package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// ContentType is the media type of an export: JSON Lines, one CloudEvent
// per line (the CloudEvents JSON format's structured mode, one event a
// line rather than a batch array).
const ContentType = "application/x-ndjson"

// Writer writes events as CloudEvents lines to an io.Writer, one Write
// call per line through a buffer it reuses, and keeps the count and the
// SHA-256 of every byte written. A Writer is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	origin string
	buf    []byte
	sum    hash.Hash
	count  int64
	err    error
}

// NewWriter returns a Writer of w for the log of origin (the sealing key's
// name: the lines' source is "urn:dangol:" + origin).
func NewWriter(w io.Writer, origin string) *Writer {
	return &Writer{w: w, origin: origin, buf: make([]byte, 0, 4096), sum: sha256.New()}
}

// Write writes e as one line. With clearData nil the line's data is e's
// stored data verbatim; otherwise clearData (compact JSON: e's data with
// its personal fields decrypted) is the data and the stored bytes go in
// storeddata. Errors: Invalid for clearData that is not compact JSON, or
// the io.Writer's error, which every later Write returns too.
func (w *Writer) Write(e *events.Envelope, clearData json.RawMessage) error {
	if clearData != nil && !standsVerbatim(clearData) {
		return events.Errorf(events.Invalid, "export %s@%d: clear data is not compact JSON", e.Stream, e.Version)
	}
	return w.write(e, clearData, false)
}

// WriteErased writes e, an event of a customer whose data key was
// destroyed, in an export in clear: its stored data (ciphertext) with the
// attribute erased. Errors: those of Write.
func (w *Writer) WriteErased(e *events.Envelope) error { return w.write(e, nil, true) }

func (w *Writer) write(e *events.Envelope, clearData json.RawMessage, erased bool) error {
	if w.err != nil {
		return w.err
	}
	w.buf = append(appendEvent(w.buf[:0], w.origin, e, clearData, erased), '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	w.sum.Write(w.buf)
	w.count++
	return nil
}

// Count returns how many lines were written.
func (w *Writer) Count() int64 { return w.count }

// Sum returns the SHA-256 of every byte written so far.
func (w *Writer) Sum() [sha256.Size]byte {
	var s [sha256.Size]byte
	w.sum.Sum(s[:0])
	return s
}

// Event returns e as one CloudEvent JSON object of origin's log, as a line
// of an export holds it without its line break: the manifest's covering
// seal.
func Event(origin string, e *events.Envelope) json.RawMessage {
	return appendEvent(nil, origin, e, nil, false)
}

// appendEvent appends e's CloudEvent JSON object to b.
func appendEvent(b []byte, origin string, e *events.Envelope, clearData json.RawMessage, erased bool) []byte {
	b = append(b, `{"specversion":"1.0","id":"`...)
	var id [ulid.EncodedSize]byte
	_ = e.ID.MarshalTextTo(id[:]) // fails only for a short buffer
	b = append(b, id[:]...)
	b = append(b, `","source":`...)
	b = appendString(b, "urn:dangol:", origin)
	b = append(b, `,"type":`...)
	b = appendString(b, "dangol.", e.Type)
	b = append(b, `,"subject":`...)
	b = appendString(b, "", e.Stream)
	b = append(b, `,"time":"`...)
	b = e.RecordedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","datacontenttype":"application/json","dataschema":"urn:dangol:schema:`...)
	b = appendEscaped(b, e.Type)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(e.Schema), 10)
	b = append(b, `","position":"`...)
	b = strconv.AppendUint(b, e.Position.Commit, 10)
	if e.Position.Prepare != e.Position.Commit {
		b = append(b, '/')
		b = strconv.AppendUint(b, e.Position.Prepare, 10)
	}
	b = append(b, `","streamversion":`...)
	b = strconv.AppendUint(b, e.Version, 10)
	b = append(b, `,"schemaversion":`...)
	b = strconv.AppendInt(b, int64(e.Schema), 10)
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, e.Hash[:])
	b = append(b, `","prevhash":"`...)
	b = hex.AppendEncode(b, e.PrevHash[:])
	b = append(b, '"')
	if !e.OccurredAt.IsZero() {
		b = append(b, `,"occurredat":"`...)
		b = e.OccurredAt.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = appendOptional(b, `,"actorid":`, e.Actor.ID)
	b = appendOptional(b, `,"actorrole":`, e.Actor.Role)
	b = appendOptional(b, `,"correlationid":`, e.CorrelationID)
	b = appendOptional(b, `,"causationid":`, e.CausationID)
	if erased {
		b = append(b, `,"erased":true`...)
	}
	data := clearData
	if data == nil && !standsVerbatim(e.Data) {
		data = compact(e.Data)
	}
	if data != nil {
		b = append(b, `,"storeddata":"`...)
		b = base64.StdEncoding.AppendEncode(b, e.Data)
		b = append(b, '"')
	} else {
		data = e.Data
	}
	if len(data) > 0 { // stored bytes that are not JSON at all are only in storeddata
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

// standsVerbatim reports whether data can be a line's data as it is: one
// JSON value with no white space around it and no line break in it (JSON
// strings hold no raw line break, so one in valid JSON is white space),
// such that decoding the line gives back exactly these bytes.
func standsVerbatim(data []byte) bool {
	if len(data) == 0 || isSpace(data[0]) || isSpace(data[len(data)-1]) {
		return false
	}
	return bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') < 0 && json.Valid(data)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// compact returns data without insignificant white space, or an empty
// slice (not nil) if data is not JSON.
func compact(data []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, data) != nil {
		return []byte{}
	}
	return out.Bytes()
}

func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), "", s)
}

// appendString appends prefix+s as a JSON string; prefix is ASCII with
// nothing to escape.
func appendString(b []byte, prefix, s string) []byte {
	b = append(b, '"')
	b = append(b, prefix...)
	return append(appendEscaped(b, s), '"')
}

// appendEscaped appends s escaped for the inside of a JSON string.
// Invalid UTF-8 becomes U+FFFD, as encoding/json writes it: an event with
// such a field (which nothing in dangol appends) no longer verifies once
// decoded, and the verifier names it.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, `\ufffd`...)
			}
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

const hexDigits = "0123456789abcdef"
