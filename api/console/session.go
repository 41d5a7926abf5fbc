package console

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// A session is what a sign-in starts (event SignedIn on the member's staff
// stream): an id, and a 256-bit secret of which only the SHA-256 is
// stored, as for API tokens. The browser holds both in the session cookie,
// with the time the session was last used and a MAC over the three under
// the console's cookie key, so that the idle timeout holds across restarts
// and across the servers of a deployment without a write per request. The
// absolute expiry is in the event; SignedOut (sign-out, idle, revocation)
// ends a session for good.

// Session is a signed-in member's session, as a page handler sees it.
type Session struct {
	ID           string
	StaffID      string
	Name         string
	Role         string
	BranchIDs    []string
	SecondFactor bool
	ExpiresAt    time.Time
}

// Principal is the session as the API sees its caller.
func (s *Session) Principal() api.Principal {
	return api.Principal{StaffID: s.StaffID, Role: s.Role, TokenID: s.ID}
}

// keys are the console's keys, each derived from Config.Secret by label.
type keys struct {
	cookie []byte // MAC of session cookies
	csrf   []byte // CSRF tokens
	seal   []byte // AES-256-GCM key sealing second-factor secrets
}

func deriveKeys(secret []byte) keys {
	if len(secret) < 32 {
		panic("console: Config.Secret must be at least 32 bytes")
	}
	k := func(label string) []byte {
		b, err := hkdf.Key(sha256.New, secret, nil, "dangol console "+label, 32)
		if err != nil {
			panic(err)
		}
		return b
	}
	return keys{cookie: k("cookie"), csrf: k("csrf"), seal: k("second factor")}
}

// cookieName is the session cookie's name: with Secure, the __Host- prefix
// makes browsers refuse it unless it is Secure, host-only and Path=/.
func (c *Console) cookieName() string {
	if c.SecureCookies {
		return "__Host-dangol_session"
	}
	return "dangol_session"
}

// randomBytes returns n bytes from crypto/rand (which never fails: it
// crashes the program instead).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newSecret returns 32 random bytes: a session's secret, a CSRF cookie.
func newSecret() []byte { return randomBytes(32) }

// cookie is a session cookie's content.
type cookie struct {
	id       string
	secret   string // base64url of the 32 random bytes; api.HashToken of it is the stored hash
	lastSeen int64  // unix seconds
}

func (c *Console) cookieMAC(k cookie) string {
	m := hmac.New(sha256.New, c.keys.cookie)
	m.Write([]byte(k.id + "." + k.secret + "." + strconv.FormatInt(k.lastSeen, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func (c *Console) encodeCookie(k cookie) string {
	return k.id + "." + k.secret + "." + strconv.FormatInt(k.lastSeen, 10) + "." + c.cookieMAC(k)
}

func (c *Console) decodeCookie(v string) (cookie, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || !events.ValidID(parts[0]) || len(parts[1]) != 43 {
		return cookie{}, false
	}
	seen, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return cookie{}, false
	}
	k := cookie{id: parts[0], secret: parts[1], lastSeen: seen}
	if !hmac.Equal([]byte(c.cookieMAC(k)), []byte(parts[3])) {
		return cookie{}, false
	}
	return k, true
}

// setSessionCookie sets the session cookie for k; it lives as long as the
// browser runs (no Max-Age: closing the browser ends it on this machine).
func (c *Console) setSessionCookie(w http.ResponseWriter, k cookie) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: c.encodeCookie(k), Path: "/", HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// sessionState is what looking a cookie up found.
type sessionState int

const (
	noSession    sessionState = iota // no cookie, a malformed or forged one, or an unknown session
	liveSession                      // valid
	idleSession                      // valid but unused for longer than IdleTimeout
	endedSession                     // signed out, expired, revoked, member deactivated, or lacking a now required second factor
)

// lookup resolves r's session cookie at now.
func (c *Console) lookup(r *http.Request, now time.Time) (*Session, cookie, sessionState, error) {
	hc, err := r.Cookie(c.cookieName())
	if err != nil {
		return nil, cookie{}, noSession, nil
	}
	k, ok := c.decodeCookie(hc.Value)
	if !ok {
		return nil, cookie{}, noSession, nil
	}
	t, err := c.Queries.Token(r.Context(), k.id)
	if events.ErrorCode(err) == events.NotFound {
		return nil, k, noSession, nil
	}
	if err != nil {
		return nil, k, noSession, err
	}
	if t.Kind != projections.KindSession || !api.TokenMatches(k.secret, t.Hash) {
		return nil, k, noSession, nil
	}
	m, err := c.Queries.StaffMember(r.Context(), t.StaffID)
	if err != nil {
		return nil, k, noSession, err
	}
	s := &Session{ID: t.ID, StaffID: m.ID, Name: m.Name, Role: m.Role, BranchIDs: m.BranchIDs, SecondFactor: t.SecondFactor, ExpiresAt: t.ExpiresAt}
	if !t.ValidAt(now) || !m.Active {
		return s, k, endedSession, nil
	}
	if !s.SecondFactor {
		required, err := c.secondFactorRequired(r.Context(), m.Role)
		if err != nil {
			return nil, k, noSession, err
		}
		if required {
			return s, k, endedSession, nil
		}
	}
	if now.Sub(time.Unix(k.lastSeen, 0)) > c.IdleTimeout {
		return s, k, idleSession, nil
	}
	return s, k, liveSession, nil
}

// AuthenticateSession resolves the session cookie of a live-feed upgrade
// (api.SessionAuthenticator). It does not count as use: a page left open
// on the live feed still goes idle.
func (c *Console) AuthenticateSession(r *http.Request) (api.Principal, error) {
	s, k, state, err := c.lookup(r, c.now())
	if err != nil {
		return api.Principal{}, err
	}
	if state != liveSession {
		return api.Principal{}, events.Errorf(events.NotFound, "no session")
	}
	p := s.Principal()
	p.Until = s.ExpiresAt
	if idle := time.Unix(k.lastSeen, 0).Add(c.IdleTimeout); idle.Before(p.Until) {
		p.Until = idle
	}
	return p, nil
}

// touch refreshes the cookie's last use when a minute or more old (so
// that the idle timeout counts from the last request, to the minute).
func (c *Console) touch(w http.ResponseWriter, k cookie, now time.Time) {
	if now.Unix()-k.lastSeen >= 60 {
		k.lastSeen = now.Unix()
		c.setSessionCookie(w, k)
	}
}
