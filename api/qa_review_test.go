package api_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// qaCalls registers customer C1 (R1's) and records R1's calls ids on it,
// 120 seconds each, on a stack whose tests publish form F1 themselves.
func (s *stack) qaCalls(ids ...string) {
	s.t.Helper()
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	for _, id := range ids {
		audio := []byte("RIFF-qa-call-" + id)
		s.must("R1", "POST", "/v1/calls", newCall(id, "C1", s.upload("R1", audio), len(audio)), 201)
	}
}

// refuse sends a request that must be answered status and code and must
// append nothing (the log's head is the same before and after).
func (s *stack) refuse(who, method, path string, body any, status int, code string, hdr ...string) answer {
	s.t.Helper()
	head := s.head()
	a := s.req(who, method, path, body, hdr...)
	if a.status != status || a.errCode() != code {
		s.t.Errorf("%s %s as %s with %v: %d %s, want %d %s", method, path, who, body, a.status, a.raw, status, code)
	}
	if h := s.head(); h != head {
		s.t.Errorf("%s %s as %s with %v appended %v", method, path, who, body, s.appendedSince(head))
	}
	return a
}

// callView returns GET /v1/calls/{id}'s call as who.
func (s *stack) callView(who, id string) map[string]any {
	s.t.Helper()
	return s.must(who, "GET", "/v1/calls/"+id, nil, 200)["call"].(map[string]any)
}

// scores returns newReview's items with item id's score (or "na") replaced.
func scores(changes ...any) []map[string]any {
	items := newReview()["items"].([]map[string]any)
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = map[string]any{"itemId": it["itemId"]}
		for _, k := range []string{"score", "na", "comment"} {
			if v, ok := it[k]; ok {
				out[i][k] = v
			}
		}
		for j := 0; j+1 < len(changes); j += 2 {
			if changes[j] != it["itemId"] {
				continue
			}
			delete(out[i], "score")
			delete(out[i], "na")
			if changes[j+1] == "na" {
				out[i]["na"] = true
			} else {
				out[i]["score"] = changes[j+1]
			}
		}
	}
	return out
}

// TestReviewOnForm: a review names the published form's version, its items
// come from the form in form order (label, weight, max, critical), N/A
// leaves the weighting, the server computes the total, and each coaching
// point keeps its second of the call and its item.
func TestReviewOnForm(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1")
	s.publishForm()
	body := newReview()
	body["coachingPoints"] = []map[string]any{
		{"note": "고지 문구를 끝까지", "atSec": 83, "itemId": "disclosure"},
		{"note": "마무리 인사", "criterion": "태도", "atSec": 120},
		{"note": "시간 없음", "criterion": "속도"},
	}
	rev := s.must("S1", "POST", "/v1/calls/K1/reviews", body, 201)
	if rev["stream"] != "call-K1" || len(rev["eventIds"].([]any)) != 1 {
		t.Fatalf("review answered %v", rev)
	}
	c := s.callView("R1", "K1")
	review := c["review"].(map[string]any)
	if review["evaluation"] != 1.0 || review["formId"] != "F1" || review["formVersion"] != 1.0 || review["total"] != 83.3 ||
		review["criticalFailed"] != false || review["reviewerId"] != "S1" {
		t.Fatalf("review %v", review)
	}
	var got []string
	for _, it := range review["items"].([]any) {
		m := it.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v:%v/%v:w%v:c%v:na%v", m["itemId"], m["criterion"], m["score"], m["max"], m["weight"], m["critical"], m["na"]))
	}
	want := []string{"greeting:인사:3/5:w1:c<nil>:na<nil>", "needs:니즈 파악:4/5:w3:c<nil>:na<nil>",
		"disclosure:필수 고지:1/1:w2:ctrue:na<nil>", "closing:마무리:<nil>/5:w1:c<nil>:natrue"}
	if !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
	if evs := c["evaluations"].([]any); len(evs) != 1 || evs[0].(map[string]any)["total"] != 83.3 {
		t.Fatalf("evaluations %v", evs)
	}
	pts := map[string]map[string]any{}
	for _, p := range s.must("R1", "GET", "/v1/coaching", nil, 200)["items"].([]any) {
		pts[p.(map[string]any)["note"].(string)] = p.(map[string]any)
	}
	if p := pts["고지 문구를 끝까지"]; p["atSec"] != 83.0 || p["itemId"] != "disclosure" || p["criterion"] != "필수 고지" || p["evaluation"] != 1.0 {
		t.Errorf("the point on the item: %v", p)
	}
	if p := pts["마무리 인사"]; p["atSec"] != 120.0 || p["itemId"] != nil || p["criterion"] != "태도" {
		t.Errorf("the point at the call's last second: %v", p)
	}
	if p := pts["시간 없음"]; p["atSec"] != nil || p["criterion"] != "속도" {
		t.Errorf("the point without a moment: %v", p)
	}
}

// TestReviewCriticalAndVersions: a critical item scored 0 makes the total
// 0 and flags the review; a review names the form version it was scored on
// (the latest when absent), and a new version leaves earlier reviews as
// they were.
func TestReviewCriticalAndVersions(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1", "K2", "K3")
	s.publishForm()
	s.must("S1", "POST", "/v1/calls/K1/reviews", withField(newReview(), "items", scores("disclosure", 0)), 201)
	if r := s.callView("S1", "K1")["review"].(map[string]any); r["total"] != 0.0 || r["criticalFailed"] != true {
		t.Fatalf("a failed critical item: %v", r)
	}
	// N/A everywhere the form allows it, the rest full marks.
	s.must("S1", "POST", "/v1/calls/K2/reviews", withField(newReview(), "items", scores("greeting", 5, "needs", 5)), 201)
	if r := s.callView("S1", "K2")["review"].(map[string]any); r["total"] != 100.0 || r["criticalFailed"] != false {
		t.Fatalf("full marks with closing N/A: %v", r)
	}

	// Version 2 drops closing and weighs greeting 4.
	v2 := stdForm()
	v2["items"] = []map[string]any{
		{"itemId": "greeting", "label": "인사", "weight": 4, "max": 5},
		{"itemId": "needs", "label": "니즈 파악", "weight": 3, "max": 5},
		{"itemId": "disclosure", "label": "필수 고지", "weight": 2, "max": 1, "critical": true}}
	s.must("H1", "PUT", "/v1/qa/forms/F1", v2, 201)
	v2Items := scores()[:3]
	s.must("S1", "POST", "/v1/calls/K3/reviews", withField(newReview(), "items", v2Items), 201)
	r := s.callView("S1", "K3")["review"].(map[string]any)
	if r["formVersion"] != 2.0 || r["total"] != 75.6 { // (4×3/5 + 3×4/5 + 2×1) / 9
		t.Fatalf("a review on the latest version: %v", r)
	}
	// A correction of K3 on version 1, named.
	on1 := withField(withField(newReview(), "formVersion", 1), "supersedes", 1)
	s.must("S1", "POST", "/v1/calls/K3/reviews", on1, 201)
	if r := s.callView("S1", "K3")["review"].(map[string]any); r["formVersion"] != 1.0 || r["total"] != 83.3 || r["evaluation"] != 2.0 {
		t.Fatalf("a review on version 1: %v", r)
	}
	if r := s.callView("S1", "K1")["review"].(map[string]any); r["formVersion"] != 1.0 || r["total"] != 0.0 {
		t.Fatalf("an earlier review changed with the form: %v", r)
	}
	// The scores of version 1 do not fit version 2.
	s.refuse("S1", "POST", "/v1/calls/K2/reviews", withField(withField(newReview(), "formVersion", 2), "supersedes", 1), 400, "invalid")
}

// TestReviewCorrection: a reviewed call takes a supervisor's correction
// only when it names the latest evaluation; the earlier one stays
// readable, superseded.
func TestReviewCorrection(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1", "K2")
	s.publishForm()
	s.refuse("S1", "POST", "/v1/calls/K2/reviews", withField(newReview(), "supersedes", 1), 400, "invalid")
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.refuse("S1", "POST", "/v1/calls/K1/reviews", newReview(), 400, "invalid")
	s.refuse("S1", "POST", "/v1/calls/K1/reviews", withField(newReview(), "supersedes", 2), 400, "invalid")
	before := s.now()
	s.must("S1", "POST", "/v1/calls/K1/reviews", withField(withField(newReview(), "supersedes", 1), "items", scores("needs", 5)), 201)
	s.refuse("S1", "POST", "/v1/calls/K1/reviews", withField(newReview(), "supersedes", 1), 400, "invalid")

	c := s.callView("R1", "K1")
	evs := c["evaluations"].([]any)
	if len(evs) != 2 {
		t.Fatalf("evaluations %v", evs)
	}
	first, second := evs[0].(map[string]any), evs[1].(map[string]any)
	at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(first["supersededAt"]))
	if first["total"] != 83.3 || first["supersededBy"] != 2.0 || at.Before(before.Truncate(time.Second)) {
		t.Errorf("the superseded evaluation %v", first)
	}
	if second["supersedes"] != 1.0 || second["total"] != 93.3 || second["supersededBy"] != nil {
		t.Errorf("the correction %v", second)
	}
	if c["review"].(map[string]any)["evaluation"] != 2.0 {
		t.Errorf("the call's review is not the latest evaluation: %v", c["review"])
	}
	// The QA report counts the call once, by its latest evaluation.
	qa := s.must("S1", "GET", "/v1/reports/qa", nil, 200)["data"].([]any)
	if len(qa) != 1 || qa[0].(map[string]any)["reviews"] != 1.0 || qa[0].(map[string]any)["averageTotal"] != 93.3 {
		t.Errorf("qa report %v", qa)
	}
}

// TestReviewBadInputs: each bad review is refused as invalid naming the
// field, and appends nothing.
func TestReviewBadInputs(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1")
	s.refuse("S1", "POST", "/v1/calls/K1/reviews", newReview(), 400, "invalid") // no form published yet
	s.publishForm()
	point := func(p map[string]any) map[string]any {
		return withField(newReview(), "coachingPoints", []map[string]any{p})
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown form", withField(newReview(), "formId", "F9"), "formId"},
		{"bad form id", withField(newReview(), "formId", "F 1"), "formId"},
		{"unpublished version", withField(newReview(), "formVersion", 2), "formVersion"},
		{"negative version", withField(newReview(), "formVersion", -1), "formVersion"},
		{"no items", withField(newReview(), "items", []any{}), "items"},
		{"an item missing", withField(newReview(), "items", scores()[:3]), "items"},
		{"an item not on the form", withField(newReview(), "items", append(scores(), map[string]any{"itemId": "empathy", "score": 1})), "items[4].itemId"},
		{"an item twice", withField(newReview(), "items", append(scores(), map[string]any{"itemId": "needs", "score": 1})), "items[4].itemId"},
		{"N/A not allowed", withField(newReview(), "items", scores("needs", "na")), "items[1].na"},
		{"score above max", withField(newReview(), "items", scores("greeting", 6)), "items[0].score"},
		{"critical above 1", withField(newReview(), "items", scores("disclosure", 2)), "items[2].score"},
		{"negative score", withField(newReview(), "items", scores("needs", -1)), "items[1].score"},
		{"no score", withField(newReview(), "items", []map[string]any{{"itemId": "greeting"}, {"itemId": "needs", "score": 1},
			{"itemId": "disclosure", "score": 1}, {"itemId": "closing", "na": true}}), "items[0].score"},
		{"N/A with a score", withField(newReview(), "items", []map[string]any{{"itemId": "greeting", "score": 1}, {"itemId": "needs", "score": 1},
			{"itemId": "disclosure", "score": 1}, {"itemId": "closing", "na": true, "score": 2}}), "items[3].score"},
		{"a second past the call's end", point(map[string]any{"note": "n", "criterion": "c", "atSec": 121}), "coachingPoints[0].atSec"},
		{"a negative second", point(map[string]any{"note": "n", "criterion": "c", "atSec": -1}), "coachingPoints[0].atSec"},
		{"a point on no item of the form", point(map[string]any{"note": "n", "itemId": "empathy"}), "coachingPoints[0].itemId"},
		{"a point without item or criterion", point(map[string]any{"note": "n"}), "coachingPoints[0].criterion"},
		{"a point without a note", point(map[string]any{"criterion": "c"}), "coachingPoints[0].note"},
		{"a total sent", withField(newReview(), "total", 100), "total"},
		{"supersedes a call without evaluations", withField(newReview(), "supersedes", 1), "supersedes"},
	} {
		a := s.refuse("S1", "POST", "/v1/calls/K1/reviews", c.body, 400, "invalid")
		if f := a.errDetails()["field"]; f != c.field {
			t.Errorf("%s: field %v, want %s (%s)", c.name, f, c.field, a.raw)
		}
	}
	s.refuse("S1", "POST", "/v1/calls/NOPE/reviews", newReview(), 404, "not_found")
	for _, who := range []string{"R1", "P1", "H1", "U1", "A001"} {
		s.refuse(who, "POST", "/v1/calls/K1/reviews", newReview(), 403, "forbidden")
	}
	// The same review, valid, goes through.
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview(), 201)
	if v := s.callView("S1", "K1"); len(v["evaluations"].([]any)) != 1 {
		t.Fatalf("evaluations %v", v["evaluations"])
	}
}

// TestReviewRaces: of racing first reviews of a call one is appended and
// the others are refused as invalid (the call is reviewed by then); a
// review racing the call's selections is appended all the same.
func TestReviewRaces(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.qaCalls("K1", "K2")
	s.publishForm()
	status := make([]int, 8)
	var wg sync.WaitGroup
	for i := range status {
		wg.Go(func() {
			a, err := s.send("S1", "POST", "/v1/calls/K1/reviews", newReview())
			if err != nil {
				t.Error(err)
				return
			}
			status[i] = a.status
			if a.status != 201 && (a.status != 400 || a.errDetails()["field"] != "supersedes") {
				t.Errorf("a racing review: %d %s", a.status, a.raw)
			}
		})
	}
	wg.Wait()
	if n := slices.Index(status, 201); n < 0 || slices.Index(status[n+1:], 201) >= 0 {
		t.Errorf("racing reviews answered %v, want one 201", status)
	}
	if evs := s.callView("S1", "K1")["evaluations"].([]any); len(evs) != 1 {
		t.Errorf("racing reviews made %d evaluations", len(evs))
	}

	for i := range 4 {
		wg.Go(func() {
			if a, err := s.send("S1", "POST", "/v1/calls/K2/selection", map[string]any{"reason": "requested"}); err != nil || a.status != 201 {
				t.Errorf("selection %d: %v %d %s", i, err, a.status, a.raw)
			}
		})
	}
	wg.Go(func() {
		if a, err := s.send("S1", "POST", "/v1/calls/K2/reviews", newReview()); err != nil || a.status != 201 {
			t.Errorf("a review racing selections: %v %d %s", err, a.status, a.raw)
		}
	})
	wg.Wait()
}
