package api_test

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The auditor's export builder and access record over real HTTP: the
// preview and the download are the API's export, a clear export needs its
// reason and is recorded, the monthly check shows what the API's check
// says and is signed off once; no other role opens either screen.

// auditor signs U1 in to the console and returns the browser.
func auditor(s *stack) *webUser {
	s.t.Helper()
	u := newWebUser(s)
	u.setPassword("U1", signinPassword)
	return u
}

// exportLines checks that body is JSON Lines of CloudEvents and returns them.
func exportLines(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ce map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ce); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200s", len(out)+1, err, sc.Text())
		}
		if ce["specversion"] != "1.0" || ce["id"] == nil || ce["position"] == nil {
			t.Fatalf("line %d is not a CloudEvent of the export: %.300s", len(out)+1, sc.Text())
		}
		out = append(out, ce)
	}
	return out
}

var (
	fieldMsgRe = regexp.MustCompile(`(?s)<span class="msg" id="([a-z-]+)-msg" role="alert">(.*?)</span>`)
	countRe    = regexp.MustCompile(`id="export-count" data-count="(\d+)"`)
)

// fieldMessages are the messages the page shows next to its inputs, by
// input id.
func (a webAnswer) fieldMessages() map[string]string {
	out := map[string]string{}
	for _, m := range fieldMsgRe.FindAllStringSubmatch(a.body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// downloadTrailers posts the export form and returns the answer's
// Dangol-Count and Dangol-Sha256 trailers, read after its body, and its
// Content-Length (-1 when streamed).
func (u *webUser) downloadTrailers(form url.Values) (count, sha string, length int64) {
	u.s.t.Helper()
	req, err := http.NewRequestWithContext(u.s.t.Context(), "POST", u.base+"/audit/export", strings.NewReader(form.Encode()))
	if err != nil {
		u.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := u.client.Do(req)
	if err != nil {
		u.s.t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		u.s.t.Fatal(err)
	}
	return res.Trailer.Get("Dangol-Count"), res.Trailer.Get("Dangol-Sha256"), res.ContentLength
}

// accessEntries are the access record's entries of month with action,
// read through the API as the auditor.
func (s *stack) accessEntries(month, action string) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	for _, e := range s.must("U1", "GET", "/v1/audit/access?month="+month, nil, 200)["entries"].([]any) {
		if m := e.(map[string]any); m["action"] == action {
			out = append(out, m)
		}
	}
	return out
}

// TestConsoleAuditExport: the builder previews the whole log by default
// (the count the download then holds); the export downloads as JSON Lines
// and its manifest as JSON; a clear export without a reason, or with one
// too short, is refused next to the reason and nothing is exported or
// recorded; with a reason it downloads and the access record has it; a
// range the API refuses is shown next to its input.
func TestConsoleAuditExport(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedBook()
	sealed := s.sealNow()
	s.must("R1", "POST", "/v1/customers/C101/consents", map[string]any{"channel": "email", "purpose": "marketing", "granted": true}, 201) // after the seal
	u := auditor(s)
	want := int(sealed.TreeSize) // by default, what the latest seal covers

	a := u.mustStatus(u.get("/audit/export"), 200, "the export builder")
	m := countRe.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no preview count on the builder:\n%.3000s", a.body)
	}
	if m[1] != strconv.Itoa(want) {
		t.Errorf("the preview counts %s events, the latest seal covers %d", m[1], want)
	}
	if !strings.Contains(a.body, `id="ex-to" name="to" value="`+sealed.ToPosition.String()+`"`) || !strings.Contains(a.body, sealed.Hash.String()) {
		t.Errorf("the builder's range does not end at the latest seal (to %s, hash %s)", sealed.ToPosition, sealed.Hash)
	}
	to := sealed.ToPosition.String()
	// A range typed: counted by the manifest, the events after from up to
	// to included.
	evs, err := s.store.ReadAll(t.Context(), events.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	from := evs[9].Position
	var inRange int
	for _, e := range evs {
		if from.Less(e.Position) && !sealed.ToPosition.Less(e.Position) {
			inRange++
		}
	}
	r := u.mustStatus(u.get("/audit/export?from="+from.String()+"&to="+to), 200, "a range previewed")
	if m := countRe.FindStringSubmatch(r.body); m == nil || m[1] != strconv.Itoa(inRange) {
		t.Errorf("the preview of %s..%s counts %v, the log holds %d events there", from, to, m, inRange)
	}
	if !strings.Contains(r.body, `<code class="hash"`) || !strings.Contains(r.body, sealed.Hash.String()) {
		t.Errorf("the preview of %s..%s does not name the latest seal as covering it (%s)", from, to, sealed.Hash)
	}
	a = u.post("/audit/export", url.Values{"_csrf": {u.csrf}, "from": {from.String()}, "to": {to}, "what": {"events"}})
	if lines := exportLines(t, a.body); a.status != 200 || len(lines) != inRange || lines[0]["position"] != evs[10].Position.String() {
		t.Errorf("the export of %s..%s: %d, %d lines, want %d from %s", from, to, a.status, len(lines), inRange, evs[10].Position)
	}
	csrf := u.csrf

	// The export, plain.
	a = u.post("/audit/export", url.Values{"_csrf": {csrf}, "from": {""}, "to": {to}, "what": {"events"}})
	if a.status != 200 || !strings.Contains(a.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d, Content-Disposition %q\n%.1000s", a.status, a.header.Get("Content-Disposition"), a.body)
	}
	if lines := exportLines(t, a.body); len(lines) != want {
		t.Errorf("the export holds %d lines, the log %d events", len(lines), want)
	}
	// Streamed, not held: chunked, with the API's trailers after the body.
	if n, sum, length := u.downloadTrailers(url.Values{"_csrf": {csrf}, "to": {to}, "what": {"events"}}); n != strconv.Itoa(want) || len(sum) != 64 || length != -1 {
		t.Errorf("the download's trailers: count %q, sha256 %q, Content-Length %d (want %d, 64 hex digits, -1: streamed)", n, sum, length, want)
	}
	// Its manifest.
	a = u.post("/audit/export", url.Values{"_csrf": {csrf}, "to": {to}, "what": {"manifest"}})
	var man map[string]any
	if a.status != 200 || json.Unmarshal([]byte(a.body), &man) != nil || man["count"] != float64(want) || man["clear"] != false {
		t.Errorf("manifest: %d %.500s", a.status, a.body)
	}

	// In clear without a usable reason: refused next to it.
	for _, reason := range []string{"", "ab"} {
		a = u.post("/audit/export", url.Values{"_csrf": {csrf}, "to": {to}, "clear": {"1"}, "reason": {reason}, "what": {"events"}})
		if a.status != http.StatusBadRequest || a.fieldMessages()["ex-reason"] == "" || a.header.Get("Content-Disposition") != "" {
			t.Errorf("clear with reason %q: %d, messages %v, Content-Disposition %q", reason, a.status, a.fieldMessages(), a.header.Get("Content-Disposition"))
		}
	}
	month := s.now().Format("2006-01")
	// With one: exported, and recorded with the auditor and the reason.
	const reason = "Court order 2026-117"
	a = u.post("/audit/export", url.Values{"_csrf": {csrf}, "to": {to}, "clear": {"1"}, "reason": {reason}, "what": {"events"}})
	if a.status != 200 || !strings.Contains(a.header.Get("Content-Disposition"), "clear") {
		t.Fatalf("clear download: %d %q\n%.1000s", a.status, a.header.Get("Content-Disposition"), a.body)
	}
	if lines := exportLines(t, a.body); len(lines) != want {
		t.Errorf("the clear export holds %d lines, the range %d events", len(lines), want)
	}
	s.waitUntil("the clear export in the access record", func() bool {
		for _, e := range s.accessEntries(month, "export_clear") {
			if e["staffId"] == "U1" && strings.Contains(stringOf(e["detail"]), reason) {
				return true
			}
		}
		return false
	})

	// A range the API refuses, next to its input.
	a = u.mustStatus(u.get("/audit/export?from=abc"), http.StatusBadRequest, "a malformed from")
	if a.fieldMessages()["ex-from"] == "" {
		t.Errorf("no message next to from: %v\n%.2000s", a.fieldMessages(), a.body)
	}
}

// TestConsoleAuditAccessRefused: only the auditor opens the builder and
// the record; a download or a sign-off without the session's form token
// does nothing.
func TestConsoleAuditAccessRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	rep := newWebUser(s)
	rep.setPassword("R1", signinPassword)
	for _, path := range []string{"/audit/export", "/audit/access"} {
		rep.mustStatus(rep.get(path), http.StatusForbidden, "a rep opening "+path)
	}
	rep.mustStatus(rep.post("/audit/export", url.Values{"what": {"events"}}), http.StatusForbidden, "a rep downloading the export")
	rep.mustStatus(rep.post("/audit/access/sign-off", url.Values{"month": {"2026-10"}}), http.StatusForbidden, "a rep signing off")

	u := auditor(s)
	u.mustStatus(u.get("/audit/export"), 200, "the export builder")
	a := u.post("/audit/export", url.Values{"_csrf": {"forged"}, "what": {"events"}})
	if a.status != http.StatusForbidden || a.header.Get("Content-Disposition") != "" {
		t.Errorf("a download with a forged token: %d, Content-Disposition %q", a.status, a.header.Get("Content-Disposition"))
	}
	a = u.post("/audit/access/sign-off", url.Values{"_csrf": {"forged"}, "month": {"2026-10"}})
	if a.status != http.StatusForbidden {
		t.Errorf("a sign-off with a forged token: %d", a.status)
	}
	if evs, err := s.store.ReadStream(t.Context(), "access-check-2026-10", 0, events.Forward, 10); err == nil && len(evs) > 0 {
		t.Errorf("a refused sign-off appended %v", evs[0].Type)
	}
}

// accessMonth seeds an October of reads: rep R1 works their book (C101,
// C102) and looks up C201, a customer of rep R2's book, by its id; the
// clock then moves to November. It returns the clock.
func accessMonth(t *testing.T) (*stack, *eventstest.ManualClock) {
	t.Helper()
	clock := eventstest.NewManualClock(time.Date(2026, 10, 20, 1, 0, 0, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now})
	s.seedBook()
	s.must("R2", "POST", "/v1/customers", withField(newCustomer("C201"), "name", "정하늘"), 201)
	s.must("S1", "POST", "/v1/customers/C201/assignment", map[string]any{"advisorId": "R2", "kind": "call_centre_rep"}, 201)
	s.awaitApplied()
	for _, id := range []string{"C101", "C102", "C201"} {
		s.must("R1", "GET", "/v1/customers/"+id, nil, 200)
	}
	s.waitUntil("R1's lookup of C201 in the access record", func() bool {
		for _, e := range s.accessEntries("2026-10", "lookup") {
			if e["staffId"] == "R1" && e["customerId"] == "C201" {
				return true
			}
		}
		return false
	})
	clock.Set(eventstest.Epoch)
	return s, clock
}

// TestConsoleAuditAccessRecord: the record opens on last month; its check
// flags R1 for the customer outside their book, the entries list the
// lookup newest first and filter by staff and customer; the sign-off of
// the current month is refused with the API's message next to the note,
// last month's is recorded once, and the page then says who signed and
// when; signing again is refused.
func TestConsoleAuditAccessRecord(t *testing.T) {
	s, clock := accessMonth(t)
	u := auditor(s)

	a := u.mustStatus(u.get("/audit/access"), 200, "the access record")
	if !strings.Contains(a.body, `id="ac-month" name="month" type="month" value="2026-10"`) {
		t.Errorf("the record did not open on last month (2026-10)")
	}
	row := regexp.MustCompile(`(?s)<tr data-staff="R1"([^>]*)>(.*?)</tr>`).FindStringSubmatch(a.body)
	if row == nil || !strings.Contains(row[1], `data-flagged="true"`) || !strings.Contains(row[2], `data-flag="outside_book"`) {
		t.Fatalf("R1's row of the check is not flagged outside their book: %q", row)
	}
	lookup := regexp.MustCompile(`(?s)<tr data-action="lookup" data-customer="C201">(.*?)</tr>`).FindStringSubmatch(a.body)
	if lookup == nil || !strings.Contains(lookup[1], `href="/audit/streams/customer-C201"`) || !strings.Contains(lookup[1], "R1") {
		t.Errorf("no lookup entry of C201 by R1 linking to its stream: %q", lookup)
	}
	f := u.mustStatus(u.get("/audit/access?month=2026-10&customer=C201"), 200, "filtered by customer")
	if n := strings.Count(f.body, `<tr data-action=`); n == 0 || strings.Count(f.body, `data-customer="C201"`) != n {
		t.Errorf("the filter by customer C201 shows %d entries, not all of C201", n)
	}
	f = u.mustStatus(u.get("/audit/access?month=2026-10&staff=R2"), 200, "filtered by staff")
	if strings.Contains(f.body, `<tr data-action="lookup"`) {
		t.Errorf("the filter by staff R2 shows R1's lookup")
	}

	// A month the API refuses: its message next to the month's input.
	a = u.get("/audit/access?month=2026-13")
	if a.status != http.StatusBadRequest || a.fieldMessages()["ac-month"] == "" || !strings.Contains(a.body, `id="ac-month" name="month" type="month" value="2026-13"`) {
		t.Errorf("the month 2026-13: %d, messages %v", a.status, a.fieldMessages())
	}

	// The current month: refused next to the note.
	u.get("/audit/access?month=2026-11")
	a = u.post("/audit/access/sign-off", url.Values{"month": {"2026-11"}, "note": {"too early"}})
	if a.status != http.StatusBadRequest || a.fieldMessages()["so-note"] == "" || !strings.Contains(a.body, "too early") {
		t.Errorf("signing the current month off: %d, messages %v", a.status, a.fieldMessages())
	}
	if evs, err := s.store.ReadStream(t.Context(), "access-check-2026-11", 0, events.Forward, 10); err == nil && len(evs) > 0 {
		t.Errorf("the refused sign-off appended %s", evs[0].Type)
	}

	// Last month: signed once, shown with who and when.
	form := u.get("/audit/access?month=2026-10")
	key := regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(form.body)
	if key == nil {
		t.Fatal("the sign-off form has no Idempotency-Key")
	}
	const note = "R1's lookup of C201 was an inbound call; fine."
	signed := url.Values{"month": {"2026-10"}, "note": {note}, "_key": {key[1]}}
	a = u.post("/audit/access/sign-off", signed)
	u.mustRedirect(a, "/audit/access?done=signed&month=2026-10", "the sign-off")
	// The same form sent again (a double click, a lost answer): the same
	// answer, nothing more appended.
	u.mustRedirect(u.post("/audit/access/sign-off", signed), "/audit/access?done=signed&month=2026-10", "the sign-off sent again")
	a = u.mustStatus(u.get(a.location), 200, "the record after the sign-off")
	done := regexp.MustCompile(`(?s)<dl class="kv" id="signoff-done">(.*?)</dl>`).FindStringSubmatch(a.body)
	if done == nil || !strings.Contains(done[1], "Auditor One") || !strings.Contains(done[1], clock.Now().In(kst).Format(time.DateTime)) ||
		!strings.Contains(html.UnescapeString(done[1]), note) || strings.Contains(a.body, `id="signoff-form"`) {
		t.Errorf("the signed month does not show who, when and the note: %q", done)
	}
	evs := s.streamLog("access-check-2026-10")
	if len(evs) != 1 || evs[0].Type != "AccessCheckSignedOff" || evs[0].Actor.ID != "U1" {
		t.Fatalf("access-check-2026-10 holds %v", evs)
	}
	// Again (a form of before the sign-off, resubmitted with a new key):
	// refused, nothing more appended.
	a = u.post("/audit/access/sign-off", url.Values{"month": {"2026-10"}, "note": {"again"}, "_key": {events.NewID().String()}})
	if a.status != http.StatusConflict || a.fieldMessages()["so-note"] == "" {
		t.Errorf("a second sign-off: %d, messages %v", a.status, a.fieldMessages())
	}
	if evs := s.streamLog("access-check-2026-10"); len(evs) != 1 {
		t.Errorf("the second sign-off appended: %d events", len(evs))
	}
}

func stringOf(v any) string { s, _ := v.(string); return s }

// TestConsoleAuditAccessPages: the entries come 50 a page, the next page
// through the API's cursor, with the month and filters kept; together the
// pages are every entry of the month.
func TestConsoleAuditAccessPages(t *testing.T) {
	clock := eventstest.NewManualClock(time.Date(2026, 10, 20, 1, 0, 0, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now})
	s.seedBook()
	for range 60 {
		s.must("R1", "GET", "/v1/customers/C101", nil, 200)
	}
	s.waitUntil("R1's reads in the access record", func() bool { return len(s.accessEntries("2026-10", "customer_view")) >= 60 })
	clock.Set(eventstest.Epoch)
	u := auditor(s)
	total := len(s.must("U1", "GET", "/v1/audit/access?month=2026-10&staff=R1&limit=1000", nil, 200)["entries"].([]any))

	olderRe := regexp.MustCompile(`href="/audit/access\?([^"#]+)#entries" id="entries-older"`)
	seen, page := 0, "/audit/access?month=2026-10&staff=R1"
	for n := 0; page != ""; n++ {
		a := u.mustStatus(u.get(page), 200, "page "+strconv.Itoa(n))
		rows := strings.Count(a.body, `<tr data-action=`)
		if rows == 0 || rows > 50 {
			t.Fatalf("page %d shows %d entries", n, rows)
		}
		seen += rows
		page = ""
		if m := olderRe.FindStringSubmatch(a.body); m != nil {
			q, err := url.ParseQuery(html.UnescapeString(m[1]))
			if err != nil || q.Get("month") != "2026-10" || q.Get("staff") != "R1" || q.Get("cursor") == "" {
				t.Fatalf("the older entries' link %q lost the month, the filter or the cursor", m[1])
			}
			page = "/audit/access?" + html.UnescapeString(m[1])
		}
	}
	if seen != total || total < 60 {
		t.Errorf("the pages show %d entries, the month has %d of R1", seen, total)
	}
}

// TestConsoleAuditExportNoSealer: a server that keeps no tree (sealing
// off) still exports, as the API does: the builder opens on the whole log,
// with no seal to cover it, and the download holds every event.
func TestConsoleAuditExportNoSealer(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Tree, c.SealKey = nil, nil }})
	s.seedBook()
	u := auditor(s)
	a := u.mustStatus(u.get("/audit/export"), 200, "the export builder without a sealer")
	if strings.Contains(a.body, `<code class="hash"`) {
		t.Errorf("the builder names a covering seal on a server that does not seal")
	}
	a = u.mustStatus(u.get("/audit/export?from=&to="), 200, "a preview without a sealer")
	want := len(s.logAll())
	if m := countRe.FindStringSubmatch(a.body); m == nil || m[1] != strconv.Itoa(want) {
		t.Errorf("the preview counts %v, the log holds %d events", m, want)
	}
	a = u.post("/audit/export", url.Values{"_csrf": {u.csrf}, "what": {"events"}})
	if lines := exportLines(t, a.body); a.status != 200 || len(lines) != want {
		t.Errorf("the download without a sealer: %d, %d lines, want %d", a.status, len(lines), want)
	}
}
