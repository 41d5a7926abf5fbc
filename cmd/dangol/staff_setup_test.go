package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStaffAddSetupCode: `dangol staff add` gives a member without a
// password a setup code on stderr (the token stays the last line of
// stdout; only the code's hash is in the log), and the server it then
// runs serves the console, where the code sets the password and signs the
// member in. Once the member has a password, staff add issues no code.
func TestStaffAddSetupCode(t *testing.T) {
	dir := t.TempDir()
	dbURL := dirURL(t, dir)
	codeLine := regexp.MustCompile(`(?m)^setup code for A001: ([0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}) \(valid 72 h; sign in at /setup\)$`)
	add := func() (token, code string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"staff", "add", "--data", dir, "--id", "A001", "--name", "First Admin", "--role", "admin"},
			storeEnv(dbURL), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if m := codeLine.FindStringSubmatch(errOut.String()); m != nil {
			code = m[1]
		}
		if strings.Contains(out.String(), code) && code != "" {
			t.Errorf("the setup code is on stdout: %q", out.String())
		}
		return lines[len(lines)-1], code
	}
	tok, first := add()
	if first == "" || !strings.HasPrefix(tok, "dgl_") {
		t.Fatalf("staff add printed token %q and code %q", tok, first)
	}
	tok, code := add() // no password yet: a new code, replacing the first
	if code == "" || code == first {
		t.Fatalf("the second staff add gave code %q (the first %q)", code, first)
	}
	for _, e := range ledger(t, dir, dbURL) {
		if strings.Contains(string(e.Data), code) || strings.Contains(string(e.Data), strings.ReplaceAll(code, "-", "")) {
			t.Errorf("%s holds the setup code in clear", e.Type)
		}
	}

	s := startStack(t, dir, dbURL, map[string]string{"A001": tok})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: hang, Transport: s.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(path string) string {
		t.Helper()
		resp, err := c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(b)
		if resp.StatusCode != 200 || m == nil || resp.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, b)
		}
		return string(m[1])
	}
	post := func(path string, v url.Values) *http.Response {
		t.Helper()
		resp, err := c.PostForm(s.base+path, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	pw := "the first admin's passphrase"
	v := url.Values{"_csrf": {form("/setup")}, "staffId": {"A001"}, "code": {first}, "password": {pw}, "password2": {pw}}
	if resp := post("/setup", v); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the replaced code: %d, want 401", resp.StatusCode)
	}
	v.Set("code", code)
	if resp := post("/setup", v); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/staff" {
		t.Fatalf("setup with the code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err := c.Get(s.base + "/admin/staff")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the staff screen after setup: %v %v", resp, err)
	}
	resp.Body.Close()
	if st, _, raw := s.do("A001", "GET", "/v1/openapi.json", nil); st != 200 || !bytes.Contains(raw, []byte("/v1/staff/{id}/setup-codes")) {
		t.Errorf("the API beside the console: %d", st)
	}
	s.stop()

	// With a password, staff add issues a token only.
	if _, code := add(); code != "" {
		t.Errorf("staff add for a member with a password printed a setup code %s", code)
	}
	var n int
	for _, e := range ledger(t, dir, dbURL) {
		if e.Type == "PasswordSetupIssued" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d setup codes issued, want 2", n)
	}
}

// TestServeConsoleFlags: the console's flags reach it (--secure-cookies
// marks the sign-in form's cookie Secure), and bad values are refused
// before anything is opened.
func TestServeConsoleFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"--session-idle", "11h"},
		{"--session-max", "-1h"},
		{"--trusted-proxies", "10.0.0.0/8, proxy.example"},
	} {
		dir := t.TempDir()
		err := run(context.Background(), append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "off"}, bad...),
			noEnv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "-")) {
			t.Errorf("serve %v: %v, want a refusal naming the flag", bad, err)
		}
	}
	dir := t.TempDir()
	cfg := serveConfig{addr: "127.0.0.1:0", metricsAddr: "off", logLevel: "error", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = dir
	cfg.console = consoleFlags{secureCookies: true, idle: time.Minute, max: time.Hour, trustedProxies: "127.0.0.1"}
	srv, err := startServer(context.Background(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	resp, err := http.Get("http://" + srv.addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if set := strings.Join(resp.Header.Values("Set-Cookie"), "\n"); resp.StatusCode != 200 || !strings.Contains(set, "; Secure") {
		t.Errorf("GET /login with --secure-cookies: %d, cookies %q", resp.StatusCode, set)
	}
	if srv.console.IdleTimeout != time.Minute || srv.console.SessionTimeout != time.Hour || len(srv.console.TrustedProxies) != 1 ||
		srv.console.TrustedProxies[0].String() != "127.0.0.1/32" {
		t.Errorf("the console's config: %v %v %v", srv.console.IdleTimeout, srv.console.SessionTimeout, srv.console.TrustedProxies)
	}
}
