package api_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// rhWAV is sec seconds of 8 kHz 8-bit mono PCM: a tone whose loudness
// rises and falls every few seconds, so that the player's waveform has a
// shape to draw.
func rhWAV(sec int) []byte {
	const rate = 8000
	n := rate * sec
	b := make([]byte, 44+n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate)
	binary.LittleEndian.PutUint16(b[32:], 1) // block align
	binary.LittleEndian.PutUint16(b[34:], 8) // bits
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(n))
	for i := range n {
		t := float64(i) / rate
		loud := 0.15 + 0.8*math.Abs(math.Sin(t/3))
		b[44+i] = byte(128 + 100*loud*math.Sin(2*math.Pi*220*t))
	}
	return b
}

// rhFailedReview is newReview's body with the critical item (disclosure)
// failed and a coaching point about it at 01:23.
func rhFailedReview() map[string]any {
	r := newReview()
	r["items"] = []map[string]any{{"itemId": "greeting", "score": 3}, {"itemId": "needs", "score": 4, "comment": "좋음"},
		{"itemId": "disclosure", "score": 0, "comment": "원금 손실 가능성 고지 누락"}, {"itemId": "closing", "na": true}}
	r["coachingPoints"] = []map[string]any{{"itemId": "disclosure", "atSec": 83, "note": "상품 설명 뒤 원금 손실 가능성을 반드시 고지"}}
	return r
}

// rhHead is the log's head position, read from the store (a read through
// the API would itself be recorded).
func (s *stack) rhHead() events.Position {
	s.t.Helper()
	p, err := s.store.Head(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

// rhCall records call id of rep (R1 with customer C1, R2 with C2) on
// audio at the clock's time and, once the sampler has selected it,
// reviews it as S1 with review.
func (s *stack) rhCall(rep, id string, audio []byte, review map[string]any) {
	s.t.Helper()
	digest := s.upload(rep, audio)
	call := newCall(id, "C"+rep[1:], digest, len(audio))
	call["startedAt"] = s.now().Add(-5 * time.Minute).Format(time.RFC3339)
	s.must(rep, "POST", "/v1/calls", call, 201)
	s.waitUntil(id+" selected for review", func() bool { // the sampler's append comes first
		for _, q := range s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any) {
			if q.(map[string]any)["callId"] == id {
				return true
			}
		}
		return false
	})
	s.must("S1", "POST", "/v1/calls/"+id+"/reviews", review, 201)
	s.awaitApplied()
}

// rhPoints returns every coaching point by call id then criterion.
func (s *stack) rhPoints() map[string]map[string]any {
	s.t.Helper()
	out := map[string]map[string]any{}
	for _, p := range s.must("H1", "GET", "/v1/coaching", nil, 200)["items"].([]any) {
		pm := p.(map[string]any)
		out[pm["callId"].(string)+"/"+pm["criterion"].(string)] = pm
	}
	return out
}

// rhRefused runs submit, a submission the test expects refused, and fails
// the test if it moved the log's head; the refusal's own 4xx is not one of
// b's page errors.
func (s *stack) rhRefused(b *browser, what string, submit func()) {
	s.t.Helper()
	head := s.rhHead()
	submit()
	b.takeProblems()
	if got := s.rhHead(); got != head {
		s.t.Errorf("%s moved the head from %v to %v", what, head, got)
	}
}

// rhSubmitAfter tabs to the field sel, then on to its form's button, and
// presses Enter, waiting for the answer's page.
func (b *browser) rhSubmitAfter(sel string) {
	b.t.Helper()
	b.tabTo(sel, 80)
	b.press(kb.Tab)
	b.navigate(chromedp.KeyEvent(kb.Enter))
}

// rhPost submits a form of fields to action from b's page, with the
// page's CSRF token, as a form the page does not offer would be, and
// waits for the answer's page.
func (b *browser) rhPost(action string, fields map[string]string) {
	b.t.Helper()
	list, err := json.Marshal(fields)
	if err != nil {
		b.t.Fatal(err)
	}
	b.navigate(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const f = document.createElement("form");
		f.method = "post"; f.action = %q;
		const fields = Object.assign({_csrf: document.querySelector("meta[name=csrf-token]").content}, %s);
		for (const [k, v] of Object.entries(fields)) { const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit(); })()`, action, list)))
}

// TestBrowserQARepAndHead is the rep's and the centre head's part of the
// QA lifecycle, on the stack's manual clock: a call of rep R1 is reviewed
// with its critical item failed and a point at 01:23; the rep sees it on
// "my evaluations", cannot dispute without a reason nor acknowledge with
// a comment too long (nothing appended), acknowledges it and disputes it,
// all by keyboard; the supervisor
// re-scores it and the rep sees the new evaluation with the old one still
// readable; "my coaching" opens the call page playing from 01:23; fifteen days later
// the window has closed. A month later the centre head finds the point
// overdue (and another call's due this week), listens from 01:23 in the
// embedded player, cannot record a check without an outcome (nothing
// appended), marks it not improved with a note, and the point re-opens
// due a month later; the team page charts the QA scores and the
// improvement rate. Each role is refused the other's screens and writes
// (nothing appended). Korean, then
// the same screens in English.
func TestBrowserQARepAndHead(t *testing.T) {
	requireBrowser(t)
	// The team's history first: a call of R2 reviewed in October, its
	// point found improved in November.
	clock := eventstest.NewManualClock(eventstest.Epoch.AddDate(0, 0, -36))
	s := newStack(t, stackOptions{now: clock.Now})
	s.publishForm()
	for _, rep := range []string{"R1", "R2"} {
		c := "C" + rep[1:]
		s.must(rep, "POST", "/v1/customers", newCustomer(c), 201)
		s.must("S1", "POST", "/v1/customers/"+c+"/assignment", map[string]any{"advisorId": rep, "kind": "call_centre_rep"}, 201)
	}
	audio := rhWAV(120)
	s.rhCall("R2", "K0", audio[:len(audio)-16000], withField(newReview("니즈 확인 질문"), "items", rhFailedReview()["items"]))
	clock.Set(eventstest.Epoch.AddDate(0, 0, -5))
	s.must("H1", "POST", "/v1/coaching/"+s.rhPoints()["K0/니즈 확인 질문"]["id"].(string)+"/follow-up", map[string]any{"outcome": "improved", "note": "질문 순서 좋아짐"}, 201)

	clock.Set(eventstest.Epoch) // Wed 2026-11-25 09:00 UTC (18:00 KST)
	s.rhCall("R1", "K1", audio, rhFailedReview())
	clock.Set(eventstest.Epoch.Add(time.Hour))
	for _, id := range []string{"R1", "H1"} {
		s.givePassword(id, map[string]string{"R1": "rep", "H1": "centre_head"}[id], testPassword)
	}

	// ── the rep ──
	b := s.newBrowser("rep R1 (ko)", "ko")
	b.signIn("R1", testPassword, "")
	b.click(`nav a[href="/me/evaluations"]`)
	b.waitPath("/me/evaluations")
	k1 := "#call-K1 .mine-eval[data-evaluation=\"1\"]"
	if !b.has(k1+" [data-critical-failed]") || !strings.Contains(b.text(k1+" .mine-total"), "0.0") {
		t.Fatalf("evaluation 1 of K1 does not show the failed critical item and a total of 0:\n%s", b.text("main"))
	}
	if got := eval[string](b, `document.querySelector('#call-K1 a.mine-play').getAttribute("href")`); got != "/qa/calls/K1?t=83" {
		t.Errorf("the point's play link is %q", got)
	}
	b.waitText("#call-K1 a.mine-play", "01:23")
	if !b.has("#dispute-K1-1") {
		t.Fatalf("no dispute form within the window:\n%s", b.text("#call-K1"))
	}
	b.screen("qa-mine")

	// A dispute without a reason: refused at its field, nothing appended.
	s.rhRefused(b, "a dispute without a reason", func() { b.rhSubmitAfter("#dispute-K1-1-reason") })
	if !b.has("#dispute-K1-1-msg") || !b.has("#dispute-K1-1-reason[aria-invalid=true]") {
		t.Errorf("the empty reason is not marked invalid:\n%s", b.text("#call-K1"))
	}

	// A comment over 2,000 characters (past the field's maxlength, as a
	// script could send it): refused at its field, nothing appended.
	eval[bool](b, `(() => { const e = document.querySelector("#ack-K1-1-comment"); e.removeAttribute("maxlength"); e.value = "가".repeat(2001); return true; })()`)
	s.rhRefused(b, "an acknowledgement with a comment too long", func() { b.rhSubmitAfter("#ack-K1-1-comment") })
	if !b.has("#ack-K1-1-msg") || !b.has("#ack-K1-1-comment[aria-invalid=true]") {
		t.Errorf("the long comment is not refused at its field:\n%s", b.text("#call-K1"))
	}

	// Acknowledge with a comment, by keyboard.
	b.fill("#ack-K1-1-comment", "고지 누락 확인했습니다")
	b.press(kb.Tab)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/me/evaluations?")
	b.waitText("#mine-done", "K1")
	if !b.has(k1+" [data-acknowledged]") || b.has("#ack-K1-1") {
		t.Errorf("after the acknowledgement:\n%s", b.text("#call-K1"))
	}
	// Dispute with a reason.
	b.tabTo("#dispute-K1-1-reason", 60)
	b.press("고지는 통화 후반에 했습니다")
	b.press(kb.Tab)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/me/evaluations?")
	b.waitText(`#call-K1 [data-dispute][data-status="open"]`, "고지는 통화 후반에 했습니다")
	if b.has("#dispute-K1-1") {
		t.Errorf("a second dispute is offered while one is open")
	}

	// The supervisor re-scores it.
	disputes := s.must("S1", "GET", "/v1/qa/disputes?status=open", nil, 200)["items"].([]any)
	if len(disputes) != 1 {
		t.Fatalf("open disputes %v", disputes)
	}
	did := disputes[0].(map[string]any)["id"].(string)
	s.must("S1", "POST", "/v1/qa/disputes/"+did+"/resolution", map[string]any{"resolution": "rescored", "note": "후반 고지 확인, 재채점",
		"items": newReview()["items"]}, 201)
	s.awaitApplied()
	b.open("/me/evaluations")
	k1v2 := "#call-K1 .mine-eval[data-evaluation=\"2\"]"
	if !b.has(k1v2) || !strings.Contains(b.text(k1v2+" .mine-total"), "83.3") || b.has(k1v2+" [data-critical-failed]") {
		t.Fatalf("the re-score is not the latest evaluation:\n%s", b.text("#call-K1"))
	}
	old := `#call-K1 details.mine-old[data-evaluation="1"]`
	if !b.has(old) {
		t.Fatalf("the superseded evaluation is not shown:\n%s", b.text("#call-K1"))
	}
	b.waitText(`#call-K1 [data-status="rescored"]`, "후반 고지 확인")
	b.tabTo(old+" > summary", 80)
	b.press(kb.Enter)
	if !eval[bool](b, `document.querySelector('`+old+`').open`) || !strings.Contains(b.text(old+" .mine-items"), "원금 손실 가능성 고지 누락") {
		t.Errorf("Enter on the superseded version's summary does not show its items")
	}
	b.screen("qa-mine-rescored")

	// My coaching: the point plays its call from 01:23; acknowledging it.
	b.click(`nav a[href="/me/coaching"]`)
	b.waitPath("/me/coaching")
	pts := s.rhPoints()
	p1 := pts["K1/필수 고지"]
	if p1 == nil {
		t.Fatalf("no point on K1's disclosure: %v", pts)
	}
	row := "#point-" + p1["id"].(string)
	if got := eval[string](b, `document.querySelector('`+row+` a.mine-play').getAttribute("href")`); got != "/qa/calls/K1?t=83" {
		t.Errorf("my coaching's play link is %q", got)
	}
	b.waitText(row+" a.mine-play", "01:23")
	b.screen("qa-mycoaching")
	// The link opens the call page, its player starting at 01:23.
	b.click(row + " a.mine-play")
	b.waitPath("/qa/calls/K1?t=83")
	if got := eval[string](b, `(() => { const p = document.querySelector("[data-player]"); return p ? p.dataset.start : "(no player)"; })()`); got != "83" {
		t.Errorf("the call page's player starts at %s, want 83", got)
	}
	b.takeProblems() // the call page is checked by its own test
	b.open("/me/coaching")
	b.tabTo(row+" button[type=submit]", 80)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/me/coaching?done=acknowledged")
	if s.rhPoints()["K1/필수 고지"]["status"] != "acknowledged" {
		t.Errorf("the point was not acknowledged")
	}
	// The centre head's screens are not the rep's, nor the check.
	b.open("/coaching")
	b.waitText("main", "403")
	s.rhRefused(b, "a rep's follow-up", func() {
		b.rhPost("/coaching/"+p1["id"].(string)+"/follow-up", map[string]string{"outcome": "improved"})
	})
	b.waitText("main", "403")

	// A second call two days later: its point falls due in the week the
	// first one's is overdue.
	clock.Set(eventstest.Epoch.Add(48 * time.Hour))
	s.rhCall("R1", "K2", audio[:len(audio)-8000], newReview("경청"))

	// Fifteen days after the re-score the window has closed.
	clock.Set(eventstest.Epoch.Add(time.Hour + 15*24*time.Hour))
	b.signIn("R1", testPassword, "")
	b.open("/me/evaluations")
	if b.has("#dispute-K1-2") || !b.has(`#call-K1 [data-window="closed"]`) {
		t.Errorf("fifteen days on, a dispute is still offered:\n%s", b.text("#call-K1"))
	}

	// ── the centre head, a month later ──
	due, _ := time.Parse(time.RFC3339Nano, p1["followUpDue"].(string))
	clock.Set(due.Add(24 * time.Hour)) // Sat 2026-12-26: K1's point overdue, K2's due on Sunday
	h := s.newBrowser("centre head H1 (ko)", "ko")
	h.signIn("H1", testPassword, "")
	h.open("/coaching")
	p2 := s.rhPoints()["K2/경청"]
	if !h.has(`#fu-overdue tr[data-point="`+p1["id"].(string)+`"]`) || !h.has(`#fu-week tr[data-point="`+p2["id"].(string)+`"]`) {
		t.Fatalf("K1's point is not overdue or K2's not due this week:\n%s", h.text("main"))
	}
	h.click(`#fu-overdue tr[data-point="` + p1["id"].(string) + `"] a.fu-listen`)
	if got := eval[string](h, `document.querySelector('#fu-point [data-player]').dataset.start`); got != "83" {
		t.Errorf("the player starts at %q, want 83", got)
	}
	if src := eval[string](h, `document.querySelector('#fu-point audio').getAttribute("src")`); !strings.Contains(src, "call=K1") {
		t.Errorf("the player plays %q", src)
	}
	h.waitText("#fu-moment", "01:23")
	if !h.has(`#fu-point [data-mark="` + p1["id"].(string) + `"][data-sec="83"]`) {
		t.Errorf("the point is not marked at 01:23 on the player")
	}
	h.screen("qa-followups")

	// No outcome: refused, nothing appended.
	h.tabTo("#fu-note", 80)
	h.press("아직 고지 순서가 늦음")
	s.rhRefused(h, "a check without an outcome", func() { h.rhSubmitAfter("#fu-note") })
	if !h.has("#fu-err") {
		t.Errorf("a check without an outcome is not refused at the outcome:\n%s", h.text("#fu-point"))
	}
	if got := eval[string](h, `document.querySelector('#fu-note').value`); got != "아직 고지 순서가 늦음" {
		t.Errorf("the refused note was not kept: %q", got)
	}
	// Not improved, by keyboard: the point re-opens a month on.
	h.tabTo("#fu-improved", 80)
	h.press(kb.ArrowDown) // the radio group: the next choice
	if !h.matchesFocus("#fu-not-improved:checked") {
		t.Fatalf("ArrowDown did not choose not improved (focus on %s)", h.focused())
	}
	h.tabTo("#fu-submit", 5)
	h.navigate(chromedp.KeyEvent(kb.Enter))
	h.waitPath("/coaching?done=not_improved")
	next := events.AddOneMonth(clock.Now())
	h.waitText("#fu-done", next.In(time.FixedZone("KST", 9*3600)).Format(time.DateOnly))
	after := s.rhPoints()["K1/필수 고지"]
	if got, _ := time.Parse(time.RFC3339Nano, after["followUpDue"].(string)); after["status"] != "not_improved" || !got.Equal(next) {
		t.Errorf("after not improved the point is %v, want not_improved due %v", after, next)
	}
	if h.has(`#fu-overdue tr[data-point="` + p1["id"].(string) + `"]`) {
		t.Errorf("the re-opened point is still listed overdue")
	}

	// The team, with one closed calibration of K1 by S1 and H1: 83.3 and 0,
	// a consensus of 41.7, distances 41.6 and 41.7.
	cal := s.must("S1", "POST", "/v1/qa/calibrations", map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S1", "H1"}}, 201)
	session := cal["sessionId"].(string)
	items := newReview()["items"]
	s.must("S1", "POST", "/v1/qa/calibrations/"+session+"/scores", map[string]any{"items": items}, 201)
	failed := slices.Clone(items.([]map[string]any))
	failed[2] = map[string]any{"itemId": "disclosure", "score": 0}
	s.must("H1", "POST", "/v1/qa/calibrations/"+session+"/scores", map[string]any{"items": failed}, 201)
	s.must("S1", "POST", "/v1/qa/calibrations/"+session+"/closure", map[string]any{}, 201)
	h.click(`nav a[href="/team"]`)
	h.waitPath("/team")
	if n := eval[int](h, `document.querySelectorAll("main svg[role=img]").length`); n != 4 {
		t.Errorf("%d charts on the team page, want 4", n)
	}
	month := s.now().UTC().Format("2006-01")
	for ev, want := range map[string]string{"S1": "41.6", "H1": "41.7"} {
		sel := `#team-cal-table tr[data-evaluator="` + ev + `"][data-month="` + month + `"]`
		if got := h.text(sel + " td:last-child"); got != want {
			t.Errorf("%s's mean distance from the consensus shows %q, want %s", ev, got, want)
		}
	}
	for _, sel := range []string{`#team-qa-table tr[data-rep="R1"][data-month="2026-11"]`, `#team-qa-table tr[data-rep="R2"][data-month="2026-10"]`,
		`#team-rate-table tr[data-rep="R1"]`, `#team-rate-table tr[data-rep="R2"]`, `#team-month-table tr[data-month="2026-11"]`, `#team-month-table tr[data-month="2026-12"]`} {
		if !h.has(sel) {
			t.Errorf("the team page lacks %s:\n%s", sel, h.text("main"))
		}
	}
	if got := h.text(`#team-rate-table tr[data-rep="R2"] td:last-child`); got != "100.0%" {
		t.Errorf("R2's improvement rate shows %q, want 100.0%%", got)
	}
	// R1's coaching plan, from the team page: the points to work on with
	// their due dates, read only, and the rate.
	h.click(`#team-rate-table tr[data-rep="R1"] a`)
	h.waitPath("/team/reps/R1")
	if !h.has(`#open-table tr[data-point]`) || h.has(`#open-table form`) || !h.has(`#plan-counts`) {
		t.Errorf("R1's coaching plan:\n%s", h.text("main"))
	}
	h.screen("qa-plan")
	h.open("/team")
	h.screen("qa-team")
	h.open("/me/evaluations")
	h.waitText("main", "403")
	s.rhRefused(h, "a centre head's dispute", func() {
		h.rhPost("/me/evaluations/K1/2/dispute", map[string]string{"reason": "센터장의 이의"})
	})
	h.waitText("main", "403")

	// The same screens in English.
	be := s.newBrowser("rep R1 (en)", "en")
	be.signIn("R1", testPassword, "")
	be.open("/me/evaluations")
	be.screen("qa-mine")
	be.open("/me/coaching")
	be.screen("qa-mycoaching")
	he := s.newBrowser("centre head H1 (en)", "en")
	he.signIn("H1", testPassword, "")
	he.open("/coaching?point=" + p2["id"].(string))
	he.screen("qa-followups")
	he.tabletShot("qa-followups")
	// Another head closes the point meanwhile: this check is refused above
	// the lists, nothing appended.
	s.must("H1", "POST", "/v1/coaching/"+p2["id"].(string)+"/follow-up", map[string]any{"outcome": "improved", "note": "경청 좋아짐"}, 201)
	s.awaitApplied()
	he.tabTo("#fu-improved", 80)
	he.press(" ")
	s.rhRefused(he, "a check of a point closed meanwhile", func() { he.rhSubmitAfter("#fu-note") })
	if !he.has("#fu-error") || he.has("#fu-point") {
		t.Errorf("a check of a point closed meanwhile is not refused above the lists:\n%s", he.text("main"))
	}
	he.open("/team")
	he.screen("qa-team")
}
