package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestQA walks the QA cycle's endpoints: calls recorded by two reps, the
// sampler selecting each new rep's first call, a supervisor selecting
// another, the QA queues by supervisor, a review with coaching points, its
// acknowledgement and follow-up, the coaching list with each filter, and
// every report over them.
func TestQA(t *testing.T) {
	s := newStack(t, stackOptions{newRepCalls: 1})
	start := s.now()
	for _, c := range []struct{ who, id, advisor, kind string }{
		{"R1", "C1", "R1", "call_centre_rep"}, {"P1", "C2", "P1", "private_banker"}, {"R1", "C3", "R1", "call_centre_rep"},
	} {
		s.must(c.who, "POST", "/v1/customers", newCustomer(c.id), 201)
		s.must("S1", "POST", "/v1/customers/"+c.id+"/assignment", map[string]any{"advisorId": c.advisor, "kind": c.kind}, 201)
	}
	// A request, so that the requests report is not an empty list (which
	// every list-shaped report's schema would match).
	s.must("R1", "POST", "/v1/customers/C1/requests", map[string]any{"text": "모바일 앱 글씨 크게", "category": "mobile"}, 201)
	audio := []byte("RIFF-qa-test-audio")
	digest := s.upload("R1", audio)

	// Calls: the sampler selects each rep's first call; a supervisor selects another.
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("R1", "POST", "/v1/calls", newCall("K2", "C3", digest, len(audio)), 201)
	s.must("P1", "POST", "/v1/calls", newCall("K3", "C2", digest, len(audio)), 201)
	s.waitUntil("the sampler selects K1 and K3", func() bool {
		return len(s.must("H1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 2
	})
	k2 := s.must("R1", "GET", "/v1/calls/K2", nil, 200)
	if k2["call"].(map[string]any)["staffId"] != "R1" || k2["call"].(map[string]any)["selection"] != nil {
		t.Fatalf("call K2 %v", k2)
	}
	s.must("S1", "POST", "/v1/calls/K2/selection", map[string]any{"reason": "requested"}, 201)
	mine := s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
	all := s.must("U1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
	other := s.must("H1", "GET", "/v1/qa/queue?supervisor=S9", nil, 200)["items"].([]any)
	if len(all) != 3 || len(mine) != 3 || len(other) != 2 {
		t.Fatalf("queues: S1 %v, all %v, S9 %v", mine, all, other)
	}
	reasonOf := map[string]string{}
	for _, it := range all {
		reasonOf[it.(map[string]any)["callId"].(string)] = it.(map[string]any)["reason"].(string)
	}
	if fmt.Sprint(reasonOf) != "map[K1:new_rep K2:requested K3:new_rep]" {
		t.Fatalf("selection reasons %v", reasonOf)
	}

	// Review on the published form, acknowledgement, follow-up.
	s.publishForm()
	rev := s.must("S1", "POST", "/v1/calls/K2/reviews", newReview("greeting", "closing"), 201)
	if rev["stream"] != "call-K2" {
		t.Fatalf("review %v", rev)
	}
	k2 = s.must("R1", "GET", "/v1/calls/K2", nil, 200)
	review := k2["call"].(map[string]any)["review"].(map[string]any)
	pts := k2["coachingPoints"].([]any)
	if review["total"] != 83.3 || review["reviewerId"] != "S1" || review["formVersion"] != 1.0 || len(pts) != 2 {
		t.Fatalf("reviewed call %v", k2)
	}
	if q := s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any); len(q) != 2 {
		t.Fatalf("a reviewed call stays queued: %v", q)
	}
	p0, p1 := pts[0].(map[string]any)["id"].(string), pts[1].(map[string]any)["id"].(string)
	s.must("R1", "POST", "/v1/coaching/"+p0+"/acknowledgement", map[string]any{"comment": "네, 알겠습니다"}, 201)
	s.must("R1", "POST", "/v1/coaching/"+p1+"/acknowledgement", map[string]any{}, 201)
	s.must("H1", "POST", "/v1/coaching/"+p0+"/follow-up", map[string]any{"outcome": "improved", "note": "좋아짐"}, 201)

	// Coaching with each filter.
	count := func(who, q string) int {
		return len(s.must(who, "GET", "/v1/coaching"+q, nil, 200)["items"].([]any))
	}
	due := events.AddOneMonth(start).AddDate(0, 0, 1).Format(time.DateOnly)
	for _, f := range []struct {
		who, q string
		n      int
	}{
		{"R1", "", 2}, {"R2", "", 0}, {"S1", "?rep=R1", 2}, {"S1", "?rep=R2", 0},
		{"H1", "?status=improved", 1}, {"H1", "?status=acknowledged", 1}, {"H1", "?status=open", 0},
		{"U1", "?due_before=" + due, 2}, {"U1", "?due_before=" + start.Format(time.DateOnly), 0},
		{"U1", "?checker=H1", 1}, {"U1", "?rep=R1&status=acknowledged&due_before=" + due, 1},
	} {
		if n := count(f.who, f.q); n != f.n {
			t.Errorf("GET /v1/coaching%s as %s: %d points, want %d", f.q, f.who, n, f.n)
		}
	}
	if a := s.req("R1", "GET", "/v1/coaching?rep=R2", nil); a.status != 403 {
		t.Fatalf("a rep read another rep's coaching: %d", a.status)
	}

	// Every report.
	for _, name := range []string{"tiers", "pitches", "qa", "coaching", "freshness", "requests"} {
		r := s.must("H1", "GET", "/v1/reports/"+name, nil, 200)
		if r["report"] != name || r["data"] == nil {
			t.Fatalf("report %s: %v", name, r)
		}
	}
	if r := s.must("S1", "GET", "/v1/reports/coaching", nil, 200)["data"].(map[string]any); r["points"] != 2.0 || r["improved"] != 1.0 {
		t.Fatalf("coaching report %v", r)
	}
	if r := s.must("U1", "GET", "/v1/reports/tiers", nil, 200)["data"].(map[string]any); r["customers"] != 3.0 {
		t.Fatalf("tiers report %v", r)
	}
	if a := s.req("H1", "GET", "/v1/reports/nonsense", nil); a.status != 404 {
		t.Fatalf("unknown report: %d", a.status)
	}
}
