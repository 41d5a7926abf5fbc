package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The whole QA lifecycle of issue 11 in headless Chromium, on the stack's
// manual clock: each step is checked in what the browser shows and in
// what the log appended (docs/console.md, "Quality and coaching").

// lcEvent is an appended event as the lifecycle test looks at it: its
// type, stream, actor and data (opened, as the read side opens it).
type lcEvent struct {
	typ, stream, actor string
	data               map[string]any
}

// lcTypes are the event types of the QA lifecycle; lcSince keeps only
// these (sign-ins and the access record are other tests' business).
var lcTypes = []string{"SamplingPlanPublished", "ScorecardFormPublished", "CallRecorded", "CallSelectedForReview", "CallReviewed",
	"ReviewAcknowledged", "ReviewDisputed", "DisputeResolved", "CoachingAcknowledged", "CoachingFollowedUp",
	"CalibrationOpened", "CalibrationScored", "CalibrationClosed"}

// lcSince returns the lifecycle's events appended after position from,
// read from the store (a read through the API would itself be recorded).
func (s *stack) lcSince(from events.Position) []lcEvent {
	s.t.Helper()
	s.awaitApplied()
	var out []lcEvent
	for {
		evs, err := s.store.ReadAll(s.t.Context(), from, 1000)
		if err != nil {
			s.t.Fatal(err)
		}
		for i := range evs {
			e := &evs[i]
			from = e.Position
			if !slices.Contains(lcTypes, e.Type) {
				continue
			}
			d, err := s.sealer.OpenEnvelope(s.t.Context(), e)
			if err != nil {
				s.t.Fatalf("open %s at %v: %v", e.Type, e.Position, err)
			}
			raw, err := json.Marshal(d)
			if err != nil {
				s.t.Fatal(err)
			}
			ev := lcEvent{typ: e.Type, stream: e.Stream, actor: e.Actor.ID}
			if err := json.Unmarshal(raw, &ev.data); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, ev)
		}
		if len(evs) < 1000 {
			return out
		}
	}
}

// lcExpect fails the test unless evs are of types want, in order; it
// returns them for their fields.
func lcExpect(t *testing.T, step string, evs []lcEvent, want ...string) []lcEvent {
	t.Helper()
	var got []string
	for _, e := range evs {
		got = append(got, e.typ+" on "+e.stream+" by "+e.actor)
	}
	types := make([]string, len(evs))
	for i, e := range evs {
		types[i] = e.typ
	}
	if !slices.Equal(types, want) {
		t.Fatalf("%s appended\n  %s\nwant the types %v", step, strings.Join(got, "\n  "), want)
	}
	return evs
}

// lcField reads a field of an event's data by a path of keys and list
// indexes ("coachingPoints", 0, "atSec").
func lcField(d any, path ...any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, _ := d.(map[string]any)
			d = m[k]
		case int:
			l, _ := d.([]any)
			if k >= len(l) {
				return nil
			}
			d = l[k]
		}
	}
	return d
}

// lcResponses records the statuses the browser's tab got for the
// recording's console route, by resource type ("Media 206").
type lcResponses struct {
	mu   sync.Mutex
	seen []string
}

// listenRecordings starts recording b's answers from /recordings/.
func listenRecordings(b *browser) *lcResponses {
	b.t.Helper()
	r := &lcResponses{}
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && strings.Contains(e.Response.URL, "/recordings/") {
			r.mu.Lock()
			r.seen = append(r.seen, fmt.Sprintf("%s %d", e.Type, e.Response.Status))
			r.mu.Unlock()
		}
	}); err != nil {
		b.t.Fatalf("listen to %s's network: %v", b.name, err)
	}
	return r
}

// has reports whether an answer "<type> <status>" was seen.
func (r *lcResponses) has(want string) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.seen, want), strings.Join(r.seen, ", ")
}

// lcScore is a score chosen by keys in a radio group: Tab to the group,
// then n presses of key (n = 0: Space on the first choice).
type lcScore struct {
	name, key string
	n         int
	want      string
}

// scoreByKeys chooses each score from the keyboard.
func (b *browser) scoreByKeys(scores ...lcScore) {
	b.t.Helper()
	for _, c := range scores {
		if got := b.chooseRadio(c.name, c.key, c.n); got != c.want {
			b.t.Fatalf("%s: %s: the keys chose %q, want %q", b.name, c.name, got, c.want)
		}
	}
}

// audioTime is the currentTime of the audio element sel (CSS).
func (b *browser) audioTime(sel string) float64 {
	b.t.Helper()
	return eval[float64](b, fmt.Sprintf(`(() => { const a = document.querySelector(%q); return a ? a.currentTime : -1; })()`, sel))
}

// lcCallSec is the lifecycle call's length: a couple of minutes.
const lcCallSec = 150

// TestBrowserQALifecycle is issue 11's lifecycle, on the stack's manual
// clock. A supervisor publishes sampling plan v1; rep R1's call K1 (a
// generated WAV of 2:30, uploaded through the API) is selected by the
// sampler under it. The supervisor signs in, opens K1 from the queue,
// listens (the audio element is answered 206 by the recording route),
// scores it on form F1 v1 with the critical item failed (the total shown
// 0.0, flagged) and clicks the waveform at 01:23 for a coaching point.
// The rep sees the evaluation and the point, acknowledges and disputes it
// with a reason; the supervisor re-scores through the dispute (evaluation
// 1 stays, marked superseded). A month on the centre head finds the
// follow-up due, plays from 01:23, marks it not improved with a note, and
// the point re-opens due a month later. Then a calibration of K1 with
// three evaluators (S1, supervisor S2, centre head H2), each scoring blind
// in their own browser, closed by S1: the spread and the distances.
// Every step is checked on the screen and in the log.
func TestBrowserQALifecycle(t *testing.T) {
	requireBrowser(t)
	clock := eventstest.NewManualClock(eventstest.Epoch) // Wed 2026-11-25 09:00 UTC
	s := newStack(t, stackOptions{now: clock.Now})
	start := s.rhHead()
	s.publishForm()
	s.must("S1", "PUT", "/v1/qa/sampling-plan", map[string]any{"newRepCalls": 5, "perRepWeek": 2, "longCallSec": 900, "complaintDays": 1,
		"note": "신규 상담원 첫 5건"}, 201)
	evs := lcExpect(t, "publishing the form and the plan", s.lcSince(start), "ScorecardFormPublished", "SamplingPlanPublished")
	if v := lcField(evs[1].data, "version"); v != 1.0 {
		t.Errorf("the sampling plan published as version %v, want 1", v)
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	for _, m := range [][2]string{{"S1", "supervisor"}, {"R1", "rep"}, {"H1", "centre_head"}} {
		s.givePassword(m[0], m[1], testPassword)
	}

	// ── recorded and selected ──
	head := s.rhHead()
	audio := rhWAV(lcCallSec)
	digest := s.upload("R1", audio)
	call := newCall("K1", "C1", digest, len(audio))
	call["durationSec"] = lcCallSec
	call["startedAt"] = s.now().Add(-5 * time.Minute).Format(time.RFC3339)
	s.must("R1", "POST", "/v1/calls", call, 201)
	s.waitUntil("K1 selected by the sampler", func() bool {
		return len(s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 1
	})
	evs = lcExpect(t, "recording K1", s.lcSince(head), "CallRecorded", "CallSelectedForReview")
	if sel := evs[1]; sel.actor == "S1" || lcField(sel.data, "reason") != "new_rep" || lcField(sel.data, "planVersion") != 1.0 {
		t.Errorf("K1's selection by %s: %v, want the sampler's new_rep under plan version 1", sel.actor, sel.data)
	}

	// ── the supervisor: the queue, the call page, listening ──
	clock.Set(eventstest.Epoch.Add(time.Minute))
	sup := s.newBrowser("supervisor S1 (ko)", "ko")
	sup.signIn("S1", testPassword, "")
	sup.open("/")
	sup.waitPath("/qa") // supervisors land on the queue
	row := `#qa-queue tr[data-call="K1"]`
	if !sup.has(row) {
		t.Fatalf("K1 is not in the queue:\n%s", sup.text("main"))
	}
	if got := sup.text(row + ` [data-reason]`); got != "신규 상담원" {
		t.Errorf("the queue's reason for K1 is %q, want 신규 상담원", got)
	}
	if got := sup.text(row + " td:nth-child(4)"); got != "계획 v1" {
		t.Errorf("the queue's plan column for K1 shows %q, want 계획 v1 (the selection's planVersion is 1 in the log)", got)
	}
	sup.screen("qa-lifecycle-queue")
	head = s.rhHead()
	heard := listenRecordings(sup)
	sup.click(row + ` a[href="/qa/calls/K1"]`)
	sup.waitPath("/qa/calls/K1")
	sup.poll("the waveform drawn", func() (bool, string) {
		p := sup.player()
		return p.Wave == "drawn" && p.Inked > 0 && math.Abs(p.Seconds-lcCallSec) < 0.1, fmt.Sprintf("%+v", p)
	})
	sup.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	sup.press(" ")
	sup.poll("playing after space", func() (bool, string) {
		p := sup.player()
		return p.State == "playing" && p.Time > 0, fmt.Sprintf("%+v", p)
	})
	sup.shortcut("k")
	sup.poll("paused after k", func() (bool, string) { p := sup.player(); return p.Paused, fmt.Sprintf("%+v", p) })
	sup.poll("the audio element answered 206 (Range)", func() (bool, string) { return heard.has("Media 206") })

	// Scored by keyboard: greeting 3, needs 4, the critical disclosure
	// failed, closing N/A; the total shown is 0.0, flagged.
	sup.scoreByKeys(lcScore{"score.greeting", kb.ArrowDown, 2, "3"}, lcScore{"score.needs", kb.ArrowDown, 1, "4"},
		lcScore{"score.disclosure", kb.ArrowDown, 1, "0"}, lcScore{"score.closing", kb.ArrowUp, 1, "na"})
	if got := sup.text("#qa-total"); got != "0.0" || !eval[bool](sup, `!document.querySelector("#qa-failed").hidden`) {
		t.Errorf("with the critical item failed the live total shows %q (flag shown: %v), want 0.0 flagged", got,
			eval[bool](sup, `!document.querySelector("#qa-failed").hidden`))
	}
	sup.fill("#comment-disclosure", "원금 손실 가능성 고지 누락")
	// A click on the waveform at 01:23 asks for a point there.
	box := eval[[]float64](sup, `(() => { const r = document.querySelector(".pl-canvas").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	sup.do(chromedp.MouseClickXY(box[0]+box[2]*83.5/lcCallSec, box[1]+box[3]/2))
	sup.poll("the point's moment 01:23", func() (bool, string) {
		v := eval[string](sup, `document.querySelector("input[name='pt.at']").value`)
		return v == "01:23", "it holds " + v
	})
	sup.poll("the focus on the point's note after the click", func() (bool, string) {
		return sup.matchesFocus("textarea[name='pt.note']"), "the focus is on " + sup.focused()
	})
	sup.press("상품 설명 뒤 원금 손실 가능성을 반드시 고지")
	sup.do(chromedp.Focus(chromedp.CSS("select[name='pt.item']")))
	sup.chooseByKeys("disclosure")
	sup.screen("qa-lifecycle-scoring")
	sup.do(chromedp.Focus(chromedp.CSS("textarea[name='pt.note']")))
	sup.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl))) // Ctrl+Enter saves
	sup.waitPath("/qa/calls/K1?done=reviewed")
	evs = lcExpect(t, "the review", s.lcSince(head), "CallReviewed")
	rv := evs[0].data
	if rv["formId"] != "F1" || rv["formVersion"] != 1.0 || rv["criticalFailed"] != true || rv["total"] != 0.0 || evs[0].actor != "S1" ||
		lcField(rv, "coachingPoints", 0, "atSec") != 83.0 || lcField(rv, "coachingPoints", 0, "itemId") != "disclosure" || rv["supersedes"] != nil {
		t.Errorf("the review appended %v", rv)
	}
	pointID, _ := lcField(rv, "coachingPoints", 0, "pointId").(string)
	ev1 := "#eval-1"
	if got := sup.text(ev1 + " .qa-total"); got != "0.0" || !strings.Contains(sup.text(ev1+" h3"), "필수 항목 미충족") {
		t.Errorf("evaluation 1 shows %q / %q, want 0.0 flagged", got, sup.text(ev1+" h3"))
	}
	if !sup.has(ev1+` a.qa-at[data-seek="83"]`) || !strings.Contains(sup.text(ev1+" .qa-points"), "01:23") {
		t.Errorf("evaluation 1's point is not shown at 01:23:\n%s", sup.text(ev1))
	}
	if !sup.has(`[data-player] .pl-seek[data-sec="83"][data-mark="` + pointID + `"]`) {
		t.Errorf("the point is not marked on the player at 83 s")
	}
	sup.screen("qa-lifecycle-scored")

	// ── the rep: sees it, acknowledges, disputes ──
	clock.Set(eventstest.Epoch.Add(10 * time.Minute))
	rep := s.newBrowser("rep R1 (ko)", "ko")
	rep.signIn("R1", testPassword, "")
	rep.click(`nav a[href="/me/evaluations"]`)
	rep.waitPath("/me/evaluations")
	k1 := `#call-K1 .mine-eval[data-evaluation="1"]`
	if !rep.has(k1+" [data-critical-failed]") || !strings.Contains(rep.text(k1+" .mine-total"), "0.0") {
		t.Errorf("the rep's evaluation 1 of K1 does not show the failed critical item and 0.0:\n%s", rep.text("#call-K1"))
	}
	if got := eval[string](rep, `document.querySelector('#call-K1 li[data-point="`+pointID+`"] a.mine-play').getAttribute("href")`); got != "/qa/calls/K1?t=83" {
		t.Errorf("the rep's point plays %q, want /qa/calls/K1?t=83", got)
	}
	rep.waitText(`#call-K1 li[data-point="`+pointID+`"]`, "01:23")
	rep.screen("qa-lifecycle-rep")
	head = s.rhHead()
	rep.fill("#ack-K1-1-comment", "고지 누락 확인했습니다")
	rep.rhSubmitAfter("#ack-K1-1-comment") // Tab to the button, Enter
	rep.waitPath("/me/evaluations?")
	if !rep.has(k1 + " [data-acknowledged]") {
		t.Errorf("the acknowledgement is not shown:\n%s", rep.text("#call-K1"))
	}
	rep.tabTo("#dispute-K1-1-reason", 80)
	rep.press("고지는 통화 후반 2분 10초에 했습니다")
	rep.rhSubmitAfter("#dispute-K1-1-reason")
	rep.waitPath("/me/evaluations?")
	rep.waitText(`#call-K1 [data-dispute][data-status="open"]`, "2분 10초")
	evs = lcExpect(t, "the rep's acknowledgement and dispute", s.lcSince(head), "ReviewAcknowledged", "ReviewDisputed")
	if d := evs[0].data; d["evaluation"] != 1.0 || d["repId"] != "R1" || d["comment"] != "고지 누락 확인했습니다" {
		t.Errorf("the acknowledgement appended %v", d)
	}
	disputeID, _ := evs[1].data["disputeId"].(string)
	if d := evs[1].data; d["evaluation"] != 1.0 || d["repId"] != "R1" || d["reason"] != "고지는 통화 후반 2분 10초에 했습니다" || disputeID == "" {
		t.Errorf("the dispute appended %v", d)
	}
	rep.screen("qa-lifecycle-disputed")

	// ── the supervisor re-scores through the dispute ──
	clock.Set(eventstest.Epoch.Add(20 * time.Minute))
	sup.click(`nav a[href="/qa/disputes"]`)
	sup.waitPath("/qa/disputes")
	sup.waitText("#d-"+disputeID+" .qa-reason", "2분 10초")
	sup.click("#d-" + disputeID + " a.button")
	sup.waitPath("/qa/calls/K1?dispute=" + disputeID)
	if !sup.has(`#qa-scorecard input[name=dispute][value="` + disputeID + `"]`) {
		t.Fatalf("the re-score's scorecard is not shown:\n%s", sup.text("main"))
	}
	// The disputed scores are filled in; the disclosure is passed now.
	sup.scoreByKeys(lcScore{"score.disclosure", kb.ArrowUp, 1, "1"})
	if got := sup.text("#qa-total"); got != "83.3" {
		t.Errorf("the re-score's live total shows %q, want 83.3", got)
	}
	sup.fill("#comment-disclosure", "02:10에 고지함")
	sup.fill("#qa-note", "후반 2:10 고지 확인, 재채점")
	head = s.rhHead()
	sup.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	sup.waitPath("/qa/calls/K1?done=rescored")
	evs = lcExpect(t, "the re-score", s.lcSince(head), "CallReviewed", "DisputeResolved")
	if d := evs[0].data; d["supersedes"] != 1.0 || d["disputeId"] != disputeID || d["total"] != 83.3 || d["criticalFailed"] != nil {
		t.Errorf("the re-score appended %v", d)
	}
	if d := evs[1].data; d["resolution"] != "rescored" || d["evaluation"] != 2.0 || d["disputeId"] != disputeID || d["resolverId"] != "S1" {
		t.Errorf("the resolution appended %v", d)
	}
	if got := sup.text("#eval-2 .qa-total"); got != "83.3" || sup.has("#eval-2.superseded") {
		t.Errorf("evaluation 2 shows %q (superseded: %v), want the current 83.3", got, sup.has("#eval-2.superseded"))
	}
	if !sup.has("#eval-1.superseded") || sup.text("#eval-1 .qa-total") != "0.0" || !strings.Contains(sup.text("#eval-1 h3"), "평가 2(으)로 대체됨") {
		t.Errorf("evaluation 1 is not shown superseded by 2:\n%s", sup.text("#eval-1"))
	}
	sup.waitText("#d-"+disputeID, "재채점")
	sup.screen("qa-lifecycle-rescored")
	// The rep sees the new evaluation, and the old one still readable.
	rep.open("/me/evaluations")
	if k1v2 := `#call-K1 .mine-eval[data-evaluation="2"]`; !rep.has(k1v2) || !strings.Contains(rep.text(k1v2+" .mine-total"), "83.3") ||
		!rep.has(`#call-K1 details.mine-old[data-evaluation="1"]`) {
		t.Errorf("the rep does not see evaluation 2 current and 1 superseded:\n%s", rep.text("#call-K1"))
	}
	rep.waitText(`#call-K1 [data-status="rescored"]`, "재채점")

	// ── a month on: the centre head's follow-up ──
	pts := s.must("H1", "GET", "/v1/coaching", nil, 200)["items"].([]any)
	if len(pts) != 1 || lcField(pts[0], "id") != pointID {
		t.Fatalf("coaching points %v, want the one point %s", pts, pointID)
	}
	due, _ := time.Parse(time.RFC3339Nano, lcField(pts[0], "followUpDue").(string))
	if want := events.AddOneMonth(eventstest.Epoch.Add(time.Minute)); !due.Equal(want) {
		t.Errorf("the point is due %v, want a month after its review, %v", due, want)
	}
	clock.Set(due.Add(-time.Hour)) // Fri 2026-12-25: due this week
	head = s.rhHead()
	h := s.newBrowser("centre head H1 (ko)", "ko")
	h.signIn("H1", testPassword, "")
	h.open("/")
	h.waitPath("/coaching") // centre heads land on their follow-ups
	fuRow := `#fu-week tr[data-point="` + pointID + `"]`
	if !h.has(fuRow) {
		t.Fatalf("the point is not due this week on /coaching:\n%s", h.text("main"))
	}
	h.click(fuRow + " a.fu-listen")
	h.waitText("#fu-moment", "01:23")
	h.poll("the player at 01:23", func() (bool, string) {
		at := h.audioTime("#fu-point audio")
		return math.Abs(at-83) < 0.5, fmt.Sprintf("currentTime %v", at)
	})
	h.do(chromedp.Click(chromedp.CSS("#fu-point .pl-play"), chromedp.NodeVisible))
	h.poll("playing from 01:23", func() (bool, string) {
		at := h.audioTime("#fu-point audio")
		return eval[string](h, `document.querySelector("#fu-point [data-player]").dataset.state || ""`) == "playing" && at >= 83 && at <= lcCallSec, // from 01:23 on, however fast the machine
			fmt.Sprintf("currentTime %v", at)
	})
	h.do(chromedp.Click(chromedp.CSS("#fu-point .pl-play"), chromedp.NodeVisible))
	h.screen("qa-lifecycle-followup")
	h.tabTo("#fu-improved", 80)
	h.press(kb.ArrowDown)
	if !h.matchesFocus("#fu-not-improved:checked") {
		t.Fatalf("ArrowDown did not choose not improved (focus on %s)", h.focused())
	}
	h.tabTo("#fu-note", 5)
	h.press("고지 시점이 여전히 늦음. 상품 설명 직후 고지하도록 다시 코칭")
	h.tabTo("#fu-submit", 5)
	h.navigate(chromedp.KeyEvent(kb.Enter))
	h.waitPath("/coaching?done=not_improved")
	next := events.AddOneMonth(clock.Now())
	h.waitText("#fu-done", next.In(time.FixedZone("KST", 9*3600)).Format(time.DateOnly))
	evs = lcExpect(t, "the follow-up", s.lcSince(head), "CoachingFollowedUp")
	if d := evs[0].data; d["pointId"] != pointID || d["outcome"] != "not_improved" || d["checkerId"] != "H1" || !strings.Contains(fmt.Sprint(d["note"]), "여전히 늦음") {
		t.Errorf("the follow-up appended %v", d)
	} else if got, _ := time.Parse(time.RFC3339Nano, d["nextFollowUpDue"].(string)); !got.Equal(next) {
		t.Errorf("the follow-up re-opens the point due %v, want %v", got, next)
	}
	pts = s.must("H1", "GET", "/v1/coaching", nil, 200)["items"].([]any)
	if got, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(lcField(pts[0], "followUpDue"))); len(pts) != 1 || lcField(pts[0], "status") != "not_improved" ||
		!got.Equal(next) || lcField(pts[0], "atSec") != 83.0 {
		t.Errorf("GET /v1/coaching after not improved: %v, want not_improved due %v at 83 s", pts, next)
	}
	if h.has(fuRow) {
		t.Errorf("the re-opened point is still listed this week")
	}
	h.screen("qa-lifecycle-followed-up")
	// The rep's coaching shows it open again, due then, still at 01:23.
	rep.signIn("R1", testPassword, "") // a month on, the console's session has ended
	rep.open("/me/coaching")
	mine := "#point-" + pointID
	rep.waitText(mine, next.In(time.FixedZone("KST", 9*3600)).Format(time.DateOnly))
	if got := eval[string](rep, `document.querySelector('`+mine+`').dataset.status`); got != "not_improved" {
		t.Errorf("the rep's coaching shows the point %q, want not_improved", got)
	}
	rep.waitText(mine+" a.mine-play", "01:23")

	// ── calibration: three evaluators, blind ──
	clock.Set(due.Add(2 * time.Hour))
	for _, m := range [][3]string{{"S2", "Supervisor Two", "supervisor"}, {"H2", "Head Two", "centre_head"}} {
		s.tok[m[0]], s.tokIDs[m[0]] = s.addStaff(m[0], m[1], m[2], s.now().Add(90*24*time.Hour))
		s.givePassword(m[0], m[2], testPassword)
	}
	sup.signIn("S1", testPassword, "") // a month on, the console's session has ended
	sup.click(`nav a[href="/qa/calibrations"]`)
	sup.waitPath("/qa/calibrations")
	sup.fill("#cal-call", "K1")
	for _, id := range []string{"S1", "S2", "H2"} {
		box := `input[name=evaluator][value="` + id + `"]`
		if !sup.has(box) {
			t.Fatalf("%s is not offered as an evaluator:\n%s", id, sup.text("#cal-open"))
		}
		if !eval[bool](sup, `document.querySelector('`+box+`').checked`) {
			sup.tabTo(box, 60)
			sup.press(" ")
		}
	}
	sup.fill("#cal-note", "필수 고지 판단 기준 맞추기")
	head = s.rhHead()
	sup.tabTo("#cal-open-submit", 40)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitPath("/qa/calibrations/")
	evs = lcExpect(t, "opening the session", s.lcSince(head), "CalibrationOpened")
	sid, _ := evs[0].data["sessionId"].(string)
	// The evaluators are appended sorted by id.
	if d := evs[0].data; d["callId"] != "K1" || d["formId"] != "F1" || d["formVersion"] != 1.0 || d["openerId"] != "S1" ||
		fmt.Sprint(d["evaluators"]) != "[H2 S1 S2]" {
		t.Errorf("the session opened as %v", d)
	}
	page := "/qa/calibrations/" + sid
	if !strings.HasPrefix(sup.path(), page) {
		t.Fatalf("after opening the session the page is %s, want %s", sup.path(), page)
	}

	// Each scores in their own browser; no one sees another's score while
	// the session is open.
	sessions := map[string]*browser{"S1": sup}
	for _, m := range [][2]string{{"S2", "en"}, {"H2", "ko"}} {
		b := s.newBrowser(m[0]+" ("+m[1]+")", m[1])
		b.signIn(m[0], testPassword, "")
		sessions[m[0]] = b
	}
	comments := map[string]string{"S1": "본인 확인 늦음", "S2": "all fine to me", "H2": "고지 없음으로 판단"}
	scores := map[string][]lcScore{
		"S1": {{"score.greeting", kb.ArrowDown, 2, "3"}, {"score.needs", kb.ArrowDown, 1, "4"}, {"score.disclosure", "", 0, "1"}, {"score.closing", kb.ArrowUp, 1, "na"}},
		"S2": {{"score.greeting", "", 0, "5"}, {"score.needs", "", 0, "5"}, {"score.disclosure", "", 0, "1"}, {"score.closing", "", 0, "5"}},
		"H2": {{"score.greeting", kb.ArrowDown, 3, "2"}, {"score.needs", kb.ArrowDown, 2, "3"}, {"score.disclosure", kb.ArrowDown, 1, "0"}, {"score.closing", kb.ArrowUp, 1, "na"}},
	}
	// The log's totals, and as the pages write them (no ".0").
	totals := map[string]string{"S1": "83.3", "S2": "100.0", "H2": "0.0"}
	shown := map[string]string{"S1": "83.3", "S2": "100", "H2": "0"}
	var scored []string
	for _, id := range []string{"S1", "S2", "H2"} {
		b := sessions[id]
		b.open(page)
		if !b.has("#cal-scorecard") {
			t.Fatalf("%s is offered no scorecard:\n%s", id, b.text("main"))
		}
		for _, other := range scored {
			if !b.has(`#cal-people li[data-evaluator="` + other + `"] .tag.ok`) {
				t.Errorf("%s does not see that %s has scored:\n%s", id, other, b.text("#cal-people"))
			}
			body := b.text("main")
			if strings.Contains(body, comments[other]) || (other == "S1" && strings.Contains(body, shown["S1"])) {
				t.Errorf("%s, the session open, sees %s's score:\n%s", id, other, body)
			}
			blind := s.must(id, "GET", "/v1/qa/calibrations/"+sid, nil, 200)
			if n := len(blind["scores"].([]any)); n != 0 {
				t.Errorf("the API shows %s %d scores before their own, want none", id, n)
			}
		}
		b.scoreByKeys(scores[id]...)
		b.fill("#comment-disclosure", comments[id])
		if id == "H2" {
			b.screen("qa-lifecycle-calibration-blind")
		}
		head = s.rhHead()
		b.tabTo("#cal-submit", 40)
		b.navigate(chromedp.KeyEvent(kb.Enter))
		b.waitPath(page + "?done=scored")
		b.waitText("#cal-mine", shown[id])
		evs = lcExpect(t, id+"'s score", s.lcSince(head), "CalibrationScored")
		if d := evs[0].data; d["sessionId"] != sid || d["evaluatorId"] != id || fmt.Sprintf("%.1f", d["total"]) != totals[id] {
			t.Errorf("%s's score appended %v", id, d)
		}
		for _, other := range scored {
			if strings.Contains(b.text("main"), comments[other]) {
				t.Errorf("%s, having scored, sees %s's comment while the session is open", id, other)
			}
		}
		scored = append(scored, id)
	}

	// The opener closes: the spread and the distances.
	head = s.rhHead()
	sup.open(page)
	sup.fill("#cal-close-note", "필수 고지는 통화 어디서든 고지되면 통과로 맞춤")
	sup.tabTo("#cal-close-submit", 40)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitPath(page + "?done=closed")
	evs = lcExpect(t, "closing the session", s.lcSince(head), "CalibrationClosed")
	if d := evs[0].data; d["sessionId"] != sid || d["closerId"] != "S1" {
		t.Errorf("the closure appended %v", d)
	}
	// Totals 83.3, 100 and 0: the consensus 61.1, distances 22.2, 38.9, 61.1.
	for id, want := range map[string][2]string{"S1": {"83.3", "22.2"}, "S2": {"100", "38.9"}, "H2": {"0", "61.1"}} {
		r := `#cal-distances tr[data-evaluator="` + id + `"]`
		if !sup.has(r) {
			t.Errorf("no distance row for %s:\n%s", id, sup.text("#cal-scores"))
			continue
		}
		if total, dist := sup.text(r+" td:nth-of-type(1)"), sup.text(r+" td:nth-of-type(2)"); total != want[0] || dist != want[1] {
			t.Errorf("%s's row shows total %q distance %q, want %s and %s", id, total, dist, want[0], want[1])
		}
	}
	sup.waitText("#cal-scores h2", "61.1")
	// Per item, as 100 × score / max: disclosure 100, 100, 0 — spread 100.
	if got := sup.text(`#cal-items tr[data-item="disclosure"] .cal-sp`); got != "100" {
		t.Errorf("the disclosure's spread shows %q, want 100", got)
	}
	if !sup.has(`#cal-items tr[data-item="disclosure"].wide`) {
		t.Errorf("the disclosure's spread is not marked wide")
	}
	sup.screen("qa-lifecycle-calibration-closed")
	// Once closed, every evaluator sees everyone's score.
	sessions["H2"].open(page)
	sessions["H2"].waitText(`#cal-distances tr[data-evaluator="S2"]`, "38.9")
}
