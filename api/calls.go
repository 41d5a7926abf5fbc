package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/oklog/ulid/v2"

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
	// Before the recording is sealed under the merged customer's key.
	if err := s.refuseMergedCall(r, &d); err != nil {
		return err
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
	// Again after the seal, which reads the whole recording: a merge made
	// meanwhile is then seen, though not one landing from here on.
	if err := s.refuseMergedCall(r, &d); err != nil {
		return err
	}
	if err := s.appendData(w, r, p, events.CallStream(d.CallID), events.NoStream, "", "call", &d); err != nil {
		return err
	}
	s.Blobs.Unstage(digest)
	return nil
}

// refuseMergedCall refuses call d when its customer was merged into
// another (docs/merge.md): the call belongs to the survivor. A retry of a
// call recorded before the merge (its Idempotency-Key is the id of the
// call stream's first event) gets its first answer. The call has its own
// stream, so its append cannot expect the customer's version: a merge
// landing between this check and the call's append is not seen (the
// store has no append that is atomic across two streams).
func (s *Server) refuseMergedCall(r *http.Request, d *events.CallRecorded) error {
	f, err := s.writeFacts(r.Context(), d.CustomerID, ulid.ULID{})
	if err != nil || f.survivor == "" {
		return err
	}
	if key, kerr := events.ParseID("Idempotency-Key", r.Header.Get("Idempotency-Key")); kerr == nil && key != (ulid.ULID{}) {
		first, err := s.Store.ReadStream(r.Context(), events.CallStream(d.CallID), 0, events.Forward, 1)
		if err == nil && len(first) == 1 && first[0].ID == key {
			return nil // appendData answers it as the first request was
		}
	}
	return &MergedError{CustomerID: d.CustomerID, SurvivorID: f.survivor}
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
	d.PlanVersion = 0 // a supervisor's own request names no sampling plan
	return s.appendData(w, r, p, events.CallStream(id), events.StreamExists, "", "call", &d)
}

// reviewRequest is the body of POST /v1/calls/{id}/reviews: the items as
// scored on a published form's version (formVersion 0 or absent: the
// latest). The server computes the total, criticalFailed and each coaching
// point's id and due date. A call already reviewed takes a correction
// only: supersedes names its latest evaluation.
type reviewRequest struct {
	FormID         string       `json:"formId"`
	FormVersion    int          `json:"formVersion"`
	Items          []scoreInput `json:"items"`
	CoachingPoints []pointInput `json:"coachingPoints"`
	Supersedes     int          `json:"supersedes"`
}

// pointInput is a coaching point as a reviewer raises it: a note, the
// second of the recording it is about and the form item it is about, both
// optional; criterion defaults to the item's label (required without an
// item).
type pointInput struct {
	Note      string `json:"note"`
	AtSec     *int   `json:"atSec"`
	ItemID    string `json:"itemId"`
	Criterion string `json:"criterion"`
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
	return s.callWrite(w, r, p, id, nil, func(c projections.CallView) ([]events.Data, error) {
		if err := correctable(c, req.Supersedes); err != nil {
			return nil, err
		}
		d, err := s.scoredReview(r.Context(), c, p, req.FormID, req.FormVersion, req.Items, req.CoachingPoints)
		if err != nil {
			return nil, err
		}
		d.Supersedes = req.Supersedes
		return []events.Data{d}, nil
	})
}

// correctable checks that a review of c superseding evaluation n (0: none)
// may be appended: a first review supersedes nothing, a later one the
// latest evaluation, and none while a dispute is open (its resolution
// re-scores).
func correctable(c projections.CallView, n int) error {
	latest := len(c.Evaluations)
	switch {
	case latest == 0 && n != 0:
		return events.InvalidField("supersedes", "call %s has no evaluation to supersede", c.ID)
	case latest > 0 && n != latest:
		return events.InvalidField("supersedes", "must be %d: call %s is reviewed, and a correction supersedes its latest evaluation", latest, c.ID)
	}
	if d, open := openDispute(c); open {
		return events.InvalidField("supersedes", "evaluation %d is disputed: resolve dispute %s instead", d.Evaluation, d.ID)
	}
	return nil
}

// openDispute returns the dispute of c still open, if there is one.
func openDispute(c projections.CallView) (projections.Dispute, bool) {
	for _, d := range c.Disputes {
		if d.Status == projections.DisputeOpen {
			return d, true
		}
	}
	return projections.Dispute{}, false
}

// scoredReview returns the CallReviewed of p's scores in on version of
// form formID (0: the latest) for call c, with the server's total,
// criticalFailed and coaching points due one month from now. Errors are
// Invalid naming the request's field.
func (s *Server) scoredReview(ctx context.Context, c projections.CallView, p Principal, formID string, version int,
	in []scoreInput, points []pointInput) (*events.CallReviewed, error) {
	f, err := s.publishedForm(ctx, formID, version)
	if err != nil {
		return nil, err
	}
	items, err := scoredItems(f, in)
	if err != nil {
		return nil, err
	}
	d := &events.CallReviewed{ReviewerID: p.StaffID, FormID: f.ID, FormVersion: f.Version, Items: items,
		Total: events.ReviewTotal(items), CriticalFailed: events.CriticalFailed(items)}
	due := events.AddOneMonth(s.now())
	for i, cp := range points {
		pt, err := raisedPoint(f, c, i, cp)
		if err != nil {
			return nil, err
		}
		pt.FollowUpDue = due
		d.CoachingPoints = append(d.CoachingPoints, pt)
	}
	return d, nil
}

// raisedPoint returns coaching point i of a review of c on form f, with a
// new id: its item must be one of the form's, its second within the call.
func raisedPoint(f projections.ScorecardForm, c projections.CallView, i int, cp pointInput) (events.CoachingPointRaised, error) {
	field := "coachingPoints[" + strconv.Itoa(i) + "]."
	pt := events.CoachingPointRaised{PointID: events.NewID().String(), Criterion: cp.Criterion, Note: cp.Note,
		AtSec: cp.AtSec, ItemID: cp.ItemID}
	if cp.ItemID != "" {
		fi := formItemIndex(f, cp.ItemID)
		if fi < 0 {
			return pt, events.InvalidField(field+"itemId", "form %s version %d has no item %q", f.ID, f.Version, cp.ItemID)
		}
		if pt.Criterion == "" {
			pt.Criterion = f.Items[fi].Label
		}
	}
	if cp.AtSec != nil && (*cp.AtSec < 0 || *cp.AtSec > c.DurationSec) {
		return pt, events.InvalidField(field+"atSec", "must be between 0 and %d, the call's length in seconds", c.DurationSec)
	}
	return pt, nil
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
	if (p.Role == roleRep || p.Role == rolePB) && c.StaffID != p.StaffID {
		// Another rep's evaluations, disputes and coaching are not theirs
		// to read; the call is answered as one that does not exist.
		return events.Errorf(events.NotFound, "call %s not found", id)
	}
	// Every evaluation's points: a re-score supersedes a score, not the
	// moments of the call its points are about.
	evals := c.Evaluations
	if len(evals) == 0 && c.Review != nil {
		evals = []projections.Review{*c.Review} // a read store row from before evaluations were kept
	}
	pts := []projections.CoachingPoint{}
	for _, ev := range evals {
		for _, pid := range ev.CoachingPoints {
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
	f := projections.CoachingFilter{Status: q.Get("status"), Checker: q.Get("checker")}
	var err error
	if f.Rep, err = repScope(p, q.Get("rep")); err != nil {
		return err
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
