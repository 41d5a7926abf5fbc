package api_test

import (
	"fmt"
	"html"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seal"
)

// The auditor's seal, log and stream screens over real HTTP against the
// whole stack: what they show of the log, the stream as of a point and
// between two, the seals and their proofs, and that nobody else opens them.

// auditBook writes customer C1's stream over three days before the clock's
// now: registered, assigned and marketing granted two days before (versions
// 0–2), marketing withdrawn and a contact the day before (3–4); and thirty
// contacts with C2, so that the log runs over more than one page.
func auditBook(t *testing.T) (*stack, *eventstest.ManualClock) {
	t.Helper()
	clock := eventstest.NewManualClock(eventstest.Epoch.Add(-48 * time.Hour))
	s := newStack(t, stackOptions{now: clock.Now, sealEvery: 10_000}) // a setting as a bank's; the book never reaches it: only sealNow seals
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/consents", map[string]any{"channel": "phone", "purpose": "marketing", "granted": true}, 201)
	clock.Set(eventstest.Epoch.Add(-24 * time.Hour))
	s.must("R1", "POST", "/v1/customers/C1/consents", map[string]any{"channel": "phone", "purpose": "marketing", "granted": false}, 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", auContact(clock, "예금 만기 안내"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	for i := range 30 {
		s.must("R1", "POST", "/v1/customers/C2/contacts", auContact(clock, fmt.Sprintf("안내 %d", i)), 201)
	}
	clock.Set(eventstest.Epoch)
	s.awaitApplied()
	return s, clock
}

// auContact is a contact logged an hour before clock's now.
func auContact(clock *eventstest.ManualClock, summary string) map[string]any {
	return withField(newContact(summary), "occurredAt", clock.Now().Add(-time.Hour).Format(time.RFC3339))
}

var (
	auRowRe     = regexp.MustCompile(`<tr id="v(\d+)" data-version="\d+"`)
	auLogRowRe  = regexp.MustCompile(`<tr data-position="([^"]+)"`)
	auChangeRe  = regexp.MustCompile(`(?s)<tr data-field="([^"]+)"><td>.*?</td><td class="au-old">([^<]*)</td><td class="au-new">([^<]*)</td></tr>`)
	auFieldRe   = regexp.MustCompile(`<dt>([^<]+)</dt><dd>([^<]*)</dd>`)
	auMessageRe = regexp.MustCompile(`<span class="msg" id="([a-z]+)-msg" role="alert">([^<]+)</span>`)
)

// versions are the stream versions a stream page lists, in order.
func (p page) versions() []string {
	var out []string
	for _, m := range auRowRe.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

// section returns the HTML of the element with id, up to its closing tag
// (the first </section>, </table> or </dl> after it, by its tag).
func (p page) section(id string) string {
	m := regexp.MustCompile(`(?s)<(section|table|dl|div)[^>]* id="` + id + `"[^>]*>.*?</(section|table|dl|div)>`).FindString(p.body)
	return m
}

// message returns the field message shown with form field prefix ("" none).
func (p page) message(prefix string) string {
	for _, m := range auMessageRe.FindAllStringSubmatch(p.body, -1) {
		if m[1] == prefix {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

// TestConsoleAuditStream: a customer's stream with every event's hashes and
// chain, its personal fields as the ciphertext stored; the stream as of a
// date and as of a position, with the customer's view then; what changed
// between two versions, with the events between; bad input refused with
// the field's message.
func TestConsoleAuditStream(t *testing.T) {
	s, _ := auditBook(t)
	u := signIn(s, "U1")
	log := s.streamLog("customer-C1")
	if len(log) != 5 {
		t.Fatalf("customer-C1 has %d events, want 5", len(log))
	}
	en := []string{"Accept-Language", "en"}

	p := u.must("/audit/streams/customer-C1", 200, en...)
	if got := strings.Join(p.versions(), ","); got != "0,1,2,3,4" {
		t.Fatalf("versions shown %s, want 0,1,2,3,4", got)
	}
	if n := strings.Count(p.body, `class="au-ok"`); n != 5 {
		t.Errorf("%d chain checks shown, want 5 (every event links to the one before)", n)
	}
	if !strings.Contains(p.body, "every hash and chain link on this page holds") {
		t.Errorf("the page does not say its chain holds:\n%s", p.section("au-summary"))
	}
	for _, e := range log {
		if !strings.Contains(p.body, e.Hash.String()) || !strings.Contains(p.body, `title="`+e.PrevHash.String()+`"`) {
			t.Errorf("version %d: its hash or previous hash is not shown", e.Version)
		}
	}
	if strings.Contains(p.body, "김민준") || strings.Contains(p.body, "010-1234-5678") {
		t.Error("the stream page shows a personal field in clear")
	}
	if n := strings.Count(p.body, `<span class="tag sealed">encrypted</span> <code class="h" title="pii:v1:`); n < 5 {
		t.Errorf("%d ciphertexts shown as such, want the registration's five personal fields at least", n)
	}
	if !strings.Contains(p.body, `href="/customers/C1"`) {
		t.Error("no link to the customer page")
	}

	// As of the end of the first day (KST): versions 0–2, marketing granted.
	day1 := log[0].RecordedAt.In(kst).Format(time.DateOnly)
	p = u.must("/audit/streams/customer-C1?asOf="+day1, 200, en...)
	if got := strings.Join(p.versions(), ","); got != "0,1,2" {
		t.Errorf("as of %s: versions %s, want 0,1,2", day1, got)
	}
	fields := map[string]string{}
	for _, m := range auFieldRe.FindAllStringSubmatch(p.section("au-asof-fields"), -1) {
		fields[m[1]] = html.UnescapeString(m[2])
	}
	if fields["consents[phone/marketing].granted"] != "true" || fields["name"] != "김민준 C1" || fields["advisor.id"] != "R1" {
		t.Errorf("as of %s the customer is %v", day1, fields)
	}
	// As of the position of version 3: withdrawn.
	p = u.must("/audit/streams/customer-C1?at="+log[3].Position.String(), 200, en...)
	if got := strings.Join(p.versions(), ","); got != "0,1,2,3" {
		t.Errorf("as of position %s: versions %s, want 0,1,2,3", log[3].Position, got)
	}
	if !strings.Contains(p.section("au-asof-fields"), "<dt>consents[phone/marketing].granted</dt><dd>false</dd>") {
		t.Errorf("as of version 3 marketing is not withdrawn:\n%s", p.section("au-asof-fields"))
	}

	// Between versions 1 and 3 (given either way round): the consent, from
	// absent to granted to withdrawn, is false; the events after 1 up to 3.
	for _, q := range []string{"a=1&b=3", "a=3&b=1"} {
		p = u.must("/audit/streams/customer-C1?"+q, 200, en...)
		changed := map[string][2]string{}
		for _, m := range auChangeRe.FindAllStringSubmatch(p.body, -1) {
			changed[m[1]] = [2]string{html.UnescapeString(m[2]), html.UnescapeString(m[3])}
		}
		if got := changed["consents[phone/marketing].granted"]; got != [2]string{"—", "false"} {
			t.Errorf("%s: the marketing consent changed %v, want — → false (all changes: %v)", q, got, changed)
		}
		if _, ok := changed["advisor.id"]; ok {
			t.Errorf("%s: the advisor, the same at both versions, is listed as changed", q)
		}
		if got := strings.Join(p.versions(), ","); got != "2,3" {
			t.Errorf("%s: the events between are versions %s, want 2,3", q, got)
		}
	}

	for q, want := range map[string][2]string{
		"a=1&b=1":                        {"diff", "Give two different versions."},
		"a=one&b=3":                      {"diff", "Must be a whole number, 0 or more."},
		"a=1&b=9":                        {"diff", "Is not a version of this stream."},
		"asOf=2026-13-01":                {"asof", "Must be a date such as 2026-11-25."},
		"asOf=2099-01-01":                {"asof", "must not be after today"},
		"at=x":                           {"asof", "Must be a log position."},
		"asOf=" + day1 + "&at=3":         {"asof", "Give a date or a position, not both."},
		"a=1&b=3&from=0&asOf=" + day1:    {"", ""},
		"from=2":                         {"", ""},
		"asOf=" + day1 + "&from=zero":    {"", ""},
		"at=" + log[0].Position.String(): {"", ""},
	} {
		// Reads are queued for the access record (the stack never flushes
		// on a timer): flushed before both counts, a read a refused page
		// recorded shows as an event appended.
		before := len(s.flushedLog())
		p := u.get("/audit/streams/customer-C1?"+q, en...)
		if want[0] == "" {
			if p.status != 200 {
				t.Errorf("%s: %d, want 200", q, p.status)
			}
			continue
		}
		if p.status != 400 || !strings.Contains(strings.ToLower(p.message(want[0])), strings.ToLower(want[1])) {
			t.Errorf("%s: %d with %q, want 400 with %q", q, p.status, p.message(want[0]), want[1])
		}
		if after := len(s.flushedLog()); after != before {
			t.Errorf("%s: %d events appended", q, after-before)
		}
	}
	if p := u.get("/audit/streams/customer-C1?from=zero"); p.status != 400 {
		t.Errorf("from=zero: %d, want 400", p.status)
	}

	// A non-customer stream: the latest value of each event field.
	p = u.must("/audit/streams/staff-R1?a=0&b=1", 200, en...)
	if !strings.Contains(p.body, "the latest value of each event field") || len(auChangeRe.FindAllString(p.body, -1)) == 0 {
		t.Errorf("staff-R1 versions 0 → 1: no field changes:\n%s", p.section("au-diff"))
	}

	// The picker.
	if a := u.get("/audit/streams?stream=customer-C1"); a.status != 303 || a.header.Get("Location") != "/audit/streams/customer-C1" {
		t.Errorf("the picker: %d to %q", a.status, a.header.Get("Location"))
	}
	if a := u.get("/audit/streams?stream="+url.QueryEscape("no such stream"), en...); a.status != 400 || a.message("stream") != "Is not a stream name." {
		t.Errorf("a bad stream name: %d %q", a.status, a.message("stream"))
	}
	if a := u.get("/audit/streams/customer-C9"); a.status != 404 {
		t.Errorf("a stream that does not exist: %d", a.status)
	}
}

// TestConsoleAuditLog: the whole log in position order, a page at a time,
// from a position typed (included) or after the previous page's last.
func TestConsoleAuditLog(t *testing.T) {
	s, _ := auditBook(t)
	u := signIn(s, "U1")
	all := s.logAll()
	if len(all) <= 50 {
		t.Fatalf("the log has %d events: the test wants more than a page", len(all))
	}
	p := u.must("/audit/log", 200)
	got := auLogRowRe.FindAllStringSubmatch(p.body, -1)
	if len(got) != 50 {
		t.Fatalf("the first page shows %d events, want 50", len(got))
	}
	for i, m := range got {
		if m[1] != all[i].Position.String() {
			t.Fatalf("row %d is position %s, want %s", i, m[1], all[i].Position)
		}
	}
	next := regexp.MustCompile(`href="(/audit/log\?after=[^"]+)" rel="next"`).FindStringSubmatch(p.body)
	if next == nil {
		t.Fatal("no next page")
	}
	p = u.must(html.UnescapeString(next[1]), 200)
	got = auLogRowRe.FindAllStringSubmatch(p.body, -1)
	if len(got) != len(all)-50 || got[0][1] != all[50].Position.String() {
		t.Errorf("the second page starts at %v (%d rows), want %s (%d)", got[0][1], len(got), all[50].Position, len(all)-50)
	}
	if strings.Contains(p.body, `rel="next"`) {
		t.Error("the last page has a next page")
	}
	if !strings.Contains(p.body, `rel="prev"`) {
		t.Error("the second page has no previous page")
	}
	at := all[7]
	p = u.must("/audit/log?from="+at.Position.String(), 200)
	if got = auLogRowRe.FindAllStringSubmatch(p.body, -1); got[0][1] != at.Position.String() {
		t.Errorf("from=%s starts at %s", at.Position, got[0][1])
	}
	if !strings.Contains(p.body, `href="/audit/streams/`+at.Stream+`?from=`+fmt.Sprint(at.Version)+`#v`) {
		t.Errorf("the row of %s@%d does not link to its stream there", at.Stream, at.Version)
	}
	if a := u.get("/audit/log?from=ten", "Accept-Language", "en"); a.status != 400 || a.message("from") != "Must be a log position." {
		t.Errorf("from=ten: %d %q", a.status, a.message("from"))
	}
}

// TestConsoleAuditSeals: the seal page before any seal, then with the latest
// seal, its checkpoint and key, the verification of the log; a seal's page
// with the inclusion proof of an event and its consistency with the others.
func TestConsoleAuditSeals(t *testing.T) {
	s, clock := auditBook(t)
	u := signIn(s, "U1")
	en := []string{"Accept-Language", "en"}
	if p := u.must("/audit", 200, en...); !strings.Contains(p.section("au-latest"), "No seal yet.") {
		t.Errorf("before the first seal:\n%s", p.section("au-latest"))
	}
	first := s.sealNow()
	s.must("R1", "POST", "/v1/customers/C1/contacts", auContact(clock, "재안내"), 201)
	latest := s.sealNow()
	s.awaitApplied()

	p := u.must("/audit", 200, en...)
	box := p.section("au-latest")
	for _, want := range []string{`href="/audit/seals/1"`, latest.MerkleRoot, latest.Hash.String(), fmt.Sprintf("%d events", latest.TreeSize)} {
		if !strings.Contains(box, want) {
			t.Errorf("the latest seal's box lacks %q:\n%s", want, box)
		}
	}
	if !strings.Contains(html.UnescapeString(p.body), latest.LedgerSealed.Checkpoint) {
		t.Errorf("the signed checkpoint is not shown whole:\n%s", p.section("au-checkpoint"))
	}
	if !strings.Contains(html.UnescapeString(p.section("au-sealer")), "dangol-test+") {
		t.Errorf("the verifier key is not shown:\n%s", p.section("au-sealer"))
	}
	if rows := regexp.MustCompile(`<tr data-seal="(\d+)"`).FindAllStringSubmatch(p.body, -1); len(rows) != 2 || rows[0][1] != "1" || rows[1][1] != "0" {
		t.Errorf("recent seals %v, want 1, 0", rows)
	}

	p = u.must("/audit/verify", 200, en...)
	if v := p.section("au-verify"); !strings.Contains(v, "The log verifies") || strings.Contains(v, "au-firstbad") {
		t.Errorf("the verification:\n%s", v)
	}

	c1 := s.streamLog("customer-C1")
	p = u.must("/audit/seals/0?position="+c1[3].Position.String(), 200, en...)
	inc := p.section("au-inclusion-result")
	if !strings.Contains(inc, "customer-C1 @ 3") || !strings.Contains(inc, c1[3].Hash.String()) || !strings.Contains(p.body, `<ol class="au-proof" id="au-inclusion-proof"><li>`) {
		t.Errorf("the inclusion of customer-C1@3 under seal 0:\n%s", inc)
	}
	if !strings.Contains(p.body, `data-from="0" data-to="1"`) {
		t.Error("seal 0's page has no consistency proof to the latest seal")
	}
	if first.TreeSize >= latest.TreeSize {
		t.Fatalf("tree sizes %d then %d", first.TreeSize, latest.TreeSize)
	}
	// An event after seal 0: not covered, said next to the field.
	last := s.streamLog("customer-C1")
	p = u.must("/audit/seals/0?position="+last[len(last)-1].Position.String(), 200, en...)
	if p.message("position") == "" || strings.Contains(p.body, `id="au-inclusion-result"`) {
		t.Errorf("an event seal 0 does not cover: message %q", p.message("position"))
	}
	if a := u.get("/audit/seals/7"); a.status != 404 {
		t.Errorf("a seal that does not exist: %d", a.status)
	}
}

// tamperedBook is auditBook sealed, then customer-C1's version 3 deleted
// from the store's file behind the server's back, and the server restarted
// on it.
func tamperedBook(t *testing.T) *stack {
	t.Helper()
	ss, _ := auditBook(t)
	ss.sealNow()
	ss.stop()
	db, err := bbolt.Open(filepath.Join(ss.dir, "events.db"), 0o600, &bbolt.Options{Timeout: hang})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error { deleteEvent(t, tx, "customer-C1", 3); return nil })
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	return ss.restart()
}

// TestConsoleAuditTampered: an event deleted from the embedded store's file
// behind the server's back: "verify now" names the first bad event and why,
// with links to it, and its stream's page marks the broken link.
func TestConsoleAuditTampered(t *testing.T) {
	if pgBackend {
		t.Skip("tampers the embedded store's file")
	}
	s := tamperedBook(t)
	u := signIn(s, "U1")
	en := []string{"Accept-Language", "en"}

	p := u.must("/audit/verify", 200, en...)
	v := p.section("au-verify")
	if !strings.Contains(v, `class="panel au-verify bad"`) || !strings.Contains(v, "The log does not verify") ||
		!strings.Contains(v, `href="/audit/streams/customer-C1?from=4#v4">customer-C1 @ 4</a>`) {
		t.Fatalf("the verification of a log missing customer-C1@3:\n%s", v)
	}
	if !regexp.MustCompile(`<dd class="au-reason">[^<]+</dd>`).MatchString(v) {
		t.Errorf("no reason given:\n%s", v)
	}
	p = u.must("/audit/streams/customer-C1", 200, en...)
	if got := strings.Join(p.versions(), ","); got != "0,1,2,4" {
		t.Errorf("versions %s, want 0,1,2,4", got)
	}
	if !strings.Contains(p.body, "events on this page failing their hash or chain: 1") ||
		!regexp.MustCompile(`(?s)<tr id="v4" data-version="4" class="au-broken">.*?>chain broken</span>`).MatchString(p.body) {
		t.Errorf("version 4, after a gap, is not marked broken:\n%s", p.section("au-events"))
	}
	// A page from version 4, whose version before is gone: 4 is shown, marked.
	p = u.must("/audit/streams/customer-C1?from=4", 200, en...)
	if got := strings.Join(p.versions(), ","); got != "4" || !strings.Contains(p.body, "events on this page failing their hash or chain: 1") {
		t.Errorf("from=4 after the gap: versions %s\n%s", got, p.section("au-summary"))
	}
}

// TestConsoleAuditNoSealer: a server that keeps no tree and has no key says
// sealing is off; verify now still checks the chains.
func TestConsoleAuditNoSealer(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Tree, c.SealKey = nil, nil }})
	u := signIn(s, "U1")
	p := u.must("/audit/verify", 200, "Accept-Language", "en")
	if !strings.Contains(p.body, `id="au-noseal"`) || !strings.Contains(p.section("au-verify"), "The log verifies") {
		t.Errorf("without a sealer:\n%s", p.body)
	}
}

// TestConsoleAuditRefused: the auditor's screens are the auditor's alone;
// without a session they send to sign in.
func TestConsoleAuditRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	paths := []string{"/audit", "/audit/verify", "/audit/seals/0", "/audit/log", "/audit/streams", "/audit/streams/staff-R1"}
	for _, id := range []string{"R1", "S1", "H1"} {
		m := signIn(s, id)
		for _, path := range paths {
			if p := m.get(path); p.status != 403 {
				t.Errorf("%s GET %s: %d, want 403", id, path, p.status)
			}
		}
	}
	anon := anonymous(s)
	for _, path := range paths {
		if p := anon.get(path); p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/login?") {
			t.Errorf("no session, GET %s: %d to %q", path, p.status, p.header.Get("Location"))
		}
	}
}

// flushedLog appends the access record's queued reads, then reads the
// whole log.
func (s *stack) flushedLog() []events.Envelope {
	s.t.Helper()
	if err := s.srv.FlushAccess(s.t.Context()); err != nil {
		s.t.Fatal(err)
	}
	return s.logAll()
}

// logAll reads the whole log.
func (s *stack) logAll() []events.Envelope {
	s.t.Helper()
	var all []events.Envelope
	from := events.Start
	for {
		evs, err := s.store.ReadAll(s.t.Context(), from, 1000)
		if err != nil {
			s.t.Fatal(err)
		}
		all = append(all, evs...)
		if len(evs) < 1000 {
			return all
		}
		from = evs[len(evs)-1].Position
	}
}

// TestConsoleAuditTreeBehind: a server whose tree has not yet read the
// latest seal's events (another server sealed them a moment ago) shows no
// negative count of events waiting, and no overdue warning.
func TestConsoleAuditTreeBehind(t *testing.T) {
	behind, err := seal.OpenTree(t.TempDir()) // a tree nothing ever feeds
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { behind.Close() })
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Tree = behind }})
	u := signIn(s, "U1")
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.sealNow()
	p := u.must("/audit", 200, "Accept-Language", "en")
	got := regexp.MustCompile(`<p class="au-small" id="au-unsealed">([^<]*)</p>`).FindStringSubmatch(p.body)
	if got == nil || !strings.Contains(got[1], "Events not sealed yet: 0 ") {
		t.Errorf("the count of events waiting, with the tree behind the latest seal: %q", got)
	}
}
