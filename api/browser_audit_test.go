package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// selectedRow is the data attribute attr of the row audit.js marks chosen
// ("" if none).
func (b *browser) selectedRow(attr string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => { const r = document.querySelector("#au-events tbody tr.selected"); return r ? r.getAttribute(%q) : ""; })()`, attr))
}

// TestBrowserAuditSealsLogStreams: an auditor signs in and, by the bar's
// links, opens the seal status, verifies the log, opens a seal's proofs;
// browses the whole log by keyboard (j / k choose, n / p page, Enter opens
// the chosen event's stream there); picks a customer's stream by name, looks
// at it as of a position and compares two versions (the consent withdrawn
// and the contact logged after version 2). In Korean, and the
// same screens in English.
func TestBrowserAuditSealsLogStreams(t *testing.T) {
	requireBrowser(t)
	s, clock := auditBook(t)
	s.sealNow()
	s.must("R1", "POST", "/v1/customers/C1/contacts", auContact(clock, "재예치 안내"), 201)
	s.sealNow()
	s.awaitApplied()
	s.givePassword("U1", "auditor", testPassword)
	c1 := s.streamLog("customer-C1")

	for _, lang := range []string{"ko", "en"} {
		b := s.newBrowser("auditor U1 ("+lang+")", lang)
		b.signIn("U1", testPassword, "")

		// Seals: the latest, its checkpoint, the key, witnesses and recent seals.
		b.click(`nav a[href="/audit"]`)
		b.waitPath("/audit")
		if !b.has(`#au-latest a[href="/audit/seals/1"]`) || !b.has(`#au-seals tr[data-seal="0"]`) {
			t.Fatalf("%s: the seal page lacks the latest seal or the list:\n%s", lang, b.text("main"))
		}
		if !b.has(`button[data-copy="checkpoint"]:not([hidden])`) {
			t.Errorf("%s: no copy button for the checkpoint", lang)
		}
		b.checkAligned("#au-seals")
		b.screen("audit-seals")
		// j chooses the newest seal, Enter opens its proofs.
		b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
		b.shortcut("j")
		b.navigate(chromedp.KeyEvent(kb.Enter))
		b.waitPath("/audit/seals/1")
		b.open("/audit")

		b.click("#au-verify-now")
		b.waitPath("/audit/verify")
		if !b.has("#au-verify.ok") {
			t.Errorf("%s: the log did not verify: %s", lang, b.text("#au-verify"))
		}
		b.screen("audit-verify")

		b.click(`#au-seals a[href="/audit/seals/0"]`)
		b.waitPath("/audit/seals/0")
		if !b.has("#au-inclusion-proof li") || !b.has(`.au-cons[data-from="0"][data-to="1"]`) {
			t.Errorf("%s: seal 0's page lacks its proofs:\n%s", lang, b.text("main"))
		}
		b.screen("audit-seal")

		// The whole log, by keyboard.
		b.click(`nav a[href="/audit/log"]`)
		b.waitPath("/audit/log")
		first := eval[string](b, `document.querySelector("#au-events tbody tr").dataset.position`)
		b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
		for _, k := range []string{"j", "j", "j", "k"} {
			b.press(k)
		}
		second := eval[string](b, `document.querySelectorAll("#au-events tbody tr")[1].dataset.position`)
		if got := b.selectedRow("data-position"); got != second {
			t.Fatalf("%s: after j j j k the chosen event is at %q, want the second row's %q", lang, got, second)
		}
		b.checkAligned("#au-events")
		b.screen("audit-log")
		b.tabletShot("audit-log")
		b.navigate(chromedp.KeyEvent("n"))
		b.waitPath("/audit/log?after=")
		b.navigate(chromedp.KeyEvent("p"))
		b.waitPath("/audit/log?from=")
		if got := eval[string](b, `document.querySelector("#au-events tbody tr").dataset.position`); got != first {
			t.Errorf("%s: n then p came back to a page starting at %s, not %s", lang, got, first)
		}
		b.shortcut("j")
		chosen := eval[string](b, `new URL(document.querySelector("#au-events tbody tr.selected a[data-row]").href).pathname`)
		b.navigate(chromedp.KeyEvent(kb.Enter))
		b.waitPath(chosen + "?from=")
		if got := eval[string](b, `(() => { const r = document.querySelector("#au-events tbody tr.selected"); return r ? r.id : ""; })()`); got == "" || "#"+got != eval[string](b, `location.hash`) {
			t.Errorf("%s: Enter opened %s with the row %q chosen, not the event's version", lang, b.location(), got)
		}

		// A customer's stream, by name.
		b.click(`nav a[href="/audit/streams"]`)
		b.waitPath("/audit/streams")
		b.screen("audit-streams")
		b.submit("#stream", "customer-C1")
		b.waitPath("/audit/streams/customer-C1")
		if n := eval[int](b, `document.querySelectorAll("#au-events .au-ok").length`); n != len(c1) {
			t.Errorf("%s: %d chain checks on the stream of %d events", lang, n, len(c1))
		}
		if strings.Contains(b.text("#au-events"), "김민준") {
			t.Errorf("%s: the stream shows the customer's name in clear", lang)
		}
		b.screen("audit-stream")
		b.tabletShot("audit-stream")

		// As of the position of version 3, then versions 1 → 3.
		b.submit("#at", c1[3].Position.String())
		b.waitPath("/audit/streams/customer-C1?")
		b.waitText("#au-asof-fields", "consents[phone/marketing].granted")
		if !strings.Contains(b.text("#au-asof-fields"), "김민준") || !b.has("#au-asof-recorded") {
			t.Errorf("%s: the customer as of then is not shown in clear with the note that the look is recorded: %s", lang, b.text("#au-asof"))
		}
		if got := eval[int](b, `document.querySelectorAll("#au-events tbody tr").length`); got != 4 {
			t.Errorf("%s: as of version 3's position the stream shows %d events, want 4", lang, got)
		}
		b.screen("audit-stream-asof")

		b.fill("#a", "2")
		b.submit("#b", "4")
		b.waitPath("/audit/streams/customer-C1?a=2")
		b.waitText("#au-changes", "consents[phone/marketing].granted")
		b.waitText("#au-changes", "lastContactAt")
		if !b.has("#au-diff-recorded") || !strings.Contains(b.text(`#au-changes tr[data-field="lastContactAt"]`), " KST") {
			t.Errorf("%s: the customer's views compared do not say the look is recorded or show the contact's time in KST: %s", lang, b.text("#au-diff"))
		}
		b.checkAligned("#au-changes")
		b.screen("audit-stream-diff")
	}
}

// TestBrowserAuditTampered: on a log with an event deleted behind the
// server's back, "verify now" names the first bad event; its link opens the
// stream there, the broken link marked.
func TestBrowserAuditTampered(t *testing.T) {
	requireBrowser(t)
	s := tamperedBook(t)
	s.givePassword("U1", "auditor", testPassword)

	b := s.newBrowser("auditor U1", "ko")
	b.signIn("U1", testPassword, "")
	b.open("/audit")
	b.click("#au-verify-now")
	b.waitPath("/audit/verify")
	if !b.has("#au-verify.bad #au-firstbad") {
		t.Fatalf("the tampered log verified: %s", b.text("#au-verify"))
	}
	b.screen("audit-verify-bad")
	b.click(`#au-firstbad a[href^="/audit/streams/"]`)
	b.waitPath("/audit/streams/customer-C1?from=4")
	if !b.has("#v4.au-broken") || !b.has("#au-chain.bad") {
		t.Errorf("the stream after the gap is not marked broken: %s", b.text("#au-summary"))
	}
	b.screen("audit-stream-broken")
}
