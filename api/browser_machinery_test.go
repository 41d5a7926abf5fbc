package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestBrowserChecksCanFail shows that the checks every screen gets do find
// what they look for, on a page made to break them: axe-core reports an
// image without a text alternative and an input without a label as
// critical, an inline script under the console's kind of CSP is refused
// and the refusal is caught as a page error, so is a script that does not
// load, an element marked hidden but displayed is found, so is a message
// key shown instead of its text, and a page wider than the
// window is measured as such.
func TestBrowserChecksCanFail(t *testing.T) {
	requireBrowser(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>bad</title></head><body><main>
<img src="/x.png"><p>nav.worklist</p><input id="nolabel" type="text">
<div class="wide"></div><p hidden id="hidden-one">hidden</p><p hidden id="hidden-two">shown</p><script src="/missing.js"></script><script>document.title = "ran";</script>
</main></body></html>`))
	}))
	t.Cleanup(srv.Close)
	b := startBrowser(t, srv.URL, "self-test", "en")
	b.open("/")

	var ids []string
	for _, v := range b.axeRun() {
		if v.Impact == "critical" || v.Impact == "serious" {
			ids = append(ids, v.ID)
		}
	}
	for _, want := range []string{"image-alt", "label"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe did not report %s as serious or critical; it reported %v", want, ids)
		}
	}
	if title := eval[string](b, "document.title"); title != "bad" {
		t.Errorf("the inline script ran under script-src 'self' (title %q)", title)
	}
	b.poll("the CSP refusal logged", func() (bool, string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		var texts []string
		for _, p := range b.problems {
			texts = append(texts, p.text)
		}
		return slices.ContainsFunc(texts, func(p string) bool { return strings.Contains(p, "Content Security Policy") }), strings.Join(texts, "; ")
	})
	if p := strings.Join(b.takeProblems(), "\n"); !strings.Contains(p, "/missing.js") {
		t.Errorf("the 404 of a script was not caught as a page error: %s", p)
	}
	if lang := b.pageLang(); lang != "en" {
		t.Errorf("page lang %q", lang)
	}
	// An element wider than the window: the inline style was refused, so
	// the width is set through the DOM (CDP evaluation is not governed by
	// the page's CSP, which is also how axe gets in).
	eval[bool](b, `(() => { const d = document.querySelector(".wide"); d.style.width = "1500px"; d.style.height = "10px"; return true; })()`)
	if w := eval[int](b, "document.documentElement.scrollWidth"); w <= desktopWidth {
		t.Errorf("scrollWidth %d with a 1500 px element in a %d px window", w, desktopWidth)
	}
	if shown := b.hiddenShown(); len(shown) != 0 {
		t.Errorf("hidden elements found displayed: %v", shown)
	}
	eval[bool](b, `(() => { document.getElementById("hidden-two").style.display = "block"; return true; })()`)
	if shown := b.hiddenShown(); len(shown) != 1 || !strings.HasPrefix(shown[0], "p#hidden-two") {
		t.Errorf("a hidden element made displayed was found as %v", shown)
	}
	if keys := b.keysShown(); !slices.Equal(keys, []string{"nav.worklist"}) {
		t.Errorf("the message key on the page was found as %v", keys)
	}
	if w := eval[int](b, "window.innerWidth"); w != desktopWidth {
		t.Errorf("the window is %d px wide, want %d", w, desktopWidth)
	}
}
