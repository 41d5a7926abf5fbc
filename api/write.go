package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// readBody reads a JSON body of at most MaxBodyBytes and decodes it
// strictly into v (unknown fields, wrong types, trailing data: Invalid).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return events.InvalidField("Content-Type", "must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return events.InvalidField("body", "could not read the request body")
	}
	return events.Strict(body, v)
}

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
// stream expected to exist but missing is answered 404 as what.
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
	ev, err := events.NewEvent(d, meta)
	if err != nil {
		return err
	}
	res, err := s.Store.Append(r.Context(), stream, opt.expected, ev)
	if err != nil {
		var ee *events.Error
		if errors.As(err, &ee) && ee.Code == events.Conflict && ee.ActualVersion == events.NoStreamVersion && opt.expected != events.NoStream {
			return events.Errorf(events.NotFound, "%s not found", what)
		}
		return err
	}
	s.settle(r.Context(), res.Position)
	w.Header().Set("ETag", `"`+strconv.FormatUint(res.Version, 10)+`"`)
	w.Header().Set("Location", "/v1/audit/streams/"+stream)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// answerRetry answers a request whose Idempotency-Key names an event
// already in stream as the first request was answered, and reports whether
// it did. Handlers call it where the state the first request changed would
// now refuse the request, so that a retry still gets the first answer.
func (s *Server) answerRetry(w http.ResponseWriter, r *http.Request, stream string) (bool, error) {
	opt, err := parseWriteOptions(r, events.Any)
	if err != nil || opt.id == ([16]byte{}) {
		return false, err
	}
	evs, err := s.Store.ReadStream(r.Context(), stream, events.LastVersion, events.Backward, 1000)
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if e.ID == opt.id {
			w.Header().Set("ETag", `"`+strconv.FormatUint(e.Version, 10)+`"`)
			w.Header().Set("Location", "/v1/audit/streams/"+stream)
			writeJSON(w, http.StatusCreated, events.AppendResult{Stream: stream, Version: e.Version, Position: e.Position,
				EventIDs: []string{e.ID.String()}})
			return true, nil
		}
	}
	return false, nil
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
