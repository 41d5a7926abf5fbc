package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// An evaluation is the n-th CallReviewed of a call stream. Its rep
// acknowledges it or, within the dispute window, disputes the latest one;
// a supervisor resolves the dispute by upholding the evaluation or by
// re-scoring the call, which appends the new evaluation and the
// resolution in one append (docs/api.md, "Evaluations and disputes").

// ackRequest is the body of POST /v1/calls/{id}/evaluations/{n}/acknowledgement.
type ackRequest struct {
	Comment string `json:"comment"`
}

// disputeRequest is the body of POST /v1/calls/{id}/evaluations/{n}/dispute.
type disputeRequest struct {
	Reason string `json:"reason"`
}

// resolutionRequest is the body of POST /v1/qa/disputes/{id}/resolution:
// upheld keeps the evaluation; rescored scores the call again, on the
// disputed evaluation's form version, with items and coachingPoints as a
// review's.
type resolutionRequest struct {
	Resolution     string       `json:"resolution"`
	Note           string       `json:"note"`
	Items          []scoreInput `json:"items"`
	CoachingPoints []pointInput `json:"coachingPoints"`
}

func (s *Server) postEvaluationAck(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req ackRequest
	id, n, err := s.evaluationRequest(w, r, &req)
	if err != nil {
		return err
	}
	return s.callWrite(w, r, p, id, nil, func(c projections.CallView) ([]events.Data, error) {
		ev, err := ownEvaluation(c, n, p)
		if err != nil {
			return nil, err
		}
		if ev.AcknowledgedAt != nil {
			return nil, events.InvalidField("n", "evaluation %d is already acknowledged", n)
		}
		return []events.Data{&events.ReviewAcknowledged{Evaluation: n, RepID: p.StaffID, Comment: req.Comment}}, nil
	})
}

func (s *Server) postDispute(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req disputeRequest
	id, n, err := s.evaluationRequest(w, r, &req)
	if err != nil {
		return err
	}
	return s.callWrite(w, r, p, id, disputeAnswer, func(c projections.CallView) ([]events.Data, error) {
		ev, err := ownEvaluation(c, n, p)
		if err != nil {
			return nil, err
		}
		if err := s.disputable(c, ev); err != nil {
			return nil, err
		}
		return []events.Data{&events.ReviewDisputed{DisputeID: events.NewID().String(), Evaluation: n, RepID: p.StaffID, Reason: req.Reason}}, nil
	})
}

// disputeAnswer is what a dispute answers beside the append: its id.
func disputeAnswer(last events.Data) map[string]any {
	if d, ok := last.(*events.ReviewDisputed); ok {
		return map[string]any{"disputeId": d.DisputeID}
	}
	return nil
}

// evaluationRequest returns the call id and evaluation number of the path
// /v1/calls/{id}/evaluations/{n} and reads the body into v.
func (s *Server) evaluationRequest(w http.ResponseWriter, r *http.Request, v any) (string, int, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || strconv.Itoa(n) != r.PathValue("n") {
		return "", 0, events.InvalidField("n", "must be an evaluation's number (1 for the call's first)")
	}
	return id, n, s.readBody(w, r, v)
}

// ownEvaluation returns evaluation n of c: Forbidden unless c is p's own
// call (whatever its evaluations), NotFound if c has no evaluation n.
func ownEvaluation(c projections.CallView, n int, p Principal) (projections.Review, error) {
	if c.StaffID != p.StaffID {
		return projections.Review{}, forbidden("only the call's rep may acknowledge or dispute its evaluations")
	}
	if n > len(c.Evaluations) {
		return projections.Review{}, events.Errorf(events.NotFound, "call %s has no evaluation %d", c.ID, n)
	}
	return c.Evaluations[n-1], nil
}

// disputable checks that ev may be disputed now: it is c's latest
// evaluation, c has no open dispute, and the dispute window since the
// review has not passed (by the server's clock; its last instant counts).
func (s *Server) disputable(c projections.CallView, ev projections.Review) error {
	if latest := len(c.Evaluations); ev.Evaluation != latest {
		return events.InvalidField("n", "evaluation %d is superseded by evaluation %d: only the latest may be disputed", ev.Evaluation, latest)
	}
	if d, open := openDispute(c); open {
		return events.InvalidField("n", "call %s already has an open dispute, %s", c.ID, d.ID)
	}
	if until := ev.ReviewedAt.Add(s.disputeWindow()); s.now().After(until) {
		return events.InvalidField("n", "evaluation %d could be disputed until %s", ev.Evaluation, until.UTC().Format(time.RFC3339))
	}
	return nil
}

// disputeWindow is Config.DisputeWindow, events.DisputeWindow if unset.
func (s *Server) disputeWindow() time.Duration { return cmp.Or(s.DisputeWindow, events.DisputeWindow) }

func (s *Server) postResolution(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req resolutionRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	dp, err := s.Queries.Dispute(r.Context(), id)
	if err != nil {
		return err
	}
	return s.callWrite(w, r, p, dp.CallID, nil, func(c projections.CallView) ([]events.Data, error) {
		return s.resolution(r.Context(), c, id, p, req)
	})
}

// resolution returns what resolving dispute id of c as req says appends:
// DisputeResolved, after the re-score's CallReviewed for rescored.
func (s *Server) resolution(ctx context.Context, c projections.CallView, id string, p Principal, req resolutionRequest) ([]events.Data, error) {
	i := slices.IndexFunc(c.Disputes, func(d projections.Dispute) bool { return d.ID == id })
	if i < 0 {
		return nil, events.Errorf(events.NotFound, "dispute %s not found", id)
	}
	if dp := c.Disputes[i]; dp.Status != projections.DisputeOpen {
		return nil, events.InvalidField("id", "dispute %s is already resolved: %s", id, dp.Status)
	}
	dp := c.Disputes[i]
	res := &events.DisputeResolved{DisputeID: id, ResolverID: p.StaffID, Resolution: req.Resolution, Note: req.Note}
	if req.Resolution == projections.DisputeRescored {
		res.Evaluation = len(c.Evaluations) + 1
	}
	if err := res.Validate(); err != nil {
		return nil, err
	}
	if res.Resolution == projections.DisputeUpheld {
		if len(req.Items) > 0 {
			return nil, events.InvalidField("items", "must be absent when the dispute is upheld")
		}
		if len(req.CoachingPoints) > 0 {
			return nil, events.InvalidField("coachingPoints", "must be absent when the dispute is upheld")
		}
		return []events.Data{res}, nil
	}
	ev := c.Evaluations[dp.Evaluation-1]
	d, err := s.scoredReview(ctx, c, p, ev.FormID, ev.FormVersion, req.Items, req.CoachingPoints)
	if err != nil {
		return nil, err
	}
	d.Supersedes, d.DisputeID = dp.Evaluation, id
	return []events.Data{d, res}, nil
}

func (s *Server) getEvaluations(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	f := projections.EvaluationFilter{Reviewer: q.Get("reviewer")}
	var err error
	if f.Rep, err = repScope(p, q.Get("rep")); err != nil {
		return err
	}
	if f.Reviewer != "" && !events.ValidID(f.Reviewer) {
		return events.InvalidField("reviewer", "must be a staff id")
	}
	switch q.Get("disputed") {
	case "", "false":
	case "true":
		f.Disputed = true
	default:
		return events.InvalidField("disputed", "must be true or false")
	}
	vs, err := s.Queries.Evaluations(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": vs})
	return nil
}

func (s *Server) getDisputes(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	f := projections.DisputeFilter{Status: q.Get("status")}
	var err error
	if f.Rep, err = repScope(p, q.Get("rep")); err != nil {
		return err
	}
	if f.Status != "" && !contains([]string{projections.DisputeOpen, projections.DisputeUpheld, projections.DisputeRescored}, f.Status) {
		return events.InvalidField("status", "must be open, upheld or rescored")
	}
	ds, err := s.Queries.Disputes(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
	return nil
}

// repScope returns the rep a listing of p's is limited to: rep as asked,
// except that reps and private bankers see only their own (another's is
// Forbidden).
func repScope(p Principal, rep string) (string, error) {
	if p.Role == roleRep || p.Role == rolePB {
		if rep != "" && rep != p.StaffID {
			return "", forbidden("reps and private bankers see only their own")
		}
		rep = p.StaffID
	}
	if rep != "" && !events.ValidID(rep) {
		return "", events.InvalidField("rep", "must be a staff id")
	}
	return rep, nil
}
