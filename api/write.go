package api

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// writeOptions are the optional headers of every write.
type writeOptions struct {
	id       [16]byte               // Idempotency-Key
	expected events.ExpectedVersion // If-Match, or the default of the endpoint
	ifMatch  bool
}

func parseWriteOptions(r *http.Request, def events.ExpectedVersion) (writeOptions, error) {
	o := writeOptions{expected: def}
	if k := r.Header.Get("Idempotency-Key"); k != "" {
		id, err := events.ParseID("Idempotency-Key", k)
		if err != nil {
			return o, err
		}
		o.id = id
	}
	if m := r.Header.Get("If-Match"); m != "" {
		if def == events.NoStream { // it would replace NoStream: a second first event of a stream
			return o, events.InvalidField("If-Match", "is not taken: this write starts a new stream")
		}
		v, err := strconv.ParseUint(strings.Trim(strings.TrimPrefix(m, "W/"), `"`), 10, 63)
		if err != nil {
			return o, events.InvalidField("If-Match", `must be a quoted stream version, e.g. "3"`)
		}
		o.expected, o.ifMatch = events.Exact(v), true
	}
	return o, nil
}

// appendData validates d, seals its personal fields for customerID (if
// any), appends it to stream and answers 201 with the append result. A
// stream expected to exist but missing is answered 404 as what. With an
// Idempotency-Key, a retry of the same request gets the first answer and a
// key used for another request a conflict (idempotency.go).
func (s *Server) appendData(w http.ResponseWriter, r *http.Request, p Principal, stream string, def events.ExpectedVersion,
	customerID string, what string, d events.Data) error {
	opt, err := parseWriteOptions(r, def)
	if err != nil {
		return err
	}
	meta := events.Meta{ID: opt.id, Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	if customerID != "" && s.Sealer != nil {
		meta.Seal = s.Sealer.SealFor(r.Context(), customerID)
	}
	var b binding
	if opt.id != ([16]byte{}) {
		b = bind(opt.id, p, r, d)
		meta.CausationID = b.cause
		// The personal fields as they are appended: validated (trimmed),
		// not yet sealed.
		seal := meta.Seal
		meta.Seal = func(pd events.Personal) error {
			b.personal = personalFields(pd)
			if seal == nil {
				return nil
			}
			return seal(pd)
		}
	}
	ev, err := events.NewEvent(d, meta)
	if err != nil {
		return err
	}
	res, err := s.appendToCustomer(r.Context(), stream, opt.expected, ev) // merged_writes.go
	if err != nil {
		var ee *events.Error
		switch {
		case opt.id != ([16]byte{}) && usedElsewhere(err):
			return s.keyReused(r.Context(), stream)
		case errors.As(err, &ee) && ee.Code == events.Conflict && ee.ActualVersion == events.NoStreamVersion && opt.expected != events.NoStream:
			return events.Errorf(events.NotFound, "%s not found", what)
		}
		return err
	}
	if res.Duplicate {
		if err := s.checkDuplicate(r.Context(), res, b); err != nil {
			return err
		}
	}
	s.settle(r.Context(), res.Position)
	answerAppended(w, res)
	return nil
}

// appendSecret appends d to stream, expecting opt's version, and answers
// 201 with the append's result and the fields of secret: a credential (a
// token, a setup code) that only its first request is shown, as only its
// hash is stored. A retry with the same Idempotency-Key is therefore a
// Conflict saying again, not the first answer; a key used for another
// request is a conflict too (idempotency.go).
func (s *Server) appendSecret(w http.ResponseWriter, r *http.Request, p Principal, stream string, opt writeOptions,
	d events.Data, again string, secret map[string]any) error {
	meta := events.Meta{ID: opt.id, Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	var b binding
	if opt.id != ([16]byte{}) {
		b = bind(opt.id, p, r, d)
		meta.CausationID = b.cause
	}
	ev, err := events.NewEvent(d, meta)
	if err != nil {
		return err
	}
	res, err := s.Store.Append(r.Context(), stream, opt.expected, ev)
	if opt.id != ([16]byte{}) && usedElsewhere(err) {
		return s.keyReused(r.Context(), stream)
	}
	if err != nil {
		return err
	}
	if res.Duplicate {
		if err := s.checkDuplicate(r.Context(), res, b); err != nil {
			return err
		}
		return events.Errorf(events.Conflict, "%s", again)
	}
	s.settle(r.Context(), res.Position)
	answer := map[string]any{"stream": res.Stream, "version": res.Version, "position": res.Position, "eventIds": res.EventIDs}
	maps.Copy(answer, secret)
	writeJSON(w, http.StatusCreated, answer)
	return nil
}

// answerAppended answers 201 with an append's result.
func answerAppended(w http.ResponseWriter, res events.AppendResult) {
	w.Header().Set("ETag", `"`+strconv.FormatUint(res.Version, 10)+`"`)
	w.Header().Set("Location", "/v1/audit/streams/"+res.Stream)
	writeJSON(w, http.StatusCreated, res)
}

// answerEvent answers a request whose work the stored event e already did,
// as the request that appended e was answered.
func answerEvent(w http.ResponseWriter, e *events.Envelope) {
	answerAppended(w, events.AppendResult{Stream: e.Stream, Version: e.Version, Position: e.Position, EventIDs: []string{e.ID.String()}})
}

// answerRetry answers a request whose Idempotency-Key names an event
// already in stream as the first request was answered, and reports whether
// it did; a key that names an event of another request is a conflict.
// Handlers call it where the state the first request changed would now
// refuse the request, so that a retry still gets the first answer. It
// hashes the whole body, so it suits data with no personal fields only
// (replay, with nothing answered beside the append result).
func (s *Server) answerRetry(w http.ResponseWriter, r *http.Request, p Principal, stream string) (bool, error) {
	return s.replay(w, r, p, stream, nil)
}

// appendOnce appends d to stream (as appendData) unless the stream already
// holds an event for which done reports true: then the request is answered
// with that event, as the request that appended it was, and nothing is
// appended. Revoking a token and erasing a customer are done at most once
// however often they are asked. Without If-Match the append expects the
// version scanned, so that of two racing requests one appends and the
// other finds its event. d must hold no personal fields: an attempt that
// meets a conflict is retried with the same d, and sealing works in place.
func (s *Server) appendOnce(w http.ResponseWriter, r *http.Request, p Principal, stream, what string, d events.Data,
	done func(e *events.Envelope) bool) error {
	opt, err := parseWriteOptions(r, events.StreamExists)
	if err != nil {
		return err
	}
	// Bad input is refused even when the work is already done.
	if err := d.Validate(); err != nil {
		return err
	}
	var from, last uint64
	for attempt := 0; ; attempt++ {
		for {
			evs, err := s.Store.ReadStream(r.Context(), stream, from, events.Forward, 500)
			if events.ErrorCode(err) == events.NotFound {
				return events.Errorf(events.NotFound, "%s not found", what)
			}
			if err != nil {
				return err
			}
			for i := range evs {
				if done(&evs[i]) {
					answerEvent(w, &evs[i])
					return nil
				}
				last = evs[i].Version
			}
			if len(evs) < 500 {
				break
			}
			from = last + 1
		}
		from = last + 1
		err := s.appendData(w, r, p, stream, events.Exact(last), "", what, d)
		if opt.ifMatch || attempt == 9 || events.ErrorCode(err) != events.Conflict || errors.Is(err, errKeyReused) {
			return err
		}
	}
}

// settle waits briefly for the read side to apply pos, so a client that
// reads right after its write sees it. If the read side lags, the write
// still succeeded; reads then catch up on their own.
func (s *Server) settle(ctx context.Context, pos events.Position) {
	if s.Progress == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.Progress.WaitFor(ctx, pos)
}

func correlationID(r *http.Request) string {
	if c := r.Header.Get("X-Correlation-Id"); c != "" && len(c) <= 64 && events.ValidID(c) {
		return c
	}
	return events.NewID().String()
}

// pathID returns the path parameter name if it is a valid entity id.
func pathID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if !events.ValidID(id) {
		return "", events.InvalidField(name, "must be 1-64 letters, digits, '_' or '-'")
	}
	return id, nil
}
