package api_test

import (
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/events/eventstest"
)

// Customer search in the console: what is typed (a name, a phone number)
// is posted, never put in a URL.

// search posts q to the search form, as its page and the bar's box do.
func (m *member) search(q string, hdr ...string) page {
	m.s.t.Helper()
	return m.post("/search", url.Values{"q": {q}}, hdr...)
}

// mustSearch searches q and fails unless the answer is status.
func (m *member) mustSearch(q string, status int, hdr ...string) page {
	m.s.t.Helper()
	p := m.search(q, hdr...)
	if p.status != status {
		m.s.t.Fatalf("search %q as %s: %d, want %d\n%s", q, m.id, p.status, status, p.body)
	}
	return p
}

// TestConsoleWorkSearch: an exact id opens the customer; a name (whole or
// a part) and a phone number (whole or its last four digits) find them
// through the blind index; an erased customer is found by neither; bad
// queries get the field's message.
func TestConsoleWorkSearch(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	book(t, clock, s)
	r1, s1 := signIn(s, "R1"), signIn(s, "S1")

	for _, q := range []string{"C3", "c3", " C3 "} {
		if a := r1.search(q); a.status != 303 || a.header.Get("Location") != "/customers/C3" {
			t.Errorf("q=%q: %d %v", q, a.status, a.header)
		}
	}
	found := func(m *member, q string) []string {
		t.Helper()
		p := m.mustSearch(q, 200, "Accept-Language", "en")
		var ids []string
		for _, m := range regexp.MustCompile(`<tr data-customer="([^"]+)"`).FindAllStringSubmatch(p.body, -1) {
			ids = append(ids, m[1])
		}
		if len(ids) == 0 && !strings.Contains(p.body, `id="search-none"`) {
			t.Errorf("q=%q: neither results nor a no-match message:\n%s", q, p.body)
		}
		return ids
	}
	for q, want := range map[string][]string{
		"김민준":           {"C3"},
		"이도윤":           nil, // R2's customer: a rep finds only their own book by name (the supervisor below finds it)
		"010-2000-1004": {"C4"},
		"01020001001":   {"C1"},
		"1002":          {"C2"},
		"최":             nil,
		"C9":            nil,
	} {
		if got := found(r1, q); !slices.Equal(got, want) {
			t.Errorf("R1 searching %q: %v, want %v", q, got, want)
		}
	}
	if got := found(s1, "박서연"); !slices.Equal(got, []string{"C4"}) {
		t.Errorf("a supervisor searching: %v", got)
	}
	if got := found(s1, "이도윤"); !slices.Equal(got, []string{"C5"}) {
		t.Errorf("a supervisor searching another rep's customer: %v", got)
	}
	if p := r1.mustSearch("김민준", 200, "Accept-Language", "en"); !strings.Contains(p.body, `data-mine="true"`) ||
		!strings.Contains(p.body, `href="/customers/C3"`) {
		t.Errorf("the result marks the member's own customer:\n%s", p.body)
	}
	if p := r1.mustSearch("이도윤", 200); strings.Contains(p.body, `data-mine="true"`) {
		t.Errorf("another's customer marked as mine")
	}

	s.must("A001", "POST", "/v1/customers/C4/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	s.awaitApplied()
	for _, q := range []string{"박서연", "010-2000-1004", "1004"} {
		if got := found(r1, q); len(got) != 0 {
			t.Errorf("after erasure, %q finds %v", q, got)
		}
	}
	if a := r1.search("C4"); a.status != 303 || a.header.Get("Location") != "/customers/C4" {
		t.Errorf("the erased customer's id: %d %v", a.status, a.header)
	}

	for q, msg := range map[string]string{
		"":                       "Type a customer id, a name or a phone number.",
		"   ":                    "Type a customer id, a name or a phone number.",
		strings.Repeat("가", 101): "Type at most 100 characters.",
		"김민\x07준":                "Type letters, digits or a phone number, without control characters.",
		"\xff":                   "Type letters, digits or a phone number, without control characters.",
	} {
		p := r1.mustSearch(q, 400, "Accept-Language", "en")
		if !strings.Contains(p.body, `<span class="msg" id="search-q-msg" data-field="q" role="alert">`+msg) ||
			!strings.Contains(p.body, `aria-invalid="true"`) || strings.Contains(p.body, "<tbody>") {
			t.Errorf("q=%q: %s", q, p.body)
		}
	}
	if p := r1.mustSearch(strings.Repeat("가", 100), 200); strings.Contains(p.body, "search-q-msg") {
		t.Errorf("100 characters refused")
	}
	if p := r1.must("/search", 200, "Accept-Language", "ko"); !strings.Contains(p.body, `<label for="search-q">`) || strings.Contains(p.body, "search-q-msg") {
		t.Errorf("the empty search page: %s", p.body)
	}
}

// TestConsoleWorkSearchPrivate: what a member types in search never lands
// in a URL, where a browser's history, a Referer or a proxy's access log
// would keep it: the forms post it (with the session's form token), the
// answer shows the results itself with the query in no header and no
// link, GET /search neither searches nor echoes a q of its URL, and the
// server's log holds it in no form.
func TestConsoleWorkSearchPrivate(t *testing.T) {
	logs, logger := newLogBuffer()
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now, logger: logger})
	book(t, clock, s)
	// Values nothing else in a log or a page can hold by chance: a
	// four-syllable name and a phone of distinct digits.
	const name, phone, nobody = "남궁예린", "+82 10-8642-9753", "선우다인"
	c := newCustomer("C6")
	c["name"], c["phone"] = name, phone
	s.must("R1", "POST", "/v1/customers", c, 201)
	s.must("S1", "POST", "/v1/customers/C6/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201) // R1's book, which R1 searches by name
	s.awaitApplied()
	r1 := signIn(s, "R1")

	// The bar's box and the page's form post, with the form token.
	for path, form := range map[string]*regexp.Regexp{
		"/":       regexp.MustCompile(`<form class="search" role="search" action="/search" method="post">\s*<input type="hidden" name="_csrf" value="[^"]+">`),
		"/search": regexp.MustCompile(`<form class="search-page" action="/search" method="post" role="search" novalidate>\s*<input type="hidden" name="_csrf" value="[^"]+">`),
	} {
		if p := r1.must(path, 200); !form.MatchString(p.body) {
			t.Errorf("%s: no search form posting with the form token:\n%s", path, p.body)
		}
	}

	queries := []struct {
		q      string
		status int
		found  bool
	}{
		{name, 200, true},
		{phone, 200, true},
		{"010-8642-9753", 200, true},
		{"010 8642 9753", 200, true},
		{"01086429753", 200, true},
		{nobody, 200, false},
		{"남궁\x07예린", 400, false},
	}
	for _, c := range queries {
		for _, lang := range []string{"ko", "en"} {
			p := r1.mustSearch(c.q, c.status, "Accept-Language", lang)
			if found := strings.Contains(p.body, `<tr data-customer="C6">`); found != c.found {
				t.Errorf("%q (%s): C6 found %v, want %v", c.q, lang, found, c.found)
			}
			if !strings.Contains(p.body, `value="`+strings.ReplaceAll(html.EscapeString(c.q), "+", "&#43;")+`"`) {
				t.Errorf("%q (%s): the field does not keep what was typed", c.q, lang)
			}
			for h, vs := range p.header {
				for _, v := range vs {
					if f := queryForm(v, c.q); f != "" {
						t.Errorf("%q (%s): header %s holds it (%q): %s", c.q, lang, h, f, v)
					}
				}
			}
			for _, link := range links(p.body) {
				if f := queryForm(link, c.q); f != "" {
					t.Errorf("%q (%s): a link holds it (%q): %s", c.q, lang, f, link)
				}
			}
		}
	}
	if len(links(r1.mustSearch(name, 200).body)) < 5 {
		t.Fatal("links found no link on the search page: the check above checked nothing")
	}

	// A q in the URL is not a search: GET shows the empty form, a POST
	// reads its body only.
	if p := r1.must("/search?q="+url.QueryEscape(name), 200); strings.Contains(p.body, name) || strings.Contains(p.body, "<tbody>") {
		t.Errorf("GET /search?q= searched or echoed it:\n%s", p.body)
	}
	if p := r1.post("/search?q="+url.QueryEscape(name), url.Values{}, "Accept-Language", "en"); p.status != 400 ||
		!strings.Contains(p.body, "Type a customer id, a name or a phone number.") {
		t.Errorf("POST /search?q= with no q in the body: %d\n%s", p.status, p.body)
	}
	// Without the form token nothing is searched.
	if p := r1.post("/search", url.Values{"q": {name}, "_csrf": {"forged"}}); p.status != 403 || strings.Contains(p.body, name) {
		t.Errorf("a search without the form token: %d\n%s", p.status, p.body)
	}
	// An exact id still redirects: an id is no personal data.
	if p := r1.mustSearch("C6", 303); p.header.Get("Location") != "/customers/C6" {
		t.Errorf("search C6: %v", p.header)
	}

	log := logs.String()
	if !strings.Contains(log, `"msg":"request"`) {
		t.Fatalf("the server logged no request: the log check below would check nothing:\n%s", log)
	}
	for _, c := range queries {
		if f := queryForm(log, c.q); f != "" {
			t.Errorf("the server's log holds %q (%q)", c.q, f)
		}
	}
}

// links returns the URLs of a page's href, src, action and formaction
// attributes, unescaped as a browser reads them.
func links(body string) []string {
	var out []string
	for _, m := range linkRe.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

var linkRe = regexp.MustCompile(`(?i)\b(?:href|src|action|formaction)="([^"]*)"`)

// queryForm returns the form of q that s holds ("" if none): q as typed
// and trimmed, URL-escaped (query and path), JSON-escaped, and, for a phone
// number, its run of digits (with and without the country code or the
// leading 0), which a normaliser would write. The values searched are
// chosen so that none of these occurs by chance.
func queryForm(s, q string) string {
	q = strings.TrimSpace(q)
	forms := []string{q, url.QueryEscape(q), url.PathEscape(q)}
	if j, err := json.Marshal(q); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q)
	if len(digits) >= 7 {
		national := strings.TrimPrefix(strings.TrimPrefix(digits, "82"), "0")
		forms = append(forms, digits, national, "0"+national, "82"+national)
	}
	for _, f := range forms {
		if f != "" && strings.Contains(s, f) {
			return f
		}
	}
	return ""
}

// TestSearchQueryForm: queryForm finds a query in each form a log line or
// a URL could hold it, and not in a number that merely shares four digits
// with it (a request's duration_ms of 0.5550 made the old substring check
// of "5550" fail now and then).
func TestSearchQueryForm(t *testing.T) {
	for _, c := range []struct {
		s, q, want string
	}{
		{`"duration_ms":0.5550,"id":"01HX5550ABCD"`, "+82 10-5550-1234", ""},
		{`"duration_ms":1234.5`, "010-5550-1234", ""},
		{`/search?q=010+5550+1234`, "010 5550 1234", "010+5550+1234"},
		{`/search/010%205550%201234`, "010 5550 1234", "010%205550%201234"},
		{`"q":"+82 10-5550-1234"`, " +82 10-5550-1234 ", "+82 10-5550-1234"},
		{`"phone":"01055501234"`, "+82 10-5550-1234", "1055501234"},
		{`"phone":"821055501234"`, "010-5550-1234", "1055501234"},
		{`"phone":"1055501234"`, "010-5550-1234", "1055501234"},
		{`"name":"김민준"`, "김민준", "김민준"},
		{`?q=%EA%B9%80%EB%AF%BC%EC%A4%80`, "김민준", "%EA%B9%80%EB%AF%BC%EC%A4%80"},
	} {
		if got := queryForm(c.s, c.q); got != c.want {
			t.Errorf("queryForm(%q, %q) = %q, want %q", c.s, c.q, got, c.want)
		}
	}
}
