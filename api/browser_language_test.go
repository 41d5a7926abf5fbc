package api_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserLanguages: the console speaks the browser's language, and the
// switch changes it for the pages after: a Korean browser gets Korean
// pages, switches to English and keeps it on the next page; an English
// browser gets English pages and switches to Korean. The screens not
// reached by the other tests are checked here: search (a name typed after
// "/", the result opened with the keyboard) and the account page.
func TestBrowserLanguages(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.givePassword("R1", "rep", testPassword)

	ko := s.newBrowser("rep R1, Korean browser", "ko")
	ko.open("/login")
	ko.pageIs("ko", "#login-h", "로그인")
	ko.signIn("R1", testPassword, "")
	ko.waitPath("/")
	ko.pageIs("ko", "#wl-title", "상담 대상")
	ko.open("/account")
	ko.pageIs("ko", "h1", "내 계정")
	ko.screen("account")

	// Search: "/" from the page, a name, Enter; the result by keyboard.
	// The name is posted: it is in no URL the browser keeps.
	ko.open("/")
	ko.shortcut("/")
	ko.submit("#q", "이서연")
	ko.waitPath("/search")
	ko.waitText("#search-results", "C102")
	if loc := ko.location(); loc != "/search" {
		t.Errorf("the search's answer is at %q, want /search (what was typed in no URL)", loc)
	}
	ko.checkAligned("#search-results")
	ko.screen("search")
	ko.tabTo(`#search-results a[href="/customers/C102"]`, 40)
	ko.navigate(chromedp.KeyEvent(kb.Enter))
	ko.waitPath("/customers/C102")

	// The switch: English from here on.
	ko.click(`nav.langs a[hreflang="en"]`)
	ko.waitPath("/customers/C102")
	ko.pageIs("en", "#h-timeline", "")
	ko.open("/")
	ko.pageIs("en", "#wl-title", "Worklist")
	ko.waitLive()
	ko.screen("worklist")
	ko.tabletShot("worklist")

	en := s.newBrowser("rep R1, English browser", "en")
	en.open("/login")
	en.pageIs("en", "#login-h", "Sign in")
	en.screen("login")
	en.signIn("R1", testPassword, "")
	en.waitPath("/")
	en.pageIs("en", "#wl-title", "Worklist")
	en.open("/customers/C101")
	en.click(`nav.langs a[hreflang="ko"]`)
	en.waitPath("/customers/C101")
	en.pageIs("ko", "#h-timeline", "")
	en.open("/search")
	en.pageIs("ko", "#search-title", "")
	en.submit("#search-q", "010-1234-5678")
	en.waitPath("/search")
	if loc := en.location(); loc != "/search" {
		t.Errorf("the search's answer is at %q, want /search", loc)
	}
	if got := en.text("#search-results"); !strings.Contains(got, "C101") || !strings.Contains(got, "C104") {
		t.Errorf("search by phone found %q, want every customer of the book (they share the number)", got)
	}
}

// pageIs fails unless the page is in lang (<html lang> and, for Korean,
// Hangul in the element sel) and sel's text contains want ("" for any).
func (b *browser) pageIs(lang, sel, want string) {
	b.t.Helper()
	if got := b.pageLang(); got != lang {
		b.t.Fatalf("%s at %s: the page is in %q, want %q", b.name, b.location(), got, lang)
	}
	text := b.text(sel)
	if lang == "ko" && !hangul.MatchString(text) || lang == "en" && hangul.MatchString(text) {
		b.t.Errorf("%s at %s: %s says %q in a page in %s", b.name, b.location(), sel, text, lang)
	}
	if !strings.Contains(text, want) {
		b.t.Errorf("%s at %s: %s says %q, want %q", b.name, b.location(), sel, text, want)
	}
}
