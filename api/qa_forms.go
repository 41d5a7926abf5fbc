package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Scorecard forms: GET /v1/qa/forms (the latest version of each), GET
// /v1/qa/forms/{id}?version=N, and PUT /v1/qa/forms/{id}, which publishes
// the form's next version (ScorecardFormPublished on qaform-<id>, whose
// stream version is the form version).

// formRequest is the body of PUT /v1/qa/forms/{id}: the whole new version.
type formRequest struct {
	Name  string            `json:"name"`
	Items []events.FormItem `json:"items"`
	Note  string            `json:"note"`
}

// putForm handles PUT /v1/qa/forms/{id}: version n is the n-th event of
// qaform-<id> (stream version n−1), and the answer's version, its ETag
// and If-Match are form versions, as the sampling plan's are. With
// If-Match "<n>" the form is published as version n+1 only if n is its
// latest version (0: a form not published yet), else 409; without, it
// follows whatever is latest when appended. A retry with the same
// Idempotency-Key gets the first answer, even after later versions.
func (s *Server) putForm(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in formRequest
	if err := s.readBody(w, r, &in); err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.Any)
	if err != nil {
		return err
	}
	stream := events.QAFormStream(id)
	res, err := s.publishNext(r, p, stream, opt, func(version int) events.Data {
		return &events.ScorecardFormPublished{FormID: id, Version: version, Name: in.Name, Items: in.Items, Note: in.Note}
	})
	if err != nil {
		return err
	}
	answerCreated(w, res, "/v1/qa/forms/"+id, nil)
	return nil
}

// publishNext appends the next version of a versioned setting to stream,
// the event made by next for its version (the stream's n-th event is
// version n): after opt's If-Match version if it has one, else after the
// latest in the log, a race with another publication retried a few times.
// The result's version is the published version. A retry of a keyed
// request is the store's duplicate, answered as the first time whatever
// was published since; next's data must hold no personal fields.
func (s *Server) publishNext(r *http.Request, p Principal, stream string, opt writeOptions,
	next func(version int) events.Data) (events.AppendResult, error) {
	for attempt := 0; ; attempt++ {
		latest, asked := opt.expected.IsExact()
		if !asked {
			var err error
			if latest, err = s.versions(r, stream); err != nil {
				return events.AppendResult{}, err
			}
		}
		if latest >= 1<<30 {
			return events.AppendResult{}, events.InvalidField("If-Match", "must be a published version")
		}
		d := next(int(latest) + 1)
		if err := d.Validate(); err != nil {
			return events.AppendResult{}, err
		}
		exp := events.NoStream
		if latest > 0 {
			exp = events.Exact(latest - 1)
		}
		res, err := s.appendAnswered(r, p, stream, exp, opt.id, d)
		res.Version++
		var ee *events.Error
		if !errors.As(err, &ee) || ee.Code != events.Conflict || errors.Is(err, errKeyReused) {
			return res, err
		}
		if asked || attempt == 4 {
			// The stream's last version n−1 is version n.
			e := events.Errorf(events.Conflict, "the latest version is %d, not %d: read it and publish again", ee.ActualVersion+1, latest)
			e.Stream, e.ActualVersion = ee.Stream, ee.ActualVersion+1
			return res, e
		}
	}
}

// versions returns how many events stream holds in the log (not the read
// side, which may lag): its latest version, 0 if it has none.
func (s *Server) versions(r *http.Request, stream string) (uint64, error) {
	last, err := s.Store.ReadStream(r.Context(), stream, events.LastVersion, events.Backward, 1)
	if events.ErrorCode(err) == events.NotFound || (err == nil && len(last) == 0) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return last[0].Version + 1, nil
}

// getForm handles GET /v1/qa/forms/{id}?version=N (0 or absent: the
// latest). The ETag is the form's latest version, for an editor's If-Match.
func (s *Server) getForm(w http.ResponseWriter, r *http.Request, _ Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1<<30 {
			return events.InvalidField("version", "must be a version number (0: the latest)")
		}
		version = n
	}
	f, err := s.Queries.ScorecardForm(r.Context(), id, version)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(f.Latest)+`"`)
	writeJSON(w, http.StatusOK, f)
	return nil
}

// listForms handles GET /v1/qa/forms: the latest version of every form.
func (s *Server) listForms(w http.ResponseWriter, r *http.Request, _ Principal) error {
	fs, err := s.Queries.ScorecardForms(r.Context())
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []projections.ScorecardForm{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": fs})
	return nil
}
