package api_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// downloadsTo makes b save what it downloads into a directory of the
// test's, which it returns.
func (b *browser) downloadsTo() string {
	b.t.Helper()
	dir := b.t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		b.t.Fatalf("%s: downloads: %v", b.name, err)
	}
	return dir
}

// downloaded waits until the file name is complete in dir (Chromium
// writes a .crdownload beside it until then) and returns its bytes.
func (b *browser) downloaded(dir, name string) []byte {
	b.t.Helper()
	var data []byte
	b.poll("the download of "+name, func() (bool, string) {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		for _, n := range names {
			if strings.HasSuffix(n, ".crdownload") {
				return false, "in progress: " + strings.Join(names, ", ")
			}
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return false, "in the directory: " + strings.Join(names, ", ")
		}
		data = got
		return true, ""
	})
	return data
}

// TestBrowserAuditorExport: the auditor opens the export builder, which
// previews what the latest seal covers with its count, downloads it (JSON
// Lines, that many events), asks for it in clear without a reason, by
// keyboard (refused next to the reason, the box still ticked), and with
// one (downloaded). In Korean and English.
func TestBrowserAuditorExport(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.givePassword("U1", "auditor", testPassword)
	sealed := s.sealNow()
	want := int(sealed.TreeSize)

	au := s.newBrowser("auditor U1", "ko")
	dir := au.downloadsTo()
	au.signIn("U1", testPassword, "")
	au.open("/audit/export")
	if count := eval[string](au, `document.getElementById("export-count").dataset.count`); count != strconv.Itoa(want) {
		t.Fatalf("the preview's count is %q, the latest seal covers %d", count, want)
	}
	if seal := au.text("#export-seal"); !strings.Contains(seal, sealed.Hash.String()) {
		t.Errorf("the preview's covering seal is %q, not the latest seal %s", seal, sealed.Hash)
	}
	au.screen("audit-export")

	// The plain export.
	name := "-0-" + sealed.ToPosition.String() + ".jsonl"
	au.do(chromedp.Click(chromedp.CSS("#ex-download"), chromedp.NodeVisible))
	plain := string(au.downloaded(dir, "dangol-export"+name))
	if lines := exportLines(t, plain); len(lines) != want {
		t.Errorf("the download holds %d events, the preview said %d", len(lines), want)
	}
	if strings.Contains(plain, "김민준") || !strings.Contains(plain, "pii:v1:") {
		t.Error("the plain download does not hold the personal fields as their ciphertext")
	}

	// In clear, by keyboard: the box, the download, refused for want of a
	// reason; the reason typed and Enter, downloaded.
	au.do(chromedp.Focus(chromedp.CSS("#ex-clear")))
	au.press(" ")
	if !eval[bool](au, `document.getElementById("ex-clear").checked`) {
		t.Fatal("Space did not tick the clear box")
	}
	au.tabTo("#ex-download", 6)
	au.navigate(chromedp.KeyEvent(kb.Enter))
	if !au.has("#ex-reason-msg") || !eval[bool](au, `document.getElementById("ex-clear").checked`) {
		t.Fatalf("the clear export without a reason was not refused next to the reason (at %s)", au.location())
	}
	au.screen("audit-export-reason")
	au.fill("#ex-reason", "수사기관 요청 2026-117")
	au.press(kb.Enter)
	clear := string(au.downloaded(dir, "dangol-export-clear"+name))
	if lines := exportLines(t, clear); len(lines) != want {
		t.Errorf("the clear download holds %d events, the range %d", len(lines), want)
	}
	if !strings.Contains(clear, "김민준") {
		t.Error("the download in clear does not hold C101's name in clear")
	}

	en := s.newBrowser("auditor U1, English", "en")
	en.signIn("U1", testPassword, "")
	en.open("/audit/export")
	en.screen("audit-export")
	en.tabletShot("audit-export")
}

// TestBrowserAuditorAccess: the auditor opens the access record on last
// month, where R1's lookup of a customer outside their book is flagged and
// listed, and signs the month off by keyboard; the page then says who signed
// and when.
// In Korean and English. A rep may open neither auditor's screen.
func TestBrowserAuditorAccess(t *testing.T) {
	requireBrowser(t)
	s, _ := accessMonth(t)
	s.givePassword("U1", "auditor", testPassword)
	s.givePassword("R1", "rep", testPassword)

	au := s.newBrowser("auditor U1", "ko")
	au.signIn("U1", testPassword, "")
	au.open("/audit/access")
	if m := eval[string](au, `document.getElementById("ac-month").value`); m != "2026-10" {
		t.Errorf("the record opened on %q, want last month 2026-10", m)
	}
	if !au.has(`#check-table tr[data-staff="R1"][data-flagged="true"] [data-flag="outside_book"]`) {
		t.Errorf("R1 is not flagged outside their book: %s", au.text("#check"))
	}
	if !au.has(`#entries-table tr[data-action="lookup"][data-customer="C201"] a[href="/audit/streams/customer-C201"]`) {
		t.Errorf("no lookup of C201 in the entries: %s", au.text("#entries"))
	}
	au.checkAligned("#check-table")
	au.screen("audit-access")
	au.fill("#so-note", "R1의 C201 조회는 인바운드 통화로 확인함.")
	au.tabTo("#so-submit", 3)
	au.navigate(chromedp.KeyEvent(kb.Enter))
	au.waitPath("/audit/access?")
	au.waitText("#signoff-done", "Auditor One")
	if au.has("#signoff-form") {
		t.Error("the signed month still shows the sign-off form")
	}
	au.screen("audit-access-signed")

	en := s.newBrowser("auditor U1, English", "en")
	en.signIn("U1", testPassword, "")
	en.open("/audit/access?month=2026-10")
	en.waitText("#signoff-done", "Auditor One")
	en.screen("audit-access")
	en.tabletShot("audit-access")

	rep := s.newBrowser("rep R1", "ko")
	rep.signIn("R1", testPassword, "")
	for _, path := range []string{"/audit/export", "/audit/access"} {
		rep.open(path)
		if h := rep.text("main h1"); !strings.Contains(h, "403") {
			t.Errorf("a rep opening %s sees %q, not the 403 page", path, h)
		}
	}
}
