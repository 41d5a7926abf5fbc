package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive the console in headless Chromium (Debian's
// chromium, which ops/test.sh installs) over the DevTools protocol, against
// the api harness's real server and store (newStack). Each browser is a
// process of its own with a fresh profile, so two browsers share nothing
// (no cookie, no cache) as two people's machines would not. Every wait is
// bounded by hang, which only detects a hang: no test asserts how long
// anything took.
//
// Each screen a test reaches is checked the same way (browser.screen):
// axe-core finds no serious or critical WCAG 2 A/AA violation, the page
// logged no error (a script exception, a refused asset, a CSP refusal), no
// element marked hidden is displayed, it does not scroll sideways at 1280×800 nor at tablet width (800×1100), and
// with DANGOL_SCREENSHOTS=1 its picture is saved to
// docs/console/<screen>-<lang>.png for docs/console.md.

// Window sizes the console must be usable at.
const (
	desktopWidth, desktopHeight = 1280, 800
	tabletWidth, tabletHeight   = 800, 1100
)

// browserPath returns the Chromium to drive, or skips the test: on the
// PostgreSQL pass (see below) and, outside CI, when there is none. Under
// CI=true a missing browser fails the test.
func browserPath(t *testing.T) string {
	t.Helper()
	if pgBackend {
		// The console reads only through projections.Queries and writes
		// only through the API's routes, whose PostgreSQL behaviour the
		// console's and the API's HTTP suites check on this pass; what a
		// browser adds (scripts, CSP, layout, keyboard, accessibility)
		// does not depend on the store, so it runs once, on the embedded
		// store.
		t.Skip("browser tests run on the embedded store only (what they check does not depend on the store)")
	}
	if p := os.Getenv("DANGOL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH (chromium, chromium-browser, google-chrome) nor in DANGOL_CHROMIUM: the browser tests are required under CI=true (ops/test.sh installs Debian's chromium)")
	}
	t.Skip("no Chromium on PATH nor in DANGOL_CHROMIUM: browser tests skipped (apt-get install chromium fonts-nanum, or run ./ops/test.sh as root)")
	return ""
}

// requireBrowser skips or fails t as browserPath does, before the test
// builds anything.
func requireBrowser(t *testing.T) {
	t.Helper()
	browserPath(t)
}

// browser is one headless Chromium with one tab. Its methods fail the test
// and must be called from the test's goroutine.
type browser struct {
	t    *testing.T
	base string // the server's origin, http://127.0.0.1:port
	name string // who uses it, for failure messages ("rep R1")
	lang string // the Accept-Language it sends first ("ko" or "en")
	ctx  context.Context

	mu       sync.Mutex
	problems []problem // errors the pages logged since the last check
}

// problem is an error a page logged.
type problem struct {
	url     string // where it came from
	network bool   // a failed request
	text    string
}

// newBrowser starts a browser on the stack's console for its test (see
// startBrowser).
func (s *stack) newBrowser(name, lang string) *browser {
	s.t.Helper()
	return startBrowser(s.t, s.base, name, lang)
}

// startBrowser starts a browser for t on the server at base, that sends
// Accept-Language lang first. It is closed at the end of the test.
func startBrowser(t *testing.T, base, name, lang string) *browser {
	t.Helper()
	exe := browserPath(t)
	profile := t.TempDir()
	// Chromium weighs the list itself (ko-KR,ko;q=0.9,en;q=0.8).
	accept := "ko-KR,ko,en"
	if lang == "en" {
		accept = "en-US,en"
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("accept-lang", accept),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Cleanups run last-registered first: the browser is gone before the
	// profile directory (registered above) is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, base: base, name: name, lang: lang, ctx: ctx}
	// The first call starts the browser; it runs on ctx itself, which has
	// no deadline, so that only later calls are bounded (a deadline on the
	// first would end the browser with it).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: start Chromium (%s): %v", name, exe, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() {
				continue
			}
			b.mu.Lock()
			b.problems = append(b.problems, problem{url: m.URL, network: m.Source == "network", text: fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1)})
			b.mu.Unlock()
		}
	}()
	// The locale scripts format with (Intl), as a person's browser in that
	// language would have it. (Headless Chromium draws date inputs in the
	// US format whatever the locale.)
	locale := "ko_KR"
	if lang == "en" {
		locale = "en_US"
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: locale}); err != nil {
		t.Fatalf("%s: locale %s: %v", name, locale, err)
	}
	b.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
	return b
}

// do runs steps in the tab, bounded by hang.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s at %s: %v", b.name, b.location(), err)
	}
}

// run runs one action with a value in b's tab, bounded by hang.
func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s at %s: %v", b.name, b.location(), err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](js))
}

// tryEval is eval that returns the error instead of failing: a page
// being replaced has no context to evaluate in for a moment.
func tryEval[T any](b *browser, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// navigate runs steps that make the tab load a new page (a click on a
// link, a form's submit) and waits until the new page has loaded: the old
// one is marked, and the mark is gone with it.
func (b *browser) navigate(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void]("window.dangolTestOldPage = true"))
	b.do(steps...)
	b.poll("a new page to load", func() (bool, string) {
		ok, err := tryEval[bool](b, `window.dangolTestOldPage !== true && document.readyState === "complete"`)
		return err == nil && ok, "at " + b.location()
	})
}

// submit types v and Enter into the field sel (CSS) and waits for the page
// the form's answer loads: Enter submits, as for a person at a keyboard.
func (b *browser) submit(sel, v string) {
	b.t.Helper()
	b.clear(sel)
	b.navigate(chromedp.SendKeys(chromedp.CSS(sel), v+"\n", chromedp.NodeVisible))
}

// click clicks the element sel (CSS) and waits for the page it loads.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.navigate(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// location returns the tab's URL without the server's origin ("" if the
// browser does not answer).
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(loc, b.base)
}

// open navigates to path on the server and waits for the page's load.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// path returns the tab's path and query.
func (b *browser) path() string {
	b.t.Helper()
	return b.location()
}

// waitPath waits until the tab's location (path and query) starts with
// prefix and its page has loaded: a form's submit and its redirect take
// their time.
func (b *browser) waitPath(prefix string) {
	b.t.Helper()
	b.poll("reach "+prefix, func() (bool, string) {
		loc := b.location()
		return strings.HasPrefix(loc, prefix) && eval[string](b, "document.readyState") == "complete", "at " + loc
	})
}

// poll calls cond until it holds; after hang it fails the test with what
// and what cond last saw.
func (b *browser) poll(what string, cond func() (bool, string)) {
	b.t.Helper()
	var seen string
	deadline := time.Now().Add(hang)
	for {
		var ok bool
		if ok, seen = cond(); ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("hang: %s: %s (%s)", b.name, what, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// text returns the text of the first element sel (CSS) matches, once it
// is visible.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// waitText waits until the element sel (CSS) holds text containing want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : "(no such element)"; })()`, sel)
	b.poll(fmt.Sprintf("%q in %s", want, sel), func() (bool, string) {
		got := eval[string](b, js)
		return strings.Contains(got, want), fmt.Sprintf("it says %q", got)
	})
}

// has reports whether sel (CSS) matches an element now.
func (b *browser) has(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf("document.querySelector(%q) !== null", sel))
}

// fill replaces the value of the field sel (CSS) with v, typed as keys
// (so the page's input events fire as for a person).
func (b *browser) fill(sel, v string) {
	b.t.Helper()
	b.clear(sel)
	b.do(chromedp.SendKeys(chromedp.CSS(sel), v, chromedp.NodeVisible))
}

// press sends keys to the element that has the focus, as typed
// (kb.Enter, kb.Tab, kb.ArrowDown, letters, Korean text).
func (b *browser) press(keys string, opts ...chromedp.KeyOption) {
	b.t.Helper()
	b.do(chromedp.KeyEvent(keys, opts...))
}

// shortcut presses the page's keyboard shortcut key (a single key such as
// "m", "1", "/") as a browser delivers it to a page that handles it: keydown
// and keyup, without the character. chromedp's KeyEvent sends the character
// as a DevTools event of its own, which Chromium inserts even when the
// page's keydown handler cancelled the key; when that handler moves the focus
// to a text field (m opens the point's note) the character then lands in the
// field or not depending on timing, which a person's browser never does.
func (b *browser) shortcut(key string, opts ...chromedp.KeyOption) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range key {
			for _, ev := range kb.Encode(r) {
				if ev.Type == kb.KeyChar {
					continue
				}
				for _, o := range opts {
					o(ev)
				}
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *ev); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// matchesFocus reports whether the element with the focus matches sel (CSS).
func (b *browser) matchesFocus(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf("!!document.activeElement && document.activeElement.matches(%q)", sel))
}

// tabTo presses Tab until the element sel (CSS) has the focus, at most
// max times: it must be reachable from the keyboard in the page's order.
func (b *browser) tabTo(sel string, max int) {
	b.t.Helper()
	for range max {
		if b.matchesFocus(sel) {
			return
		}
		b.press(kb.Tab)
	}
	if !b.matchesFocus(sel) {
		b.t.Fatalf("%s at %s: %d presses of Tab did not reach %s (the focus is on %s)", b.name, b.location(), max, sel, b.focused())
	}
}

// chooseByKeys presses ArrowDown in the focused select until its value is
// v, as a person picks an option without a mouse.
func (b *browser) chooseByKeys(v string) {
	b.t.Helper()
	for range 30 {
		if eval[string](b, "document.activeElement.value") == v {
			return
		}
		b.press(kb.ArrowDown)
	}
	b.t.Fatalf("%s: ArrowDown in %s never chose %q", b.name, b.focused(), v)
}

// clear empties the field sel (CSS). (chromedp's Clear refuses an empty
// text area, and its SetValue an empty value.)
func (b *browser) clear(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	if !eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = ""; return e.value === ""; })()`, sel)) {
		b.t.Fatalf("%s: cannot empty %s", b.name, sel)
	}
}

// focused describes the element that has the keyboard focus: its id, else
// its name, else its tag and text.
func (b *browser) focused() string {
	b.t.Helper()
	return eval[string](b, `(() => { const e = document.activeElement; if (!e) return "";
		return e.id ? "#" + e.id : e.name ? "[name=" + e.name + "]" : e.tagName.toLowerCase() + ":" + (e.innerText || "").trim().slice(0, 40); })()`)
}

// takeProblems returns the errors the pages logged since the last call,
// but for the status of the page shown itself (an error page answers 404
// on purpose; tests check statuses where they matter).
func (b *browser) takeProblems() []string {
	b.t.Helper()
	page := b.base + b.location()
	b.mu.Lock()
	defer b.mu.Unlock()
	var p []string
	for _, x := range b.problems {
		if !(x.network && x.url == page) {
			p = append(p, x.text)
		}
	}
	b.problems = nil
	return p
}

// screen checks the page the tab shows as screen name (see the top of
// this file) and, with DANGOL_SCREENSHOTS=1, saves its picture.
func (b *browser) screen(name string) {
	b.t.Helper()
	b.checkAxe(name)
	b.checkHidden(name)
	b.checkKeys(name)
	b.checkWidth(name, desktopWidth)
	b.screenshot(name + "-" + b.pageLang())
	b.do(chromedp.EmulateViewport(tabletWidth, tabletHeight))
	b.checkWidth(name, tabletWidth)
	b.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
	if p := b.takeProblems(); len(p) > 0 {
		b.t.Errorf("%s: the %s page (%s) logged errors:\n  %s", b.name, name, b.location(), strings.Join(p, "\n  "))
	}
}

// checkHidden fails if an element the page marks hidden is displayed (a
// style that sets display overrides the hidden attribute).
func (b *browser) checkHidden(name string) {
	b.t.Helper()
	if shown := b.hiddenShown(); len(shown) > 0 {
		b.t.Errorf("%s: the %s page (%s) shows elements marked hidden: %s", b.name, name, b.location(), strings.Join(shown, "; "))
	}
}

// catalogKeys are the message keys of every catalog of the console (a key
// missing from the page's language shows as the key itself).
var catalogKeys = sync.OnceValues(func() ([]string, error) {
	files, err := filepath.Glob(filepath.Join("console", "locales", "*", "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no catalogs in console/locales (%v)", err)
	}
	seen := map[string]bool{}
	var keys []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var cat map[string]string
		if err := json.Unmarshal(b, &cat); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for k := range cat {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
})

// checkKeys fails if the page shows a message key instead of its text, in
// its text or in the attributes people and screen readers get.
func (b *browser) checkKeys(name string) {
	b.t.Helper()
	if shown := b.keysShown(); len(shown) > 0 {
		b.t.Errorf("%s: the %s page (%s) shows message keys instead of their text: %s", b.name, name, b.location(), strings.Join(shown, ", "))
	}
}

// keysShown returns the message keys the page shows.
func (b *browser) keysShown() []string {
	b.t.Helper()
	keys, err := catalogKeys()
	if err != nil {
		b.t.Fatal(err)
	}
	list, err := json.Marshal(keys)
	if err != nil {
		b.t.Fatal(err)
	}
	return eval[[]string](b, `(() => { const keys = `+string(list)+`;
		const texts = [document.title, document.body.innerText];
		for (const e of document.querySelectorAll("[aria-label], [placeholder], [title], [alt], [data-connecting]"))
			for (const a of ["aria-label", "placeholder", "title", "alt", "data-connecting", "data-live", "data-reconnecting", "data-ended"])
				if (e.hasAttribute(a)) texts.push(e.getAttribute(a));
		const all = texts.join("\n");
		return keys.filter(k => all.includes(k)); })()`)
}

// hiddenShown describes the elements marked hidden that are displayed.
func (b *browser) hiddenShown() []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll("[hidden]")).filter(e => e.type !== "hidden" && getComputedStyle(e).display !== "none")
		.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.innerText || "").trim().slice(0, 40))`)
}

// pageLang is the page's <html lang>.
func (b *browser) pageLang() string {
	b.t.Helper()
	return eval[string](b, "document.documentElement.lang")
}

// checkWidth fails if the page scrolls sideways at width: its content must
// fit (tables may scroll inside their own box).
func (b *browser) checkWidth(name string, width int) {
	b.t.Helper()
	got := eval[int](b, "document.documentElement.scrollWidth")
	if got > width {
		wide := eval[string](b, fmt.Sprintf(`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > %d + 1)
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")).join(", ")`, width))
		b.t.Errorf("%s: the %s page is %d px wide at a %d px window (it scrolls sideways); too wide: %s", b.name, name, got, width, wide)
	}
}

// tabletShot saves the page as it shows at tablet width, as
// docs/console/<name>-<lang>-tablet.png, when DANGOL_SCREENSHOTS=1.
func (b *browser) tabletShot(name string) {
	b.t.Helper()
	if os.Getenv("DANGOL_SCREENSHOTS") != "1" {
		return
	}
	b.do(chromedp.EmulateViewport(tabletWidth, tabletHeight))
	b.screenshot(name + "-" + b.pageLang() + "-tablet")
	b.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// screenshot saves the viewport as docs/console/<file>.png when
// DANGOL_SCREENSHOTS=1 (normal runs leave the committed pictures alone).
func (b *browser) screenshot(file string) {
	b.t.Helper()
	if os.Getenv("DANGOL_SCREENSHOTS") != "1" {
		return
	}
	png := run(b, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", "docs", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
