package api_test

import (
	"html"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// renderedValueRe finds an input's value as the page renders it (what a
// browser sends when the user leaves it alone).
func renderedValue(t *testing.T, a webAnswer, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" name="[^"]+" type="[^"]+" value="([^"]*)"`).FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no input #%s on the page:\n%.3000s", id, a.body)
	}
	return html.UnescapeString(m[1])
}

// TestConsoleCustomerDefaultTimeIsNow: a form's time left at the value it
// was rendered with (the minute the page was made) is saved as the moment
// of the submission, so that what the rep logs after a colleague's entry
// sorts after it (here: sent again after the conflict it met) and its
// outcome is the last; a time the user changed is
// saved as typed.
func TestConsoleCustomerDefaultTimeIsNow(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch.Add(10*time.Minute + 20*time.Second))
	s, u := custFixture(t, stackOptions{now: clock.Now})
	page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
	shown := renderedValue(t, page, "pitch-occurredAt")
	if want := kstInput(clock.Now()); shown != want {
		t.Fatalf("the pitch form's time reads %q, want the minute of the page %q", shown, want)
	}

	// Between the page and the submission a colleague records a pitch of
	// the same product.
	clock.Set(clock.Now().Add(10 * time.Second))
	s.must("R2", "POST", "/v1/customers/C1/pitches", map[string]any{"product": "FUND01", "channel": "phone_outbound", "outcome": "considering"}, 201)
	colleague := s.customerLog("C1")
	theirs := colleague[len(colleague)-1].RecordedAt

	// The rep's form, opened before it, meets the conflict and is sent
	// again as it came back, the time still untouched.
	clock.Set(clock.Now().Add(10 * time.Second))
	form := url.Values{"product": {"FUND01"}, "outcome": {"accepted"}, "channel": {"phone_outbound"},
		"occurredAt": {shown}, "followUpOn": {""}, "campaignId": {""}, "reason": {""}}
	a := u.mustStatus(u.submit(page, "pitch", form, "Accept-Language", "en"), 409, "the pitch form opened before the colleague's")
	if got := renderedValue(t, a, "pitch-occurredAt"); got != shown {
		t.Fatalf("the conflict page's time reads %q, want the untouched %q", got, shown)
	}
	clock.Set(clock.Now().Add(10 * time.Second))
	submitted := clock.Now()
	a = u.submit(a, "pitch", form, "Accept-Language", "en")
	u.mustRedirect(a, "/customers/C1#timeline", "submit the pitch again")
	log := s.customerLog("C1")
	mine := log[len(log)-1]
	if mine.Type != "ProductPitched" || !mine.OccurredAt.Equal(submitted) {
		t.Fatalf("the untouched time was saved as %v (%s), want the submission's %v", mine.OccurredAt, mine.Type, submitted)
	}
	if !mine.OccurredAt.After(theirs) {
		t.Fatalf("the rep's pitch (%v) is not after the colleague's (%v)", mine.OccurredAt, theirs)
	}

	s.awaitApplied()
	view := s.must("R1", "GET", "/v1/customers/C1", nil, 200)
	last, _ := view["lastPitchPerProduct"].([]any)
	if len(last) != 1 || last[0].(map[string]any)["outcome"] != "accepted" {
		t.Fatalf("the last outcome per product is %v, want FUND01 accepted (the rep's, saved after the colleague's)", last)
	}
	back := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "the page again")
	first := regexp.MustCompile(`<li data-pos="\d+" data-at="\d+" data-version="(\d+)"`).FindStringSubmatch(back.body)
	if first == nil || first[1] != strconv.FormatUint(mine.Version, 10) {
		t.Fatalf("the newest entry of the timeline is version %v, want the rep's pitch %d", first, mine.Version)
	}

	// A time the user typed is what they typed.
	typed := eventstest.Epoch.Add(-3 * time.Hour)
	page = u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
	clock.Set(clock.Now().Add(time.Minute))
	a = u.submit(page, "contact", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "occurredAt": {kstInput(typed)}},
		"Accept-Language", "en")
	u.mustRedirect(a, "/customers/C1#timeline", "submit the contact")
	log = s.customerLog("C1")
	if got := log[len(log)-1].OccurredAt; !got.Equal(typed) {
		t.Fatalf("the typed time was saved as %v, want %v", got, typed)
	}
}
