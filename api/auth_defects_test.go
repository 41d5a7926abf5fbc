package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestTokenInURLOnlyOnLive: shared/API.md allows ?access_token= for the
// WebSocket upgrade of /v1/live only (a token in a URL leaks through proxy
// logs, history and Referer). Anywhere else it is refused with 401, even
// next to a valid Authorization header, and nothing is appended.
func TestTokenInURLOnlyOnLive(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	head := s.head()
	q := func(who string) string { return "access_token=" + url.QueryEscape(s.tok[who]) }
	for _, c := range []struct {
		who, method, path string
		body              any
	}{
		{"", "GET", "/v1/customers/C1?" + q("R1"), nil},
		{"", "GET", "/v1/worklist?" + q("R1"), nil},
		{"", "GET", "/v1/audit/log?" + q("U1"), nil},
		{"", "GET", "/v1/audit/verify?" + q("U1"), nil},
		{"", "POST", "/v1/customers/C1/contacts?" + q("R1"), newContact("토큰")},
		{"", "POST", "/v1/staff?" + q("A001"), map[string]any{"staffId": "R7", "name": "Rep Seven", "role": "rep"}},
		{"", "DELETE", "/v1/staff/R2/tokens/" + s.tokIDs["R2"] + "?" + q("A001"), nil},
		// A valid header does not make the token in the URL right.
		{"R1", "POST", "/v1/customers/C1/contacts?" + q("R1"), newContact("토큰")},
		{"U1", "GET", "/v1/audit/log?" + q("U1"), nil},
		// The live route without a WebSocket upgrade is not the upgrade.
		{"", "GET", "/v1/live?" + q("U1"), nil},
	} {
		a := s.req(c.who, c.method, c.path, c.body)
		e, _ := a.body["error"].(map[string]any)
		if msg, _ := e["message"].(string); a.status != 401 || a.errCode() != "unauthenticated" || !strings.Contains(msg, "Authorization") {
			t.Errorf("%s %s (header of %q): %d %s, want 401 saying to use the Authorization header", c.method, c.path, c.who, a.status, a.raw)
		}
		if ch := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="dangol"`) {
			t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, ch)
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("requests with a token in the URL appended %d events, e.g. %v", len(evs), evs[0])
	}
	// The token R2 holds still works: the DELETE above did nothing.
	s.must("R2", "GET", "/v1/worklist", nil, 200)

	// The browser's way into the live feed still works.
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, resp, err := d.Dial(s.liveURL()+"?"+q("U1"), nil)
	if err != nil {
		t.Fatalf("live with access_token: %v (%v)", err, resp)
	}
	conn.Close()
	// And a bad one there is a plain 401.
	_, resp, err = d.Dial(s.liveURL()+"?access_token=dgl_nope", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("live with a bad access_token: %v %v", err, resp)
	}
}

// TestUnauthorizedChallenge: every 401 carries an RFC 6750 challenge,
// with error="invalid_token" when a token was given but is no good, and
// none when no bearer token was given at all.
func TestUnauthorizedChallenge(t *testing.T) {
	s := newStack(t, stackOptions{})
	head := s.head()
	for _, c := range []struct {
		name, who, want string
	}{
		{"no header", "", `Bearer realm="dangol"`},
		{"another scheme", "raw:Basic QTAwMTpzZWNyZXQ=", `Bearer realm="dangol"`},
		{"empty bearer", "raw:Bearer ", `Bearer realm="dangol"`},
		{"malformed token", "raw:Bearer nope", `Bearer realm="dangol", error="invalid_token"`},
		{"unknown token", "raw:Bearer dgl_" + strings.Repeat("0", 26) + "_" + strings.Repeat("A", 43), `Bearer realm="dangol", error="invalid_token"`},
		{"expired token", "expired", `Bearer realm="dangol", error="invalid_token"`},
	} {
		for _, r := range []struct{ method, path string }{{"GET", "/v1/worklist"}, {"POST", "/v1/staff"}, {"GET", "/v1/audit/log"}} {
			a := s.req(c.who, r.method, r.path, nil)
			ch := a.header.Get("WWW-Authenticate")
			if a.status != 401 || a.errCode() != "unauthenticated" {
				t.Errorf("%s on %s %s: %d %s, want 401", c.name, r.method, r.path, a.status, a.raw)
			}
			// The exact challenge without a token; with one, the error code
			// may be followed by a description.
			if (c.want == `Bearer realm="dangol"` && ch != c.want) || !strings.HasPrefix(ch, c.want) {
				t.Errorf("%s on %s %s: WWW-Authenticate %q, want %q", c.name, r.method, r.path, ch, c.want)
			}
		}
	}
	// A known token whose role may not: 403, no challenge.
	if a := s.req("R1", "GET", "/v1/audit/log", nil); a.status != 403 || a.header.Get("WWW-Authenticate") != "" {
		t.Errorf("forbidden: %d, WWW-Authenticate %q", a.status, a.header.Get("WWW-Authenticate"))
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("refused requests appended %d events", len(evs))
	}
}

// TestBearerSchemeCaseInsensitive: the authentication scheme is
// case-insensitive (RFC 7235 section 2.1); the token itself is not.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		if a := s.req("raw:"+scheme+" "+s.tok["R1"], "GET", "/v1/worklist", nil); a.status != 200 {
			t.Errorf("scheme %q: %d %s", scheme, a.status, a.raw)
		}
	}
	if a := s.req("raw:Bearer   "+s.tok["R1"], "GET", "/v1/worklist", nil); a.status != 200 {
		t.Errorf("several spaces after the scheme: %d %s", a.status, a.raw)
	}
	if a := s.req("raw:Bearer "+strings.ToUpper(s.tok["R1"]), "GET", "/v1/worklist", nil); a.status != 401 {
		t.Errorf("the token in upper case: %d %s, want 401", a.status, a.raw)
	}
	// The WebSocket upgrade takes the header the same way.
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, resp, err := d.Dial(s.liveURL(), http.Header{"Authorization": {"bearer " + s.tok["U1"]}})
	if err != nil {
		t.Fatalf("live with a lower-case scheme: %v (%v)", err, resp)
	}
	conn.Close()
}
