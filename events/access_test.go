package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// The rules of the access record's types join TestParseInvalid's table.
func init() {
	invalidCases = append(invalidCases, accessInvalid...)
}

var accessInvalid = []invalid{
	// PersonalDataRead
	{"PersonalDataRead", "reads", del, ""},
	{"PersonalDataRead", "reads", []any{}, ""},
	{"PersonalDataRead", "reads", list(events.MaxAccessReads+1, func(int) any { return accessEntry() }), ""},
	{"PersonalDataRead", "reads[0].staffId", del, ""},
	{"PersonalDataRead", "reads[0].staffId", "R 17", ""},
	{"PersonalDataRead", "reads[1].role", "root", ""},
	{"PersonalDataRead", "reads[1].role", del, ""},
	{"PersonalDataRead", "reads[0].at", del, ""},
	{"PersonalDataRead", "reads[0].at", "1899-12-31T23:59:59Z", ""},
	{"PersonalDataRead", "reads[0].from", "localhost", ""},
	{"PersonalDataRead", "reads[0].from", "203.0.113.7:443", ""},
	{"PersonalDataRead", "reads[0].from", "fe80::1%eth0", ""},
	{"PersonalDataRead", "reads[1].customerId", del, ""},
	{"PersonalDataRead", "reads[1].customerId", "C/1", ""},
	{"PersonalDataRead", "reads[0].action", "peek", ""},
	{"PersonalDataRead", "reads[0].action", del, ""},
	{"PersonalDataRead", "reads[1].detail", "two\nlines", ""},
	{"PersonalDataRead", "reads[1].detail", rep("x", 701), ""},
	// AccessCheckSignedOff
	{"AccessCheckSignedOff", "month", del, ""},
	{"AccessCheckSignedOff", "month", "2026-13", ""},
	{"AccessCheckSignedOff", "month", "2026-1", ""},
	{"AccessCheckSignedOff", "month", "2026-11-01", ""},
	{"AccessCheckSignedOff", "month", "1899-12", ""},
	{"AccessCheckSignedOff", "flagged", num("-1"), ""},
	{"AccessCheckSignedOff", "flagged", num("1000001"), ""},
	{"AccessCheckSignedOff", "note", rep("x", 2001), ""},
	{"AccessCheckSignedOff", "note", "nul\x00", ""},
}

func accessEntry() map[string]any {
	return map[string]any{"staffId": "R017", "role": "rep", "at": "2026-11-30T23:59:59Z", "customerId": "C1001", "action": "search_hit"}
}

// TestPersonalDataReadValid: what the recorder writes passes, in canonical
// form: an IPv4-mapped address is stored as IPv4, times in UTC, the
// worklist entry without a customer, exactly MaxAccessReads entries.
func TestPersonalDataReadValid(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	d := &events.PersonalDataRead{Reads: []events.AccessRead{
		{StaffID: " R017 ", Role: "rep", At: time.Date(2026, 12, 1, 8, 59, 59, 0, kst), From: "::ffff:10.0.0.1", CustomerID: "C1", Action: "lookup"},
		{StaffID: "R017", Role: "rep", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Action: "worklist", Detail: "advisor R017, 2 customers"},
	}}
	b, err := events.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reads":[{"staffId":"R017","role":"rep","at":"2026-11-30T23:59:59Z","from":"10.0.0.1","customerId":"C1","action":"lookup"},` +
		`{"staffId":"R017","role":"rep","at":"2026-12-01T00:00:00Z","action":"worklist","detail":"advisor R017, 2 customers"}]}`
	if string(b) != want {
		t.Errorf("encoded\n %s\nwant\n %s", b, want)
	}
	full := list(events.MaxAccessReads, func(int) any { return accessEntry() })
	raw, _ := json.Marshal(map[string]any{"reads": full})
	mustParse(t, "PersonalDataRead", raw)
	for _, a := range events.AccessActions {
		raw := mutate(t, examples["PersonalDataRead"], "reads[0].action", a)
		mustParse(t, "PersonalDataRead", raw)
	}
}

// TestPersonalDataReadBulkOnly: only a worklist or a clear export's
// entry may go without a customer.
func TestPersonalDataReadBulkOnly(t *testing.T) {
	for _, a := range events.AccessActions {
		raw := mutate(t, examples["PersonalDataRead"], "reads[2].action", a)
		_, err := events.Parse("PersonalDataRead", raw)
		if a == "worklist" || a == "export_clear" {
			if err != nil {
				t.Errorf("%s without a customer: %v", a, err)
			}
			continue
		}
		assertInvalid(t, err, "reads[2].customerId")
	}
}

// TestAccessMonths: the month of a read is its UTC month, so the last
// second of November in UTC (09:00 on 1 December in Seoul) is November's;
// a month's start parses back; malformed months are refused.
func TestAccessMonths(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	last := time.Date(2026, 12, 1, 8, 59, 59, 999999999, kst)
	if got := events.AccessMonth(last); got != "2026-11" {
		t.Errorf("AccessMonth(%v) = %s, want 2026-11", last, got)
	}
	if got := events.AccessMonth(last.Add(time.Nanosecond)); got != "2026-12" {
		t.Errorf("a nanosecond later: %s, want 2026-12", got)
	}
	if got := events.AccessStream("2026-11"); got != "access-2026-11" {
		t.Errorf("AccessStream = %s", got)
	}
	if got := events.AccessCheckStream("2026-11"); got != "access-check-2026-11" {
		t.Errorf("AccessCheckStream = %s", got)
	}
	if start, ok := events.MonthStart("2026-11"); !ok || !start.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("MonthStart(2026-11) = %v, %v", start, ok)
	}
	for _, bad := range []string{"", "2026-00", "2026-13", "26-11", "2026/11", "2026-11 ", "２０２６-11", "2201-01", "1899-12"} {
		if events.ValidMonth(bad) {
			t.Errorf("ValidMonth(%q) = true", bad)
		}
		if _, ok := events.MonthStart(bad); ok {
			t.Errorf("MonthStart(%q) ok", bad)
		}
	}
	for _, good := range []string{"1900-01", "2026-11", "2200-12"} {
		if !events.ValidMonth(good) {
			t.Errorf("ValidMonth(%q) = false", good)
		}
	}
}

// TestPersonalDataReadFullBatchTooBig: a full batch of the longest
// entries is too big for one event, and so is one of ordinary entries
// (~136 bytes each, the server's clock to the nanosecond), which is why
// the recorder splits a batch by its encoded size too (api/access.go).
func TestPersonalDataReadFullBatchTooBig(t *testing.T) {
	at := time.Date(2026, 11, 30, 23, 59, 59, 123456789, time.UTC)
	for name, r := range map[string]events.AccessRead{
		"the longest": {StaffID: rep("S", 64), Role: "private_banker", At: at, From: "2001:db8:1234:5678:9abc:def0:1234:5678",
			CustomerID: rep("C", 64), Action: "recording_play", Detail: rep("d", 700)},
		"ordinary": {StaffID: "R017", Role: "rep", At: at, From: "203.0.113.7", CustomerID: "C1001", Action: "customer_view"},
	} {
		d := &events.PersonalDataRead{}
		for range events.MaxAccessReads {
			d.Reads = append(d.Reads, r)
		}
		if _, err := events.Encode(d); err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Errorf("%d of %s entries: %v, want too big", events.MaxAccessReads, name, err)
		}
	}
}
