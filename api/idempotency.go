package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
)

// An Idempotency-Key becomes the event id, and the store answers an append
// of an id it holds in the same stream with the original result, whatever
// the rest of the event. So that a key answers only a retry of the request
// that first used it, every event the API appends carries in its
// CausationID the request's fingerprint: "request:" and the base64url
// SHA-256 of the key, the caller's staff id, the method, the path and the
// body. A duplicate append is answered as the original only if the stored
// event has the same type, caller and fingerprint; otherwise the key was
// used for another request, and the answer is errKeyReused. The binding is
// in the log itself, so it holds across restarts and servers.
//
// Personal fields stay out of the fingerprint: a digest of a phone number
// would outlive the erasure that shreds the number (docs/personal-data.md).
// For data with personal fields the body is hashed without them, and they
// are compared with the stored event's, opened with the customer's key.

// requestCause prefixes the fingerprint in an event's CausationID.
const requestCause = "request:"

// errKeyReused marks the conflict of an Idempotency-Key used for another
// request (by another method, path, body or caller).
var errKeyReused = errors.New("idempotency key reused")

// keyReused returns the Conflict answered to a request whose
// Idempotency-Key was already used for another request. It names the
// request's own stream at its current version, never the other request's.
func (s *Server) keyReused(ctx context.Context, stream string) error {
	actual := events.NoStreamVersion
	if last, err := s.Store.ReadStream(ctx, stream, events.LastVersion, events.Backward, 1); err == nil && len(last) == 1 {
		actual = int64(last[0].Version)
	}
	return &events.Error{Code: events.Conflict, Stream: stream, ActualVersion: actual, Err: errKeyReused,
		Message: "this Idempotency-Key was already used for another request (another method, path, body or caller); use a new key for a new request"}
}

// binding is what an event appended for a request must match for a later
// request with the same key to be its retry.
type binding struct {
	cause    string   // the request's fingerprint, for the CausationID
	caller   string   // the caller's staff id
	typ      string   // the event type; "" to skip the check
	personal []string // the personal fields as appended (name, value, ...); nil if none
}

// bind returns the binding of a request with Idempotency-Key key that
// appends d (nil when the data is not known yet: the body is then hashed
// whole, which is right for data with no personal fields).
func bind(key [16]byte, p Principal, r *http.Request, d events.Data) binding {
	b := binding{caller: p.StaffID}
	body := requestBody(r)
	if d != nil {
		b.typ = d.EventType()
		if pd, ok := d.(events.Personal); ok {
			body = withoutPersonal(body, pd)
		}
	}
	h := sha256.New()
	for _, part := range [][]byte{key[:], []byte(p.StaffID), []byte(r.Method), []byte(r.URL.Path), body} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(part)))
		h.Write(part)
	}
	b.cause = requestCause + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	return b
}

// personalFields returns the personal fields of p as name, value pairs.
func personalFields(p events.Personal) []string {
	out := []string{}
	p.EachPersonal(func(f string, v *string) { out = append(out, f, *v) })
	return out
}

// withoutPersonal returns the body re-encoded (keys sorted) without the
// personal fields of p; the field names EachPersonal reports are the JSON
// paths of the body ("name", "changes.phone"). A body that is not a JSON
// object hashes as nothing: readBody refused it already.
func withoutPersonal(body []byte, p events.Personal) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return nil
	}
	p.EachPersonal(func(field string, _ *string) { deleteFolded(doc, strings.Split(field, ".")) })
	out, err := json.Marshal(doc)
	if err != nil {
		return nil
	}
	return out
}

// deleteFolded deletes path from m, matching each key as encoding/json
// matches a field name (strings.EqualFold: "Summary", "SUMMARY" and
// "\u017fummary" all fill Summary), in every object that matches (a
// body may spell one field several ways). An exact match only would
// leave a personal value spelled otherwise in the fingerprint.
func deleteFolded(m map[string]any, path []string) {
	for k, v := range m {
		if !strings.EqualFold(k, path[0]) {
			continue
		}
		if len(path) == 1 {
			delete(m, k)
		} else if child, ok := v.(map[string]any); ok {
			deleteFolded(child, path[1:])
		}
	}
}

// sameRequest reports whether the stored event e was appended for the
// request of binding b. Events appended before fingerprints were recorded
// (no "request:" cause) are held to their type and caller only.
func (s *Server) sameRequest(ctx context.Context, e *events.Envelope, b binding) (bool, error) {
	if e.Actor.ID != b.caller || (b.typ != "" && e.Type != b.typ) {
		return false, nil
	}
	if strings.HasPrefix(e.CausationID, requestCause) && e.CausationID != b.cause {
		return false, nil
	}
	if b.personal == nil {
		return true, nil
	}
	d, err := s.decoder()(ctx, e)
	if err != nil {
		return false, err
	}
	pd, ok := d.(events.Personal)
	return ok && slices.Equal(personalFields(pd), b.personal), nil
}

// checkDuplicate answers whether the append res, which the store found
// already done (res.Duplicate), was done for the request of b: nil if so,
// errKeyReused's conflict if not.
func (s *Server) checkDuplicate(ctx context.Context, res events.AppendResult, b binding) error {
	evs, err := s.Store.ReadStream(ctx, res.Stream, res.Version, events.Forward, 1)
	if err != nil {
		return err
	}
	if len(evs) == 1 && len(res.EventIDs) == 1 && evs[0].ID.String() == res.EventIDs[0] {
		if same, err := s.sameRequest(ctx, &evs[0], b); err != nil || same {
			return err
		}
	}
	return s.keyReused(ctx, res.Stream)
}

// usedElsewhere reports whether err is the store's refusal of an event id
// already used in another stream: for the API, a key used for another
// request.
func usedElsewhere(err error) bool {
	var ee *events.Error
	return errors.As(err, &ee) && ee.Code == events.Invalid && ee.Field == "events[0].id"
}
