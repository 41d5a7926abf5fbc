package api_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The supervisor's QA screens in the browser: the queue, the call page's
// player (the waveform decoded from the recording, Range streaming, speed,
// keys, a click on the waveform asking for a coaching point there), the
// scorecard with its live total, evaluations superseded, and disputes.

// testWAV is a 16-bit mono PCM WAV of secs seconds at 8 kHz: tones of
// different pitch and loudness with silences between them, so that the
// waveform has a shape to see.
func testWAV(secs int) []byte {
	const rate = 8000
	n := secs * rate
	pcm := make([]int16, n)
	for i := range pcm {
		t := float64(i) / rate
		seg := int(t) % 5
		amp := []float64{0.7, 0, 0.35, 0.9, 0.15}[seg]
		freq := []float64{440, 0, 660, 330, 550}[seg]
		env := 0.6 + 0.4*math.Sin(2*math.Pi*1.5*t)
		pcm[i] = int16(amp * env * math.Sin(2*math.Pi*freq*t) * 32000)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v) // PCM, mono, 8 kHz, 16 bits
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*n))
	_ = binary.Write(&b, le, pcm)
	return b.Bytes()
}

// recordCall uploads a secs-second WAV as rep's call id of customer and
// returns the recording's digest.
func (s *stack) recordCall(rep, id, customer string, secs int) string {
	s.t.Helper()
	audio := testWAV(secs)
	digest := s.upload(rep, audio)
	s.must(rep, "POST", "/v1/calls", withField(newCall(id, customer, digest, len(audio)), "durationSec", secs), 201)
	return digest
}

// qaFixture is a stack with F1 published, customer C1 in R1's book and
// call K1 (20 s) recorded and selected for review by S1. Its members
// have passwords.
func qaFixture(t *testing.T) (*stack, string) {
	s := newStack(t, stackOptions{})
	s.publishForm()
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	digest := s.recordCall("R1", "K1", "C1", 20)
	// The sampler selects a new rep's first call (new_rep) in the
	// background; S1's request comes after it, as the tests read K1's
	// reason as new_rep (it landed first only as often as the sampler won
	// the race with the next request).
	s.waitUntil("the sampler to select K1, a new rep's first call", func() bool {
		for _, e := range s.streamLog("call-K1") {
			if e.Type == "CallSelectedForReview" {
				return true
			}
		}
		return false
	})
	s.must("S1", "POST", "/v1/calls/K1/selection", map[string]any{"reason": "requested"}, 201)
	for _, m := range [][2]string{{"S1", "supervisor"}, {"R1", "rep"}, {"R2", "rep"}, {"H1", "centre_head"}, {"U1", "auditor"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	s.awaitApplied()
	return s, digest
}

// awaitEval evaluates js, a promise, and decodes what it resolves to.
func awaitEval[T any](b *browser, js string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// playerState is what the player shows and holds.
type playerState struct {
	Wave    string  `json:"wave"`    // data-wave: drawn, none or ""
	State   string  `json:"state"`   // playing or paused
	Time    float64 `json:"time"`    // the audio's currentTime
	Rate    float64 `json:"rate"`    // its playbackRate
	Speed   string  `json:"speed"`   // the speed control's value
	Inked   int     `json:"inked"`   // canvas pixels not blank
	Quiet   int     `json:"quiet"`   // inked pixels of the column at 1.5 s (silence in testWAV)
	Loud    int     `json:"loud"`    // and at 3.5 s (its loudest tone)
	Shown   string  `json:"shown"`   // the time shown
	Native  bool    `json:"native"`  // the browser's own controls shown
	Paused  bool    `json:"paused"`  // the audio element's paused
	Seconds float64 `json:"seconds"` // the audio's duration
}

func (b *browser) player() playerState {
	b.t.Helper()
	return eval[playerState](b, `(() => { const el = document.querySelector("[data-player]"), a = el.querySelector("audio"), c = el.querySelector("canvas");
		const g = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let inked = 0;
		for (let i = 3; i < g.length; i += 4) if (g[i] > 0) inked++;
		const column = f => { const x = Math.floor(c.width * f); let n = 0; for (let y = 0; y < c.height; y++) if (g[(y * c.width + x) * 4 + 3] > 0) n++; return n; };
		const quiet = column(1.5 / 20), loud = column(3.5 / 20);
		return {wave: el.dataset.wave || "", state: el.dataset.state || "", time: a.currentTime, rate: a.playbackRate, speed: el.querySelector(".pl-speed").value,
			inked, quiet, loud, shown: el.querySelector(".pl-now").textContent, native: a.controls && getComputedStyle(a).display !== "none", paused: a.paused, seconds: a.duration || 0}; })()`)
}

// supervisorOnQueue signs S1 in in a browser of lang and opens the start
// page: a supervisor lands on the queue.
func (s *stack) supervisorOnQueue(lang string) *browser {
	s.t.Helper()
	b := s.newBrowser("supervisor S1 ("+lang+")", lang)
	b.signIn("S1", testPassword, "")
	b.open("/")
	b.waitPath("/qa")
	return b
}

// waitWave waits until the player has drawn the waveform from the decoded
// audio: testWAV's loudest second tall, its silence a line.
func (b *browser) waitWave() {
	b.t.Helper()
	b.poll("the waveform drawn from the decoded audio", func() (bool, string) {
		p := b.player()
		return p.Wave == "drawn" && p.Loud > 4*max(p.Quiet, 1), fmt.Sprintf("%+v", p)
	})
}

// TestBrowserQAPlayer: the call page's player decodes the recording into
// a waveform, starts at ?t=, plays and pauses by key, seeks by arrows,
// changes speed with [ and ], streams with Range, and a click on the
// waveform fills the coaching point's moment. Another rep gets no page
// and no recording of the call.
func TestBrowserQAPlayer(t *testing.T) {
	requireBrowser(t)
	s, digest := qaFixture(t)

	sup := s.supervisorOnQueue("en")
	sup.open("/qa/calls/K1?t=5")
	sup.waitWave()
	p := sup.player()
	if p.Native {
		t.Errorf("the browser's own controls still show with the player running")
	}
	sup.poll("the start at ?t=5", func() (bool, string) {
		p := sup.player()
		return p.Time == 5 && p.Shown == "00:05", fmt.Sprintf("%+v", p)
	})
	if p := sup.player(); math.Abs(p.Seconds-20) > 0.1 {
		t.Errorf("the audio's duration %.2f s, want 20", p.Seconds)
	}

	// Range: the console's recording route answers a part as the API does.
	src := eval[string](sup, `document.querySelector("[data-player]").dataset.src`)
	if want := "/recordings/" + digest + "?call=K1"; src != want {
		t.Errorf("player src %q, want %q", src, want)
	}
	part := awaitEval[string](sup, fmt.Sprintf(`fetch(%q, {headers: {Range: "bytes=8-11"}}).then(async r => r.status + " " + r.headers.get("Content-Range") + " " + new TextDecoder().decode(await r.arrayBuffer()))`, src))
	if want := fmt.Sprintf("206 bytes 8-11/%d WAVE", len(testWAV(20))); part != want {
		t.Errorf("a Range request through the console: %q, want %q", part, want)
	}

	// Keys, with the focus on the page (not in a field).
	sup.do(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	sup.shortcut("]")
	sup.shortcut("]")
	if p := sup.player(); p.Rate != 1.5 || p.Speed != "1.5" {
		t.Errorf("after ] ] the speed is %v (control %s), want 1.5", p.Rate, p.Speed)
	}
	sup.shortcut("[")
	if p := sup.player(); p.Rate != 1.25 {
		t.Errorf("after [ the speed is %v, want 1.25", p.Rate)
	}
	sup.press(kb.ArrowRight)
	if p := sup.player(); p.Time != 10 {
		t.Errorf("→ from 5 s: %v, want 10", p.Time)
	}
	sup.press(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift))
	if p := sup.player(); p.Time != 9 {
		t.Errorf("shift+← from 10 s: %v, want 9", p.Time)
	}
	sup.press(" ")
	sup.poll("playing after space", func() (bool, string) {
		p := sup.player()
		return p.State == "playing" && !p.Paused && p.Time > 9, fmt.Sprintf("%+v", p)
	})
	sup.shortcut("k")
	sup.poll("paused after k", func() (bool, string) {
		p := sup.player()
		return p.State == "paused" && p.Paused, fmt.Sprintf("%+v", p)
	})
	// The focused waveform is a slider: Home and End go to its ends.
	sup.do(chromedp.Focus(chromedp.CSS(".pl-canvas")))
	sup.press(kb.End)
	if p := sup.player(); p.Time != 20 {
		t.Errorf("End on the waveform: %v, want 20", p.Time)
	}
	sup.press(kb.Home)
	if p := sup.player(); p.Time != 0 {
		t.Errorf("Home on the waveform: %v, want 0", p.Time)
	}

	// A click at three quarters of the waveform: the point's moment, 00:15.
	box := eval[[]float64](sup, `(() => { const r = document.querySelector(".pl-canvas").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	sup.do(chromedp.MouseClickXY(box[0]+box[2]*0.76, box[1]+box[3]/2))
	sup.poll("the point's moment filled", func() (bool, string) {
		v := eval[string](sup, `document.querySelector("input[name='pt.at']").value`)
		return v == "00:15", "it holds " + v
	})
	sup.poll("the click to open the point's note", func() (bool, string) {
		return sup.matchesFocus("textarea[name='pt.note']"), "the focus is on " + sup.focused()
	})
	if p := sup.player(); math.Abs(p.Time-15) > 0.01 {
		t.Errorf("the click did not seek to 15 s: %v", p.Time)
	}
	sup.screen("qa-player")

	// A recording the console refuses says so (not "the recording plays").
	sup.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(".pl-audio").src = "/recordings/` + strings.Repeat("0", 64) + `?call=K1"`))
	sup.poll("the failed recording said", func() (bool, string) {
		s := eval[string](sup, `document.querySelector(".pl-status").textContent`)
		return s == "The recording could not be loaded.", "the status says " + s
	})

	// Another rep: no call page, no recording.
	other := s.newBrowser("rep R2", "ko")
	other.signIn("R2", testPassword, "")
	other.waitPath("/")
	status := awaitEval[int](other, fmt.Sprintf(`fetch(%q).then(r => r.status)`, src))
	page := awaitEval[int](other, `fetch("/qa/calls/K1").then(r => r.status)`)
	if status != 404 || page != 404 {
		t.Errorf("another rep's call: the recording answered %d, the page %d, want 404 both", status, page)
	}
	other.takeProblems()
	own := s.newBrowser("rep R1", "ko")
	own.signIn("R1", testPassword, "")
	own.waitPath("/")
	if st := awaitEval[int](own, `fetch("/qa/calls/K1").then(r => r.status)`); st != 200 {
		t.Errorf("the call's own rep: the call page answered %d", st)
	}
}

// total is the scorecard's live total and whether it says a critical
// item failed.
func (b *browser) total() (string, bool) {
	b.t.Helper()
	v := eval[[]any](b, `[document.getElementById("qa-total").textContent, !document.getElementById("qa-failed").hidden]`)
	return v[0].(string), v[1].(bool)
}

// TestBrowserQASupervisor: a supervisor lands on the queue, opens the call
// by keyboard, sets a coaching point at a second with the player's keys,
// scores every item by keyboard while the total follows as the server
// computes it (N/A out of the weighting, a failed critical item 0), saves
// with Ctrl+Enter, corrects the evaluation (the first stays, superseded),
// re-scores a dispute on the call page and upholds another on the
// disputes page.
func TestBrowserQASupervisor(t *testing.T) {
	requireBrowser(t)
	s, _ := qaFixture(t)

	sup := s.supervisorOnQueue("ko")
	if !sup.has(`#qa-queue tr[data-call="K1"] [data-reason="new_rep"]`) {
		t.Fatalf("the queue lacks K1: %s", eval[string](sup, "document.querySelector(\"main\").innerHTML"))
	}
	sup.checkAligned("#qa-queue")
	sup.screen("qa-queue")
	sup.tabTo(`#qa-queue a[href="/qa/calls/K1"]`, 40)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitPath("/qa/calls/K1")
	sup.waitWave()

	// The point: to the waveform, 10 s on, m; its note and item.
	sup.tabTo(".pl-canvas", 60)
	sup.press(kb.ArrowRight)
	sup.press(kb.ArrowRight)
	sup.shortcut("m")
	sup.poll("m to open the point's note", func() (bool, string) {
		return sup.matchesFocus("textarea[name='pt.note']"), "the focus is on " + sup.focused()
	})
	if at := eval[string](sup, `document.querySelector("input[name='pt.at']").value`); at != "00:10" {
		t.Errorf("m at 10 s set the point's moment %q", at)
	}
	const note = "고객 니즈를 먼저 물어보기"
	sup.press(note)
	sup.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	sup.chooseByKeys("needs")

	// The scores, by keyboard: each group's first choice is its highest.
	if tot, _ := sup.total(); tot != "—" {
		t.Errorf("the total before any score: %q", tot)
	}
	sup.tabTo(`input[name="score.greeting"]`, 80)
	sup.press(" ")
	sup.press(kb.ArrowRight)
	sup.press(kb.ArrowRight) // 5 → 3
	sup.tabTo(`input[name="score.needs"]`, 3)
	sup.press(" ")
	sup.press(kb.ArrowRight) // 4
	sup.tabTo(`input[name="score.disclosure"]`, 3)
	sup.press(" ")           // pass
	sup.press(kb.ArrowRight) // fail
	if _, failed := sup.total(); !failed {
		t.Errorf("a critical item failed, the scorecard does not say so")
	}
	sup.press(kb.ArrowLeft) // pass again
	if _, failed := sup.total(); failed {
		t.Errorf("the critical item passes again, the scorecard still says it failed")
	}
	sup.tabTo(`input[name="score.closing"]`, 3)
	sup.press(" ")
	for range 6 { // 5 4 3 2 1 0 N/A
		sup.press(kb.ArrowRight)
	}
	if tot, failed := sup.total(); tot != "83.3" || failed {
		t.Errorf("the live total of 3, 4, pass, N/A: %q (failed %v), the server's is 83.3", tot, failed)
	}
	sup.screen("qa-call-scoring")
	before := len(s.streamLog("call-K1"))
	sup.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	sup.waitPath("/qa/calls/K1?done=reviewed")
	log := s.streamLog("call-K1")
	if len(log) != before+1 || log[len(log)-1].Type != "CallReviewed" {
		t.Fatalf("the scorecard appended %d events", len(log)-before)
	}
	ev := s.openedData(&log[len(log)-1])
	pt := ev["coachingPoints"].([]any)[0].(map[string]any)
	if ev["total"] != 83.3 || pt["atSec"] != 10.0 || pt["itemId"] != "needs" || pt["note"] != note {
		t.Errorf("CallReviewed %v", ev)
	}
	sup.waitText("#eval-1", "83.3")
	if !sup.has(`.pl-marks .pl-seek[data-sec="10"]`) || !sup.has(`#eval-1 a[data-seek="10"]`) {
		t.Errorf("the point at 00:10 is not on the player nor on the evaluation")
	}
	sup.do(chromedp.Click(chromedp.CSS(`#eval-1 a[data-seek="10"]`), chromedp.NodeVisible))
	if p := sup.player(); p.Time != 10 || strings.Contains(sup.path(), "t=10") {
		t.Errorf("▶ 00:10 did not play from there in place: at %v, %s", p.Time, sup.path())
	}

	// The correction: greeting 3 → 5 (90.0); evaluation 1 stays, superseded.
	sup.do(chromedp.Click(chromedp.CSS(`input[name="score.greeting"][value="5"]`), chromedp.NodeVisible))
	if tot, _ := sup.total(); tot != "90.0" {
		t.Errorf("the correction's live total %q, want 90.0", tot)
	}
	sup.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	sup.waitPath("/qa/calls/K1?done=reviewed")
	sup.waitText("#eval-2", "90.0")
	if !sup.has("#eval-1.superseded") || sup.has("#eval-2.superseded") {
		t.Errorf("evaluation 1 is not shown superseded by evaluation 2")
	}
	sup.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("evaluations").scrollIntoView()`))
	sup.screen("qa-call")
	sup.tabletShot("qa-call")

	// A dispute re-scored on the call page: disclosure failed, total 0.
	d := s.must("R1", "POST", "/v1/calls/K1/evaluations/2/dispute", map[string]any{"reason": "고지는 통화 끝에 했습니다"}, 201)["disputeId"].(string)
	s.awaitApplied()
	sup.open("/qa/disputes")
	sup.waitText("#d-"+d, "고지는 통화 끝에 했습니다")
	sup.screen("qa-disputes")
	sup.click("#d-" + d + " a.button")
	sup.waitPath("/qa/calls/K1?dispute=" + d)
	sup.do(chromedp.Click(chromedp.CSS(`input[name="score.disclosure"][value="0"]`), chromedp.NodeVisible))
	if tot, failed := sup.total(); tot != "0.0" || !failed {
		t.Errorf("a failed critical item's live total %q (failed %v), the server's is 0.0", tot, failed)
	}
	sup.fill("#qa-note", "녹취 확인: 필수 고지 누락")
	sup.screen("qa-rescore")
	sup.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	sup.waitPath("/qa/calls/K1?done=rescored")
	sup.waitText("#eval-3", "0.0")
	if !sup.has("#eval-2.superseded") || !sup.has(`#disputes li#d-`+d) {
		t.Errorf("after the re-score evaluation 2 is not superseded, or the dispute not listed")
	}

	// Another dispute, upheld on the disputes page with a note.
	d = s.must("R1", "POST", "/v1/calls/K1/evaluations/3/dispute", map[string]any{"reason": "재검토 부탁드립니다"}, 201)["disputeId"].(string)
	s.awaitApplied()
	sup.open("/qa/disputes")
	sup.fill("#note-"+d, "재채점 결과 유지")
	sup.click("#d-" + d + " .qa-uphold button")
	sup.waitPath("/qa/disputes?call=K1&done=upheld")
	log = s.streamLog("call-K1")
	if e := s.openedData(&log[len(log)-1]); e["resolution"] != "upheld" || e["disputeId"] != d {
		t.Errorf("the uphold appended %v", e)
	}
	sup.open("/qa/disputes?status=all")
	sup.screen("qa-disputes-all")

	en := s.newBrowser("supervisor S1 (en)", "en")
	en.signIn("S1", testPassword, "")
	en.open("/qa/calls/K1?t=10")
	en.waitWave()
	en.screen("qa-call")
}
