package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/dangol/dangol/api/console"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// What the sign-in tests drive: a browser (a cookie jar over real HTTP,
// following no redirect) that reads the CSRF token from each form it is
// shown, as a person's browser posts it back.

// signinPassword is the password the sign-in tests set (12+ characters).
const signinPassword = "a long enough passphrase"

// webUser is one browser.
type webUser struct {
	s      *stack
	base   string
	client *http.Client
	csrf   string // the _csrf of the last form shown
}

// webAnswer is one console answer.
type webAnswer struct {
	status   int
	header   http.Header
	body     string
	location string
}

func newWebUser(s *stack) *webUser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &webUser{s: s, base: s.base, client: &http.Client{Jar: jar, Timeout: hang, Transport: s.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// secondConsole serves another console over s's API, store and read side,
// with a secret of its own and the default refusal floor, from a server of
// its own: over TLS with SecureCookies if tls. It returns a browser of it;
// the server closes when the test ends.
func (s *stack) secondConsole(tls bool) *webUser {
	s.t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		s.t.Fatal(err)
	}
	c := console.New(console.Config{API: s.srv, Store: s.store, Queries: s.queries, Progress: s.progress, Now: s.opt.now, Secret: secret,
		SecureCookies: tls, Password: console.PasswordCost{Time: 1, MemoryKiB: 64, Threads: 1}})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(c.Handler())
	} else {
		srv = httptest.NewServer(c.Handler())
	}
	s.t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	client := srv.Client()
	client.Jar, client.Timeout = jar, hang
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webUser{s: s, base: srv.URL, client: client}
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// do sends a request with header pairs and remembers the page's form token.
func (u *webUser) do(method, path string, form url.Values, hdr ...string) webAnswer {
	u.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(u.s.t.Context(), method, u.base+path, body)
	if err != nil {
		u.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en") // the tests read the English pages
	status, h, b := send(u.s.t, u.client, req, hdr...)
	a := webAnswer{status: status, header: h, body: b, location: h.Get("Location")}
	if m := csrfRe.FindStringSubmatch(a.body); m != nil {
		u.csrf = html.UnescapeString(m[1])
	}
	return a
}

// send sends req through client with header pairs (name, value, …) set
// and returns the answer's status, header and body.
func send(t testing.TB, client *http.Client, req *http.Request, hdr ...string) (int, http.Header, string) {
	t.Helper()
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.RequestURI(), err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

func (u *webUser) get(path string) webAnswer { u.s.t.Helper(); return u.do("GET", path, nil) }

// post posts form with the token of the last form shown.
func (u *webUser) post(path string, form url.Values, hdr ...string) webAnswer {
	u.s.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", u.csrf)
	}
	return u.do("POST", path, form, hdr...)
}

// login opens the sign-in page and signs in; code may be "".
func (u *webUser) login(id, pw, code string) webAnswer {
	u.s.t.Helper()
	u.mustStatus(u.get("/login"), 200, "GET /login")
	return u.post("/login", url.Values{"staffId": {id}, "password": {pw}, "code": {code}})
}

// mustStatus fails the test unless a has status.
func (u *webUser) mustStatus(a webAnswer, status int, what string) webAnswer {
	u.s.t.Helper()
	if a.status != status {
		u.s.t.Fatalf("%s: %d (Location %q), want %d\n%.2000s", what, a.status, a.location, status, a.body)
	}
	return a
}

// mustRedirect fails the test unless a is a 303 to location.
func (u *webUser) mustRedirect(a webAnswer, location, what string) {
	u.s.t.Helper()
	if a.status != http.StatusSeeOther || a.location != location {
		u.s.t.Fatalf("%s: %d to %q, want 303 to %q\n%.2000s", what, a.status, a.location, location, a.body)
	}
}

// cookie returns the browser's cookie name for the console, "" if none.
func (u *webUser) cookie(name string) string {
	uu, _ := url.Parse(u.base)
	for _, c := range u.client.Jar.Cookies(uu) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	alertRe  = regexp.MustCompile(`(?s)role="alert"[^>]*>(.*?)</p>`)
	secretRe = regexp.MustCompile(`<code id="secret" class="secret">([A-Z2-7 ]+)</code>`)
	ticketRe = regexp.MustCompile(`name="ticket" value="([^"]+)"`)
	codeRe   = regexp.MustCompile(`<code class="secret big" id="setup-code">([0-9A-Z-]+)</code>`)
)

// alert is the page's refusal message.
func (a webAnswer) alert() string {
	if m := alertRe.FindStringSubmatch(a.body); m != nil {
		return strings.TrimSpace(html.UnescapeString(m[1]))
	}
	return ""
}

// enrolment is what the enrolment page shows: the secret and the ticket.
func (a webAnswer) enrolment(t *testing.T) (secret, ticket string) {
	t.Helper()
	s, k := secretRe.FindStringSubmatch(a.body), ticketRe.FindStringSubmatch(a.body)
	if s == nil || k == nil || !strings.Contains(a.body, `src="data:image/png;base64,`) {
		t.Fatalf("not the enrolment page (secret, ticket and QR code):\n%.3000s", a.body)
	}
	return strings.ReplaceAll(s[1], " ", ""), html.UnescapeString(k[1])
}

// authCode is an authenticator app's code of secret at at.
func authCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setupCode issues a setup code for id through the API, as admin A001.
func (s *stack) setupCode(id string) string {
	s.t.Helper()
	return s.must("A001", "POST", "/v1/staff/"+id+"/setup-codes", nil, 201)["code"].(string)
}

// setPassword sets id's password with a fresh setup code in browser u,
// without an authenticator; u is then signed in.
func (u *webUser) setPassword(id, pw string) {
	u.s.t.Helper()
	code := u.s.setupCode(id)
	u.mustStatus(u.get("/setup"), 200, "GET /setup")
	a := u.post("/setup", url.Values{"staffId": {id}, "code": {code}, "password": {pw}, "password2": {pw}})
	if a.status != http.StatusSeeOther {
		u.s.t.Fatalf("setup of %s: %d %q\n%.2000s", id, a.status, a.location, a.body)
	}
}

// enrolWithSetup sets id's password with a setup code and enrols an
// authenticator at clock's time; it returns the secret (u is signed in).
func (u *webUser) enrolWithSetup(id, pw string, clock *eventstest.ManualClock) string {
	u.s.t.Helper()
	code := u.s.setupCode(id)
	u.mustStatus(u.get("/setup"), 200, "GET /setup")
	a := u.mustStatus(u.post("/setup", url.Values{"staffId": {id}, "code": {code}, "password": {pw}, "password2": {pw}, "authenticator": {"1"}}),
		200, "setup with an authenticator")
	secret, ticket := a.enrolment(u.s.t)
	a = u.post("/enrol", url.Values{"ticket": {ticket}, "code": {authCode(u.s.t, secret, clock.Now())}})
	if a.status != http.StatusSeeOther {
		u.s.t.Fatalf("enrolment of %s: %d\n%.2000s", id, a.status, a.body)
	}
	return secret
}

// streamLog returns a stream's events, read from the store.
func (s *stack) streamLog(stream string) []events.Envelope {
	s.t.Helper()
	evs, err := s.store.ReadStream(s.t.Context(), stream, 0, events.Forward, 10000)
	if err != nil {
		s.t.Fatalf("read %s: %v", stream, err)
	}
	return evs
}

// staffLog returns staff member id's events, read from the store.
func (s *stack) staffLog(id string) []events.Envelope {
	s.t.Helper()
	return s.streamLog(events.StaffStream(id))
}

// staffVersion is the staff stream's version.
func (s *stack) staffVersion(id string) uint64 {
	s.t.Helper()
	evs := s.staffLog(id)
	return evs[len(evs)-1].Version
}

// staffSince returns the type and data of staff member id's events after
// version v.
func (s *stack) staffSince(id string, v uint64) []signinEvent {
	s.t.Helper()
	return s.staffEvents(id, int64(v))
}

// staffAll returns all of staff member id's events, as staffSince.
func (s *stack) staffAll(id string) []signinEvent { s.t.Helper(); return s.staffEvents(id, -1) }

func (s *stack) staffEvents(id string, after int64) []signinEvent {
	s.t.Helper()
	var out []signinEvent
	for _, e := range s.staffLog(id) {
		if int64(e.Version) <= after {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, signinEvent{typ: e.Type, data: d, actor: e.Actor.ID})
	}
	return out
}

// signinEvent is one staff event as the tests look at it.
type signinEvent struct {
	typ   string
	data  map[string]any
	actor string
}

// eventTypes lists the events' types.
func eventTypes(evs []signinEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.typ)
	}
	return out
}

// logBuffer is a server log the tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogBuffer() (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	return b, slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// kst is the zone the console shows times in.
var kst = time.FixedZone("KST", 9*3600)

// kstOf is t as the console shows it (KST, to the minute).
func kstOf(t time.Time) string { return t.In(kst).Format("2006-01-02 15:04") }
