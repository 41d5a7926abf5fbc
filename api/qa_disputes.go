package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"maps"
	"net/http"
	"slices"
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

// callWrite appends to call id's stream the events build makes of the
// call as the read side has it, expecting the version read (If-Match
// overrides it). An append that lost a race with another append to the
// call (the sampler's selection, an acknowledgement) reads the call again
// and builds again, so that build's checks hold against the events the
// append follows. When build refuses the request as invalid, a retry of a
// request that already did the work gets the first answer.
func (s *Server) callWrite(w http.ResponseWriter, r *http.Request, p Principal, id string, extra extraFunc,
	build func(c projections.CallView) ([]events.Data, error)) error {
	stream := events.CallStream(id)
	for attempt := 0; ; attempt++ {
		c, err := s.Queries.Call(r.Context(), id)
		if err != nil {
			return err
		}
		ds, err := build(c)
		if events.ErrorCode(err) == events.Invalid {
			if done, rerr := s.replay(w, r, p, stream, extra); done || rerr != nil {
				return rerr
			}
		}
		if err != nil {
			return err
		}
		err = s.appendEvents(w, r, p, stream, events.Exact(c.Version), extra, ds...)
		if attempt == 4 || r.Header.Get("If-Match") != "" || events.ErrorCode(err) != events.Conflict || errors.Is(err, errKeyReused) {
			return err
		}
		s.catchUp(r.Context(), stream)
	}
}

// catchUp waits briefly for the read side to apply the last event of
// stream.
func (s *Server) catchUp(ctx context.Context, stream string) {
	if last, err := s.Store.ReadStream(ctx, stream, events.LastVersion, events.Backward, 1); err == nil && len(last) == 1 {
		s.settle(ctx, last[0].Position)
	}
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
