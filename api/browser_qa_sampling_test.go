package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
)

// planEvents returns the data of the SamplingPlanPublished events in the
// log, and the actor of each.
func (s *stack) planEvents() (data []map[string]any, actors []string) {
	s.t.Helper()
	a := s.req("U1", "GET", "/v1/audit/streams/"+events.SamplingSettingsStream+"?limit=100", nil)
	if a.status == 404 {
		return nil, nil
	}
	for _, e := range a.body["events"].([]any) {
		m := e.(map[string]any)
		data = append(data, m["data"].(map[string]any))
		actors = append(actors, m["actor"].(map[string]any)["id"].(string))
	}
	return data, actors
}

// planOf formats a SamplingPlanPublished's data as "v:newRep/perWeek/longSec/complaintDays".
func planOf(d map[string]any) string {
	return fmt.Sprintf("%v:%v/%v/%v/%v", d["version"], d["newRepCalls"], d["perRepWeek"], d["longCallSec"], d["complaintDays"])
}

// TestBrowserQASampling: a supervisor reads the built-in plan in words,
// edits the next version by keyboard, sees a refused rule next to its field
// and checks the draft with Enter (nothing appended), then publishes
// version 1: exactly what PUT /v1/qa/sampling-plan appends. A centre head's
// draft opened at version 1 meets the supervisor's version 2: the conflict
// keeps the draft and appends nothing; published again it is version 3.
// The versions show what each changed. A rep gets no such page.
func TestBrowserQASampling(t *testing.T) {
	requireBrowser(t)
	s := samplingStack(t)
	for _, m := range [][2]string{{"S1", "supervisor"}, {"H1", "centre_head"}, {"R1", "rep"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	sup := s.newBrowser("supervisor S1", "ko")
	sup.signIn("S1", testPassword, "")
	sup.open("/qa/sampling")
	sup.waitText("#qs-current-h", "0")
	if txt := sup.text("#qs-current"); !strings.Contains(txt, "첫 통화 1건") || !strings.Contains(txt, "15:00") || !strings.Contains(txt, "무작위 3건") {
		t.Errorf("the built-in plan in words: %q", txt)
	}
	sup.screen("qa-sampling-builtin")

	// The next version from the keyboard: the fields hold the plan in force.
	head := s.head()
	sup.tabTo("#plan-newRepCalls", 60)
	sup.clear("#plan-newRepCalls")
	sup.press("0")
	sup.press(kb.Tab)
	sup.press(kb.Tab) // perRepWeek stays 3
	if !sup.matchesFocus("#plan-longCallSec") {
		t.Fatalf("Tab moved to %s, not the long call threshold", sup.focused())
	}
	sup.clear("#plan-longCallSec")
	sup.press("30") // below 60: refused
	sup.press(kb.Tab)
	sup.clear("#plan-complaintDays")
	sup.press("3")
	sup.navigate(chromedp.KeyEvent(kb.Enter)) // Enter in a field: check
	msg := sup.text("#plan-longCallSec-msg")
	if !hangul.MatchString(msg) || !strings.Contains(msg, "60") || !sup.matchesFocus("#plan-longCallSec") {
		t.Errorf("a threshold of 30 s: message %q, focus on %s", msg, sup.focused())
	}
	if got := eval[string](sup, `document.getElementById("plan-longCallSec").getAttribute("aria-invalid") || ""`); got != "true" {
		t.Errorf("the refused threshold is not aria-invalid (%q)", got)
	}
	if v := eval[string](sup, `document.getElementById("plan-complaintDays").value`); v != "3" {
		t.Errorf("the refusal lost the draft: complaintDays %q", v)
	}
	sup.screen("qa-sampling-refused")
	sup.clear("#plan-longCallSec")
	sup.press("600")
	sup.do(chromedp.Focus(chromedp.CSS("#plan-note")))
	sup.press("신입 규칙 끔, 10분 이상")
	sup.do(chromedp.Focus(chromedp.CSS("#plan-perRepWeek")))
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitText("#qs-checked", "1")
	if got := s.head(); got != head {
		t.Fatalf("checking the draft appended (head %v → %v)", head, got)
	}

	// Publish: what the API's PUT appends, as S1.
	sup.tabTo("#plan-publish", 40)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitPath("/qa/sampling?done=published")
	sup.waitText("#qs-done", "1")
	plans, actors := s.planEvents()
	if len(plans) != 1 || planOf(plans[0]) != "1:0/3/600/3" || plans[0]["note"] != "신입 규칙 끔, 10분 이상" || actors[0] != "S1" {
		t.Fatalf("published: %v by %v", plans, actors)
	}
	if last := s.logEvents(head); len(last) != 1 {
		t.Errorf("publishing appended %d events, want 1", len(last))
	}
	if txt := sup.text("#qs-current"); !strings.Contains(txt, "10:00") || !strings.Contains(txt, "전후 2일") || !strings.Contains(txt, "끔") {
		t.Errorf("version 1 in words: %q", txt)
	}

	// A centre head opens version 1; the supervisor publishes version 2 first.
	hd := s.newBrowser("centre head H1", "en")
	hd.signIn("H1", testPassword, "")
	hd.open("/qa/sampling")
	hd.waitText("#qs-edit-h", "version 1")
	hd.clear("#plan-perRepWeek")
	hd.fill("#plan-perRepWeek", "5")
	sup.clear("#plan-newRepCalls")
	sup.fill("#plan-newRepCalls", "10")
	sup.click("#plan-publish")
	sup.waitPath("/qa/sampling?done=published")
	n := s.head()
	hd.click("#plan-publish")
	hd.waitText("#qs-conflict", "2")
	if got := s.head(); got != n {
		t.Fatalf("the stale draft appended (head %v → %v)", n, got)
	}
	if v := eval[string](hd, `document.getElementById("plan-perRepWeek").value`); v != "5" {
		t.Errorf("the conflict lost the draft: %q", v)
	}
	hd.screen("qa-sampling-conflict")
	hd.click("#plan-publish")
	hd.waitPath("/qa/sampling?done=published")
	if plans, actors = s.planEvents(); len(plans) != 3 || planOf(plans[1]) != "2:10/3/600/3" || planOf(plans[2]) != "3:0/5/600/3" || actors[2] != "H1" {
		t.Fatalf("after the conflict: %v by %v", plans, actors)
	}
	// The versions, newest first, each with what it changed.
	if got := eval[string](hd, `Array.from(document.querySelectorAll("#qs-versions tbody tr")).map(tr => tr.id).join(" ")`); got != "qs-v3 qs-v2 qs-v1 qs-v0" {
		t.Errorf("versions listed %q", got)
	}
	changed := eval[string](hd, `Array.from(document.querySelectorAll("#qs-versions tbody tr")).map(tr => tr.id + ":" + tr.querySelectorAll("td.qs-changed").length).join(" ")`)
	if changed != "qs-v3:2 qs-v2:1 qs-v1:0 qs-v0:0" {
		t.Errorf("changed cells per version %q (v3 changed newRep back and perRepWeek, v2 newRep)", changed)
	}
	hd.screen("qa-sampling")
	sup.open("/qa/sampling")
	sup.waitText("#qs-current-h", "3")
	sup.screen("qa-sampling")

	// A rep has no sampling screen; an auditor reads the plan through the API only.
	for _, who := range []string{"R1"} {
		if a := s.webGet(who, "/qa/sampling"); a != 403 {
			t.Errorf("/qa/sampling as %s: %d", who, a)
		}
	}
}
