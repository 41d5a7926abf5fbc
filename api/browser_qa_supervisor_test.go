package api_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
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
		return {wave: el.dataset.wave || "", state: el.dataset.state || "", time: a.currentTime, rate: a.playbackRate, speed: el.querySelector(".pl-speed").value,
			inked, shown: el.querySelector(".pl-now").textContent, native: a.controls && getComputedStyle(a).display !== "none", paused: a.paused, seconds: a.duration || 0}; })()`)
}

// TestBrowserQAPlayer: the call page's player decodes the recording into
// a waveform, starts at ?t=, plays and pauses by key, seeks by arrows,
// changes speed with [ and ], streams with Range, and a click on the
// waveform fills the coaching point's moment. Another rep gets no page
// and no recording of the call.
func TestBrowserQAPlayer(t *testing.T) {
	requireBrowser(t)
	s, digest := qaFixture(t)

	sup := s.newBrowser("supervisor S1", "en")
	sup.signIn("S1", testPassword, "")
	sup.open("/")
	sup.waitPath("/qa") // supervisors land on the queue
	sup.open("/qa/calls/K1?t=5")
	sup.poll("the waveform drawn from the decoded audio", func() (bool, string) {
		p := sup.player()
		return p.Wave == "drawn" && p.Inked > 0, fmt.Sprintf("%+v", p)
	})
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
	sup.press("]")
	sup.press("]")
	if p := sup.player(); p.Rate != 1.5 || p.Speed != "1.5" {
		t.Errorf("after ] ] the speed is %v (control %s), want 1.5", p.Rate, p.Speed)
	}
	sup.press("[")
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
	sup.press("k")
	sup.poll("paused after k", func() (bool, string) {
		p := sup.player()
		return p.State == "paused" && p.Paused, fmt.Sprintf("%+v", p)
	})

	// A click at three quarters of the waveform: the point's moment, 00:15.
	box := eval[[]float64](sup, `(() => { const r = document.querySelector(".pl-canvas").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	sup.do(chromedp.MouseClickXY(box[0]+box[2]*0.76, box[1]+box[3]/2))
	sup.poll("the point's moment filled", func() (bool, string) {
		v := eval[string](sup, `document.querySelector("input[name='pt.at']").value`)
		return v == "00:15", "it holds " + v
	})
	if !sup.matchesFocus("textarea[name='pt.note']") {
		t.Errorf("after the click the focus is on %s, want the point's note", sup.focused())
	}
	if p := sup.player(); math.Abs(p.Time-15) > 0.01 {
		t.Errorf("the click did not seek to 15 s: %v", p.Time)
	}
	sup.screen("qa-player")

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
