package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/api"
)

// searchIDs returns the ids GET /v1/search/customers answers q with, as who.
func (s *stack) searchIDs(who, q string, extra ...string) []string {
	s.t.Helper()
	path := "/v1/search/customers?q=" + url.QueryEscape(q) + strings.Join(extra, "")
	body := s.must(who, "GET", path, nil, 200)
	items, ok := body["items"].([]any)
	if !ok {
		s.t.Fatalf("GET %s: items %v", path, body["items"])
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// expectSearch fails the test unless S1's search for q answers want, in
// order: a supervisor's, which reaches every customer (a rep's or private
// banker's search by name finds their own book only: TestSearchBook).
func (s *stack) expectSearch(q string, want ...string) {
	s.t.Helper()
	if got := s.searchIDs("S1", q); !slices.Equal(got, want) { // nil want equals no ids
		s.t.Errorf("search %q = %v, want %v", q, got, want)
	}
}

func searchCustomer(id, name, phone string) map[string]any {
	c := newCustomer(id)
	c["name"], c["phone"] = name, phone
	return c
}

// TestSearchCustomers: customers are found by id, name and phone, best
// match first, by every reading role; a name change and an erasure take
// effect at once and survive a restart; the query is never logged.
func TestSearchCustomers(t *testing.T) {
	logged, logger := newLogBuffer()
	s := newStack(t, stackOptions{logger: logger})
	s.must("R1", "POST", "/v1/customers", searchCustomer("C1", "김민준", "+82 10-5550-1234"), 201)
	s.must("R1", "POST", "/v1/customers", searchCustomer("C2", "Kim Minjun", "010-7777-1234"), 201)
	s.must("R1", "POST", "/v1/customers", searchCustomer("C3", "Park Jiwoo", "010-3333-4444"), 201)
	s.must("R1", "POST", "/v1/customers", searchCustomer("1234", "Lee Seoyeon", "010-9999-0000"), 201)

	s.expectSearch("김민준", "C1")
	s.expectSearch("KIM  minjun", "C2")
	s.expectSearch("minjun", "C2")
	s.expectSearch("Jiwoo Park", "C3")
	s.expectSearch("010 5550 1234", "C1")
	s.expectSearch("+82 10-5550-1234", "C1")
	s.expectSearch("1234", "1234", "C1", "C2") // the id first, then the last four digits
	s.expectSearch("C3", "C3")
	s.expectSearch("c3")          // ids are exact
	s.expectSearch("Kim M", "C2") // by the part "kim"; "m" is too short to be a term, "kimm" is no one's name
	s.expectSearch("Minj")        // no prefix match
	s.expectSearch("Choi")
	if got := s.searchIDs("S1", "1234", "&limit=2"); !slices.Equal(got, []string{"1234", "C1"}) {
		t.Errorf("search 1234 limit 2 = %v", got)
	}
	body := s.must("H1", "GET", "/v1/search/customers?q=Kim+Minjun", nil, 200)
	if got := body["items"].([]any); len(got) != 1 || got[0].(map[string]any)["name"] != "Kim Minjun" ||
		got[0].(map[string]any)["branchId"] != "B001" || got[0].(map[string]any)["version"] != float64(0) {
		t.Errorf("search Kim Minjun as H1: %v", body)
	}
	for _, who := range []string{"S1", "H1", "U1"} {
		if got := s.searchIDs(who, "Park Jiwoo"); !slices.Equal(got, []string{"C3"}) {
			t.Errorf("search as %s = %v", who, got)
		}
	}
	if a := s.req("A001", "GET", "/v1/search/customers?q=Park", nil); a.status != 403 {
		t.Errorf("an admin searched customers: %d %s", a.status, a.raw)
	}

	// A new name replaces the old one's terms.
	s.must("R1", "POST", "/v1/customers/C2/profile", map[string]any{"changes": map[string]string{"name": "Choi Minjun"}, "source": "branch"}, 201)
	s.expectSearch("Kim")
	s.expectSearch("choi minjun", "C2")

	// After an erasure neither the name nor the phone finds the customer;
	// the id still does, with the name erased.
	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	check := func(s *stack) {
		t.Helper()
		s.expectSearch("김민준")
		s.expectSearch("010-5550-1234")
		s.expectSearch("1234", "1234", "C2")
		body := s.must("R1", "GET", "/v1/search/customers?q=C1", nil, 200)
		if got := body["items"].([]any); len(got) != 1 || got[0].(map[string]any)["name"] != "[erased]" {
			t.Errorf("search C1 after erasure: %v", body)
		}
		s.expectSearch("choi minjun", "C2")
		s.expectSearch("Kim")
	}
	check(s)
	check(s.restart())

	// Exactly: every name and phone stored or searched, in every form a
	// log line could hold it (queryForm: as typed, URL- and JSON-escaped,
	// a phone's digits), none of which a duration or an id holds by
	// chance. Four-letter queries ("Minj", "1234") could, and are left out;
	// their longer forms are in.
	log := logged.String()
	if !strings.Contains(log, `"msg":"request"`) || !strings.Contains(log, `"route":"GET /v1/search/customers"`) {
		t.Fatalf("the server logged no search request: the check below would check nothing:\n%s", log)
	}
	for _, clear := range []string{
		"김민준", "Kim Minjun", "Park Jiwoo", "Lee Seoyeon", "Choi Minjun", "KIM  minjun", "minjun", "Jiwoo Park", "choi minjun", "Kim M",
		"+82 10-5550-1234", "010 5550 1234", "010-5550-1234", "010-7777-1234", "010-3333-4444", "010-9999-0000",
	} {
		if f := queryForm(log, clear); f != "" {
			t.Errorf("the server's log holds %q (as %q)", clear, f)
		}
	}
}

// TestSearchCustomersInvalid: a missing, empty, too long or control-laden
// q, or a bad limit, is 400 invalid naming the field and not echoing q.
func TestSearchCustomersInvalid(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", searchCustomer("C1", "Kim Minjun", "010-5550-1234"), 201)
	long := strings.Repeat("민", 101)
	for _, c := range []struct{ query, field string }{
		{"", "q"},
		{"q=", "q"},
		{"q=%20%20%20", "q"},
		{"q=" + url.QueryEscape(long), "q"},
		{"q=Kim%01Minjun", "q"},
		{"q=Kim%0AMinjun", "q"},
		{"q=%FF%FE", "q"},
		{"q=Kim&limit=0", "limit"},
		{"q=Kim&limit=101", "limit"},
		{"q=Kim&limit=x", "limit"},
	} {
		a := s.req("R1", "GET", "/v1/search/customers?"+c.query, nil)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != c.field {
			t.Errorf("?%s: %d %s, want 400 invalid on %s", c.query, a.status, a.raw, c.field)
		}
		if strings.Contains(string(a.raw), "Kim") || strings.Contains(string(a.raw), "민민") {
			t.Errorf("?%s: the error echoes the query: %s", c.query, a.raw)
		}
	}
	// A hundred characters are fine, and trimmed spaces do not count.
	s.expectSearch(" " + strings.Repeat("민", 100) + " ")
	s.expectSearch("  Kim Minjun  ", "C1")
}

// TestSearchCustomersWithoutIndex: a server configured without a Searcher
// matches ids only.
func TestSearchCustomersWithoutIndex(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Search = nil }})
	s.must("R1", "POST", "/v1/customers", searchCustomer("C1", "Kim Minjun", "010-5550-1234"), 201)
	s.expectSearch("C1", "C1")
	s.expectSearch("Kim Minjun")
	s.expectSearch("010-5550-1234")
}
