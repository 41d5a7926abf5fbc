package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestBrowserDuplicatesWithheld: under the pairs, the centre head sees
// what they leave out — the customers with a placeholder phone and a phone
// and birth date shared by 51 customers, each with its count and the first
// 20 ids as links — and reaches a customer from it by keyboard; in Korean
// and English, passing the page checks (browser.screen:
// duplicates-withheld).
func TestBrowserDuplicatesWithheld(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedPair() // C1 and C2 are a pair
	for _, id := range []string{"P1", "P2", "P3"} {
		c := newCustomer(id)
		c["phone"] = "010-0000-0000"
		s.must("R1", "POST", "/v1/customers", c, 201)
	}
	for i := 1; i <= 51; i++ {
		c := newCustomer(fmt.Sprintf("S%02d", i))
		c["phone"] = "02-3456-7890"
		s.must("R1", "POST", "/v1/customers", c, 201)
	}
	s.givePassword("H1", "centre_head", testPassword)
	s.awaitApplied()
	for _, tc := range []struct{ lang, placeholder, crowded string }{
		{"ko", "자리표시 전화번호", "공유된 전화번호·생년월일 #1"},
		{"en", "Placeholder phone", "Shared phone and birth date #1"},
	} {
		h := s.newBrowser("centre head H1 ("+tc.lang+")", tc.lang)
		h.signIn("H1", testPassword, "")
		h.open("/duplicates")
		if n := eval[int](h, `document.querySelectorAll("#dup-list tr[data-pair]").length`); n != 1 {
			t.Fatalf("%s: %d pairs listed, want C1 and C2 only", tc.lang, n)
		}
		row := h.text("#dup-withheld-placeholder")
		if !strings.Contains(row, tc.placeholder) || !strings.Contains(row, "3") || !strings.Contains(row, "P1 P2 P3") {
			t.Errorf("%s: the placeholder row says %q", tc.lang, row)
		}
		crowded := eval[[]string](h, `[...document.querySelectorAll("#dup-withheld tr.dup-withheld-crowded")].map(r => r.innerText)`)
		if len(crowded) != 1 || !strings.Contains(crowded[0], tc.crowded) || !strings.Contains(crowded[0], "51") {
			t.Fatalf("%s: the crowded rows %q, want one of 51 customers", tc.lang, crowded)
		}
		links := eval[[]string](h, `[...document.querySelectorAll("#dup-withheld tr.dup-withheld-crowded a")].map(a => a.textContent)`)
		if len(links) != 20 || links[0] != "S01" || links[19] != "S20" {
			t.Errorf("%s: the crowded group links %q, want S01..S20", tc.lang, links)
		}
		if panel := h.text("#dup-withheld"); strings.Contains(panel, "3456") || strings.Contains(panel, "1970") {
			t.Errorf("%s: the withheld panel shows the shared phone or birth date: %q", tc.lang, panel)
		}
		h.screen("duplicates-withheld")
		h.tabTo(`#dup-withheld tr.dup-withheld-crowded a[href="/customers/S01"]`, 80)
		h.press("\r")
		h.waitPath("/customers/S01")
	}
}
