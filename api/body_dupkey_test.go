package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// TestBodyDuplicateKeys: a JSON body with a key given twice, or twice
// but for case (encoding/json matches fields without regard to case and
// keeps the last), is 400 invalid naming it and appends nothing: the
// sign-off of {"month": "2026-10", "month": "2026-11"} signed November
// off, whatever the auditor's proxy or log showed.
func TestBodyDuplicateKeys(t *testing.T) {
	clock := eventstest.NewManualClock(time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now})
	accessBook(s)
	head := s.head()
	for _, c := range []struct{ path, body, field string }{
		{"/v1/audit/access/check/sign-off", `{"month":"2026-10","month":"2026-11"}`, "month"},
		{"/v1/audit/access/check/sign-off", `{"month":"2026-10","Month":"2026-11"}`, "Month"},
		{"/v1/audit/access/check/sign-off", `{"month":"2026-10","note":"a","NOTE":"b"}`, "NOTE"},
		{"/v1/customers/C1/profile", `{"changes":{"email":"a@example.com","email":"b@example.com"},"source":"phone_inbound"}`, "changes.email"},
		{"/v1/customers/C1/profile", `{"changes":{"email":"a@example.com","x y":"1","x y":"2"},"source":"phone_inbound"}`, "changes"},
	} {
		who := "U1"
		if strings.HasPrefix(c.path, "/v1/customers") {
			who = "R1"
		}
		a := s.req(who, "POST", c.path, c.body)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != c.field {
			t.Errorf("%s %s: %d %s, want 400 invalid naming %s", c.path, c.body, a.status, a.raw, c.field)
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Errorf("bodies with duplicate keys appended %v", evs)
	}
	// Equal keys in different objects, or in the elements of an array, are no duplicates.
	s.must("R1", "POST", "/v1/customers/C1/profile", `{"changes":{"email":"c@example.com"},"source":"phone_inbound","reason":"email"}`, 201)
}
