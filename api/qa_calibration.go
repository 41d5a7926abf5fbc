package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// calibrationRequest is the body of POST /v1/qa/calibrations.
type calibrationRequest struct {
	CallID      string   `json:"callId"`
	FormID      string   `json:"formId"`
	FormVersion int      `json:"formVersion"` // 0 or absent: the form's latest
	Evaluators  []string `json:"evaluators"`
	Note        string   `json:"note"`
}

// postCalibration opens a calibration session on a call for 2 to
// events.MaxEvaluators active supervisors or centre heads, on a published
// version of a form. The session id is the Idempotency-Key when one is
// given (so a retry finds its session), a new ULID otherwise; it is
// answered as sessionId.
func (s *Server) postCalibration(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req calibrationRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.NoStream)
	if err != nil {
		return err
	}
	id := events.NewID()
	if opt.id != ([16]byte{}) {
		id = opt.id
	}
	d := &events.CalibrationOpened{SessionID: id.String(), CallID: req.CallID, FormID: req.FormID, FormVersion: max(req.FormVersion, 1),
		OpenerID: p.StaffID, Evaluators: req.Evaluators, Note: req.Note}
	if err := d.Validate(); err != nil {
		return err
	}
	if _, err := s.Queries.Call(r.Context(), d.CallID); events.ErrorCode(err) == events.NotFound {
		return events.InvalidField("callId", "no call %s was recorded", d.CallID)
	} else if err != nil {
		return err
	}
	form, err := s.publishedForm(r.Context(), d.FormID, req.FormVersion)
	if err != nil {
		return err
	}
	d.FormVersion = form.Version
	if err := s.checkEvaluators(r.Context(), d.Evaluators); err != nil {
		return err
	}
	res, err := s.appendAnswered(r, p, events.CalibrationStream(d.SessionID), opt.expected, opt.id, d)
	if err != nil {
		return err
	}
	answerCreated(w, res, "/v1/qa/calibrations/"+d.SessionID, map[string]any{"sessionId": d.SessionID})
	return nil
}

// checkEvaluators refuses an evaluator who is not an active supervisor or
// centre head.
func (s *Server) checkEvaluators(ctx context.Context, ids []string) error {
	for i, id := range ids {
		field := "evaluators[" + strconv.Itoa(i) + "]"
		m, err := s.Queries.StaffMember(ctx, id)
		if events.ErrorCode(err) == events.NotFound {
			return events.InvalidField(field, "no staff member %s", id)
		}
		if err != nil {
			return err
		}
		if !m.Active || !slices.Contains(qaLeads, m.Role) {
			return events.InvalidField(field, "%s is not an active supervisor or centre head", id)
		}
	}
	return nil
}

// answerCreated answers 201 with an append's result and the fields of extra.
func answerCreated(w http.ResponseWriter, res events.AppendResult, location string, extra map[string]any) {
	answer := map[string]any{"stream": res.Stream, "version": res.Version, "position": res.Position, "eventIds": res.EventIDs}
	maps.Copy(answer, extra)
	w.Header().Set("ETag", `"`+strconv.FormatUint(res.Version, 10)+`"`)
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusCreated, answer)
}

// blind returns what p may see of session c: while it is open, only p's
// own score, no per-item spread and no consensus (Scored says who has
// scored); once closed, everything.
func blind(c projections.CalibrationSession, p Principal) projections.CalibrationSession {
	if c.Status != projections.CalibrationOpen {
		return c
	}
	own := []projections.CalibrationScore{}
	for _, sc := range c.Scores {
		if sc.EvaluatorID == p.StaffID {
			sc.Distance = 0
			own = append(own, sc)
		}
	}
	c.Scores, c.Items, c.Consensus = own, []projections.ItemSpread{}, 0
	return c
}

func (s *Server) getCalibrations(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	f := projections.CalibrationFilter{Evaluator: q.Get("evaluator"), Status: q.Get("status")}
	if f.Evaluator != "" && !events.ValidID(f.Evaluator) {
		return events.InvalidField("evaluator", "must be a staff id")
	}
	if f.Status != "" && f.Status != projections.CalibrationOpen && f.Status != projections.CalibrationClosed {
		return events.InvalidField("status", "must be open or closed")
	}
	cs, err := s.Queries.Calibrations(r.Context(), f)
	if err != nil {
		return err
	}
	for i := range cs {
		cs[i] = blind(cs[i], p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
	return nil
}

func (s *Server) getCalibration(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.calibration(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blind(c, p))
	return nil
}

// calibration returns the session the path names; NotFound if never
// opened.
func (s *Server) calibration(r *http.Request) (projections.CalibrationSession, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return projections.CalibrationSession{}, err
	}
	return s.Queries.Calibration(r.Context(), id)
}

// scoreRequest is the body of POST /v1/qa/calibrations/{id}/scores.
type scoreRequest struct {
	Items []scoreInput `json:"items"`
}

// postCalibrationScore appends the caller's score: an evaluator of the
// session, while it is open, once. A retry of the request that scored gets
// its first answer.
func (s *Server) postCalibrationScore(w http.ResponseWriter, r *http.Request, p Principal) error {
	if _, err := s.calibration(r); err != nil {
		return err
	}
	var req scoreRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	return s.sessionWrite(w, r, p, func(c projections.CalibrationSession) (events.Data, error) {
		switch {
		case !slices.Contains(c.Evaluators, p.StaffID):
			return nil, forbidden("only the session's evaluators may score it")
		case c.Status != projections.CalibrationOpen:
			return nil, events.InvalidField("id", "the calibration session is closed")
		case slices.Contains(c.Scored, p.StaffID):
			return nil, events.InvalidField("id", "you have scored this session already")
		}
		form, err := s.publishedForm(r.Context(), c.FormID, c.FormVersion)
		if err != nil {
			return nil, err
		}
		items, err := scoredItems(form, req.Items)
		if err != nil {
			return nil, err
		}
		return &events.CalibrationScored{SessionID: c.ID, EvaluatorID: p.StaffID, Items: items, Total: events.ReviewTotal(items),
			CriticalFailed: events.CriticalFailed(items)}, nil
	})
}

// closureRequest is the body of POST /v1/qa/calibrations/{id}/closure.
type closureRequest struct {
	Note string `json:"note"`
}

// postCalibrationClosure closes a session with at least 2 scores: its
// opener or a centre head. A retry of the request that closed it gets its
// first answer.
func (s *Server) postCalibrationClosure(w http.ResponseWriter, r *http.Request, p Principal) error {
	if _, err := s.calibration(r); err != nil {
		return err
	}
	var req closureRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	return s.sessionWrite(w, r, p, func(c projections.CalibrationSession) (events.Data, error) {
		switch {
		case p.StaffID != c.OpenerID && p.Role != roleCentreHead:
			return nil, forbidden("only the session's opener or a centre head may close it")
		case c.Status != projections.CalibrationOpen:
			return nil, events.InvalidField("id", "the calibration session is closed")
		case len(c.Scores) < 2:
			return nil, events.InvalidField("id", "the session has %d scores; it closes with at least 2", len(c.Scores))
		}
		return &events.CalibrationClosed{SessionID: c.ID, CloserID: p.StaffID, Note: req.Note}, nil
	})
}

// sessionWrite appends to the path's calibration session the event build
// makes of the session as read, expecting the version read, as callWrite
// does for a call: an append that lost a race with another (an evaluator
// scoring at the same moment) reads the session again and builds again
// (a checkedAppend), so that build's checks hold against the events it
// follows; when build refuses the request as invalid, a retry of the
// request that did the work gets the first answer.
func (s *Server) sessionWrite(w http.ResponseWriter, r *http.Request, p Principal,
	build func(c projections.CalibrationSession) (events.Data, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	stream := events.CalibrationStream(id)
	var (
		d       events.Data
		refused error // build's refusal of the request as invalid
	)
	err = s.checkedOnReadSide(r, stream,
		func() (uint64, error) {
			c, err := s.calibration(r)
			if err != nil {
				return 0, err
			}
			if d, err = build(c); events.ErrorCode(err) == events.Invalid {
				refused = err
			}
			return c.Version, err
		},
		func(read uint64) error {
			return s.appendData(w, r, p, stream, events.Exact(read), "", "calibration session", d)
		}).run()
	if refused != nil {
		return s.retryOr(w, r, p, stream, refused)
	}
	return err
}

// retryOr answers a retry of the request whose work is already in stream
// with the first answer (answerRetry), and refuses any other request
// with refusal.
func (s *Server) retryOr(w http.ResponseWriter, r *http.Request, p Principal, stream string, refusal error) error {
	if done, err := s.answerRetry(w, r, p, stream); done || err != nil {
		return err
	}
	return refusal
}
