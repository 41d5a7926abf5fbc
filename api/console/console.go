// Package console serves dangol's web console: server-rendered pages at "/"
// on the API's listener, for the people who work in the ledger all day.
//
// The console is an edge like the JSON API, and thin over it: pages read
// the same projections.Queries the API answers from, and every form runs
// the API route of its write in process (api.Server.Dispatch) as the
// signed-in member, so a console action appends the same events after the
// same validation and idempotency checks as the API's. People sign in with
// a password (and, where their role requires it, a TOTP code) and hold a
// session cookie; programs keep bearer tokens.
//
// Every asset is embedded (templates, styles, scripts, message catalogs):
// nothing loads from elsewhere, and the Content-Security-Policy allows only
// the console's own origin, with no inline script or style.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The partials are named by a pattern: embedding a directory leaves out
// the files whose names start with "_".
//
//go:embed templates templates/_*.html static locales
var assets embed.FS

// Searcher turns what a person typed into customer search terms (the
// blind index of events/pii).
type Searcher interface {
	Query(q string) []string
}

// Config is everything a Console needs.
type Config struct {
	API     *api.Server         // forms dispatch to its routes; the live feed is its /v1/live
	Store   api.Store           // sign-in events are appended to the staff streams
	Queries projections.Queries // what pages show, and staff, sessions and the sign-in policy
	// Progress is how far the read side has applied the log: a page says
	// up to where it shows it, and its live feed resumes from there.
	Progress api.Progress
	Search   Searcher // nil: search by customer id only
	Logger   *slog.Logger
	Now      func() time.Time // the clock; events.SystemClock if nil

	// Secret is the console's key (32 bytes, e.g. pii.MasterKey.Derive):
	// session cookies and CSRF tokens are MACed with keys derived from it,
	// and second-factor secrets are sealed under one.
	Secret []byte

	// SecureCookies marks cookies Secure (and names them __Host-): set it
	// whenever the console is reached over TLS, directly or behind a proxy.
	SecureCookies bool

	// TrustedProxies are the reverse proxies in front of the console whose
	// X-Forwarded-For is believed, for the per-address sign-in throttle and
	// the address a sign-in records; none by default (the header is then
	// ignored: any client can send it).
	TrustedProxies []netip.Prefix

	// IdleTimeout ends a session no request used for that long (default
	// 30 minutes); SessionTimeout ends every session that long after
	// sign-in, used or not (default 10 hours: a working day).
	IdleTimeout    time.Duration
	SessionTimeout time.Duration

	// Password is the argon2id cost of new password hashes (default
	// DefaultPasswordCost). Tests may lower it; hashes keep their own cost.
	Password PasswordCost

	// RefusalFloor is the least time a sign-in page takes to refuse an
	// attempt (default DefaultRefusalFloor; negative: none, which only
	// tests want): see routes.go, public.
	RefusalFloor time.Duration
}

// Console is the web console's handler.
type Console struct {
	Config
	mux    *http.ServeMux
	pages  *pages
	fields fieldCache // the customer forms' inputs rendered once (fieldcache.go)
	cat    *catalogs
	keys   keys
	auth   *authState // sign-in's state in memory (auth_routes.go)
	// version names this build's assets in their URLs (/static/<version>/…),
	// so browsers may cache them for good and still see a new build's.
	version string
}

// New returns the console for cfg. It panics if the embedded templates or
// catalogs do not parse: that is a build defect, caught by every test.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Hour
	}
	if cfg.Password == (PasswordCost{}) {
		cfg.Password = DefaultPasswordCost
	}
	if cfg.RefusalFloor == 0 {
		cfg.RefusalFloor = DefaultRefusalFloor
	}
	c := &Console{Config: cfg, mux: http.NewServeMux(), cat: mustCatalogs(), keys: deriveKeys(cfg.Secret)}
	c.version = assetVersion()
	c.pages = mustPages(c)
	c.routes()
	return c
}

// Handler returns the console's handler, to mount at "/" (api.Server.Mount).
func (c *Console) Handler() http.Handler { return secureHeaders(c.mux) }

func (c *Console) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return events.SystemClock()
}

// staticFS is the tree served under /static/<version>/.
func staticFS() fs.FS {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// ctxKey types the console's request context values.
type ctxKey int

const sessionCtx ctxKey = iota

// sessionOf returns the session a page handler runs in (requireSession).
func sessionOf(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionCtx).(*Session)
	return s
}
