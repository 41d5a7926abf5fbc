package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// TestCustomers walks the customer endpoints as users would: registration
// by each registrar role, assignment by each manager role, every customer
// write with its answer and headers, the 360 view with its ETag, the view
// as it stood at a position and at a time, the timeline and the customer
// list page by page with their filters, and the worklists built on them.
func TestCustomers(t *testing.T) {
	s := newStack(t, stackOptions{})

	// Customers: registration by each registrar role, assignment by each manager role.
	reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	if reg["stream"] != "customer-C1" || reg["version"] != float64(0) || len(reg["eventIds"].([]any)) != 1 {
		t.Fatalf("register: %v", reg)
	}
	s.must("P1", "POST", "/v1/customers", newCustomer("C2"), 201)
	s.must("A001", "POST", "/v1/customers", newCustomer("C3"), 201)
	for i := 4; i <= 7; i++ {
		s.must("R1", "POST", "/v1/customers", newCustomer(fmt.Sprintf("C%d", i)), 201)
	}
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.must("H1", "POST", "/v1/customers/C2/assignment", map[string]any{"advisorId": "P1", "kind": "private_banker", "branchId": "B001"}, 201)
	s.must("A001", "POST", "/v1/customers/C3/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)

	// Every customer write, checking the answer and its headers.
	today := s.now().Format(time.DateOnly)
	soon := s.now().AddDate(0, 0, 20).Format(time.DateOnly)
	version := 1.0
	for _, w := range []struct {
		who, path string
		body      map[string]any
	}{
		{"R1", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"phone": "010-9999-0000"}, "source": "phone_inbound", "reason": "이사"}},
		{"R1", "/v1/customers/C1/verifications", map[string]any{"channel": "phone_inbound", "fields": []string{"name", "address"}}},
		{"P1", "/v1/customers/C1/consents", map[string]any{"channel": "sms", "purpose": "marketing", "granted": true}},
		{"R1", "/v1/customers/C1/life-events", map[string]any{"kind": "child_wedding", "expectedOn": soon, "note": "딸 결혼"}},
		{"R1", "/v1/customers/C1/contacts", newContact("적금 만기 안내")},
		{"P1", "/v1/customers/C1/pitches", map[string]any{"product": "LOAN01", "channel": "phone_outbound", "outcome": "considering", "followUpOn": today, "reason": "결혼 자금"}},
		{"R1", "/v1/customers/C1/requests", map[string]any{"text": "모바일 앱 글씨 크게", "category": "mobile"}},
	} {
		a := s.req(w.who, "POST", w.path, w.body)
		version++
		if a.status != 201 || a.body["stream"] != "customer-C1" || a.body["version"] != version ||
			a.header.Get("ETag") != fmt.Sprintf(`"%d"`, int(version)) || a.header.Get("Location") != "/v1/audit/streams/customer-C1" {
			t.Fatalf("POST %s: %d %v %v", w.path, a.status, a.header, a.body)
		}
	}

	// The 360 view, its ETag and conditional GET.
	v := s.req("R1", "GET", "/v1/customers/C1", nil)
	if v.status != 200 || v.header.Get("ETag") != `"8"` {
		t.Fatalf("GET customer: %d %v", v.status, v.header)
	}
	c := v.body
	if c["name"] != "김민준 C1" || c["phone"] != "010-9999-0000" || c["email"] != "minjun@example.com" || c["version"] != 8.0 ||
		c["doNotContact"] != false || c["advisor"].(map[string]any)["id"] != "R1" || c["stale"] != false {
		t.Fatalf("customer view %v", c)
	}
	if len(c["upcomingLifeEvents"].([]any)) != 1 || len(c["openRequests"].([]any)) != 1 || len(c["lastPitchPerProduct"].([]any)) != 1 ||
		c["openRequests"].([]any)[0].(map[string]any)["text"] != "모바일 앱 글씨 크게" {
		t.Fatalf("customer view %v", c)
	}
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", `"8"`); a.status != 304 || len(a.raw) != 0 {
		t.Fatalf("If-None-Match current: %d %q", a.status, a.raw)
	}
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", `"7"`); a.status != 200 {
		t.Fatalf("If-None-Match stale: %d", a.status)
	}

	// As it stood: at a position, and at a time.
	stream := s.must("U1", "GET", "/v1/audit/streams/customer-C1", nil, 200)["events"].([]any)
	if len(stream) != 9 {
		t.Fatalf("customer stream has %d events", len(stream))
	}
	first := stream[0].(map[string]any)
	old := s.must("S1", "GET", fmt.Sprintf("/v1/customers/C1?at_position=%v", first["position"]), nil, 200)
	if old["version"] != 0.0 || old["phone"] != "010-1234-5678" || old["name"] != "김민준 C1" || old["advisor"] != nil {
		t.Fatalf("at_position view %v", old)
	}
	second := stream[1].(map[string]any) // the assignment
	asOf := s.must("H1", "GET", "/v1/customers/C1?as_of="+url.QueryEscape(second["recordedAt"].(string)), nil, 200)
	if asOf["version"] != 1.0 || asOf["phone"] != "010-1234-5678" || asOf["advisor"].(map[string]any)["id"] != "R1" {
		t.Fatalf("as_of view %v", asOf)
	}

	// Timeline paging: in the order things happened, newest first, every
	// version once. Five contacts are logged late, each of an earlier call
	// than the one before: they come after everything recorded as it
	// happened and after the contact of an hour ago (version 6), in the
	// reverse of their log order.
	for i := range 5 {
		c := withField(newContact(fmt.Sprintf("통화 %d", i)), "occurredAt", eventstest.Epoch.Add(-time.Duration(i+2)*time.Hour).Format(time.RFC3339))
		s.must("R1", "POST", "/v1/customers/C1/contacts", c, 201)
	}
	var versions []float64
	next := ""
	for page := 0; ; page++ {
		q := "/v1/customers/C1/timeline?limit=4"
		if next != "" {
			q += "&" + next
		}
		tl := s.must("P1", "GET", q, nil, 200)
		for _, it := range tl["items"].([]any) {
			item := it.(map[string]any)
			versions = append(versions, item["version"].(float64))
			if item["type"] == "CustomerRegistered" && item["data"].(map[string]any)["name"] != "김민준 C1" {
				t.Fatalf("timeline does not open personal fields: %v", item)
			}
		}
		n, ok := tl["next"].(string)
		if !ok || page > 10 {
			break
		}
		next = n
	}
	if fmt.Sprint(versions) != "[8 7 5 4 3 2 1 0 6 9 10 11 12 13]" {
		t.Fatalf("timeline pages gave versions %v", versions)
	}

	// Customer list paging with a cursor, and the filters.
	var ids []string
	cursor := ""
	for page := 0; page < 10; page++ {
		l := s.must("S1", "GET", "/v1/customers?limit=3&cursor="+url.QueryEscape(cursor), nil, 200)
		for _, it := range l["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		if cursor = l["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[C1 C2 C3 C4 C5 C6 C7]" {
		t.Fatalf("customer pages %v", ids)
	}
	if l := s.must("H1", "GET", "/v1/customers?advisor=R1", nil, 200)["items"].([]any); len(l) != 2 ||
		l[0].(map[string]any)["id"] != "C1" || l[1].(map[string]any)["id"] != "C3" {
		t.Fatalf("advisor=R1: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?tier=vip", nil, 200)["items"].([]any); len(l) != 0 {
		t.Fatalf("tier=vip: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?stale=true", nil, 200)["items"].([]any); len(l) != 0 {
		t.Fatalf("stale=true: %v", l)
	}
	if l := s.must("U1", "GET", "/v1/customers?stale=false&limit=1000", nil, 200)["items"].([]any); len(l) != 7 {
		t.Fatalf("stale=false: %v", l)
	}

	// Worklists: the rep's own; a supervisor's view of it; a rep may not read another's.
	wl := s.must("R1", "GET", "/v1/worklist", nil, 200)
	items := wl["items"].([]any)
	if wl["advisor"] != "R1" || len(items) != 2 || items[0].(map[string]any)["customerId"] != "C1" {
		t.Fatalf("worklist %v", wl)
	}
	reasons := fmt.Sprint(items[0].(map[string]any)["reasons"])
	if !strings.Contains(reasons, "life_event_soon") || !strings.Contains(reasons, "pitch_follow_up_due") ||
		fmt.Sprint(items[1].(map[string]any)["reasons"]) != "[no_recent_contact]" {
		t.Fatalf("worklist reasons %v", items)
	}
	if sv := s.must("S1", "GET", "/v1/worklist?advisor=R1", nil, 200); fmt.Sprint(sv["items"]) != fmt.Sprint(items) {
		t.Fatalf("supervisor's view of R1's worklist %v, want %v", sv, items)
	}
	if a := s.req("R2", "GET", "/v1/worklist?advisor=R1", nil); a.status != 403 || a.errCode() != "forbidden" {
		t.Fatalf("a rep read another's worklist: %d %s", a.status, a.raw)
	}
}
