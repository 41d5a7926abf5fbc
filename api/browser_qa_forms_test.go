package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// rowValues returns the editor's items as "itemId:label:weight:max[:critical][:na]".
func (b *browser) rowValues() []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll("table.qf-rows tbody tr")).map(tr => {
		const v = n => tr.querySelector("[name$='-" + n + "']");
		let s = [v("itemId").value, v("label").value, v("weight").value, v("max").value].join(":");
		if (v("critical").checked) s += ":critical";
		if (v("na").checked) s += ":na";
		return s; })`)
}

// formEvents returns the data of the form's ScorecardFormPublished events.
func (s *stack) formEvents(id string) []map[string]any {
	s.t.Helper()
	a := s.req("U1", "GET", "/v1/audit/streams/qaform-"+id+"?limit=100", nil)
	if a.status == 404 {
		return nil
	}
	var out []map[string]any
	for _, e := range a.body["events"].([]any) {
		out = append(out, e.(map[string]any)["data"].(map[string]any))
	}
	return out
}

// itemIDs lists the itemIds of a ScorecardFormPublished's data.
func itemIDs(d map[string]any) []string {
	var out []string
	for _, it := range d["items"].([]any) {
		out = append(out, it.(map[string]any)["itemId"].(string))
	}
	return out
}

// TestBrowserQAForms: a supervisor opens a new form by its id, builds its
// items by keyboard (add, fill, mark critical and N/A, move up), checks
// the draft with Enter (nothing appended), sees a refused item next to
// its field (nothing appended) and publishes version 1, exactly what PUT
// /v1/qa/forms appends. A centre head's draft opened at version 1 meets
// the supervisor's version 2: the conflict keeps the draft and appends
// nothing; published again it is version 3. Version 2 stays readable with
// what it changed; the list shows the latest. A rep gets no such page.
func TestBrowserQAForms(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	for _, m := range [][2]string{{"S1", "supervisor"}, {"H1", "centre_head"}, {"R1", "rep"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	sup := s.newBrowser("supervisor S1", "ko")
	sup.signIn("S1", testPassword, "")
	sup.open("/qa/forms")
	sup.waitText("#qf-none", "평가표")
	sup.screen("qa-forms-empty")

	// A new form by its id, from the keyboard.
	sup.tabTo("#qf-new-id", 40)
	sup.submit("#qf-new-id", "QA 2027") // not an id
	if msg := sup.text("#qf-new-msg"); !hangul.MatchString(msg) || !sup.matchesFocus("#qf-new-id") {
		t.Errorf("a bad form id: message %q, focus on %s", msg, sup.focused())
	}
	// The refused id's page is its own 400, which the browser logs (and
	// takeProblems leaves out while the page is shown).
	sup.poll("the 400 logged", func() (bool, string) {
		sup.mu.Lock()
		defer sup.mu.Unlock()
		return len(sup.problems) > 0, fmt.Sprint(sup.problems)
	})
	if p := sup.takeProblems(); len(p) != 0 {
		t.Errorf("the refused id's page logged %q", p)
	}
	sup.submit("#qf-new-id", "QA-2027")
	sup.waitPath("/qa/forms/QA-2027")
	if got := sup.rowValues(); !slices.Equal(got, []string{"::1:5"}) {
		t.Fatalf("a new form's editor: %v, want one empty item", got)
	}
	sup.fill("#form-name", "2027 통화 평가표")
	sup.fill("#item-0-itemId", "greeting")
	sup.fill("#item-0-label", "첫인사")
	sup.fill("#item-0-weight", "2")
	// Add: the new row's first field has the focus.
	sup.tabTo("#form-add", 60)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	if !sup.matchesFocus("#item-1-itemId") {
		t.Fatalf("after adding, the focus is on %s, not the new item", sup.focused())
	}
	sup.press("disclosure")
	sup.press(kb.Tab)
	sup.press("필수 고지")
	sup.press(kb.Tab)
	sup.press(kb.Tab) // the weight stays 1
	sup.clear("#item-1-max")
	sup.fill("#item-1-max", "5") // refused below: a critical item is pass or fail
	sup.press(kb.Tab)
	sup.press(" ") // critical
	sup.tabTo("#form-add", 20)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.press("closing")
	sup.press(kb.Tab)
	sup.press("마무리")
	sup.tabTo("#item-2-na", 10)
	sup.press(" ")
	if got, want := sup.rowValues(), []string{"greeting:첫인사:2:5", "disclosure:필수 고지:1:5:critical", "closing:마무리:1:5:na"}; !slices.Equal(got, want) {
		t.Fatalf("the draft: %v, want %v", got, want)
	}
	// Move closing up: the focus stays on its button, now in row 2.
	sup.tabTo("#item-2-up", 20)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	if !sup.matchesFocus("#item-1-up") {
		t.Errorf("after moving up, the focus is on %s", sup.focused())
	}
	if got, want := sup.rowValues(), []string{"greeting:첫인사:2:5", "closing:마무리:1:5:na", "disclosure:필수 고지:1:5:critical"}; !slices.Equal(got, want) {
		t.Fatalf("moved up: %v, want %v", got, want)
	}

	// Enter in a field checks the draft: the critical item's max is refused
	// next to it, and nothing is appended.
	head := s.head()
	sup.do(chromedp.Focus(chromedp.CSS("#form-name")))
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	msg := sup.text("#item-2-max-msg")
	if !hangul.MatchString(msg) || !strings.Contains(msg, "1") || !sup.matchesFocus("#item-2-max") {
		t.Errorf("the critical item's max 5: message %q, focus on %s", msg, sup.focused())
	}
	if got := eval[string](sup, `document.getElementById("item-2-max").getAttribute("aria-invalid") || ""`); got != "true" {
		t.Errorf("the refused max is not aria-invalid (%q)", got)
	}
	sup.screen("qa-form-refused")
	sup.fill("#item-2-max", "1")
	sup.do(chromedp.Focus(chromedp.CSS("#form-note")))
	sup.press("첫 버전")
	sup.do(chromedp.Focus(chromedp.CSS("#form-name")))
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitText("#qf-done", "1")
	if got := s.head(); got != head {
		t.Fatalf("checking the draft appended (head %v → %v)", head, got)
	}
	if s.formEvents("QA-2027") != nil {
		t.Fatal("the form was published by a check")
	}

	// Publish: what the API's PUT appends, as S1.
	sup.tabTo("#form-publish", 80)
	sup.navigate(chromedp.KeyEvent(kb.Enter))
	sup.waitPath("/qa/forms/QA-2027?done=published")
	evs := s.formEvents("QA-2027")
	if len(evs) != 1 || evs[0]["version"] != 1.0 || evs[0]["name"] != "2027 통화 평가표" || evs[0]["note"] != "첫 버전" {
		t.Fatalf("published: %v", evs)
	}
	if got := itemIDs(evs[0]); !slices.Equal(got, []string{"greeting", "closing", "disclosure"}) {
		t.Errorf("published items %v", got)
	}
	items := evs[0]["items"].([]any)
	if c := items[2].(map[string]any); c["critical"] != true || c["max"] != 1.0 || items[1].(map[string]any)["naAllowed"] != true || items[0].(map[string]any)["weight"] != 2.0 {
		t.Errorf("published items %v", items)
	}
	last := s.logEvents(head)
	if a := last[len(last)-1]["actor"].(map[string]any); a["id"] != "S1" || len(last) != 1 {
		t.Errorf("the log got %d events, the last by %v", len(last), a)
	}
	sup.waitText("#qf-shown", "필수 고지")
	sup.screen("qa-form")

	// A centre head opens version 1; the supervisor publishes version 2 first.
	head2 := s.newBrowser("centre head H1", "ko")
	head2.signIn("H1", testPassword, "")
	head2.open("/qa/forms/QA-2027")
	head2.fill("#item-0-label", "첫인사와 본인 확인")
	sup.open("/qa/forms/QA-2027")
	sup.click("#item-1-remove")
	if got := sup.rowValues(); len(got) != 2 || !sup.matchesFocus("#item-1-remove") {
		t.Errorf("after removing closing: %v, focus on %s", got, sup.focused())
	}
	sup.fill("#form-note", "마무리 항목 삭제")
	sup.click("#form-publish")
	sup.waitPath("/qa/forms/QA-2027?done=published")
	n := s.head()
	head2.click("#form-publish")
	head2.waitText("#qf-conflict", "2")
	if got := s.head(); got != n {
		t.Fatalf("the stale draft appended (head %v → %v)", n, got)
	}
	if v := eval[string](head2, `document.getElementById("item-0-label").value`); v != "첫인사와 본인 확인" {
		t.Errorf("the conflict lost the draft: %q", v)
	}
	head2.screen("qa-form-conflict")
	head2.click("#form-publish")
	head2.waitPath("/qa/forms/QA-2027?done=published")
	if evs := s.formEvents("QA-2027"); len(evs) != 3 || evs[2]["version"] != 3.0 || len(itemIDs(evs[2])) != 3 {
		t.Fatalf("after the conflict: %v", evs)
	}

	// Version 2 as published, with what it changed; the latest is 3.
	sup.open("/qa/forms/QA-2027?version=2")
	sup.waitText("#qf-shown-h", "2")
	if txt := sup.text("#qf-changes-h + ul"); !strings.Contains(txt, "삭제") || !strings.Contains(txt, "closing") {
		t.Errorf("version 2's changes: %q", txt)
	}
	if got := eval[int](sup, `document.querySelectorAll("#qf-shown tbody tr").length`); got != 2 {
		t.Errorf("version 2 shows %d items, want 2", got)
	}
	sup.screen("qa-form-version")
	sup.open("/qa/forms")
	sup.waitText("#qf-form-QA-2027", "3")
	sup.screen("qa-forms")

	en := s.newBrowser("supervisor S1, English", "en")
	en.signIn("S1", testPassword, "")
	en.open("/qa/forms/QA-2027")
	en.waitText("#qf-edit-h", "next version, 4")
	en.screen("qa-form")

	// A rep has no forms screen.
	for _, path := range []string{"/qa/forms", "/qa/forms/QA-2027"} {
		if a := s.webGet("R1", path); a != 403 {
			t.Errorf("%s as a rep: %d", path, a)
		}
	}
}

// webGet signs id in on a console client of its own and returns the
// status of GET path.
func (s *stack) webGet(id, path string) int {
	s.t.Helper()
	u := newWebUser(s)
	u.mustStatus(u.login(id, testPassword, ""), 303, fmt.Sprintf("sign-in of %s", id))
	return u.get(path).status
}
