package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// pages are the parsed templates: each page is templates/<name>.html
// parsed with the layout and the shared partials (templates/_*.html).
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"kst":       formatTime,
	"date":      formatDate,
	"won":       formatWon,
	"amount":    formatAmount,
	"join":      strings.Join,
	"hasPrefix": strings.HasPrefix,
	"clock":     qaClock,                                                                              // a call's second as mm:ss (qa.go)
	"pct":       func(rate float64) string { return strconv.FormatFloat(rate*100, 'f', 1, 64) + "%" }, // a rate 0..1
	"add":       func(a, b int) int { return a + b },
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
}

func mustPages(c *Console) *pages {
	p := &pages{byName: map[string]*template.Template{}}
	shared, err := fs.Glob(assets, "templates/_*.html")
	if err != nil {
		panic(err)
	}
	all, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, file := range all {
		base := path.Base(file)
		if strings.HasPrefix(base, "_") || base == "layout.html" {
			continue
		}
		name := strings.TrimSuffix(base, ".html")
		files := append([]string{"templates/layout.html"}, shared...)
		files = append(files, file)
		p.byName[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, files...))
	}
	return p
}

// view is what every template gets as its dot.
type view struct {
	Lang    string
	Langs   []string
	Session *Session
	CSRF    string // the form token of the session (or of the sign-in form)
	Static  string // the prefix of this build's assets, "/static/<version>"
	Path    string // the request's path, for the language switch and next=
	Query   string // the request's raw query, likewise
	Title   string // a catalog key
	Now     time.Time
	Data    any

	c *Console
}

// T returns the message key in the view's language.
func (v view) T(key string, args ...any) string { return v.c.cat.text(v.Lang, key, args...) }

// LangHref is the language switch's link to lang, back to this page.
func (v view) LangHref(lang string) string {
	next := v.Path
	if v.Query != "" {
		next += "?" + v.Query
	}
	return "/lang/" + lang + "?next=" + url.QueryEscape(next)
}

// Err translates an error for the view's language.
func (v view) Err(err error) string { return v.c.cat.errorText(v.Lang, err) }

// render writes page name with data, status and the view of r.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t, ok := c.pages.byName[name]
	if !ok {
		panic("console: no page " + name)
	}
	v := c.viewOf(r, title, data)
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		c.Logger.Error("console: render", "page", name, "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	setServerTiming(w, r)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// startedKey is the request context's value of when the console got the
// request (secureHeaders).
type startedKey struct{}

// setServerTiming tells the server's time on the page so far, from when
// the console got the request to now, just before its bytes are written
// ("Server-Timing: app;dur=12.34", milliseconds): `dangol bench console`
// and a browser's developer tools read it. It says how long, never what.
func setServerTiming(w http.ResponseWriter, r *http.Request) {
	if t0, ok := r.Context().Value(startedKey{}).(time.Time); ok {
		w.Header().Set("Server-Timing", "app;dur="+strconv.FormatFloat(float64(time.Since(t0).Microseconds())/1000, 'f', 2, 64))
	}
}

func (c *Console) viewOf(r *http.Request, title string, data any) view {
	s := sessionOf(r.Context())
	v := view{Lang: language(r), Langs: Languages, Session: s, Static: "/static/" + c.version, Path: r.URL.Path,
		Query: r.URL.RawQuery, Title: title, Now: c.now(), Data: data, c: c}
	if s != nil {
		v.CSRF = c.csrfToken(s)
	} else {
		v.CSRF = c.anonymousCSRF(r)
	}
	return v
}

// pageError is an error page's data.
type pageError struct {
	Status  int
	Message string
}

// fail renders the error page for err: its status as the API would answer
// it, its message translated.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status == 0 {
		status = statusOf(err)
	}
	if status >= 500 {
		c.Logger.Error("console: request failed", "route", r.Pattern, "err", err.Error())
	}
	c.render(w, r, status, "error", "error.title", pageError{Status: status, Message: c.cat.errorText(language(r), err)})
}

// statusOf maps an events.Error code to a status, as the API does.
func statusOf(err error) int {
	switch events.ErrorCode(err) {
	case events.Invalid:
		return http.StatusBadRequest
	case events.NotFound:
		return http.StatusNotFound
	case events.Conflict:
		return http.StatusConflict
	case events.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func asEventsError(err error, target **events.Error) bool { return errors.As(err, target) }

// assetVersion is a digest of every static asset: it changes whenever one does.
func assetVersion() string {
	h := sha256.New()
	_ = fs.WalkDir(assets, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// serveStatic serves /static/<version>/<file>: immutable for a year under
// this build's version; any other version is 404, so that a page of an
// older build never gets a newer script it was not written for.
func (c *Console) serveStatic() http.Handler {
	files := http.FileServerFS(staticFS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/static/"+c.version+"/")
		if !ok || rest == "" || strings.HasSuffix(rest, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		files.ServeHTTP(w, r2)
	})
}

// csp allows the console's own origin only: no inline script, no inline
// style, no plugin, no framing, forms posting to itself, WebSockets to
// itself ('self' covers ws: and wss: of the same host in current browsers),
// images also as data: URIs (the TOTP enrolment's QR code), audio from
// itself (the call player's recordings, /recordings/…).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; " +
	"font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// secureHeaders sets the headers a bank's security review checks on every
// console answer.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), startedKey{}, time.Now())) // setServerTiming
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
