package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The reports and the calibration screens in the browser: every report
// reached from the bar and walked through by keyboard ([ and ]), its
// charts drawn, the print view of one (no bar, no buttons, charts and
// tables within an A4 page's width); a calibration session opened,
// scored and closed by keyboard, refusals appending nothing.

// A4's printable width at 96 dpi with the print stylesheet's 12 mm
// margins (210 − 24 mm), and a page's height.
const a4Width, a4Height = 703, 1032

// printView shows the page as printed (media print, A4's width), runs
// check, saves the picture as docs/console/<name>-<lang>-print.png and
// returns to the screen.
func (b *browser) printView(name string, check func()) {
	b.t.Helper()
	ctx := b.ctx
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		b.t.Fatalf("%s: emulate print: %v", b.name, err)
	}
	b.do(chromedp.EmulateViewport(a4Width, a4Height))
	check()
	b.checkWidth(name+" (print)", a4Width)
	b.screenshot(name + "-" + b.pageLang() + "-print")
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		b.t.Fatalf("%s: end print emulation: %v", b.name, err)
	}
	b.do(chromedp.EmulateViewport(desktopWidth, desktopHeight))
}

// shown reports whether the element sel is displayed.
func (b *browser) shown(sel string) bool {
	b.t.Helper()
	return eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && getComputedStyle(e).display !== "none" && e.getClientRects().length > 0; })()`, sel))
}

// chooseRadio moves the keyboard focus into the radio group name and
// presses key n times (ArrowDown checks the next choice, ArrowUp from the
// first wraps to the last; n = 0 checks the first with Space).
func (b *browser) chooseRadio(name, key string, n int) string {
	b.t.Helper()
	b.tabTo(fmt.Sprintf(`input[type=radio][name=%q]`, name), 80)
	if n == 0 {
		b.press(" ")
	}
	for range n {
		b.press(key)
	}
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector('input[type=radio][name=%q]:checked'); return e ? e.value : ""; })()`, name))
}

// TestBrowserReportsAndCalibration: a centre head opens the reports from
// the bar, each report with its charts and tables, walks through them with
// ] and back with [, and prints one; a supervisor opens a calibration
// session by keyboard (without a second evaluator first: refused, nothing
// appended), scores it blind by keyboard while the centre head scores it
// too, closes it and reads the spread and the distances. Korean, then the
// same screens in English.
func TestBrowserReportsAndCalibration(t *testing.T) {
	requireBrowser(t)
	s := reportsBook(t)
	// A closed session for the calibration report.
	opened := s.must("S1", "POST", "/v1/qa/calibrations", map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S1", "H1"}}, 201)
	sid := opened["sessionId"].(string)
	s.must("S1", "POST", "/v1/qa/calibrations/"+sid+"/scores", calScore(3, 4, 1, -1), 201)
	s.must("H1", "POST", "/v1/qa/calibrations/"+sid+"/scores", calScore(5, 3, 1, 4), 201)
	s.must("S1", "POST", "/v1/qa/calibrations/"+sid+"/closure", map[string]any{"note": "인사 기준 재확인"}, 201)
	s.recordCall("R1", "K3", "C1", 30)
	s.givePassword("H1", "centre_head", testPassword)
	s.givePassword("S1", "supervisor", testPassword)
	s.awaitApplied()

	reports := []string{"tiers", "pitches", "qa", "coaching", "freshness", "requests", "calibration"}
	for _, lang := range []string{"ko", "en"} {
		b := s.newBrowser("centre head H1 ("+lang+")", lang)
		b.signIn("H1", testPassword, "")
		b.click(`nav a[href="/reports"]`)
		b.waitPath("/reports")
		if n := eval[int](b, `document.querySelectorAll("#rp-list > li").length`); n != len(reports)+2 { // and the tier migration (browser_campaign_outcome_test.go) and the likely duplicates (browser_merge_test.go)
			t.Errorf("%s: the index lists %d reports", lang, n)
		}
		b.screen("qa-reports")

		b.click(`#rp-list a[href="/reports/tiers"]`)
		b.waitPath("/reports/tiers")
		if n := eval[int](b, `document.querySelectorAll("#rp-charts svg.chart[role=img][aria-label]").length`); n != 2 {
			t.Errorf("%s: %d charts on the tiers report, want the tiers and the concentration curve", lang, n)
		}
		if !b.shown("#rp-print") {
			t.Errorf("%s: no print button", lang)
		}
		b.screen("qa-report-tiers")
		b.printView("qa-report-tiers", func() {
			for _, sel := range []string{"header.bar", "#rp-print", "#rp-csv", ".rp-strip", ".rp-csv"} {
				if b.shown(sel) {
					t.Errorf("%s: %s is printed", lang, sel)
				}
			}
			for _, sel := range []string{"#rp-charts svg.chart", "#t-tiers table", "#t-concentration table", "#rp-facts"} {
				if !b.shown(sel) {
					t.Errorf("%s: %s is not printed", lang, sel)
				}
			}
		})

		// ] walks through the reports, [ goes back.
		b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
		for _, name := range reports[1:] {
			b.navigate(chromedp.KeyEvent("]"))
			b.waitPath("/reports/" + name)
			if !b.has(`.rp-strip a[href="/reports/` + name + `"][aria-current="page"]`) {
				t.Errorf("%s: ] did not open %s", lang, name)
			}
			if lang == "ko" || name == "qa" || name == "calibration" {
				b.screen("qa-report-" + name)
			}
		}
		if got := eval[int](b, `document.querySelectorAll("#t-calibration tbody tr").length`); got != 2 {
			t.Errorf("%s: the calibration report has %d rows, want S1's and H1's", lang, got)
		}
		b.navigate(chromedp.KeyEvent("["))
		b.waitPath("/reports/requests")
		if lang == "ko" {
			b.printView("qa-report-requests", func() {
				if b.shown("header.bar") || !b.shown("#t-requests table") {
					t.Errorf("the requests report does not print its table without the bar")
				}
			})
		}
	}

	// ── calibration by keyboard ──
	b := s.newBrowser("supervisor S1 (ko)", "ko")
	b.signIn("S1", testPassword, "")
	b.click(`nav a[href="/qa/calibrations"]`)
	b.waitPath("/qa/calibrations")
	if !b.has(`#cal-list tr[data-session="` + sid + `"]`) {
		t.Errorf("the closed session is not listed:\n%s", b.text("#cal-list"))
	}
	b.screen("qa-calibrations")

	// Without a second evaluator: refused at the evaluators, nothing appended.
	head := s.rhHead()
	b.fill("#cal-call", "K3")
	b.tabTo("#cal-open-submit", 40)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	if !b.has("#cal-people-msg") {
		t.Fatalf("one evaluator is not refused at the evaluators:\n%s", b.text("#cal-open"))
	}
	b.takeProblems() // the refusal's own 400
	if got := s.rhHead(); got != head {
		t.Errorf("a refused session moved the head from %v to %v", head, got)
	}
	b.tabTo(`input[name=evaluator][value="H1"]`, 40)
	b.press(" ")
	b.tabTo("#cal-open-submit", 40)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/qa/calibrations/")
	b.waitText("#cal-done", "세션")
	if !b.has("#cal-scorecard") || !b.has("[data-player]") {
		t.Fatalf("the new session's page lacks the scorecard or the player:\n%s", b.text("main"))
	}
	page := b.path()
	page = page[:strings.Index(page, "?")]

	// Score it by keyboard: greeting 3 (from 5, two down), needs 4, the
	// critical disclosure passed (Space on its first choice), closing N/A
	// (up from the first wraps to the last).
	for _, c := range []struct {
		name, key string
		n         int
		want      string
	}{{"score.greeting", kb.ArrowDown, 2, "3"}, {"score.needs", kb.ArrowDown, 1, "4"}, {"score.disclosure", "", 0, "1"}, {"score.closing", kb.ArrowUp, 1, "na"}} {
		if got := b.chooseRadio(c.name, c.key, c.n); got != c.want {
			t.Fatalf("%s: the keys chose %q, want %q", c.name, got, c.want)
		}
	}
	b.fill("#comment-greeting", "첫인사 뒤 본인 확인이 늦음")
	b.screen("qa-calibration-scoring")
	b.tabTo("#cal-submit", 40)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath(page + "?done=scored")
	b.waitText("#cal-mine", "83.3")
	if b.has("#cal-scorecard") || b.has("#cal-close-form") {
		t.Errorf("after scoring: the scorecard again, or a close form with one score")
	}
	b.screen("qa-calibration-scored")

	// The centre head scores; the supervisor closes with a note.
	id := strings.TrimPrefix(page, "/qa/calibrations/")
	s.must("H1", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 2, 1, 5), 201)
	s.awaitApplied()
	b.open(page)
	b.fill("#cal-close-note", "본인 확인 시점 기준 맞추기")
	b.tabTo("#cal-close-submit", 40)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath(page + "?done=closed")
	if n := eval[int](b, `document.querySelectorAll("#cal-distances tbody tr").length`); n != 2 {
		t.Errorf("%d evaluators' distances, want 2", n)
	}
	if n := eval[int](b, `document.querySelectorAll("#cal-items tbody tr.wide").length`); n != 2 {
		t.Errorf("%d items marked wide apart, want greeting and needs", n)
	}
	b.screen("qa-calibration-closed")

	en := s.newBrowser("centre head H1 (en)", "en")
	en.signIn("H1", testPassword, "")
	en.click(`nav a[href="/qa/calibrations"]`)
	en.waitPath("/qa/calibrations")
	en.screen("qa-calibrations")
	en.click(`#cal-list a[href="` + page + `"]`)
	en.waitPath(page)
	en.waitText("#cal-scores", "consensus")
	en.screen("qa-calibration-closed")
}
