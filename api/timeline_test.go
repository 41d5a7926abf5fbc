package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestInteractionsOccurredAt posts interactions entered late, with their
// occurredAt, and reads the customer's timelines: the recent one of the
// 360 view and the full one, both in the order things happened. Malformed
// or future times are refused naming the field, and append nothing.
func TestInteractionsOccurredAt(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	now := s.now().UTC()
	at := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339Nano) }

	// v1: a December pitch as it is made; v2: an August contact typed up
	// afterwards; v3..v5: a pitch, a verification and a request entered
	// late; v6: a profile change with no occurredAt, which happened when it
	// was recorded.
	s.must("R1", "POST", "/v1/customers/C1/pitches", map[string]any{"product": "LOAN01", "channel": "phone_outbound",
		"outcome": "considering", "followUpOn": now.AddDate(0, 0, 14).Format(time.DateOnly), "occurredAt": at(0)}, 201)
	contact := newContact("8월 상담")
	contact["occurredAt"] = at(110)
	s.must("R1", "POST", "/v1/customers/C1/contacts", contact, 201)
	s.must("R1", "POST", "/v1/customers/C1/pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined",
		"occurredAt": at(100)}, 201)
	s.must("R1", "POST", "/v1/customers/C1/verifications", map[string]any{"channel": "branch", "occurredAt": at(90)}, 201)
	s.must("R1", "POST", "/v1/customers/C1/requests", map[string]any{"text": "토요일 영업", "occurredAt": at(30)}, 201)
	s.must("R1", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"phone": "010-5550-0000"},
		"source": "branch"}, 201)

	v := s.must("R1", "GET", "/v1/customers/C1", nil, 200)
	var recent []string
	for _, e := range v["recentTimeline"].([]any) {
		m := e.(map[string]any)
		recent = append(recent, fmt.Sprintf("%s#%v", m["kind"], m["position"]))
	}
	if len(recent) != 4 || !strings.HasPrefix(recent[0], "profile#") || !strings.HasPrefix(recent[1], "pitch#") ||
		!strings.HasPrefix(recent[2], "pitch#") || !strings.HasPrefix(recent[3], "contact#") {
		t.Errorf("recent timeline %v, want the profile change, the December pitch, the pitch of 100 days ago, the August contact", recent)
	}
	last := v["lastPitchPerProduct"].([]any)[0].(map[string]any)
	if last["outcome"] != "considering" {
		t.Errorf("last pitch %v: the pitch entered late replaced the newer one", last)
	}
	if got, _ := time.Parse(time.RFC3339, fmt.Sprint(v["lastVerifiedAt"])); !got.Equal(now.AddDate(0, 0, -90).Truncate(time.Second)) {
		t.Errorf("lastVerifiedAt %v, want the confirmation's day, %s", v["lastVerifiedAt"], at(90))
	}

	// The full timeline, two events a page.
	var versions []string
	next := ""
	for range 10 {
		tl := s.must("R1", "GET", "/v1/customers/C1/timeline?limit=2&"+next, nil, 200)
		for _, it := range tl["items"].([]any) {
			m := it.(map[string]any)
			versions = append(versions, fmt.Sprint(m["version"]))
			if m["type"] == "ProductPitched" && m["version"] == 3.0 {
				if m["occurredAt"] != at(100) || m["data"].(map[string]any)["occurredAt"] != at(100) {
					t.Errorf("the late pitch: %v", m)
				}
			}
		}
		n, ok := tl["next"].(string)
		if !ok {
			break
		}
		next = n
	}
	// v6 was recorded last; v1 happened at now, read after v0 was recorded;
	// the others happened 30, 90, 100 and 110 days ago.
	if got := strings.Join(versions, " "); got != "6 1 0 5 4 3 2" {
		t.Errorf("full timeline versions %s, want 6 1 0 5 4 3 2", got)
	}

	// Bad times: named, and nothing appended.
	for _, tc := range []struct {
		path string
		body map[string]any
		msg  string
	}{
		{"pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined", "occurredAt": "yesterday"}, "RFC 3339"},
		{"pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined", "occurredAt": "2026-08-14"}, "RFC 3339"},
		{"pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined", "occurredAt": 1755129600}, "RFC 3339"},
		{"pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined", "occurredAt": "1899-12-31T00:00:00Z"}, "1900"},
		{"pitches", map[string]any{"product": "LOAN01", "channel": "branch", "outcome": "declined",
			"occurredAt": now.Add(time.Hour).Format(time.RFC3339)}, "future"},
		{"contacts", map[string]any{"channel": "branch", "purpose": "advice", "occurredAt": now.AddDate(0, 1, 0).Format(time.RFC3339)}, "future"},
		{"requests", map[string]any{"text": "x", "occurredAt": "soon"}, "RFC 3339"},
	} {
		a := s.req("R1", "POST", "/v1/customers/C1/"+tc.path, tc.body)
		msg, _ := a.body["error"].(map[string]any)["message"].(string)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != "occurredAt" || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %v: %d %s, want 400 invalid naming occurredAt (%q)", tc.path, tc.body["occurredAt"], a.status, a.raw, tc.msg)
		}
		if strings.Contains(string(a.raw), "2006-01-02") {
			t.Errorf("%s %v: Go's layout string in %s", tc.path, tc.body["occurredAt"], a.raw)
		}
	}
	if v := s.must("R1", "GET", "/v1/customers/C1", nil, 200); v["version"] != 6.0 {
		t.Errorf("a refused write appended: version %v", v["version"])
	}

	// A cursor that names no event of the timeline.
	if a := s.req("R1", "GET", "/v1/customers/C1/timeline?before=7", nil); a.status != 400 || a.errDetails()["field"] != "before" {
		t.Errorf("before=7: %d %s", a.status, a.raw)
	}
}

// TestCallStartedInTheFuture: a call whose startedAt is ahead of the
// server's clock is refused naming startedAt, as interactions are, and
// nothing is appended (its recording stays staged).
func TestCallStartedInTheFuture(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := []byte("RIFF future call")
	digest := s.upload("R1", audio)
	head := s.head()
	call := newCall("K1", "C1", digest, len(audio))
	call["startedAt"] = s.now().Add(24 * time.Hour).Format(time.RFC3339)
	a := s.req("R1", "POST", "/v1/calls", call)
	if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != "startedAt" {
		t.Fatalf("a call starting tomorrow: %d %s, want 400 invalid naming startedAt", a.status, a.raw)
	}
	if h := s.head(); h != head {
		t.Fatalf("a refused call appended: head %v → %v", head, h)
	}
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
}
