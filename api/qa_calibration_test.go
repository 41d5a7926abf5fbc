package api_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// calibrationStack is a stack with scorecard form F1, call K1 of R1, and
// two more supervisors: S2 and S4 (S3 was one, and is deactivated).
func calibrationStack(t *testing.T) *stack { return calibrationStackWith(t, nil) }

// calibrationStackWith is calibrationStack with the server's configuration
// adjusted by configure.
func calibrationStackWith(t *testing.T, configure func(*api.Config)) *stack {
	s := newStack(t, stackOptions{noReactors: true, configure: configure})
	s.publishForm()
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	audio := []byte("RIFF-calibration-audio")
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", s.upload("R1", audio), len(audio)), 201)
	for _, id := range []string{"S2", "S3", "S4"} {
		s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": id, "name": "Supervisor " + id, "role": "supervisor", "branchIds": []string{"B001"}}, 201)
		s.tok[id] = s.must("A001", "POST", "/v1/staff/"+id+"/tokens", nil, 201)["token"].(string)
	}
	s.must("A001", "POST", "/v1/staff/S3/deactivation", nil, 201)
	return s
}

// calScore is a calibration score's body: greeting, needs, disclosure and
// closing of F1 (-1: N/A).
func calScore(greeting, needs, disclosure, closing int) map[string]any {
	items := []map[string]any{{"itemId": "greeting", "score": greeting}, {"itemId": "needs", "score": needs},
		{"itemId": "disclosure", "score": disclosure}, {"itemId": "closing", "score": closing}}
	if closing < 0 {
		items[3] = map[string]any{"itemId": "closing", "na": true}
	}
	return map[string]any{"items": items}
}

// session reads calibration session id as who.
func (s *stack) session(who, id string) (map[string]any, string) {
	s.t.Helper()
	a := s.req(who, "GET", "/v1/qa/calibrations/"+id, nil)
	if a.status != 200 {
		s.t.Fatalf("GET session %s as %s: %d %s", id, who, a.status, a.raw)
	}
	return a.body, string(a.raw)
}

// evaluatorsOf returns the evaluator ids of a session's scores.
func evaluatorsOf(session map[string]any) []string {
	out := []string{}
	for _, sc := range session["scores"].([]any) {
		out = append(out, sc.(map[string]any)["evaluatorId"].(string))
	}
	return out
}

// TestCalibrationBlind: three evaluators score a call; while the session
// is open each sees only their own score over the API (the session, the
// list), an auditor none, and everyone sees who has scored; once the
// opener closes it, everyone sees every score, its distance from the
// consensus and the per-item spread.
func TestCalibrationBlind(t *testing.T) {
	s := calibrationStack(t)
	opened := s.must("S1", "POST", "/v1/qa/calibrations",
		map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S2", "S1", "H1"}, "note": "3월 보정"}, 201)
	id, _ := opened["sessionId"].(string)
	if opened["stream"] != events.CalibrationStream(id) || opened["version"] != 0.0 {
		t.Fatalf("opened %v", opened)
	}
	s.must("S2", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 1, -1), 201)

	// S2 has scored; S1 and H1 have not, and see nothing of S2's score.
	for _, who := range []string{"S1", "H1", "U1"} {
		sess, raw := s.session(who, id)
		if sess["status"] != "open" || fmt.Sprint(sess["scored"]) != "[S2]" || len(sess["scores"].([]any)) != 0 ||
			len(sess["items"].([]any)) != 0 || sess["consensus"] != 0.0 || sess["formVersion"] != 1.0 {
			t.Errorf("open session as %s: %s", who, raw)
		}
		if strings.Contains(raw, `"total"`) || strings.Contains(raw, `"greeting"`) {
			t.Errorf("open session as %s shows a score: %s", who, raw)
		}
	}
	if sess, raw := s.session("S2", id); fmt.Sprint(evaluatorsOf(sess)) != "[S2]" || !strings.Contains(raw, `"total":100`) {
		t.Errorf("S2 does not see their own score: %s", raw)
	}
	list := s.must("H1", "GET", "/v1/qa/calibrations?evaluator=H1&status=open", nil, 200)["items"].([]any)
	if len(list) != 1 || len(list[0].(map[string]any)["scores"].([]any)) != 0 {
		t.Errorf("H1's open sessions: %v", list)
	}

	s.must("S1", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(3, 4, 1, 2), 201)
	s.must("H1", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 0, 5), 201) // the critical item failed
	if sess, raw := s.session("S1", id); fmt.Sprint(evaluatorsOf(sess)) != "[S1]" || fmt.Sprint(sess["scored"]) != "[S2 S1 H1]" {
		t.Errorf("S1 after all scored, still open: %s", raw)
	}
	if got := s.must("U1", "GET", "/v1/qa/calibrations?status=closed", nil, 200)["items"].([]any); len(got) != 0 {
		t.Errorf("closed sessions before the closure: %v", got)
	}

	s.must("S1", "POST", "/v1/qa/calibrations/"+id+"/closure", map[string]any{"note": "기준 합의"}, 201)
	sess, raw := s.session("U1", id)
	if sess["status"] != "closed" || sess["closerId"] != "S1" || fmt.Sprint(evaluatorsOf(sess)) != "[S2 S1 H1]" {
		t.Fatalf("closed session: %s", raw)
	}
	var totals []float64
	for _, sc := range sess["scores"].([]any) {
		totals = append(totals, sc.(map[string]any)["total"].(float64))
	}
	if totals[0] != 100 || totals[2] != 0 || sess["scores"].([]any)[2].(map[string]any)["criticalFailed"] != true {
		t.Fatalf("totals %v (want S2 100, H1 0 with the critical item failed): %s", totals, raw)
	}
	consensus := math.Round((totals[0]+totals[1]+totals[2])/3*10) / 10
	if sess["consensus"] != consensus {
		t.Errorf("consensus %v, want the mean of %v, %v", sess["consensus"], totals, consensus)
	}
	for i, sc := range sess["scores"].([]any) {
		if d := sc.(map[string]any)["distance"]; d != math.Round(math.Abs(totals[i]-consensus)*10)/10 {
			t.Errorf("score %d: distance %v from %v", i, d, consensus)
		}
	}
	spread := map[string]string{}
	for _, it := range sess["items"].([]any) {
		m := it.(map[string]any)
		spread[m["itemId"].(string)] = fmt.Sprint(m["scores"], " ", m["mean"], " ", m["min"], " ", m["max"], " ", m["spread"])
	}
	want := map[string]string{"greeting": "[100 60 100] 86.7 60 100 40", "needs": "[100 80 100] 93.3 80 100 20",
		"disclosure": "[100 100 0] 66.7 0 100 100", "closing": "[-1 40 100] 70 40 100 60"}
	for item, w := range want {
		if spread[item] != w {
			t.Errorf("spread of %s: %s, want %s", item, spread[item], w)
		}
	}
	for _, who := range []string{"S2", "H1"} {
		if sess, _ := s.session(who, id); len(sess["scores"].([]any)) != 3 {
			t.Errorf("%s does not see every score once closed", who)
		}
	}
}

// TestCalibrationRefused: every bad opening, score and closure, and every
// role or person who may not, is refused and appends nothing.
func TestCalibrationRefused(t *testing.T) {
	s := calibrationStack(t)
	good := map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S1", "S2"}}
	many := []string{}
	for i := range 21 {
		many = append(many, fmt.Sprintf("S%d", i+10))
	}
	head := s.head()
	for _, c := range []struct {
		name, who string
		body      any
		status    int
		field     string
	}{
		{"no call", "S1", without(good, "callId"), 400, "callId"},
		{"unknown call", "S1", withField(good, "callId", "K9"), 400, "callId"},
		{"bad call id", "S1", withField(good, "callId", "K 1"), 400, "callId"},
		{"no form", "S1", without(good, "formId"), 400, "formId"},
		{"unknown form", "S1", withField(good, "formId", "F9"), 400, "formId"},
		{"unknown form version", "S1", withField(good, "formVersion", 2), 400, "formVersion"},
		{"negative form version", "S1", withField(good, "formVersion", -1), 400, "formVersion"},
		{"no evaluators", "S1", without(good, "evaluators"), 400, "evaluators"},
		{"one evaluator", "S1", withField(good, "evaluators", []string{"S1"}), 400, "evaluators"},
		{"21 evaluators", "S1", withField(good, "evaluators", many), 400, "evaluators"},
		{"an evaluator twice", "H1", withField(good, "evaluators", []string{"S1", "S2", "S1"}), 400, "evaluators[2]"},
		{"a rep", "S1", withField(good, "evaluators", []string{"S1", "R1"}), 400, "evaluators[1]"},
		{"an auditor", "S1", withField(good, "evaluators", []string{"U1", "S1"}), 400, "evaluators[0]"},
		{"unknown staff", "S1", withField(good, "evaluators", []string{"S1", "S9"}), 400, "evaluators[1]"},
		{"deactivated", "S1", withField(good, "evaluators", []string{"S1", "S3"}), 400, "evaluators[1]"},
		{"unknown field", "S1", withField(good, "sessionId", "X"), 400, "sessionId"},
		{"note too long", "S1", withField(good, "note", strings.Repeat("가", 2001)), 400, "note"},
		{"rep", "R1", good, 403, ""},
		{"private banker", "P1", good, 403, ""},
		{"auditor", "U1", good, 403, ""},
		{"admin", "A001", good, 403, ""},
	} {
		a := s.req(c.who, "POST", "/v1/qa/calibrations", c.body)
		if a.status != c.status || (c.field != "" && a.errDetails()["field"] != c.field) {
			t.Errorf("open, %s: %d %s, want %d naming %q", c.name, a.status, a.raw, c.status, c.field)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("refused openings appended: %v", s.appendedSince(head))
	}

	// A retry of an opening with its key gets the same session; the key
	// with another body is a conflict.
	key := events.NewID().String()
	first := s.must("S1", "POST", "/v1/qa/calibrations", good, 201, "Idempotency-Key", key)
	if first["sessionId"] != key {
		t.Fatalf("opened with key %s: %v", key, first)
	}
	id := key
	head = s.head()
	if again := s.must("S1", "POST", "/v1/qa/calibrations", good, 201, "Idempotency-Key", key); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatalf("retry answered %v, first %v", again, first)
	}
	if a := s.req("S1", "POST", "/v1/qa/calibrations", withField(good, "note", "x"), "Idempotency-Key", key); a.status != 409 {
		t.Fatalf("the key with another body: %d %s", a.status, a.raw)
	}

	path := "/v1/qa/calibrations/" + id
	for _, c := range []struct {
		name, who, path string
		body            any
		status          int
		field           string
	}{
		{"unknown session", "S1", "/v1/qa/calibrations/NOSESSION/scores", calScore(5, 5, 1, 5), 404, ""},
		{"bad session id", "S1", "/v1/qa/calibrations/a%20b/scores", calScore(5, 5, 1, 5), 400, "id"},
		{"not an evaluator", "S4", path + "/scores", calScore(5, 5, 1, 5), 403, ""},
		{"a centre head not an evaluator", "H1", path + "/scores", calScore(5, 5, 1, 5), 403, ""},
		{"rep", "R1", path + "/scores", calScore(5, 5, 1, 5), 403, ""},
		{"auditor", "U1", path + "/scores", calScore(5, 5, 1, 5), 403, ""},
		{"an item missing", "S1", path + "/scores", map[string]any{"items": calScore(5, 5, 1, 5)["items"].([]map[string]any)[:3]}, 400, "items"},
		{"score above max", "S1", path + "/scores", calScore(6, 5, 1, 5), 400, "items[0].score"},
		{"negative score", "S1", path + "/scores", calScore(5, -1, 1, 5), 400, "items[1].score"},
		{"critical above 1", "S1", path + "/scores", calScore(5, 5, 2, 5), 400, "items[2].score"},
		{"N/A not allowed", "S1", path + "/scores", map[string]any{"items": []map[string]any{{"itemId": "greeting", "na": true}}}, 400, "items[0].na"},
		{"unknown item", "S1", path + "/scores", map[string]any{"items": []map[string]any{{"itemId": "smile", "score": 1}}}, 400, "items[0].itemId"},
		{"unknown field", "S1", path + "/scores", withField(calScore(5, 5, 1, 5), "total", 100), 400, "total"},
		{"close with no score", "S1", path + "/closure", map[string]any{}, 400, "id"},
		{"close: not the opener", "S2", path + "/closure", map[string]any{}, 403, ""},
		{"close: rep", "R1", path + "/closure", map[string]any{}, 403, ""},
		{"close: unknown session", "S1", "/v1/qa/calibrations/NOSESSION/closure", map[string]any{}, 404, ""},
	} {
		a := s.req(c.who, "POST", c.path, c.body)
		if a.status != c.status || (c.field != "" && a.errDetails()["field"] != c.field) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, a.status, a.raw, c.status, c.field)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("refused scores and closures appended: %v", s.appendedSince(head))
	}

	// Scored once: a retry with its key gets the first answer, a second
	// score is refused; one score is not enough to close.
	scoreKey := events.NewID().String()
	scored := s.must("S1", "POST", path+"/scores", calScore(4, 4, 1, 4), 201, "Idempotency-Key", scoreKey)
	head = s.head()
	if again := s.must("S1", "POST", path+"/scores", calScore(4, 4, 1, 4), 201, "Idempotency-Key", scoreKey); fmt.Sprint(again) != fmt.Sprint(scored) {
		t.Fatalf("score retry answered %v, first %v", again, scored)
	}
	if a := s.req("S1", "POST", path+"/scores", calScore(5, 5, 1, 5)); a.status != 400 || !strings.Contains(string(a.raw), "already") {
		t.Fatalf("a second score: %d %s", a.status, a.raw)
	}
	if a := s.req("S1", "POST", path+"/closure", map[string]any{}); a.status != 400 || !strings.Contains(string(a.raw), "1 scores") {
		t.Fatalf("closing with one score: %d %s", a.status, a.raw)
	}
	if got := s.head(); got != head {
		t.Fatalf("refused writes appended: %v", s.appendedSince(head))
	}

	// A centre head who did not open it may close it; then scores and
	// closures are refused, but the closure's retry gets its first answer.
	s.must("S2", "POST", path+"/scores", calScore(3, 3, 1, -1), 201)
	closeKey := events.NewID().String()
	closed := s.must("H1", "POST", path+"/closure", map[string]any{"note": "끝"}, 201, "Idempotency-Key", closeKey)
	head = s.head()
	if again := s.must("H1", "POST", path+"/closure", map[string]any{"note": "끝"}, 201, "Idempotency-Key", closeKey); fmt.Sprint(again) != fmt.Sprint(closed) {
		t.Fatalf("closure retry answered %v, first %v", again, closed)
	}
	for _, c := range []struct{ who, path string }{{"S2", path + "/scores"}, {"S1", path + "/closure"}, {"H1", path + "/closure"}} {
		if a := s.req(c.who, "POST", c.path, map[string]any{}); a.status != 400 || !strings.Contains(string(a.raw), "closed") {
			t.Errorf("%s %s after the closure: %d %s", c.who, c.path, a.status, a.raw)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("writes after the closure appended: %v", s.appendedSince(head))
	}
	sess, _ := s.session("S4", id)
	if sess["closerId"] != "H1" || !slices.Equal(evaluatorsOf(sess), []string{"S1", "S2"}) {
		t.Fatalf("closed session: %v", sess)
	}

	// Listing filters are checked.
	for _, q := range []string{"status=done", "evaluator=a%20b"} {
		if a := s.req("S1", "GET", "/v1/qa/calibrations?"+q, nil); a.status != 400 {
			t.Errorf("GET /v1/qa/calibrations?%s: %d %s", q, a.status, a.raw)
		}
	}
	for who, want := range map[string]int{"R1": 403, "P1": 403, "A001": 403, "U1": 200} {
		if a := s.req(who, "GET", path, nil); a.status != want {
			t.Errorf("GET the session as %s: %d, want %d", who, a.status, want)
		}
	}
}
