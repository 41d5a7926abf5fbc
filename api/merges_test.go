package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// dupCustomer is newCustomer with its own name: every newCustomer shares
// the phone and the birth date, so any two are likely duplicates.
func dupCustomer(id string) map[string]any {
	c := newCustomer(id)
	c["phone"] = "+82 10-1234-5678"
	return c
}

// seedPair registers C1 and its likely duplicate C2, and C3, who shares
// their phone but not their birth date.
func (s *stack) seedPair() {
	s.t.Helper()
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", dupCustomer("C2"), 201)
	other := newCustomer("C3")
	other["birthDate"] = "1971-05-01"
	s.must("R1", "POST", "/v1/customers", other, 201)
}

// countTypes returns how many events of each type the log holds.
func (s *stack) countTypes() map[string]int {
	s.t.Helper()
	n := map[string]int{}
	for _, e := range s.logEvents(0) {
		n[fmt.Sprint(e["type"])]++
	}
	return n
}

// TestMerge: a centre head lists the likely duplicates (no one else may),
// merges one into the other with If-Match; the merged customer's view is
// the survivor's, the pair is gone, and a retry with the same
// Idempotency-Key gets the first answer. Every refused merge appends
// nothing.
func TestMerge(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	s.must("R1", "POST", "/v1/customers", newCustomer("C4"), 201)
	s.must("A001", "POST", "/v1/customers/C4/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	s.awaitApplied()

	for _, who := range []string{"R1", "S1", "U1", "A001"} {
		if a := s.req(who, "GET", "/v1/duplicates", nil); a.status != 403 {
			t.Errorf("%s read the duplicates: %d", who, a.status)
		}
	}
	page := s.must("H1", "GET", "/v1/duplicates", nil, 200)
	items := page["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("duplicates %s, want C1 and C2 only", page)
	}
	pair := items[0].(map[string]any)
	cs := pair["customers"].([]any)
	if c0, c1 := cs[0].(map[string]any), cs[1].(map[string]any); c0["id"] != "C1" || c1["id"] != "C2" || c0["name"] != "김민준 C1" {
		t.Fatalf("pair %v", pair)
	}
	before := s.countTypes()

	merge := func(who, survivor string, body map[string]any, hdr ...string) answer {
		return s.req(who, "POST", "/v1/customers/"+survivor+"/merges", body, hdr...)
	}
	body := map[string]any{"mergedId": "C2", "reason": "same phone and birth date, confirmed by phone"}
	for _, tc := range []struct {
		what, who, survivor string
		body                map[string]any
		hdr                 []string
		status              int
		code                string
	}{
		{"a rep", "R1", "C1", body, []string{"If-Match", `"0"`}, 403, "forbidden"},
		{"no If-Match", "H1", "C1", body, nil, 400, "invalid"},
		{"no reason", "H1", "C1", map[string]any{"mergedId": "C2"}, []string{"If-Match", `"0"`}, 400, "invalid"},
		{"an unknown field", "H1", "C1", map[string]any{"mergedId": "C2", "reason": "x", "survivorId": "C1"}, []string{"If-Match", `"0"`}, 400, "invalid"},
		{"into itself", "H1", "C1", map[string]any{"mergedId": "C1", "reason": "x"}, []string{"If-Match", `"0"`}, 400, "invalid"},
		{"an unknown merged customer", "H1", "C1", map[string]any{"mergedId": "C9", "reason": "x"}, []string{"If-Match", `"0"`}, 400, "invalid"},
		{"an unknown survivor", "H1", "C9", body, []string{"If-Match", `"0"`}, 404, "not_found"},
		{"an erased customer", "H1", "C4", body, []string{"If-Match", `"1"`}, 409, "conflict"},
		{"a stale If-Match", "H1", "C1", body, []string{"If-Match", `"3"`}, 409, "conflict"},
	} {
		a := merge(tc.who, tc.survivor, tc.body, tc.hdr...)
		if a.status != tc.status || a.errCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.what, a.status, a.raw, tc.status, tc.code)
		}
	}
	if got := s.countTypes(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("refused merges appended: %v, was %v", got, before)
	}

	key := "01KBGZ3XJ7Q0W8N5M2D4C6B9AE"
	res := s.must("H1", "POST", "/v1/customers/C1/merges", body, 201, "If-Match", `"0"`, "Idempotency-Key", key)
	again := s.must("H1", "POST", "/v1/customers/C1/merges", body, 201, "If-Match", `"0"`, "Idempotency-Key", key)
	if fmt.Sprint(again) != fmt.Sprint(res) {
		t.Errorf("the retry was answered %v, the merge %v", again, res)
	}
	if a := merge("H1", "C1", body, "If-Match", `"1"`); a.status != 409 {
		t.Errorf("a second merge of C2: %d %s", a.status, a.raw)
	}
	if a := merge("H1", "C2", map[string]any{"mergedId": "C3", "reason": "x"}, "If-Match", `"0"`); a.status != 409 {
		t.Errorf("a merge into the merged C2: %d %s", a.status, a.raw)
	}
	n := s.countTypes()
	if n["CustomerMerged"] != 1 || n["CustomerMergedInto"] != 1 {
		t.Errorf("log holds %d CustomerMerged and %d CustomerMergedInto, want 1 and 1", n["CustomerMerged"], n["CustomerMergedInto"])
	}

	a := s.req("R1", "GET", "/v1/customers/C2", nil)
	if a.status != 200 || a.body["id"] != "C1" || a.header.Get("Content-Location") != "/v1/customers/C1" {
		t.Errorf("view of the merged C2: %d %s (Content-Location %q)", a.status, a.raw, a.header.Get("Content-Location"))
	}
	if ids, _ := a.body["mergedIds"].([]any); len(ids) != 1 || ids[0] != "C2" {
		t.Errorf("the survivor's mergedIds %v", a.body["mergedIds"])
	}
	if page := s.must("H1", "GET", "/v1/duplicates", nil, 200); len(page["items"].([]any)) != 0 {
		t.Errorf("duplicates after the merge: %s", page)
	}
}

// TestMergeRaces: merges racing on the same customers (C1 into C2, C2
// into C1, C1 into C3, and C3 into C2, all at once, each against the
// versions it read) land one at a time: whatever lands, no customer is
// merged twice, the merges make no cycle (C3 into C2 and C2 into C1 may
// both land, as a chain: the second read C2 after the first's
// CustomerMerged, an order the rules allow), and the merged views follow
// the log to the chain's end.
func TestMergeRaces(t *testing.T) {
	for round := range 4 {
		s := newStack(t, stackOptions{})
		s.seedPair()
		s.awaitApplied()
		type try struct{ survivor, merged string }
		tries := []try{{"C2", "C1"}, {"C1", "C2"}, {"C3", "C1"}, {"C2", "C3"}}
		results := make(chan string, len(tries))
		start := make(chan struct{})
		for _, tr := range tries {
			go func() {
				<-start
				a, err := s.send("H1", "POST", "/v1/customers/"+tr.survivor+"/merges",
					map[string]any{"mergedId": tr.merged, "reason": "race"}, "If-Match", `"0"`)
				if err == nil && a.status == 201 {
					results <- tr.merged + ">" + tr.survivor
					return
				}
				if err == nil && a.status != 409 {
					t.Errorf("round %d: %s into %s answered %d %s", round, tr.merged, tr.survivor, a.status, a.raw)
				}
				results <- ""
			}()
		}
		close(start)
		into := map[string]string{}
		for range tries {
			if r := <-results; r != "" {
				m, sv, _ := strings.Cut(r, ">")
				if into[m] != "" {
					t.Fatalf("round %d: %s merged twice", round, m)
				}
				into[m] = sv
			}
		}
		end := func(m string) string { // a chain (C3 into C2, then C2 into C1) is a merge order the rules allow
			for n := 0; into[m] != ""; n++ {
				if n > len(into) {
					t.Fatalf("round %d: merges %v make a cycle", round, into)
				}
				m = into[m]
			}
			return m
		}
		s.awaitApplied()
		for m := range into {
			if v, sv := s.must("H1", "GET", "/v1/customers/"+m, nil, 200), end(m); v["id"] != sv {
				t.Errorf("round %d: the view of %s is %v's, want %s's", round, m, v["id"], sv)
			}
		}
		if n := s.countTypes()["CustomerMergedInto"]; n != len(into) {
			t.Errorf("round %d: %d CustomerMergedInto in the log, %d merges answered 201", round, n, len(into))
		}
	}
}
