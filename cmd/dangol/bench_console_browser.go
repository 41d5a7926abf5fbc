package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dangol/dangol/ops/bench"
)

// The console's clients of `dangol bench console`: people in browsers,
// signed in as a person signs in.

// browser is one signed-in person's client: its own cookie jar (the
// session) and connection, redirects not followed (a redirect to /login
// is a failure to see, not to follow).
type browser struct {
	base string
	http *http.Client
	buf  bytes.Buffer // the latest answer's body, reused: the bench's own garbage would be the server's collector's work
}

func newBrowser(base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches path and returns its status, header and body; the body is
// valid until the browser's next request.
func (b *browser) get(ctx context.Context, path string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b.buf.Reset()
	_, err = b.buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.buf.Bytes(), err
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// submit opens the form page at path, fills in vals with the page's CSRF
// token and posts it to action; it wants a redirect (303) and returns
// where to.
func (b *browser) submit(ctx context.Context, path, action string, vals url.Values) (string, error) {
	status, _, body, err := b.get(ctx, path)
	if err != nil {
		return "", err
	}
	m := csrfField.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET %s: status %d, CSRF field found: %v", path, status, m != nil)
	}
	vals.Set("_csrf", html.UnescapeString(string(m[1])))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+action, strings.NewReader(vals.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, h, body, err := b.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusSeeOther {
		return "", fmt.Errorf("POST %s: status %d, want 303: %.300s", action, status, body)
	}
	return h.Get("Location"), nil
}

// signIn has an admin issue rep a setup code (POST
// /v1/staff/{id}/setup-codes), sets a password with it on /setup in the
// first browser and signs the others in on /login: n browsers, each with a
// session of its own, each shown the worklist.
func signIn(ctx context.Context, base, adminToken, rep string, n int) ([]*browser, error) {
	if status, h, _, err := newBrowser(base).get(ctx, "/login"); err != nil || status != http.StatusOK ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return nil, fmt.Errorf("bench console: the server does not serve the console's sign-in page (GET /login: status %d, %s, %v)",
			status, h.Get("Content-Type"), err)
	}
	var issued struct {
		Code string `json:"code"`
	}
	if err := bench.NewClient(base, adminToken, 1).Do(ctx, "POST", "/v1/staff/"+rep+"/setup-codes", nil, http.StatusCreated, &issued); err != nil {
		return nil, fmt.Errorf("bench console: issuing a setup code: %w", err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	password := hex.EncodeToString(secret)
	browsers := make([]*browser, n)
	for i := range browsers {
		b := newBrowser(base)
		var err error
		if i == 0 {
			_, err = b.submit(ctx, "/setup?id="+url.QueryEscape(rep), "/setup",
				url.Values{"staffId": {rep}, "code": {issued.Code}, "password": {password}, "password2": {password}})
		} else {
			_, err = b.submit(ctx, "/login", "/login", url.Values{"staffId": {rep}, "password": {password}})
		}
		if err != nil {
			return nil, fmt.Errorf("bench console: signing in session %d: %w", i+1, err)
		}
		if status, _, _, err := b.get(ctx, "/"); err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("bench console: session %d: GET / after signing in: status %d, %v", i+1, status, err)
		}
		browsers[i] = b
	}
	return browsers, nil
}
