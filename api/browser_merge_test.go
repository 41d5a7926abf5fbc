package api_test

import (
	"strings"
	"testing"
)

// TestBrowserDuplicatesMerge: a centre head opens the likely duplicates
// from the reports' index (in English, then Korean), is refused a merge without the confirmation,
// merges C2 into C1 by keyboard, and the merged customer's page shows the
// survivor's. A rep has no such screen.
func TestBrowserDuplicatesMerge(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedPair()
	for id, role := range map[string]string{"H1": "centre_head", "R1": "rep"} {
		s.givePassword(id, role, testPassword)
	}
	s.awaitApplied()

	r := s.newBrowser("rep R1 (ko)", "ko")
	r.signIn("R1", testPassword, "")
	if r.has(`a[href="/duplicates"]`) {
		t.Error("a rep is offered the duplicates")
	}
	r.open("/duplicates")
	if r.has("#dup-list") {
		t.Error("a rep opened the duplicates")
	}

	for _, lang := range []string{"en", "ko"} {
		h := s.newBrowser("centre head H1 ("+lang+")", lang)
		h.signIn("H1", testPassword, "")
		h.click(`nav a[href="/reports"]`)
		h.waitPath("/reports")
		h.click(`#rp-duplicates a[href="/duplicates"]`)
		h.waitPath("/duplicates")
		if !h.has(`#dup-list tr[data-pair="C1+C2"]`) || h.has(`tr[data-pair*="C3"]`) || !h.has("#dup-form") {
			t.Fatalf("%s: the list does not hold C1+C2 alone with its form open:\n%s", lang, h.text("main"))
		}
		if !h.has(`#dup-survivor-C1:checked`) {
			t.Errorf("%s: the earlier registration C1 is not the default survivor", lang)
		}
		h.screen("duplicates")
		if lang == "en" {
			continue // the merge itself, once, in Korean
		}
		// Without the confirmation nothing is merged.
		h.fill("#dup-reason", "전화로 본인 확인")
		h.click("#dup-submit")
		h.waitText("#dup-confirm-msg", "확인란")
		if n := s.countTypes()["CustomerMerged"]; n != 0 {
			t.Fatalf("a merge without confirmation appended %d CustomerMerged", n)
		}
		h.screen("duplicates-refused")
		// The keyboard: tick the confirmation, then submit.
		h.tabTo("#dup-confirm", 30)
		h.press(" ")
		h.tabTo("#dup-submit", 5)
		h.press("\r")
		h.waitPath("/duplicates")
		h.waitText("#dup-done", "C2")
		if h.has(`#dup-list tr[data-pair="C1+C2"]`) || !h.has("#dup-none") {
			t.Errorf("the merged pair is still listed:\n%s", h.text("main"))
		}
		h.screen("duplicates-done")
		h.open("/customers/C2")
		h.waitPath("/customers/C1")
		if got := h.text("#cust-merged-from"); !strings.Contains(got, "C2") {
			t.Errorf("the survivor's page says %q of the merged C2", got)
		}
		if !h.has(`#cust-merged a[href="/customers/C2/timeline"]`) {
			t.Errorf("the survivor's page does not link the merged customer's history:\n%s", h.text("#customer"))
		}
		h.screen("customer-merged")
	}
	n := s.countTypes()
	if n["CustomerMerged"] != 1 || n["CustomerMergedInto"] != 1 {
		t.Errorf("log holds %d CustomerMerged and %d CustomerMergedInto, want 1 and 1", n["CustomerMerged"], n["CustomerMergedInto"])
	}
}
