package api

import (
	"errors"
	"net/http"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
)

func (s *Server) postCall(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.CallRecorded
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if d.StaffID == "" {
		d.StaffID = p.StaffID
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if err := events.CheckOccurred(&d, s.now()); err != nil {
		return err
	}
	if ok, err := s.Queries.CustomerExists(r.Context(), d.CustomerID); err != nil {
		return err
	} else if !ok {
		return events.InvalidField("customerId", "no such customer")
	}
	digest := d.Recording.SHA256
	n, err := s.Blobs.Size(digest, d.CustomerID)
	if events.ErrorCode(err) == events.NotFound {
		return events.InvalidField("recording.sha256", "no uploaded recording has this digest (PUT /v1/recordings first)")
	}
	if err != nil {
		return err
	}
	if n != d.Recording.Bytes {
		return events.InvalidField("recording.bytes", "the recording has %d bytes", n)
	}
	// The recording is sealed under the customer's key before the call that
	// references it is appended, and its clear upload deleted after: a
	// crash in between leaves the upload to the staging sweep, never a call
	// without its recording.
	if s.Sealer == nil {
		return events.Errorf(events.Internal, "recordings: the server has no sealer")
	}
	if err := s.Blobs.Seal(r.Context(), s.Sealer, digest, d.CustomerID, s.now()); errors.Is(err, pii.ErrErased) {
		return events.InvalidField("customerId", "the customer's personal data was erased: their calls cannot hold a recording")
	} else if ee := (*events.Error)(nil); errors.As(err, &ee) && ee.Code == events.NotFound {
		return events.InvalidField("recording.sha256", "%s (PUT /v1/recordings again)", ee.Message)
	} else if err != nil {
		return err
	}
	if err := s.appendData(w, r, p, events.CallStream(d.CallID), events.NoStream, "", "call", &d); err != nil {
		return err
	}
	s.Blobs.Unstage(digest)
	return nil
}

func (s *Server) postSelection(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d events.CallSelectedForReview
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if d.Reason == "" {
		d.Reason = "requested"
	}
	if d.SupervisorID == "" {
		d.SupervisorID = p.StaffID
	}
	return s.appendData(w, r, p, events.CallStream(id), events.StreamExists, "", "call", &d)
}

// reviewRequest is the body of POST /v1/calls/{id}/reviews: the server
// computes the total and each coaching point's id and due date.
type reviewRequest struct {
	FormID         string              `json:"formId"`
	Items          []events.ReviewItem `json:"items"`
	CoachingPoints []struct {
		Criterion string `json:"criterion"`
		Note      string `json:"note"`
	} `json:"coachingPoints"`
}

func (s *Server) postReview(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req reviewRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	now := s.now()
	d := events.CallReviewed{ReviewerID: p.StaffID, FormID: req.FormID, Items: req.Items, Total: events.ReviewTotal(req.Items)}
	for _, cp := range req.CoachingPoints {
		d.CoachingPoints = append(d.CoachingPoints, events.CoachingPointRaised{PointID: events.NewID().String(),
			Criterion: cp.Criterion, Note: cp.Note, FollowUpDue: events.AddOneMonth(now)})
	}
	if _, err := s.Queries.Call(r.Context(), id); err != nil {
		return err
	}
	return s.appendData(w, r, p, events.CallStream(id), events.StreamExists, "", "call", &d)
}

func (s *Server) postAcknowledgement(w http.ResponseWriter, r *http.Request, p Principal) error {
	pt, err := s.point(r)
	if err != nil {
		return err
	}
	if pt.RepID != p.StaffID {
		return forbidden("only the rep a coaching point is about may acknowledge it")
	}
	var d events.CoachingAcknowledged
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	d.PointID, d.StaffID = pt.ID, p.StaffID
	return s.appendData(w, r, p, events.CallStream(pt.CallID), events.StreamExists, "", "call", &d)
}

// followUpRequest is the body of POST /v1/coaching/{pointId}/follow-up.
type followUpRequest struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

func (s *Server) postFollowUp(w http.ResponseWriter, r *http.Request, p Principal) error {
	pt, err := s.point(r)
	if err != nil {
		return err
	}
	var req followUpRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	if pt.Status == projections.StatusImproved {
		// A retry of the check that closed the point gets the first answer.
		if done, err := s.answerRetry(w, r, p, events.CallStream(pt.CallID)); done || err != nil {
			return err
		}
		return events.InvalidField("pointId", "the point is already closed as improved")
	}
	d := events.CoachingFollowedUp{PointID: pt.ID, CheckerID: p.StaffID, Outcome: req.Outcome, Note: req.Note}
	if req.Outcome == "not_improved" {
		d.NextFollowUpDue = events.AddOneMonth(s.now())
	}
	return s.appendData(w, r, p, events.CallStream(pt.CallID), events.StreamExists, "", "call", &d)
}

func (s *Server) point(r *http.Request) (projections.CoachingPoint, error) {
	id, err := pathID(r, "pointId")
	if err != nil {
		return projections.CoachingPoint{}, err
	}
	return s.Queries.CoachingPoint(r.Context(), id, s.now())
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Queries.Call(r.Context(), id)
	if err != nil {
		return err
	}
	pts := []projections.CoachingPoint{}
	if c.Review != nil {
		for _, pid := range c.Review.CoachingPoints {
			if pt, err := s.Queries.CoachingPoint(r.Context(), pid, s.now()); err == nil {
				pts = append(pts, pt)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"call": c, "coachingPoints": pts})
	return nil
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, p Principal) error {
	sup := r.URL.Query().Get("supervisor")
	if sup == "" && p.Role == roleSupervisor {
		sup = p.StaffID
	}
	if sup != "" && !events.ValidID(sup) {
		return events.InvalidField("supervisor", "must be a staff id")
	}
	q, err := s.Queries.QAQueue(r.Context(), sup)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": q})
	return nil
}

func (s *Server) getCoaching(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	f := projections.CoachingFilter{Rep: q.Get("rep"), Status: q.Get("status"), Checker: q.Get("checker")}
	if p.Role == roleRep || p.Role == rolePB {
		if f.Rep != "" && f.Rep != p.StaffID {
			return forbidden("reps see their own coaching points")
		}
		f.Rep = p.StaffID
	}
	if f.Rep != "" && !events.ValidID(f.Rep) {
		return events.InvalidField("rep", "must be a staff id")
	}
	if f.Status != "" && !contains([]string{projections.StatusOpen, projections.StatusAcknowledged,
		projections.StatusImproved, projections.StatusNotImproved}, f.Status) {
		return events.InvalidField("status", "must be open, acknowledged, improved or not_improved")
	}
	if d := q.Get("due_before"); d != "" {
		t, err := parseTimeOrDate(d)
		if err != nil {
			return events.InvalidField("due_before", "must be an RFC 3339 time or a date")
		}
		f.DueBefore = t
	}
	pts, err := s.Queries.Coaching(r.Context(), f, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": pts})
	return nil
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, p Principal) error {
	rep, err := s.Queries.Report(r.Context(), r.PathValue("name"), s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"report": r.PathValue("name"), "at": s.now(), "data": rep})
	return nil
}
