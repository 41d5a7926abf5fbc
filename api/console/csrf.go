package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
)

// CSRF: every form carries a token (hidden field csrfField; scripts send
// header csrfHeader) that only this console can make and that is bound to
// the session, an HMAC of its id under the CSRF key; a POST without the
// right one changes nothing. The forms before sign-in are bound instead to
// a random cookie of their own (a double-submit token), so that a page
// elsewhere cannot sign a browser in to another account either. Browsers'
// Origin header is checked too where it is sent: SameSite=Strict cookies
// and the token are the defences, Origin a third.
const (
	csrfField  = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

// csrfCookieName is the sign-in form's cookie's name: with Secure, the
// __Host- prefix, as for the session's (cookieName), so that a page on a
// sibling domain can neither set it to a value whose token it knows nor
// overwrite it.
func (c *Console) csrfCookieName() string {
	if c.SecureCookies {
		return "__Host-dangol_csrf"
	}
	return "dangol_csrf"
}

func (c *Console) mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the form token of session s.
func (c *Console) csrfToken(s *Session) string { return c.mac(c.keys.csrf, "session", s.ID) }

// anonymousCSRF is the form token of a browser without a session: bound to
// its csrf cookie (set by ensureCSRFCookie), "" if it has none yet.
func (c *Console) anonymousCSRF(r *http.Request) string {
	if v := c.csrfCookieValue(r); v != "" {
		return c.mac(c.keys.csrf, "anonymous", v)
	}
	return ""
}

func (c *Console) csrfCookieValue(r *http.Request) string {
	ck, err := r.Cookie(c.csrfCookieName())
	if err != nil || len(ck.Value) != 43 {
		return ""
	}
	return ck.Value
}

// ensureCSRFCookie gives a browser without a session its csrf cookie, for
// the sign-in forms, and returns the request as the rest of the handler
// must see it (with the cookie).
func (c *Console) ensureCSRFCookie(w http.ResponseWriter, r *http.Request) *http.Request {
	if c.csrfCookieValue(r) != "" {
		return r
	}
	ck := &http.Cookie{Name: c.csrfCookieName(), Value: encodeSecret(newSecret()), Path: "/", HttpOnly: true,
		Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode}
	http.SetCookie(w, ck)
	r2 := r.Clone(r.Context()) // a deep copy: the header too
	r2.AddCookie(ck)
	return r2
}

// validCSRF reports whether a state-changing request carries the token
// want, and, if it says where it comes from, comes from this origin.
func validCSRF(r *http.Request, want string) bool {
	if want == "" || !sameOrigin(r) {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return hmac.Equal([]byte(got), []byte(want))
}

// sameOrigin is false only when the browser says the request comes from
// another origin (Origin, else Sec-Fetch-Site); a request that says
// nothing is judged by its token alone. Under the console's
// Referrer-Policy no-referrer, browsers send "Origin: null" with a form's
// POST (Fetch: a non-GET's origin is serialized as null for that policy):
// Sec-Fetch-Site then tells.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}
