package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// New returns a Server for cfg. Call Run to follow the log for the live
// feed, and serve Handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.MaxRecordingBytes <= 0 {
		cfg.MaxRecordingBytes = 256 << 20
	}
	s := &Server{Config: cfg, auth: tokenAuth{cfg.Queries}, live: cfg.Live, mux: http.NewServeMux()}
	s.hub = newHub(s)
	s.access = newAccessRecorder(cfg.Store, cfg.Logger, cfg.Metrics)
	s.routes(s.handle)
	return s
}

// Run follows the log for the live feed, sweeps expired staged
// recordings and appends the access record until ctx ends; WebSocket
// clients then get a close frame, and the access record's last reads are
// appended before Run returns.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	swept, recorded := make(chan struct{}), make(chan struct{})
	go func() { defer close(swept); s.sweepRecordings(ctx) }()
	tick, stopTicks := flushTicks(cmp.Or(s.AccessFlush, defaultAccessFlush))
	go func() { defer close(recorded); defer stopTicks(); s.access.run(ctx, tick) }()
	defer func() { cancel(); <-swept; <-recorded }()
	return s.hub.run(ctx)
}

// Handler returns the HTTP handler of the whole API.
func (s *Server) Handler() http.Handler { return s.withClientAddr(observe(s.mux, s.Logger, s.Metrics)) }

// routes registers every authenticated route through h (New passes
// s.handle; the OpenAPI document's test passes a recorder, so that the
// document is held to exactly what is served), then the unauthenticated
// ones on s.mux.
func (s *Server) routes(h func(pattern string, roles []string, f handlerFunc)) {
	h("POST /v1/customers", registrars, s.postCustomer)
	h("POST /v1/customers/{id}/profile", advisors, s.customerWrite(func() events.Data { return new(events.ProfileChanged) }, nil))
	h("POST /v1/customers/{id}/verifications", advisors, s.customerWrite(func() events.Data { return new(events.ProfileVerified) }, nil))
	h("POST /v1/customers/{id}/consents", advisors, s.customerWrite(func() events.Data { return new(events.ConsentChanged) }, nil))
	h("POST /v1/customers/{id}/life-events", advisors, s.customerWrite(func() events.Data { return new(events.LifeEventRecorded) }, nil))
	h("POST /v1/customers/{id}/contacts", advisors, s.customerWrite(func() events.Data { return new(events.ContactLogged) }, fillContact))
	h("POST /v1/customers/{id}/pitches", advisors, s.postPitch)
	h("POST /v1/customers/{id}/requests", advisors, s.customerWrite(func() events.Data { return new(events.CustomerRequestNoted) }, nil))
	h("POST /v1/customers/{id}/assignment", managers, s.postAssignment)
	h("POST /v1/customers/{id}/erasure", adminsOnly, s.postErasure)
	h("POST /v1/customers/{id}/merges", stewards, s.postMerge)
	h("PUT /v1/recordings", uploaders, s.putRecording)
	h("POST /v1/calls", uploaders, s.postCall)
	h("POST /v1/calls/{id}/selection", supervisors, s.postSelection)
	h("POST /v1/calls/{id}/reviews", supervisors, s.postReview)
	h("POST /v1/calls/{id}/evaluations/{n}/acknowledgement", coachees, s.postEvaluationAck)
	h("POST /v1/calls/{id}/evaluations/{n}/dispute", coachees, s.postDispute)
	h("POST /v1/qa/disputes/{id}/resolution", supervisors, s.postResolution)
	h("POST /v1/coaching/{pointId}/acknowledgement", coachees, s.postAcknowledgement)
	h("POST /v1/coaching/{pointId}/follow-up", heads, s.postFollowUp)
	h("POST /v1/staff", adminsOnly, s.postStaff)
	h("POST /v1/staff/{id}/tokens", adminsOnly, s.postToken)
	h("DELETE /v1/staff/{id}/tokens/{tokenId}", adminsOnly, s.revokeToken)
	h("POST /v1/staff/{id}/setup-codes", adminsOnly, s.postSetupCode)
	h("POST /v1/staff/{id}/deactivation", adminsOnly, s.postDeactivation)
	h("POST /v1/staff/{id}/second-factor/reset", adminsOnly, s.postSecondFactorReset)
	h("PUT /v1/signin-policy", adminsOnly, s.putSignInPolicy)
	h("PUT /v1/qa/sampling-plan", qaLeads, s.putSamplingPlan)
	h("POST /v1/qa/calibrations", qaLeads, s.postCalibration)
	h("POST /v1/qa/calibrations/{id}/scores", qaLeads, s.postCalibrationScore)
	h("POST /v1/qa/calibrations/{id}/closure", qaLeads, s.postCalibrationClosure)
	h("PUT /v1/qa/forms/{id}", qaLeads, s.putForm)
	h("POST /v1/campaigns", campaigners, s.postCampaign)
	h("POST /v1/campaigns/preview", campaigners, s.postPreview)
	h("POST /v1/campaigns/{id}/amendments", campaigners, s.postAmendment)
	h("POST /v1/campaigns/{id}/closure", campaigners, s.postCampaignClosure)

	h("GET /v1/customers/{id}", readers, s.getCustomer)
	h("GET /v1/customers/{id}/timeline", readers, s.getTimeline)
	h("GET /v1/customers", readers, s.listCustomers)
	h("GET /v1/search/customers", readers, s.searchCustomers)
	h("GET /v1/duplicates", stewards, s.getDuplicates)
	h("GET /v1/duplicates/withheld", stewards, s.getWithheldValues)
	h("GET /v1/worklist", readers, s.getWorklist)
	h("GET /v1/calls/{id}", readers, s.getCall)
	h("GET /v1/recordings/{sha256}", readers, s.getRecording)
	h("GET /v1/qa/queue", qaReaders, s.getQueue)
	h("GET /v1/qa/sampling-plan", qaReaders, s.getSamplingPlan)
	h("GET /v1/qa/calibrations", qaReaders, s.getCalibrations)
	h("GET /v1/qa/calibrations/{id}", qaReaders, s.getCalibration)
	h("GET /v1/qa/forms", readers, s.listForms)
	h("GET /v1/qa/forms/{id}", readers, s.getForm)
	h("GET /v1/qa/evaluations", readers, s.getEvaluations)
	h("GET /v1/qa/disputes", readers, s.getDisputes)
	h("GET /v1/coaching", readers, s.getCoaching)
	h("GET /v1/reports/{name}", reporters, s.getReport)
	h("GET /v1/reports/tier-migration", tierReaders, s.getTierMigration)
	h("GET /v1/reports/campaigns/{id}", campaignReporters, s.getCampaignReport)
	h("GET /v1/campaigns", campaignReaders, s.listCampaigns)
	h("GET /v1/campaigns/{id}", campaignReaders, s.getCampaign)
	h("GET /v1/campaigns/{id}/targets", targetReaders, s.getTargets)
	h("GET /v1/audit/streams/{stream}", auditors, s.getAuditStream)
	h("GET /v1/audit/log", auditors, s.getAuditLog)
	h("GET /v1/audit/verify", auditors, s.getAuditVerify)
	h("GET /v1/audit/seals", auditors, s.getAuditSeals)
	h("GET /v1/audit/seals/latest", auditors, s.getAuditSealsLatest)
	h("GET /v1/audit/proofs/inclusion", auditors, s.getInclusionProof)
	h("GET /v1/audit/proofs/consistency", auditors, s.getConsistencyProof)
	h("GET /v1/audit/export", auditors, s.getAuditExport)
	h("GET /v1/audit/export/manifest", auditors, s.getAuditExportManifest)
	h("GET /v1/audit/access", auditors, s.getAccess)
	h("GET /v1/audit/access/check", auditors, s.getAccessCheck)
	h("POST /v1/audit/access/check/sign-off", auditors, s.postSignOff)
	h("GET /v1/live", readersAll, s.serveLive)

	s.mux.HandleFunc("GET /v1/openapi.json", s.getOpenAPI)
	s.mux.HandleFunc("GET /v1/audit/key", s.getAuditKey)
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, events.Errorf(events.NotFound, "no such endpoint"))
	})
}

var readersAll = []string{roleRep, rolePB, roleSupervisor, roleCentreHead, roleAuditor}

// handle registers an authenticated route for roles.
func (s *Server) handle(pattern string, roles []string, f handlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	audit := strings.HasPrefix(path, "/v1/audit/")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authorize(w, r, roles)
		if err == nil && audit {
			err = onceEach(r)
		}
		if err == nil && method == http.MethodGet {
			err = AwaitMinPosition(r, s.Store, s.Progress)
		}
		if err == nil {
			err = f(w, r, p)
		}
		if err != nil {
			writeError(w, r, err)
		}
	})
}

// onceEach refuses a query parameter given more than once: the auditor's
// routes answer exactly what was asked (which position's proof, which
// month's record), never the first of two values silently.
func onceEach(r *http.Request) error {
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for name, vs := range q {
		if len(vs) > 1 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return events.InvalidField(names[0], "must be given once")
}

// Health serves /healthz and /readyz for the operations listener: ready
// means the store answers and the read side is within maxLag events of the
// log's head.
func (s *Server) Health(maxLag uint64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		head, err := s.Store.Head(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "reason": "store unreachable"})
			return
		}
		pos := s.Progress.Position()
		lag := head.Seq() - min(head.Seq(), pos.Seq())
		if lag > maxLag {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "reason": "projections catching up", "lag": lag})
			return
		}
		// Until the read side has applied the log as it was at start, the
		// API answers 503 (authorize): a load balancer must not send it
		// traffic yet, however small the lag.
		select {
		case <-s.Progress.CaughtUp():
		default:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "reason": "starting: read models catching up", "lag": lag})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "head": head, "position": pos})
	})
	return mux
}

// MinPositionHeader on a read asks the server to answer only once its read
// side has applied the log up to that position (an append's answer, from any
// server of the deployment): read-your-writes across servers behind a load
// balancer. The wait is bounded; past it the answer is 503. A position the
// log has not reached is 400 invalid at once: no write answered it, so
// waiting could only end in the timeout.
const MinPositionHeader = "Dangol-Min-Position"

const minPositionWait = 5 * time.Second

// AwaitMinPosition waits, at most 5 seconds, until progress has applied
// the log up to the position r's MinPositionHeader names, if it names one;
// the web console's pages wait on it as the API's reads do. It returns
// Invalid if the header is no position or one past store's head, and
// Unavailable if the head cannot be read or the wait ends first.
func AwaitMinPosition(r *http.Request, store Store, progress Progress) error {
	v := r.Header.Get(MinPositionHeader)
	if v == "" {
		return nil
	}
	pos, err := events.ParsePosition(v)
	if err != nil {
		return events.InvalidField(MinPositionHeader, "must be a log position")
	}
	if !progress.Position().Less(pos) {
		return nil
	}
	// The log's head is read after the caller's write was acknowledged (the
	// stores' heads never go back), so a position past it was never answered.
	head, err := store.Head(r.Context())
	if err != nil {
		return &events.Error{Code: events.Unavailable, Message: "cannot read the log's head; retry", Err: err}
	}
	if head.Less(pos) {
		return events.InvalidField(MinPositionHeader, "position %s is beyond the log's head (%s)", pos, head)
	}
	ctx, cancel := context.WithTimeout(r.Context(), minPositionWait)
	defer cancel()
	if err := progress.WaitFor(ctx, pos); err != nil {
		return &events.Error{Code: events.Unavailable, Message: "the read side has not reached position " + pos.String() + " yet; retry", Err: err}
	}
	return nil
}
