package api

import (
	"net/http"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// samplingPlanAnswer is the body of GET /v1/qa/sampling-plan.
type samplingPlanAnswer struct {
	Current  projections.SamplingPlan   `json:"current"`
	Versions []projections.SamplingPlan `json:"versions"`
}

func (s *Server) getSamplingPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	plans, err := s.Queries.SamplingPlans(r.Context())
	if err != nil {
		return err
	}
	a := samplingPlanAnswer{Current: s.BuiltInPlan, Versions: plans}
	a.Current.Version = 0
	if len(plans) > 0 {
		a.Current = plans[0]
	}
	w.Header().Set("ETag", `"`+strconv.Itoa(a.Current.Version)+`"`)
	writeJSON(w, http.StatusOK, a)
	return nil
}

// planRequest is the body of PUT /v1/qa/sampling-plan. Every rule must be
// given (0 turns it off), so that a client that forgot one does not turn
// it off unknowingly.
type planRequest struct {
	NewRepCalls   *int   `json:"newRepCalls"`
	PerRepWeek    *int   `json:"perRepWeek"`
	LongCallSec   *int   `json:"longCallSec"`
	ComplaintDays *int   `json:"complaintDays"`
	Note          string `json:"note"`
}

func (req planRequest) data() (*events.SamplingPlanPublished, error) {
	d := &events.SamplingPlanPublished{Note: req.Note}
	for _, f := range []struct {
		name string
		in   *int
		out  *int
	}{{"newRepCalls", req.NewRepCalls, &d.NewRepCalls}, {"perRepWeek", req.PerRepWeek, &d.PerRepWeek},
		{"longCallSec", req.LongCallSec, &d.LongCallSec}, {"complaintDays", req.ComplaintDays, &d.ComplaintDays}} {
		if f.in == nil {
			return nil, events.InvalidField(f.name, "is required (0 turns the rule off)")
		}
		*f.out = *f.in
	}
	return d, nil
}

// putSamplingPlan publishes the next version of the sampling plan: version
// n is the n-th event of events.SamplingSettingsStream, and the answer's
// version, its ETag and If-Match are plan versions (publishNext). With
// If-Match "<n>" it is published only if n is the latest version (0: none
// yet), else 409; without, it follows whatever is latest.
func (s *Server) putSamplingPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req planRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	d, err := req.data()
	if err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.Any)
	if err != nil {
		return err
	}
	res, err := s.publishNext(r, p, events.SamplingSettingsStream, opt, func(version int) events.Data {
		d.Version = version
		return d
	})
	if err != nil {
		return err
	}
	answerCreated(w, res, "/v1/qa/sampling-plan", nil)
	return nil
}

// appendAnswered appends d, which holds no personal fields, to stream as
// exp expects and returns the result for the caller to answer with fields
// of its own: with Idempotency-Key key, a retry of the same request gets
// the first result, a key used for another request errKeyReused's
// conflict (idempotency.go). It waits briefly for the read side, as every
// write does.
func (s *Server) appendAnswered(r *http.Request, p Principal, stream string, exp events.ExpectedVersion, key [16]byte,
	d events.Data) (events.AppendResult, error) {
	meta := events.Meta{ID: key, Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	var b binding
	if key != ([16]byte{}) {
		b = bind(key, p, r, d)
		meta.CausationID = b.cause
	}
	ev, err := events.NewEvent(d, meta)
	if err != nil {
		return events.AppendResult{}, err
	}
	res, err := s.Store.Append(r.Context(), stream, exp, ev)
	if key != ([16]byte{}) && usedElsewhere(err) {
		return res, s.keyReused(r.Context(), stream)
	}
	if err != nil {
		return res, err
	}
	if res.Duplicate {
		if err := s.checkDuplicate(r.Context(), res, b); err != nil {
			return res, err
		}
	}
	s.settle(r.Context(), res.Position)
	return res, nil
}
