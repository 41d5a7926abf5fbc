package api

import (
	"net/http"
	"strconv"

	"github.com/dangol/dangol/events"
)

// auditLog records every read of raw history: who read what (never the data).
func (s *Server) auditLog(r *http.Request, p Principal, what string, attrs ...any) {
	s.Logger.Info("audit read", append([]any{"staff", p.StaffID, "read", what}, attrs...)...)
}

// auditLimit reads the limit of a page of an auditor's route: 100 by
// default, 1 to 1000; Invalid naming limit otherwise.
func auditLimit(r *http.Request) (int, error) { return intParam(r, "limit", 100, 1, 1000) }

func (s *Server) getAuditStream(w http.ResponseWriter, r *http.Request, p Principal) error {
	stream := r.PathValue("stream")
	if !events.ValidStream(stream) {
		return events.InvalidField("stream", "is not a stream name")
	}
	from, err := uintParam(r, "from_version", 0)
	if err != nil {
		return err
	}
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	evs, err := s.Store.ReadStream(r.Context(), stream, from, events.Forward, limit)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "stream", "stream", stream, "from_version", from, "count", len(evs))
	resp := map[string]any{"stream": stream, "events": nonNil(evs)}
	if len(evs) == limit {
		resp["nextFromVersion"] = evs[len(evs)-1].Version + 1
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) getAuditLog(w http.ResponseWriter, r *http.Request, p Principal) error {
	from, err := events.ParsePosition(r.URL.Query().Get("from_position"))
	if err != nil {
		return events.InvalidField("from_position", "must be a log position")
	}
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	evs, err := s.Store.ReadAll(r.Context(), from, limit)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "log", "from_position", from.String(), "count", len(evs))
	resp := map[string]any{"events": nonNil(evs)}
	if len(evs) == limit {
		resp["nextFromPosition"] = evs[len(evs)-1].Position
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func uintParam(r *http.Request, name string, def uint64) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, events.InvalidField(name, "must be a non-negative integer")
	}
	return n, nil
}

func nonNil(evs []events.Envelope) []events.Envelope {
	if evs == nil {
		return []events.Envelope{}
	}
	return evs
}
