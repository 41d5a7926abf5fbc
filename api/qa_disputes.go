package api

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// An evaluation is the n-th CallReviewed of a call stream. Its rep
// acknowledges it or, within the dispute window, disputes the latest one;
// a supervisor resolves the dispute by upholding the evaluation or by
// re-scoring the call, which appends the new evaluation and the
// resolution in one append (docs/api.md, "Reviews and disputes").

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
	c, ev, err := s.ownEvaluation(w, r, p, &req)
	if err != nil {
		return err
	}
	stream := events.CallStream(c.ID)
	if ev.AcknowledgedAt != nil {
		if done, err := s.answerRetry(w, r, p, stream); done || err != nil {
			return err
		}
		return events.InvalidField("n", "evaluation %d is already acknowledged", ev.Evaluation)
	}
	d := &events.ReviewAcknowledged{Evaluation: ev.Evaluation, RepID: p.StaffID, Comment: req.Comment}
	return s.appendData(w, r, p, stream, events.Exact(c.Version), "", "call", d)
}

func (s *Server) postDispute(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req disputeRequest
	c, ev, err := s.ownEvaluation(w, r, p, &req)
	if err != nil {
		return err
	}
	stream := events.CallStream(c.ID)
	if err := s.disputable(c, ev); err != nil {
		if done, rerr := s.replay(w, r, p, stream, disputeAnswer); done || rerr != nil {
			return rerr
		}
		return err
	}
	d := &events.ReviewDisputed{DisputeID: events.NewID().String(), Evaluation: ev.Evaluation, RepID: p.StaffID, Reason: req.Reason}
	return s.appendEvents(w, r, p, stream, events.Exact(c.Version), disputeAnswer, d)
}

// disputeAnswer is what a dispute answers beside the append: its id.
func disputeAnswer(last events.Data) map[string]any {
	if d, ok := last.(*events.ReviewDisputed); ok {
		return map[string]any{"disputeId": d.DisputeID}
	}
	return nil
}

// ownEvaluation reads the body into v and returns the call and the
// evaluation the path /v1/calls/{id}/evaluations/{n} names: NotFound if
// either does not exist, Forbidden unless the call is the caller's own.
func (s *Server) ownEvaluation(w http.ResponseWriter, r *http.Request, p Principal, v any) (projections.CallView, projections.Review, error) {
	var c projections.CallView
	id, err := pathID(r, "id")
	if err != nil {
		return c, projections.Review{}, err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || strconv.Itoa(n) != r.PathValue("n") {
		return c, projections.Review{}, events.InvalidField("n", "must be an evaluation's number (1 for the call's first)")
	}
	if err := s.readBody(w, r, v); err != nil {
		return c, projections.Review{}, err
	}
	if c, err = s.Queries.Call(r.Context(), id); err != nil {
		return c, projections.Review{}, err
	}
	if n > len(c.Evaluations) {
		return c, projections.Review{}, events.Errorf(events.NotFound, "call %s has no evaluation %d", id, n)
	}
	if c.StaffID != p.StaffID {
		return c, projections.Review{}, forbidden("only the call's rep may acknowledge or dispute its evaluations")
	}
	return c, c.Evaluations[n-1], nil
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
	c, err := s.Queries.Call(r.Context(), dp.CallID)
	if err != nil {
		return err
	}
	stream := events.CallStream(c.ID)
	if dp.Status != projections.DisputeOpen {
		if done, err := s.replay(w, r, p, stream, nil); done || err != nil {
			return err
		}
		return events.InvalidField("id", "dispute %s is already resolved: %s", dp.ID, dp.Status)
	}
	res := &events.DisputeResolved{DisputeID: dp.ID, ResolverID: p.StaffID, Resolution: req.Resolution, Note: req.Note}
	if req.Resolution == projections.DisputeRescored {
		res.Evaluation = len(c.Evaluations) + 1
	}
	if err := res.Validate(); err != nil {
		return err
	}
	if res.Resolution == projections.DisputeUpheld {
		if len(req.Items) > 0 {
			return events.InvalidField("items", "must be absent when the dispute is upheld")
		}
		if len(req.CoachingPoints) > 0 {
			return events.InvalidField("coachingPoints", "must be absent when the dispute is upheld")
		}
		return s.appendEvents(w, r, p, stream, events.Exact(c.Version), nil, res)
	}
	ev := c.Evaluations[dp.Evaluation-1]
	d, err := s.scoredReview(r.Context(), c, p, ev.FormID, ev.FormVersion, req.Items, req.CoachingPoints)
	if err != nil {
		return err
	}
	d.Supersedes, d.DisputeID = dp.Evaluation, dp.ID
	return s.appendEvents(w, r, p, stream, events.Exact(c.Version), nil, d, res)
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

// extraFunc returns the fields a write answers beside the append result,
// from the data of the append's last event (as appended, or as stored
// when a retry is answered).
type extraFunc func(last events.Data) map[string]any

// appendEvents appends ds to stream in one append, expecting def unless
// If-Match says otherwise, and answers 201 with the append result and
// extra's fields. With an Idempotency-Key, the last event's id is the key
// and each earlier one's is derived from it (keyedID), so that the store
// takes a retry's events for the first request's, and a retry is answered
// from the stored events as the first request was (replay).
func (s *Server) appendEvents(w http.ResponseWriter, r *http.Request, p Principal, stream string, def events.ExpectedVersion,
	extra extraFunc, ds ...events.Data) error {
	opt, err := parseWriteOptions(r, def)
	if err != nil {
		return err
	}
	keyed := opt.id != [16]byte{}
	meta := events.Meta{Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	if keyed {
		meta.CausationID = bind(opt.id, p, r, ds[len(ds)-1]).cause
	}
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		m := meta
		if keyed {
			m.ID = keyedID(opt.id, len(ds)-1-i)
		}
		if evs[i], err = events.NewEvent(d, m); err != nil {
			return err
		}
	}
	res, err := s.Store.Append(r.Context(), stream, opt.expected, evs...)
	switch {
	case keyed && idsTaken(err):
		return s.keyReused(r.Context(), stream)
	case err != nil:
		return err
	case res.Duplicate:
		if done, err := s.replay(w, r, p, stream, extra); done || err != nil {
			return err
		}
		return s.keyReused(r.Context(), stream)
	}
	s.settle(r.Context(), res.Position)
	answerWith(w, res, extra, ds[len(ds)-1])
	return nil
}

// keyedID returns the id of the event k places before the last of an
// append keyed by key: key itself for the last; for earlier ones key's
// time and a random part derived from key and k.
func keyedID(key [16]byte, k int) [16]byte {
	if k == 0 {
		return key
	}
	sum := sha256.Sum256(append(key[:], byte(k)))
	id := key
	copy(id[6:], sum[:10])
	return id
}

// idsTaken reports whether err is the store's refusal of event ids used
// by another append: for the API, a key used for another request.
func idsTaken(err error) bool {
	var ee *events.Error
	return errors.As(err, &ee) && ee.Code == events.Invalid &&
		(ee.Field == "events" || strings.HasPrefix(ee.Field, "events[") && strings.HasSuffix(ee.Field, "].id"))
}

// replay answers a request whose Idempotency-Key is the id of the last
// event of an append in stream as appendEvents answered that append, and
// reports whether it did; a key naming an event of another request is the
// key conflict. Handlers call it where the state the first request changed
// now refuses the request.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, p Principal, stream string, extra extraFunc) (bool, error) {
	opt, err := parseWriteOptions(r, events.Any)
	if err != nil || opt.id == [16]byte{} {
		return false, err
	}
	evs, err := s.Store.ReadStream(r.Context(), stream, events.LastVersion, events.Backward, 1000)
	if err != nil {
		return false, err
	}
	for i := range evs {
		if evs[i].ID != opt.id {
			continue
		}
		if same, err := s.sameRequest(r.Context(), &evs[i], bind(opt.id, p, r, nil)); err != nil || !same {
			if err == nil {
				err = s.keyReused(r.Context(), stream)
			}
			return false, err
		}
		res := events.AppendResult{Stream: evs[i].Stream, Version: evs[i].Version, Position: evs[i].Position,
			EventIDs: []string{evs[i].ID.String()}}
		for k := 1; i+k < len(evs) && evs[i+k].ID == keyedID(opt.id, k); k++ {
			res.EventIDs = append([]string{evs[i+k].ID.String()}, res.EventIDs...)
		}
		last, err := s.decoder()(r.Context(), &evs[i])
		if err != nil {
			return false, err
		}
		answerWith(w, res, extra, last)
		return true, nil
	}
	return false, nil
}

// answerWith answers 201 with an append's result and extra's fields of the
// data of its last event.
func answerWith(w http.ResponseWriter, res events.AppendResult, extra extraFunc, last events.Data) {
	if extra == nil {
		answerAppended(w, res)
		return
	}
	w.Header().Set("ETag", `"`+strconv.FormatUint(res.Version, 10)+`"`)
	w.Header().Set("Location", "/v1/audit/streams/"+res.Stream)
	answer := map[string]any{"stream": res.Stream, "version": res.Version, "position": res.Position, "eventIds": res.EventIDs}
	maps.Copy(answer, extra(last))
	writeJSON(w, http.StatusCreated, answer)
}
