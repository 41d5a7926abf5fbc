package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The access record end to end: the reads of the API's routes and the
// console's pages, the auditor's entries, the monthly check and its
// sign-off. The stack appends the record only when the auditor reads it
// (and at shutdown): stackOptions' AccessFlush is -1.

// lastSecondOfNovember is 23:59:59 UTC on 30 November 2026 (08:59:59 on
// 1 December in Seoul): its reads belong to November's record.
var lastSecondOfNovember = time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)

// accessStack is a stack whose clock stands at lastSecondOfNovember (the
// rest of opt kept), with accessBook's customers registered.
func accessStack(t *testing.T, opt stackOptions) (*stack, *eventstest.ManualClock) {
	t.Helper()
	clock := eventstest.NewManualClock(lastSecondOfNovember)
	opt.now = clock.Now
	s := newStack(t, opt)
	accessBook(s)
	return s, clock
}

// accessBook registers C1 (R1's book), C2 (R2's) and C3 (no advisor),
// with phones of their own.
func accessBook(s *stack) {
	s.t.Helper()
	for _, c := range []struct{ id, advisor, name, phone string }{
		{"C1", "R1", "Kim Minjun", "010-1111-0001"}, {"C2", "R2", "Park Jiwoo", "010-2222-0002"}, {"C3", "", "Lee Seoyeon", "010-3333-0003"},
	} {
		s.must("R1", "POST", "/v1/customers", searchCustomer(c.id, c.name, c.phone), 201)
		if c.advisor != "" {
			s.must("S1", "POST", "/v1/customers/"+c.id+"/assignment", map[string]any{"advisorId": c.advisor, "kind": "call_centre_rep"}, 201)
		}
	}
	s.awaitApplied()
}

// accessPages returns every entry of month as the auditor reads them
// (following nextCursor), newest first, with extra query parameters.
func (s *stack) accessPages(month string, extra url.Values) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	q := url.Values{"month": {month}, "limit": {"3"}}
	for k, v := range extra {
		q[k] = v
	}
	for range 1000 {
		page := s.must("U1", "GET", "/v1/audit/access?"+q.Encode(), nil, 200)
		if page["month"] != month {
			s.t.Fatalf("page of month %v, want %s", page["month"], month)
		}
		for _, e := range page["entries"].([]any) {
			out = append(out, e.(map[string]any))
		}
		next, ok := page["nextCursor"].(string)
		if !ok {
			return out
		}
		q.Set("cursor", next)
	}
	s.t.Fatal("hang: nextCursor never ends")
	return nil
}

// entryText is an entry as "staff role action customer detail".
func entryText(e map[string]any) string {
	return strings.TrimSpace(fmt.Sprintf("%v %v %v %v %v", e["staffId"], e["role"], e["action"], e["customerId"], e["detail"]))
}

func entryTexts(es []map[string]any) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, entryText(e))
	}
	return out
}

// expectEntries fails the test unless month's entries, newest first, are
// want (as entryText writes them), and returns them.
func (s *stack) expectEntries(month string, want ...string) []map[string]any {
	s.t.Helper()
	got := s.accessPages(month, nil)
	if texts := entryTexts(got); !slices.Equal(texts, want) {
		s.t.Errorf("entries of %s\n got %q\nwant %q", month, texts, want)
	}
	return got
}

// TestAccessRecordReads: every read of a customer's personal data is in
// the record with who, when (the server clock), where from, whose data
// and what; a rep reaches a customer outside their book by id or whole
// phone only, as a lookup, lists and searches by name their book only;
// failed reads and a 304 record nothing.
func TestAccessRecordReads(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	digest := s.upload("R1", []byte("RIFF-access-audio"))
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, 17), 201)
	s.awaitApplied()
	if got := s.accessPages("2026-11", nil); len(got) != 0 {
		t.Fatalf("entries before any read: %v", entryTexts(got))
	}

	s.must("R1", "GET", "/v1/customers/C1", nil, 200)
	etag := s.req("R1", "GET", "/v1/customers/C1", nil).header.Get("ETag")
	s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", etag) // 304: nothing sent, nothing recorded
	s.must("R1", "GET", "/v1/customers/C2", nil, 200)
	s.must("R1", "GET", "/v1/customers/C2/timeline", nil, 200)
	s.must("R1", "GET", "/v1/customers/C1/timeline", nil, 200)
	s.must("R1", "GET", "/v1/customers/NOSUCH", nil, 404)
	if got := s.must("R1", "GET", "/v1/customers", nil, 200)["items"].([]any); len(got) != 1 || got[0].(map[string]any)["id"] != "C1" {
		t.Errorf("R1 lists %v, want their book: C1", got)
	}
	if a := s.req("R1", "GET", "/v1/customers?advisor=R2", nil); a.status != 403 || a.errCode() != "forbidden" {
		t.Errorf("R1 listing R2's book: %d %s", a.status, a.raw)
	}
	if got := s.searchIDs("R1", "Park Jiwoo"); len(got) != 0 {
		t.Errorf("R1 finds R2's customer by name: %v", got)
	}
	if got := s.searchIDs("R1", "010-2222-0002"); !slices.Equal(got, []string{"C2"}) {
		t.Errorf("R1 by C2's whole phone: %v, want C2 (an inbound caller)", got)
	}
	if got := s.searchIDs("R1", "0002"); len(got) != 0 {
		t.Errorf("R1 by the last four digits of C2's phone: %v, want none (not exact)", got)
	}
	if got := s.searchIDs("R1", "C3"); !slices.Equal(got, []string{"C3"}) {
		t.Errorf("R1 by C3's id: %v", got)
	}
	if got := s.searchIDs("R1", "kim minjun"); !slices.Equal(got, []string{"C1"}) {
		t.Errorf("R1 by their customer's name: %v", got)
	}
	s.must("R1", "GET", "/v1/worklist", nil, 200)
	s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=0-3")
	s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=4-7") // the same playback, seeking
	if got := len(s.must("S1", "GET", "/v1/customers", nil, 200)["items"].([]any)); got != 3 {
		t.Errorf("a supervisor lists %d customers, want all 3", got)
	}
	if got := s.searchIDs("S1", "Lee Seoyeon"); !slices.Equal(got, []string{"C3"}) {
		t.Errorf("a supervisor by name: %v", got)
	}

	got := s.expectEntries("2026-11", // newest first
		"S1 supervisor search_hit C3",
		"S1 supervisor list C3", "S1 supervisor list C2", "S1 supervisor list C1",
		"S1 supervisor recording_play C1 recording "+digest,
		"R1 rep worklist  advisor R1, 1 customers",
		"R1 rep search_hit C1",
		"R1 rep lookup C3",
		"R1 rep lookup C2",
		"R1 rep list C1",
		"R1 rep timeline_view C1",
		"R1 rep lookup C2 timeline",
		"R1 rep lookup C2",
		"R1 rep customer_view C1", "R1 rep customer_view C1",
	)
	for _, e := range got {
		if e["at"] != "2026-11-30T23:59:59Z" || e["from"] != "127.0.0.1" {
			t.Errorf("entry %s at %v from %v, want the server's clock and the client's address", entryText(e), e["at"], e["from"])
		}
		if _, ok := e["position"].(float64); !ok {
			t.Errorf("entry %s has no position: %v", entryText(e), e)
		}
	}
	// No name and no phone is ever in the record.
	raw, _ := json.Marshal(s.logEvents(0))
	for _, clear := range []string{"Kim Minjun", "Park Jiwoo", "010-2222-0002", "kim minjun"} {
		if strings.Contains(string(raw), clear) {
			t.Errorf("the log holds %q in clear", clear)
		}
	}

	// Filters and pages.
	if texts := entryTexts(s.accessPages("2026-11", url.Values{"staff": {"R1"}, "customer": {"C2"}})); !slices.Equal(texts,
		[]string{"R1 rep lookup C2", "R1 rep lookup C2 timeline", "R1 rep lookup C2"}) {
		t.Errorf("R1's reads of C2: %q", texts)
	}
	if es := s.accessPages("2026-11", url.Values{"staff": {"H1"}}); len(es) != 0 {
		t.Errorf("H1 read nothing: %q", entryTexts(es))
	}
	page := s.must("U1", "GET", "/v1/audit/access?month=2026-11&limit=2", nil, 200)
	if es := page["entries"].([]any); len(es) != 2 || page["nextCursor"] == nil {
		t.Errorf("a page of 2: %v", page)
	}
	if es := s.accessPages("2026-10", nil); len(es) != 0 {
		t.Errorf("October: %q", entryTexts(es))
	}
	for _, q := range []string{"", "month=2026-13", "month=26-11", "month=2026-11&staff=a/b", "month=2026-11&customer=%20x%2F",
		"month=2026-11&limit=0", "month=2026-11&limit=1001", "month=2026-11&cursor=x", "month=2026-11&cursor=3.500", "month=2026-11&cursor=-1.0"} {
		a := s.req("U1", "GET", "/v1/audit/access?"+q, nil)
		if a.status != 400 || a.errCode() != "invalid" {
			t.Errorf("?%s: %d %s, want 400 invalid", q, a.status, a.raw)
		}
	}
}

// TestAccessRecordMonthBoundary: a read on the last second of November
// (UTC) is in access-2026-11, one a second later in access-2026-12.
func TestAccessRecordMonthBoundary(t *testing.T) {
	s, clock := accessStack(t, stackOptions{})
	s.must("R1", "GET", "/v1/customers/C1", nil, 200)
	clock.Set(lastSecondOfNovember.Add(time.Second))
	s.must("R1", "GET", "/v1/customers/C2", nil, 200)
	nov, dec := s.accessPages("2026-11", nil), s.accessPages("2026-12", nil)
	if texts := entryTexts(nov); !slices.Equal(texts, []string{"R1 rep customer_view C1"}) || nov[0]["at"] != "2026-11-30T23:59:59Z" {
		t.Errorf("November: %v", nov)
	}
	if texts := entryTexts(dec); !slices.Equal(texts, []string{"R1 rep lookup C2"}) || dec[0]["at"] != "2026-12-01T00:00:00Z" {
		t.Errorf("December: %v", dec)
	}
	if v := s.streamVersion("access-2026-11"); v != 0 {
		t.Errorf("access-2026-11 at version %v, want one batch", v)
	}
}

// TestAccessRecordShutdown: reads still queued when the server shuts down
// are appended before it stops: the server that starts next finds them.
func TestAccessRecordShutdown(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	s.must("R1", "GET", "/v1/customers/C1", nil, 200)
	s.must("P1", "GET", "/v1/customers/C3", nil, 200)
	if got := s.storedAccessReads("2026-11"); len(got) != 0 {
		t.Fatalf("appended before the shutdown: %+v", got)
	}
	s = s.restart()
	evs := s.streamLog("access-2026-11")
	if len(evs) != 1 || evs[0].Type != "PersonalDataRead" || evs[0].Actor != events.System("access") {
		t.Fatalf("after a restart access-2026-11 holds %v", evs)
	}
	s.expectEntries("2026-11", "P1 private_banker lookup C3", "R1 rep customer_view C1")
}

// accessBatch appends a batch of the record of month straight to the log,
// as the recorder does: who read how many distinct customers, by action.
func (s *stack) accessBatch(month string, reads ...events.AccessRead) {
	s.t.Helper()
	start, ok := events.MonthStart(month)
	if !ok {
		s.t.Fatalf("month %q", month)
	}
	for i := 0; i < len(reads); i += events.MaxAccessReads {
		batch := reads[i:min(i+events.MaxAccessReads, len(reads))]
		for j := range batch {
			if batch[j].At.IsZero() {
				batch[j].At = start.Add(time.Hour)
			}
		}
		ev, err := events.NewEvent(&events.PersonalDataRead{Reads: batch}, events.Meta{Actor: events.System("access")})
		if err != nil {
			s.t.Fatal(err)
		}
		if _, err := s.store.Append(context.Background(), events.AccessStream(month), events.Any, ev); err != nil {
			s.t.Fatal(err)
		}
	}
}

// accessReads returns n reads by staff of distinct customers prefix1..prefixN.
func accessReads(staff, role, action, prefix string, n int) []events.AccessRead {
	out := make([]events.AccessRead, n)
	for i := range out {
		out[i] = events.AccessRead{StaffID: staff, Role: role, CustomerID: fmt.Sprintf("%s%d", prefix, i), Action: action}
	}
	return out
}

// TestAccessCheck: the monthly check counts per member and flags far
// more distinct customers than usual (more than 3× the average of the
// earlier months with reads, and more than 50; more than 200 without
// history), customers outside their book, and exports in clear, each at
// its threshold and one past it.
func TestAccessCheck(t *testing.T) {
	clock := eventstest.NewManualClock(time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now})
	for _, m := range []string{"2026-08", "2026-09", "2026-10"} {
		s.accessBatch(m, accessReads("R1", "rep", "customer_view", "A", 20)...) // usual 20
		s.accessBatch(m, accessReads("R2", "rep", "customer_view", "B", 20)...)
	}
	s.accessBatch("2026-09", accessReads("S1", "supervisor", "list", "D", 10)...) // one month with reads: usual 10
	s.accessBatch("2026-07", accessReads("H1", "centre_head", "list", "E", 5)...) // four months back: no history
	nov := slices.Concat(
		accessReads("R1", "rep", "customer_view", "A", 61), // > 60 and > 50: flagged
		accessReads("R1", "rep", "customer_view", "A", 61), // the same customers again: still 61 distinct
		accessReads("R2", "rep", "customer_view", "B", 58), // with the 2 below, 3×20 exactly: not flagged
		accessReads("R2", "rep", "lookup", "X", 2),         // outside the book: flagged
		accessReads("S1", "supervisor", "list", "D", 50),   // > 3×10 but not > 50: not flagged
		accessReads("P1", "private_banker", "list", "F", 201),
		accessReads("H1", "centre_head", "list", "E", 200),
		[]events.AccessRead{{StaffID: "U1", Role: "auditor", Action: "export_clear", Detail: "positions 1..9, 9 events; reason: audit"}},
	)
	s.accessBatch("2026-11", nov...)

	c := s.must("U1", "GET", "/v1/audit/access/check?month=2026-11", nil, 200)
	type line struct {
		id                        string
		reads, customers          float64
		usual                     float64
		outside, lookups, exports float64
		flags                     string
	}
	want := []line{ // the flagged first, then by id
		{"P1", 201, 201, 0, 0, 0, 0, "many_customers"},
		{"R1", 122, 61, 20, 0, 0, 0, "many_customers"},
		{"R2", 60, 60, 20, 2, 2, 0, "outside_book"},
		{"U1", 1, 0, 0, 0, 0, 1, "exports_in_clear"},
		{"H1", 200, 200, 0, 0, 0, 0, ""},
		{"S1", 50, 50, 10, 0, 0, 0, ""},
	}
	staff := c["staff"].([]any)
	if len(staff) != len(want) {
		t.Fatalf("check of %d members, want %d: %v", len(staff), len(want), c)
	}
	for i, w := range want {
		m := staff[i].(map[string]any)
		var flags []string
		for _, f := range m["flags"].([]any) {
			flags = append(flags, f.(string))
		}
		got := line{m["staffId"].(string), m["reads"].(float64), m["customers"].(float64), m["usual"].(float64),
			m["outsideBook"].(float64), m["lookups"].(float64), m["exportsInClear"].(float64), strings.Join(flags, ",")}
		if got != w {
			t.Errorf("line %d\n got %+v\nwant %+v", i, got, w)
		}
	}
	if m := staff[1].(map[string]any); m["name"] != "Rep One" || m["role"] != "rep" {
		t.Errorf("R1's line names %v, %v", m["name"], m["role"])
	}
	if c["flagged"] != float64(4) || c["signOff"] != nil || c["month"] != "2026-11" {
		t.Errorf("check: flagged %v, signOff %v, month %v", c["flagged"], c["signOff"], c["month"])
	}
	// The check counts what was appended since its last look (it keeps
	// its counts and reads on from where it stopped): S1's lookup flags
	// them, fourth of the flagged now.
	s.accessBatch("2026-11", accessReads("S1", "supervisor", "lookup", "D", 1)...)
	again := s.must("U1", "GET", "/v1/audit/access/check?month=2026-11", nil, 200)
	if s1 := again["staff"].([]any)[3].(map[string]any); s1["staffId"] != "S1" || s1["reads"] != float64(51) || s1["customers"] != float64(50) ||
		s1["lookups"] != float64(1) || again["flagged"] != float64(5) {
		t.Errorf("after one more read of S1: %v, flagged %v", s1, again["flagged"])
	}
	if c := s.must("U1", "GET", "/v1/audit/access/check?month=2026-06", nil, 200); len(c["staff"].([]any)) != 0 || c["flagged"] != float64(0) {
		t.Errorf("a month without reads: %v", c)
	}
	for _, q := range []string{"", "?month=", "?month=2026-1", "?month=2026-11-01", "?month=1899-12"} {
		if a := s.req("U1", "GET", "/v1/audit/access/check"+q, nil); a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != "month" {
			t.Errorf("check%s: %d %s", q, a.status, a.raw)
		}
	}
}

// TestAccessSignOff: the auditor signs a month off once, only a month
// that has ended; every bad request is 400 (a second sign-off 409) and
// appends nothing.
func TestAccessSignOff(t *testing.T) {
	clock := eventstest.NewManualClock(time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now})
	s.accessBatch("2026-11", accessReads("R2", "rep", "lookup", "X", 1)...)
	const path = "/v1/audit/access/check/sign-off"
	head := s.head()
	for _, c := range []struct {
		body  any
		hdr   []string
		field string
	}{
		{map[string]any{"month": "2026-11", "note": "ok", "flagged": 0}, nil, "flagged"}, // the server counts
		{map[string]any{"month": "2026-11", "bogus": true}, nil, "bogus"},
		{map[string]any{"note": "no month"}, nil, "month"},
		{map[string]any{"month": "2026-13"}, nil, "month"},
		{map[string]any{"month": "November"}, nil, "month"},
		{map[string]any{"month": 202611}, nil, "month"},
		{map[string]any{"month": "2026-12"}, nil, "month"}, // this month: not over
		{map[string]any{"month": "2027-01"}, nil, "month"}, // the future
		{map[string]any{"month": "2026-11", "note": strings.Repeat("가", 2001)}, nil, "note"},
		{map[string]any{"month": "2026-11", "note": "bell\x07"}, nil, "note"},
		{map[string]any{"month": "2026-11"}, []string{"If-Match", `"0"`}, "If-Match"},
		{"[]", nil, ""},
		{"{", nil, ""},
	} {
		a := s.req("U1", "POST", path, c.body, c.hdr...)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != nilIfEmpty(c.field) {
			t.Errorf("%v: %d %s, want 400 invalid on %q", c.body, a.status, a.raw, c.field)
		}
	}
	if a := s.req("U1", "POST", path, map[string]any{"month": "2026-12"}); !strings.Contains(string(a.raw), "2026-12") {
		t.Errorf("the refusal of this month does not say which month it is: %s", a.raw)
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("bad sign-offs appended %v", evs)
	}

	res := s.must("U1", "POST", path, map[string]any{"month": "2026-11", "note": "R2's lookup was an inbound caller"}, 201)
	if res["stream"] != "access-check-2026-11" || res["version"] != float64(0) {
		t.Errorf("sign-off appended %v", res)
	}
	so := s.must("U1", "GET", "/v1/audit/access/check?month=2026-11", nil, 200)["signOff"].(map[string]any)
	if so["by"] != "U1" || so["at"] != "2026-12-01T00:00:30Z" || so["note"] != "R2's lookup was an inbound caller" || so["flagged"] != float64(1) {
		t.Errorf("signOff %v", so)
	}
	evs := s.streamLog("access-check-2026-11")
	if len(evs) != 1 || evs[0].Type != "AccessCheckSignedOff" || evs[0].Actor.ID != "U1" || evs[0].Actor.Role != "auditor" {
		t.Fatalf("access-check-2026-11: %v", evs)
	}
	head = s.head()
	if a := s.req("U1", "POST", path, map[string]any{"month": "2026-11", "note": "again"}); a.status != 409 || a.errCode() != "conflict" {
		t.Errorf("a second sign-off: %d %s, want 409", a.status, a.raw)
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Errorf("the second sign-off appended %v", evs)
	}
	// A retry of the first with its key gets the first answer.
	key := events.NewID().String()
	first := s.must("U1", "POST", path, map[string]any{"month": "2026-10"}, 201, "Idempotency-Key", key)
	if again := s.must("U1", "POST", path, map[string]any{"month": "2026-10"}, 201, "Idempotency-Key", key); again["position"] != first["position"] {
		t.Errorf("the retry answered %v, the first %v", again, first)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestAccessRecordConsole: the console's customer page, its timeline
// pages and its search are in the record as the API's reads are, with the
// member of the session; a page as of a date is recorded once, by the
// API route it runs.
func TestAccessRecordConsole(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	r1, s1 := signIn(s, "R1"), signIn(s, "S1")
	r1.must("/customers/C1", 200)
	r1.must("/customers/C2", 200)
	r1.must("/customers/C1/timeline", 200)
	r1.must("/customers/C1?asOf=2026-12-01", 200) // today in Seoul: the view as of now
	r1.mustSearch("Kim Minjun", 200)
	r1.mustSearch("Park Jiwoo", 200) // R2's customer: not found by name
	s1.mustSearch("Park Jiwoo", 200)
	got := s.expectEntries("2026-11",
		"S1 supervisor search_hit C2",
		"R1 rep search_hit C1",
		"R1 rep customer_view C1 as of 2026-11-30T23:59:59Z",
		"R1 rep timeline_view C1",
		"R1 rep lookup C2",
		"R1 rep customer_view C1",
	)
	for _, e := range got {
		if e["from"] != "127.0.0.1" {
			t.Errorf("entry %s from %v, want the browser's address", entryText(e), e["from"])
		}
	}
}

// TestAccessRecordBehindProxy: behind a trusted proxy, an entry's address
// is the client's from X-Forwarded-For; from anyone else the header is
// ignored.
func TestAccessRecordBehindProxy(t *testing.T) {
	proxy := netip.MustParsePrefix("127.0.0.0/8")
	s, _ := accessStack(t, stackOptions{configure: func(c *api.Config) { c.TrustedProxies = []netip.Prefix{proxy} }})
	s.must("R1", "GET", "/v1/customers/C1", nil, 200, "X-Forwarded-For", "198.51.100.9, 127.0.0.2")
	got := s.accessPages("2026-11", nil)
	if len(got) != 1 || got[0]["from"] != "198.51.100.9" {
		t.Errorf("entries %v, want one from 198.51.100.9", got)
	}
}
