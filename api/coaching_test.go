package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestCoachingScenario is the coaching cycle as users live it: a new
// rep's call is recorded, the sampler puts it in the QA queue, the
// supervisor reviews it with two coaching points, the rep acknowledges
// both, and a month later the centre head finds one improved and one not,
// which re-opens it for another month. A supervisor follows it live.
func TestCoachingScenario(t *testing.T) {
	s := newStack(t, stackOptions{newRepCalls: 1})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	s.publishForm()
	from := s.head()
	feed, _, err := s.dialLive("S1", []string{"coaching"}, &from)
	if err != nil {
		t.Fatal(err)
	}
	repFeed, _, err := s.dialLive("R1", []string{"rep:R1"}, &from)
	if err != nil {
		t.Fatal(err)
	}

	// The rep's call is recorded: audio first, then the call.
	audio := bytes.Repeat([]byte{'R', 'I', 'F', 'F', 0, 1, 2, 3}, 2048)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	part := s.req("S1", "GET", "/v1/recordings/"+digest, nil, "Range", "bytes=8-15")
	if part.status != 206 || !bytes.Equal(part.raw, audio[8:16]) {
		t.Fatalf("the supervisor's range request: %d %v", part.status, part.raw)
	}

	// The sampler selects it: a new rep's first call.
	var queue []any
	s.waitUntil("K1 in the QA queue", func() bool {
		queue = s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
		return len(queue) == 1
	})
	if q := queue[0].(map[string]any); q["callId"] != "K1" || q["reason"] != "new_rep" || q["staffId"] != "R1" || q["customerId"] != "C1" {
		t.Fatalf("queue %v", queue)
	}

	// The supervisor reviews it with two coaching points.
	before := s.now()
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting", "needs analysis"), 201)
	after := s.now()
	if q := s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any); len(q) != 0 {
		t.Fatalf("the reviewed call is still queued: %v", q)
	}
	reviewed := s.must("U1", "GET", "/v1/audit/streams/call-K1", nil, 200)["events"].([]any)
	var dueAt time.Time
	for _, e := range reviewed {
		if e := e.(map[string]any); e["type"] == "CallReviewed" {
			cp := e["data"].(map[string]any)["coachingPoints"].([]any)
			dueAt, _ = time.Parse(time.RFC3339Nano, cp[0].(map[string]any)["followUpDue"].(string))
		}
	}
	if dueAt.Before(events.AddOneMonth(before)) || dueAt.After(events.AddOneMonth(after)) {
		t.Fatalf("points due %v, want one calendar month after the review (%v..%v)", dueAt, events.AddOneMonth(before), events.AddOneMonth(after))
	}

	// The rep sees both, due one calendar month after the review, and acknowledges them.
	pts := s.must("R1", "GET", "/v1/coaching", nil, 200)["items"].([]any)
	if len(pts) != 2 {
		t.Fatalf("coaching points %v", pts)
	}
	var ids []string
	for _, p := range pts {
		pm := p.(map[string]any)
		due, _ := time.Parse(time.RFC3339Nano, pm["followUpDue"].(string))
		if !due.Equal(dueAt) || pm["status"] != "open" || pm["overdue"] != false || pm["repId"] != "R1" || pm["reviewerId"] != "S1" || pm["callId"] != "K1" {
			t.Fatalf("point %v, want open and due %v", pm, dueAt)
		}
		ids = append(ids, pm["id"].(string))
	}
	for _, id := range ids {
		s.must("R1", "POST", "/v1/coaching/"+id+"/acknowledgement", map[string]any{"comment": "다음 통화부터 적용하겠습니다"}, 201)
	}
	for _, p := range s.must("S1", "GET", "/v1/coaching?rep=R1", nil, 200)["items"].([]any) {
		pm := p.(map[string]any)
		if pm["status"] != "acknowledged" || pm["acknowledgedAt"] == nil {
			t.Fatalf("after acknowledgement: %v", pm)
		}
	}
	if n := len(s.must("H1", "GET", "/v1/coaching?due_before="+dueAt.Add(time.Second).Format(time.RFC3339Nano), nil, 200)["items"].([]any)); n != 2 {
		t.Fatalf("due before the due date + 1s: %d points", n)
	}
	if n := len(s.must("H1", "GET", "/v1/coaching?due_before="+dueAt.Add(-time.Second).Format(time.RFC3339Nano), nil, 200)["items"].([]any)); n != 0 {
		t.Fatalf("due before the due date - 1s: %d points", n)
	}

	// The centre head's check: one improved, one not, which re-opens it.
	s.must("H1", "POST", "/v1/coaching/"+ids[0]+"/follow-up", map[string]any{"outcome": "improved", "note": "이름으로 인사함"}, 201)
	before = s.now()
	s.must("H1", "POST", "/v1/coaching/"+ids[1]+"/follow-up", map[string]any{"outcome": "not_improved", "note": "질문이 아직 부족"}, 201)
	after = s.now()
	byID := map[string]map[string]any{}
	for _, p := range s.must("H1", "GET", "/v1/coaching?rep=R1", nil, 200)["items"].([]any) {
		byID[p.(map[string]any)["id"].(string)] = p.(map[string]any)
	}
	if p := byID[ids[0]]; p["status"] != "improved" || len(p["followUps"].([]any)) != 1 {
		t.Fatalf("improved point %v", p)
	}
	reopened := byID[ids[1]]
	next, _ := time.Parse(time.RFC3339Nano, reopened["followUpDue"].(string))
	if reopened["status"] != "not_improved" || next.Before(events.AddOneMonth(before)) || next.After(events.AddOneMonth(after)) ||
		reopened["overdue"] != false {
		t.Fatalf("re-opened point %v, want due %v..%v", reopened, events.AddOneMonth(before), events.AddOneMonth(after))
	}
	if fu := reopened["followUps"].([]any); len(fu) != 1 || fu[0].(map[string]any)["checkerId"] != "H1" || fu[0].(map[string]any)["nextFollowUpDue"] != reopened["followUpDue"] {
		t.Fatalf("re-opened point's history %v", reopened)
	}
	if n := len(s.must("H1", "GET", "/v1/coaching?status=not_improved&checker=H1", nil, 200)["items"].([]any)); n != 1 {
		t.Fatalf("not_improved checked by H1: %d", n)
	}
	if r := s.must("H1", "GET", "/v1/reports/coaching", nil, 200)["data"].(map[string]any); r["improvementRate"] != 0.5 || r["checks"] != 2.0 {
		t.Fatalf("coaching report %v", r)
	}
	if r := s.must("S1", "GET", "/v1/reports/qa", nil, 200)["data"].([]any); len(r) != 1 || r[0].(map[string]any)["repId"] != "R1" {
		t.Fatalf("qa report %v", r)
	}
	call := s.must("R1", "GET", "/v1/calls/K1", nil, 200)
	if len(call["coachingPoints"].([]any)) != 2 || call["call"].(map[string]any)["selection"].(map[string]any)["reason"] != "new_rep" {
		t.Fatalf("call view %v", call)
	}

	// The supervisor's live feed had the cycle, in order.
	want := []string{"CallReviewed", "CoachingAcknowledged", "CoachingAcknowledged", "CoachingFollowedUp", "CoachingFollowedUp"}
	types := func(l *liveSub) []string {
		var out []string
		for _, m := range l.received() {
			out = append(out, m["type"].(string))
		}
		return out
	}
	s.waitUntil("the supervisor's coaching feed", func() bool { return len(types(feed)) >= len(want) })
	feed.finish(t)
	if got := types(feed); !slices.Equal(got, want) {
		t.Fatalf("the supervisor's coaching feed %v, want %v", got, want)
	}
	for _, m := range feed.received() {
		if fmt.Sprint(m["topics"]) != "[coaching]" {
			t.Fatalf("coaching message tagged %v", m["topics"])
		}
	}
	// The rep's own feed had the whole call's life, the sampler's selection included.
	repWant := append([]string{"CallRecorded", "CallSelectedForReview"}, want...)
	s.waitUntil("the rep's feed", func() bool { return len(types(repFeed)) >= len(repWant) })
	repFeed.finish(t)
	if got := types(repFeed); !slices.Equal(got, repWant) {
		t.Fatalf("the rep's feed %v, want %v", got, repWant)
	}
}
