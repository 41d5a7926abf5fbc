package api_test

import (
	"fmt"
	"html"
	"regexp"
	"testing"
)

var (
	dupPairRe = regexp.MustCompile(`<tr data-pair="([^"]+)"`)
	dupNextRe = regexp.MustCompile(`<a id="dup-next" href="([^"]+)"`)
	dupOpenRe = regexp.MustCompile(`<a class="dup-open" href="([^"]+)"`)
)

// TestReviewConsoleDuplicatesPaged: with more likely duplicate pairs than
// a page holds (21 customers sharing a phone and a birth date: 210 pairs),
// the centre head's list pages through all of them, and a pair on a later
// page opens with its merge form there (the page held the first 200 pairs
// only, with no way to the rest, so those could not be merged here).
func TestReviewConsoleDuplicatesPaged(t *testing.T) {
	s := newStack(t, stackOptions{})
	for i := 1; i <= 21; i++ {
		s.must("R1", "POST", "/v1/customers", newCustomer(fmt.Sprintf("C%02d", i)), 201)
	}
	s.awaitApplied()
	u := newWebUser(s)
	u.setPassword("H1", signinPassword)
	seen := map[string]bool{}
	path, last := "/duplicates", ""
	for page := 0; path != "" && page < 10; page++ {
		a := u.mustStatus(u.get(path), 200, "the duplicates at "+path)
		for _, m := range dupPairRe.FindAllStringSubmatch(a.body, -1) {
			if seen[m[1]] {
				t.Fatalf("pair %s listed twice", m[1])
			}
			seen[m[1]] = true
		}
		last, path = a.body, ""
		if m := dupNextRe.FindStringSubmatch(a.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 210 {
		t.Fatalf("%d pairs listed over the pages, want 210", len(seen))
	}
	opens := dupOpenRe.FindAllStringSubmatch(last, -1)
	if len(opens) == 0 {
		t.Fatal("the last page offers no pair to review")
	}
	a := u.mustStatus(u.get(html.UnescapeString(opens[len(opens)-1][1])), 200, "a pair of the last page")
	if m := regexp.MustCompile(`<tr data-pair="([^"]+)" class="selected"`).FindStringSubmatch(a.body); m == nil || !seen[m[1]] ||
		!regexp.MustCompile(`id="dup-form"`).MatchString(a.body) {
		t.Fatalf("the pair of the last page did not open with its form:\n%.3000s", a.body)
	}
}
