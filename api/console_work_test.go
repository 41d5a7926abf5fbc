package api_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The console's worklist, search, language switch and the live feed a
// page follows, over real HTTP and WebSocket against the whole stack.

// member is a browser signed in to the console as a staff member: a cookie
// jar, following no redirect (the tests check where they go).
type member struct {
	s      *stack
	id     string
	client *http.Client
	csrf   string // the session's form token, once read (token)
}

// page is a console answer.
type page struct {
	status int
	header http.Header
	body   string
}

// signIn signs staff member id in to the console as a person does the
// first time: a setup code from the admin, the setup form (a password),
// which opens the session (console_signin_helpers_test.go).
func signIn(s *stack, id string) *member {
	s.t.Helper()
	u := newWebUser(s)
	u.setPassword(id, signinPassword)
	return &member{s: s, id: id, client: u.client}
}

// anonymous is a browser without a session.
func anonymous(s *stack) *member { return &member{s: s, client: newWebUser(s).client} }

// get fetches path with header pairs (name, value, …).
func (m *member) get(path string, hdr ...string) page {
	m.s.t.Helper()
	req, err := http.NewRequestWithContext(m.s.t.Context(), http.MethodGet, m.s.base+path, nil)
	if err != nil {
		m.s.t.Fatal(err)
	}
	status, h, b := send(m.s.t, m.client, req, hdr...)
	return page{status: status, header: h, body: b}
}

// token returns the session's form token, read from a page's form (every
// role's /account has one) the first time.
func (m *member) token() string {
	m.s.t.Helper()
	if m.csrf == "" {
		f := csrfRe.FindStringSubmatch(m.must("/account", 200).body)
		if f == nil || f[1] == "" {
			m.s.t.Fatalf("%s: no form token on /account", m.id)
		}
		m.csrf = html.UnescapeString(f[1])
	}
	return m.csrf
}

// post posts form (with the session's _csrf) to path, with header pairs.
func (m *member) post(path string, form url.Values, hdr ...string) page {
	m.s.t.Helper()
	if !form.Has("_csrf") {
		form.Set("_csrf", m.token())
	}
	req, err := http.NewRequestWithContext(m.s.t.Context(), http.MethodPost, m.s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		m.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, h, b := send(m.s.t, m.client, req, hdr...)
	return page{status: status, header: h, body: b}
}

// must fetches path and fails unless it answers status.
func (m *member) must(path string, status int, hdr ...string) page {
	m.s.t.Helper()
	p := m.get(path, hdr...)
	if p.status != status {
		m.s.t.Fatalf("GET %s as %s: %d, want %d\n%s", path, m.id, p.status, status, p.body)
	}
	return p
}

var rowRe = regexp.MustCompile(`<tr data-customer="([^"]+)"[^>]*>(.*?)</tr>`)

// rows returns the customer ids of a worklist's rows, in order, and each
// row's HTML.
func (p page) rows() ([]string, map[string]string) {
	var ids []string
	html := map[string]string{}
	for _, m := range rowRe.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
		html[m[1]] = m[0]
	}
	return ids, html
}

// reasons returns the reasons tagged on each row.
func (p page) reasons() map[string][]string {
	out := map[string][]string{}
	_, rows := p.rows()
	for id, row := range rows {
		out[id] = []string{}
		for _, m := range regexp.MustCompile(`data-reason="([^"]+)"`).FindAllStringSubmatch(row, -1) {
			if !slices.Contains(out[id], m[1]) {
				out[id] = append(out[id], m[1])
			}
		}
	}
	return out
}

// count returns the count shown next to a filter's choice.
func (p page) count(filter, value string) int {
	nav := regexp.MustCompile(`(?s)<nav class="wl-facets"[^>]*data-filter="` + filter + `".*?</nav>`).FindString(p.body)
	m := regexp.MustCompile(`data-value="` + regexp.QuoteMeta(value) + `"[^>]*>[^<]*<span class="n">(\d+)</span>`).FindStringSubmatch(nav)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// attr returns the first value of attribute name in the page.
func (p page) attr(name string) string {
	m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// book registers customers C1…C5 and gives R1 C1–C4 (C5 is R2's), each
// with a different reason to call, seventy days after registration (data
// stale, never contacted unless said):
//
//	C1 vip, branch B001: stale, no contact, do-not-contact
//	C2 branch B002: verified, contacted, marketing consent: no reason
//	C3 branch B001: stale, no contact, a child's wedding in 20 days
//	C4 branch B003: stale, no contact, a loan follow-up due today
func book(t *testing.T, clock *eventstest.ManualClock, s *stack) {
	for i := 1; i <= 5; i++ {
		id := fmt.Sprint("C", i)
		branch := map[int]string{2: "B002", 4: "B003"}[i]
		if branch == "" {
			branch = "B001"
		}
		c := withField(newCustomer(id), "branchId", branch)
		c["name"] = map[int]string{1: "강하늘", 2: "나윤서", 3: "김민준", 4: "박서연", 5: "이도윤"}[i]
		c["phone"] = fmt.Sprintf("010-2000-%04d", 1000+i)
		s.must("R1", "POST", "/v1/customers", c, 201)
		advisor := "R1"
		if i == 5 {
			advisor = "R2"
		}
		s.must("S1", "POST", "/v1/customers/"+id+"/assignment", map[string]any{"advisorId": advisor, "kind": "call_centre_rep"}, 201)
	}
	reportFinancials(t, s, "C1", 200_000_000)
	clock.Set(clock.Now().AddDate(0, 0, 70))
	hourAgo := clock.Now().Add(-time.Hour).Format(time.RFC3339)
	s.must("R1", "POST", "/v1/customers/C2/verifications", map[string]any{"channel": "phone_outbound", "fields": []string{"name", "phone"}}, 201)
	s.must("R1", "POST", "/v1/customers/C2/contacts", withField(newContact("안부"), "occurredAt", hourAgo), 201)
	s.must("R1", "POST", "/v1/customers/C2/consents", map[string]any{"channel": "phone", "purpose": "marketing", "granted": true}, 201)
	s.must("R1", "POST", "/v1/customers/C3/life-events", map[string]any{"kind": "child_wedding",
		"expectedOn": clock.Now().AddDate(0, 0, 20).Format(time.DateOnly)}, 201)
	s.must("R1", "POST", "/v1/customers/C4/pitches", map[string]any{"product": "LOAN01", "channel": "phone_outbound",
		"outcome": "considering", "followUpOn": clock.Now().Format(time.DateOnly)}, 201)
	s.awaitApplied()
}

// reportFinancials appends what the core system sends, and waits for the
// segmentation job's tier.
func reportFinancials(t *testing.T, s *stack, customer string, deposit int64) {
	profit := int64(0)
	ev, err := events.NewEvent(&events.FinancialsReported{AsOf: s.now().Format(time.DateOnly), DepositBalance: &deposit,
		ProfitContribution: &profit, Currency: "KRW"}, events.Meta{Actor: events.System("core"), CorrelationID: events.NewID().String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Append(t.Context(), events.CustomerStream(customer), events.StreamExists, ev); err != nil {
		t.Fatal(err)
	}
	s.waitUntil("the segmentation job's tier of "+customer, func() bool {
		return s.must("U1", "GET", "/v1/customers/"+customer, nil, 200)["tier"] == "vip"
	})
}

// TestConsoleWorkWorklist: a rep's worklist shows their book with the
// reasons to call, counts per reason, do-not-contact; filters and sort
// work as links; bad filters are refused with a message.
func TestConsoleWorkWorklist(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	book(t, clock, s)
	r1 := signIn(s, "R1")

	p := r1.must("/", 200, "Accept-Language", "en")
	ids, rows := p.rows()
	// Most reasons first (C1: stale and no contact; C3, C4: three), then by id.
	if want := []string{"C3", "C4", "C1", "C2"}; !slices.Equal(ids, want) {
		t.Fatalf("worklist rows %v, want %v", ids, want)
	}
	reasons := p.reasons()
	for id, want := range map[string][]string{
		"C1": {"stale_data", "no_recent_contact"},
		"C2": {},
		"C3": {"stale_data", "life_event_soon", "no_recent_contact"},
		"C4": {"stale_data", "pitch_follow_up_due", "no_recent_contact"},
	} {
		if !slices.Equal(reasons[id], want) {
			t.Errorf("%s: reasons %v, want %v", id, reasons[id], want)
		}
	}
	wedding := clock.Now().AddDate(0, 0, 20).Format(time.DateOnly)
	for id, texts := range map[string][]string{
		"C1": {`href="/customers/C1"`, "강하늘", "Do not contact", "Data over 2 months old", "Never contacted", `data-tier="vip"`, "B001"},
		"C2": {"나윤서", kstOf(clock.Now().Add(-time.Hour))},
		"C3": {"Child&#39;s wedding on " + wedding},
		"C4": {"Follow up LOAN01 (due " + clock.Now().Format(time.DateOnly) + ")"},
	} {
		for _, text := range texts {
			if !strings.Contains(rows[id], text) {
				t.Errorf("row %s lacks %q:\n%s", id, text, rows[id])
			}
		}
	}
	if strings.Contains(rows["C2"], "Do not contact") || !strings.Contains(rows["C1"], `class="wl-dnc"`) {
		t.Errorf("do-not-contact: C1 %s\nC2 %s", rows["C1"], rows["C2"])
	}
	for value, want := range map[string]int{"": 4, "stale_data": 3, "life_event_soon": 1, "pitch_follow_up_due": 1, "no_recent_contact": 3} {
		if n := p.count("reason", value); n != want {
			t.Errorf("count of reason %q: %d, want %d", value, n, want)
		}
	}
	if p.count("tier", "vip") != 1 || p.count("tier", "none") != 3 || p.count("branch", "B001") != 2 || p.count("branch", "B003") != 1 {
		t.Errorf("tier and branch counts: vip %d none %d B001 %d B003 %d", p.count("tier", "vip"), p.count("tier", "none"),
			p.count("branch", "B001"), p.count("branch", "B003"))
	}
	if p.attr("data-live-topics") != "advisor:R1" {
		t.Errorf("live topics %q", p.attr("data-live-topics"))
	}
	if from, err := strconv.ParseUint(p.attr("data-live-from"), 10, 64); err != nil || from == 0 || from > uint64(s.head()) {
		t.Errorf("live from %q (head %v): %v", p.attr("data-live-from"), s.head(), err)
	}

	// Filters, each a link; counts follow the other filters.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?reason=stale_data", []string{"C3", "C4", "C1"}},
		{"?reason=life_event_soon", []string{"C3"}},
		{"?branch=B001", []string{"C3", "C1"}},
		{"?tier=vip", []string{"C1"}},
		{"?tier=none&reason=stale_data", []string{"C3", "C4"}},
		{"?branch=B009", nil},
		{"?sort=id", []string{"C1", "C2", "C3", "C4"}},
		{"?sort=-id", []string{"C4", "C3", "C2", "C1"}},
		{"?sort=name", []string{"C1", "C3", "C2", "C4"}}, // 강, 김, 나, 박
		{"?sort=tier", []string{"C1", "C3", "C4", "C2"}}, // vip first, ties in priority order
		{"?sort=contact", []string{"C3", "C4", "C1", "C2"}},
		{"?sort=-contact", []string{"C2", "C3", "C4", "C1"}},
		{"?sort=-priority", []string{"C2", "C1", "C4", "C3"}},
		{"?sort=branch&reason=no_recent_contact", []string{"C3", "C1", "C4"}},
	} {
		got, _ := r1.must("/"+tc.query, 200).rows()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	f := r1.must("/?branch=B001", 200, "Accept-Language", "en")
	if f.count("reason", "stale_data") != 2 || f.count("reason", "life_event_soon") != 1 || f.count("reason", "pitch_follow_up_due") != 0 ||
		!strings.Contains(f.body, `href="/?branch=B001&amp;reason=life_event_soon"`) || !strings.Contains(f.body, `id="wl-clear" href="/"`) ||
		!strings.Contains(f.body, `data-value="B001" aria-current="true"`) {
		t.Errorf("counts and links under branch=B001:\n%s", f.body)
	}
	if e := r1.must("/?branch=B009", 200, "Accept-Language", "en"); !strings.Contains(e.body, `id="wl-empty"`) ||
		!strings.Contains(e.body, `data-value="B009" aria-current="true"`) {
		t.Errorf("a filter matching nothing says so and can be unchosen:\n%s", e.body)
	}
	if srt := r1.must("/?sort=name", 200); !strings.Contains(srt.body, `aria-sort="ascending"><a href="/?sort=-name"`) {
		t.Errorf("the sorted column's header sorts the other way:\n%s", srt.body)
	}
	for _, q := range []string{"?reason=bored", "?tier=gold", "?branch=../x", "?sort=age"} {
		bad := r1.must("/"+q, 400, "Accept-Language", "en")
		if field := strings.TrimPrefix(strings.SplitN(q, "=", 2)[0], "?"); !strings.Contains(bad.body, map[string]string{
			"reason": "Unknown reason filter", "tier": "Unknown tier filter", "branch": "not a branch id", "sort": "Unknown sort order"}[field]) {
			t.Errorf("%s: %s", q, bad.body)
		}
	}
	if bad := r1.must("/?tier=gold", 400, "Accept-Language", "ko"); !strings.Contains(bad.body, "알 수 없는 등급입니다.") {
		t.Errorf("the message in Korean: %s", bad.body)
	}
}

// TestConsoleWorkLive: the worklist's fragment and the live feed it
// follows. A colleague's contact on a customer of the book and a
// reassignment out of it arrive on the book's advisor topic, from the
// position the page was rendered at, over the page's own session; the
// fragment then shows the book as the read side has it after them.
func TestConsoleWorkLive(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	book(t, clock, s)
	r1 := signIn(s, "R1")
	p := r1.must("/", 200)
	from := p.attr("data-live-from")

	// The fragment: the filters, counts and rows only, marked as such.
	frag := r1.must("/?reason=stale_data", 200, "X-Dangol-Fragment", "rows", "Dangol-Min-Position", from)
	if frag.header.Get("X-Dangol-Fragment") != "rows" || strings.Contains(frag.body, "<html") || strings.Contains(frag.body, "<header") ||
		!strings.Contains(frag.body, `id="wl-rows"`) || !strings.Contains(frag.body, `id="wl-filters"`) {
		t.Fatalf("fragment: %v\n%s", frag.header, frag.body)
	}
	if ids, _ := frag.rows(); !slices.Equal(ids, []string{"C3", "C4", "C1"}) {
		t.Fatalf("fragment rows %v", ids)
	}
	for _, v := range []string{"soon", fmt.Sprint(s.head() + 100)} {
		if a := r1.get("/", "X-Dangol-Fragment", "rows", "Dangol-Min-Position", v); a.status != 400 {
			t.Errorf("min position %q: %d", v, a.status)
		}
	}

	// A colleague's contact on C3, then C1 moves to R2.
	s.must("R2", "POST", "/v1/customers/C3/contacts", withField(newContact("대신 통화"), "occurredAt", clock.Now().Add(-time.Minute).Format(time.RFC3339)), 201)
	moved := s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R2", "kind": "call_centre_rep"}, 201)

	// The page's feed, as live.js opens it: same origin, the session cookie.
	hdr := http.Header{"Origin": {s.base}}
	u, _ := url.Parse(s.base)
	for _, c := range r1.client.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, res, err := websocket.DefaultDialer.DialContext(t.Context(), s.liveURL(), hdr)
	if err != nil {
		t.Fatalf("live feed with the session: %v (%v)", err, res)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["`+p.attr("data-live-topics")+`"],"fromPosition":`+from+`}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	var last json.RawMessage
	_ = conn.SetReadDeadline(time.Now().Add(hang))
	for len(got) < 2 {
		var msg struct {
			Position json.RawMessage `json:"position"`
			Stream   string          `json:"stream"`
			Type     string          `json:"type"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("live feed after %v: %v", got, err)
		}
		got, last = append(got, msg.Stream+" "+msg.Type), msg.Position
	}
	if want := []string{"customer-C3 ContactLogged", "customer-C1 AdvisorAssigned"}; !slices.Equal(got, want) {
		t.Fatalf("the book's topic gave %v, want %v", got, want)
	}
	if string(last) != fmt.Sprint(moved["position"]) {
		t.Errorf("last position %s, the reassignment's %v", last, moved["position"])
	}

	// What live.js then fetches: C1 gone, C3 contacted.
	after := r1.must("/", 200, "X-Dangol-Fragment", "rows", "Dangol-Min-Position", string(last))
	ids, _ := after.rows()
	if !slices.Equal(ids, []string{"C4", "C3", "C2"}) || slices.Contains(after.reasons()["C3"], "no_recent_contact") {
		t.Fatalf("after the contact and the reassignment: rows %v, reasons %v", ids, after.reasons())
	}
	if ids, _ := signIn(s, "R2").must("/", 200).rows(); !slices.Equal(ids, []string{"C1", "C5"}) {
		t.Errorf("R2's book %v", ids)
	}

	// A page's refreshes are not use: they leave the idle clock alone.
	clock.Set(clock.Now().Add(2 * time.Minute))
	if a := r1.must("/", 200, "X-Dangol-Fragment", "rows"); len(a.header.Values("Set-Cookie")) != 0 {
		t.Errorf("a fragment refreshed the session cookie: %v", a.header.Values("Set-Cookie"))
	}
	if a := r1.must("/live/status", 204, "X-Dangol-Fragment", "probe"); len(a.header.Values("Set-Cookie")) != 0 {
		t.Errorf("the live probe refreshed the session cookie: %v", a.header.Values("Set-Cookie"))
	}
	if a := r1.must("/", 200); len(a.header.Values("Set-Cookie")) != 1 {
		t.Errorf("opening the worklist did not count as use: %v", a.header.Values("Set-Cookie"))
	}
	if a := anonymous(s).get("/live/status", "X-Dangol-Fragment", "probe"); a.status != 303 || !strings.HasPrefix(a.header.Get("Location"), "/login") {
		t.Errorf("the probe without a session: %d %v", a.status, a.header)
	}
}

// TestConsoleWorkRoles: the worklist is the advisors'; the others get
// where they can go.
func TestConsoleWorkRoles(t *testing.T) {
	s := newStack(t, stackOptions{})
	if a := anonymous(s).get("/"); a.status != 303 || a.header.Get("Location") != "/login?next=%2F" {
		t.Errorf("no session: %d %v", a.status, a.header)
	}
	if a := anonymous(s).get("/?reason=stale_data"); a.status != 303 || a.header.Get("Location") != "/login?next=%2F%3Freason%3Dstale_data" {
		t.Errorf("no session, with filters: %d %v", a.status, a.header)
	}
	for _, who := range []string{"R1", "P1"} {
		if p := signIn(s, who).must("/", 200, "Accept-Language", "en"); !strings.Contains(p.body, `id="worklist"`) ||
			!strings.Contains(p.body, "There are no customers in your book yet.") || p.attr("data-live-topics") != "advisor:"+who {
			t.Errorf("%s: %s", who, p.body)
		}
	}
	// Supervisors and centre heads go on to their day's work.
	for who, page := range map[string]string{"S1": "/qa", "H1": "/coaching"} {
		if a := signIn(s, who).get("/"); a.status != 303 || a.header.Get("Location") != page {
			t.Errorf("%s: %d %v, want 303 to %s", who, a.status, a.header, page)
		}
	}
	for _, who := range []string{"U1"} {
		p := signIn(s, who).must("/", 200, "Accept-Language", "en")
		if !strings.Contains(p.body, `id="home"`) || strings.Contains(p.body, `id="worklist"`) || strings.Contains(p.body, "data-live-topics") ||
			!strings.Contains(p.body, `href="/search"`) {
			t.Errorf("%s: %s", who, p.body)
		}
	}
	if a := signIn(s, "A001").get("/"); a.status != 303 || a.header.Get("Location") != "/admin/staff" {
		t.Errorf("admin: %d %v", a.status, a.header)
	}
	admin := signIn(s, "A001")
	if a := admin.get("/search"); a.status != 403 {
		t.Errorf("admin opening search: %d", a.status)
	}
	if a := admin.search("C1"); a.status != 403 {
		t.Errorf("admin searching customers: %d", a.status)
	}
}

// TestConsoleWorkLanguage: the worklist in Korean and in English, by
// Accept-Language and by the switch, which goes back only within the
// console.
func TestConsoleWorkLanguage(t *testing.T) {
	s := newStack(t, stackOptions{})
	r1 := signIn(s, "R1")
	for lang, texts := range map[string][]string{
		"ko":                        {`<html lang="ko">`, "상담 대상 고객", "연락 사유", "정보 갱신"},
		"en-GB,en;q=0.9":            {`<html lang="en">`, "Worklist", "Reasons to call", "Stale data"},
		"fr-FR, en;q=0.5, ko;q=0.7": {`<html lang="ko">`, "상담 대상 고객"},
	} {
		p := r1.must("/", 200, "Accept-Language", lang)
		for _, text := range texts {
			if !strings.Contains(p.body, text) {
				t.Errorf("Accept-Language %q: no %q", lang, text)
			}
		}
	}
	sw := r1.must("/lang/en?next="+url.QueryEscape("/?reason=stale_data"), 303, "Accept-Language", "ko")
	if sw.header.Get("Location") != "/?reason=stale_data" {
		t.Errorf("switch went to %q", sw.header.Get("Location"))
	}
	ck := (&http.Response{Header: sw.header}).Cookies()
	if len(ck) != 1 || ck[0].Name != "dangol_lang" || ck[0].Value != "en" || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode ||
		ck[0].MaxAge != 365*24*3600 || ck[0].Path != "/" {
		t.Fatalf("language cookie %+v", ck)
	}
	if p := r1.must("/", 200, "Accept-Language", "ko"); !strings.Contains(p.body, `<html lang="en">`) || !strings.Contains(p.body, "Worklist") {
		t.Errorf("the switch's choice did not win over Accept-Language")
	}
	if p := r1.must("/lang/ko?next=/", 303); p.header.Get("Location") != "/" {
		t.Errorf("back to ko: %v", p.header)
	}
	if p := r1.must("/", 200, "Accept-Language", "en"); !strings.Contains(p.body, "상담 대상 고객") {
		t.Errorf("switched back to Korean: no Korean")
	}
	for _, next := range []string{"//evil.example/", "https://evil.example/", `/\evil.example`, "javascript:alert(1)", ""} {
		if p := anonymous(s).must("/lang/en?next="+url.QueryEscape(next), 303); p.header.Get("Location") != "/" {
			t.Errorf("next %q went to %q", next, p.header.Get("Location"))
		}
	}
	anonymous(s).must("/lang/fr?next=/", 404)
}
