package api

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/dangol/dangol/events"
	"github.com/gorilla/websocket"
)

// People sign in to the web console (api/console), which keeps their
// sessions; programs keep bearer tokens. The API meets sessions in two
// places only:
//
//   - The live feed: a browser opens /v1/live with its session cookie (it
//     cannot set an Authorization header on a WebSocket), so the upgrade
//     asks the SessionAuthenticator, and only for a same-origin request: a
//     cookie goes with a cross-site WebSocket too, and a page elsewhere must
//     not read the feed with it.
//   - Dispatch: a console form runs the very handler of the API write it
//     stands for, in process, as the signed-in member, so that it appends
//     the same events after the same validation and idempotency checks.
//
// Every other /v1 route ignores cookies: a cookie-authenticated JSON API
// would need CSRF protection of its own.

// SessionAuthenticator resolves a request's session cookie to its
// principal; it returns an error for a missing, unknown, expired or ended
// session.
type SessionAuthenticator interface {
	AuthenticateSession(r *http.Request) (Principal, error)
}

// UseSessions lets a browser open the live feed with its session; call it
// before serving.
func (s *Server) UseSessions(a SessionAuthenticator) { s.sessions = a }

// Mount serves h at pattern on the API's listener, with the API's request
// log and metrics (the console is mounted at "/").
func (s *Server) Mount(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// closeEnded closes a live connection whose credentials ended: its token
// was revoked, its session signed out, or its member deactivated.
const closeEnded = 4401

// closeDeadline closes a live connection at its principal's Until: the
// client reconnects (with fromPosition), which authenticates the session
// or token again, so a page left open without use still ends at the idle
// timeout, and nothing reaches a client past its credential's expiry.
const closeDeadline = 4001

// deadlineText is the reason sent with closeDeadline.
const deadlineText = "your session or token needs renewing; " + resumeText

type principalKey struct{}

// Dispatched is the answer of an API route run through Dispatch.
type Dispatched struct {
	Status int
	Header http.Header
	Body   []byte
	Err    error // the error the handler answered, if any, as the handler returned it
}

// Dispatch runs the API route for method and path as p, in process, with
// header and body as a client would send them, and returns its answer. ctx
// should be the console request's: its cancellation and values carry over.
func (s *Server) Dispatch(ctx context.Context, p Principal, method, path string, header http.Header, body []byte) Dispatched {
	r, rec, err := dispatchRequest(ctx, p, method, path, header, body) // dispatch.go
	if err != nil {
		return Dispatched{Status: http.StatusBadRequest, Err: err}
	}
	w := &bufferWriter{header: http.Header{}}
	s.mux.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return Dispatched{Status: w.status, Header: w.header, Body: w.body.Bytes(), Err: rec.err}
}

// bufferWriter collects an in-process answer.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferWriter) Header() http.Header { return w.header }
func (w *bufferWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *bufferWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// dispatched returns the principal Dispatch runs a route as, if r came
// through it. Only code in this process can set it.
func dispatched(r *http.Request) (Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(Principal)
	return p, ok
}

// sessionLive authenticates a live upgrade by its session cookie, for a
// same-origin request only.
func (s *Server) sessionLive(r *http.Request) (Principal, bool, error) {
	if s.sessions == nil || r.Pattern != liveRoute || !websocket.IsWebSocketUpgrade(r) || len(r.Cookies()) == 0 {
		return Principal{}, false, nil
	}
	if !sameOrigin(r) {
		return Principal{}, true, forbidden("a session opens the live feed only from the console's own origin")
	}
	p, err := s.sessions.AuthenticateSession(r)
	if err != nil {
		if unavailable(err) {
			return Principal{}, true, err
		}
		return Principal{}, false, nil // an ended session is no credential: the usual 401
	}
	return p, true, nil
}

// sameOrigin reports whether r's Origin header names the host r was sent
// to (a browser always sends Origin on a WebSocket upgrade).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}

// endedCredentials returns, for an event that ends credentials, the staff
// member and the token or session id it ends ("" for all of the member's).
func endedCredentials(env *events.Envelope) (staff, id string, ok bool) {
	cat, member := events.StreamID(env.Stream)
	if cat != events.CategoryStaff {
		return "", "", false
	}
	switch env.Type {
	case "TokenRevoked", "SignedOut", "StaffDeactivated":
	default:
		return "", "", false
	}
	d, err := events.Decode(env)
	if err != nil {
		return "", "", false
	}
	switch d := d.(type) {
	case *events.TokenRevoked:
		return member, d.TokenID, true
	case *events.SignedOut:
		return member, d.SessionID, true
	case *events.StaffDeactivated:
		return member, "", true
	}
	return "", "", false
}
