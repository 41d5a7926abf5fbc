package api

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	StaffID string
	Role    string
	TokenID string
	// Until, if set, is when the credential stops being valid unless used
	// again (a token's expiry; a console session's idle or absolute end):
	// the live feed closes then with closeDeadline, and the client's
	// reconnect is authenticated afresh.
	Until time.Time
}

// Authenticator resolves a bearer token to its principal. It returns an
// error for an unknown, expired or revoked token.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string, now time.Time) (Principal, error)
}

// handlerFunc is an authenticated handler; a returned error is answered by
// writeError, so handlers never write error bodies themselves.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p Principal) error

// Metrics are the API's Prometheus collectors, registered on a registry the
// caller owns.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	access   *accessMetrics // the access record's (access.go)
}

// NewMetrics creates and registers the HTTP collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dangol_http_requests_total", Help: "HTTP requests by route pattern and status (499: the client went away before the answer).",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dangol_http_request_duration_seconds", Help: "HTTP request duration by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	m.access = newAccessMetrics(reg)
	return m
}

// requestRecord collects what the request log line says about a request.
type requestRecord struct {
	status  int
	staffID string
	err     error
}

type recordKey struct{}

func recordOf(r *http.Request) *requestRecord {
	rec, _ := r.Context().Value(recordKey{}).(*requestRecord)
	return rec
}

type statusWriter struct {
	http.ResponseWriter
	rec *requestRecord
}

func (w *statusWriter) WriteHeader(code int) {
	if w.rec.status == 0 {
		w.rec.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.rec.status == 0 {
		w.rec.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the WebSocket upgrader reach the
// underlying writer (Hijack, Flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps the whole mux: one structured log line and one metrics
// sample per request, with the route pattern (never the raw path, which
// holds customer ids) and the staff id, never a personal field.
func observe(next http.Handler, log *slog.Logger, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &requestRecord{}
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic serving request", "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(&statusWriter{w, rec}, r, errInternal)
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			if clientGone(r) && (rec.status == 0 || rec.status >= 500) {
				// The answer, if any, was never read: a store call cut short
				// by the client's cancellation is not a server error.
				rec.status = StatusClientClosedRequest
			} else if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			if m != nil {
				m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
				m.duration.WithLabelValues(route).Observe(d.Seconds())
			}
			attrs := []any{"route", route, "status", rec.status, "duration_ms", float64(d.Microseconds()) / 1000}
			if rec.staffID != "" {
				attrs = append(attrs, "staff", rec.staffID)
			}
			// A 499 was a 5xx (or no answer) whose client left: its error
			// may still be a real failure that happened to meet the abort.
			if rec.err != nil && (rec.status >= 500 || rec.status == StatusClientClosedRequest) {
				attrs = append(attrs, "err", rec.err.Error())
			}
			log.Info("request", attrs...)
		}()
		next.ServeHTTP(&statusWriter{w, rec}, r)
	})
}

var errInternal = &apiError{http.StatusInternalServerError, "internal", "internal error"}

// StatusClientClosedRequest is the status the request log and
// dangol_http_requests_total give a request whose client went away before
// it was answered (nginx's 499), so that clients aborting requests never
// count as server errors. It is never sent: nobody is left to read it.
const StatusClientClosedRequest = 499

// clientGone reports whether r's client went away: the server cancels a
// request's context when its connection closes (or, in HTTP/2, its stream
// is reset) while the handler runs, and for no other reason before the
// handler returns.
func clientGone(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

// Hijack lets the WebSocket upgrader take over the connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	if w.rec.status == 0 {
		w.rec.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// Flush passes flushes through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
