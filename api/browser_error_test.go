package api_test

import (
	"testing"
)

// TestBrowserErrorPage: a page that does not exist answers the console's
// error page, in the browser's language.
func TestBrowserErrorPage(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	for _, lang := range []string{"ko", "en"} {
		b := s.newBrowser("anonymous", lang)
		b.open("/no/such/page")
		if got := b.pageLang(); got != lang {
			t.Errorf("Accept-Language %s: the page is in %q", lang, got)
		}
		b.waitText("main", "404")
		b.screen("error")
	}
}
