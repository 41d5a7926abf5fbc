package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestCalibrationBlindLive: while a session is open, the live feed's qa
// topic — which every supervisor and centre head may read, evaluators
// among them — tells who scored, never what: CalibrationScored carries no
// items, total or criticalFailed there. The log topic (auditors') carries
// the event as stored, as the audit routes do.
func TestCalibrationBlindLive(t *testing.T) {
	s := calibrationStack(t)
	zero := 0.0
	qa := s.subscribe("S1", []string{"qa"}, &zero)
	log := s.subscribe("U1", []string{"log"}, &zero)
	id := s.must("S1", "POST", "/v1/qa/calibrations",
		map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S2", "S1"}}, 201)["sessionId"].(string)
	s.must("S2", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 1, -1), 201)
	scored := func(l *liveSub) map[string]any {
		for _, m := range l.received() {
			if m["type"] == "CalibrationScored" {
				return m
			}
		}
		return nil
	}
	s.waitUntil("the qa topic delivers the score", func() bool { return scored(qa) != nil })
	s.waitUntil("the log topic delivers the score", func() bool { return scored(log) != nil })
	b, _ := json.Marshal(scored(qa)["data"])
	if raw := string(b); strings.Contains(raw, "total") || strings.Contains(raw, "items") || strings.Contains(raw, "greeting") ||
		!strings.Contains(raw, `"evaluatorId":"S2"`) || !strings.Contains(raw, `"sessionId":"`+id+`"`) {
		t.Errorf("the qa topic shows S2's score of an open session to S1: %s", raw)
	}
	if b, _ := json.Marshal(scored(log)["data"]); !strings.Contains(string(b), `"total":100`) {
		t.Errorf("the log topic lost the score as stored: %s", b)
	}
}

// TestCallOfAnotherRep: GET /v1/calls/{id} shows a call's evaluations,
// disputes (the rep's reason) and coaching points: to supervisors, centre
// heads, auditors and the call's own rep; another rep or private banker
// is answered 404, as the console's call page answers them.
func TestCallOfAnotherRep(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1")
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)
	for _, who := range []string{"R1", "S1", "H1", "U1"} {
		s.must(who, "GET", "/v1/calls/K1", nil, 200)
	}
	for _, who := range []string{"R2", "P1"} {
		if a := s.req(who, "GET", "/v1/calls/K1", nil); a.status != 404 || a.errCode() != "not_found" || strings.Contains(string(a.raw), "다시") {
			t.Errorf("%s read R1's call: %d %s", who, a.status, a.raw)
		}
	}
}

// TestLiveOthersQA: a rep subscribed to a customer, or to the advisor
// topic of a customer they advise, receives the recording of another
// rep's call of that customer but none of its QA: the review's scores
// and coaching, the other rep's dispute and its reason.
func TestLiveOthersQA(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1")
	zero := 0.0
	r2 := s.subscribe("R2", []string{"customer:C1"}, &zero)
	p1 := s.subscribe("P1", []string{"customer:C1"}, &zero)
	own := s.subscribe("R1", []string{"customer:C1"}, &zero)
	audio := []byte("RIFF-qa-call-K2")
	s.must("P1", "POST", "/v1/calls", newCall("K2", "C1", s.upload("P1", audio), len(audio)), 201) // P1's call of R1's customer
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	s.must("S1", "POST", "/v1/calls/K2/reviews", newReview("greeting"), 201)
	s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "다시 들어 주세요"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("마지막"), 201)
	types := func(l *liveSub) (out []string) {
		for _, m := range l.received() {
			out = append(out, m["stream"].(string)+" "+m["type"].(string))
		}
		return out
	}
	for _, l := range []*liveSub{r2, p1, own} {
		s.waitUntil(l.who+" receives the last contact", func() bool {
			return slices.ContainsFunc(types(l), func(ty string) bool { return strings.HasSuffix(ty, "ContactLogged") })
		})
	}
	for l, want := range map[*liveSub]string{
		r2:  "[call-K1 CallRecorded call-K2 CallRecorded]",
		p1:  "[call-K1 CallRecorded call-K2 CallRecorded call-K2 CallReviewed]",
		own: "[call-K1 CallRecorded call-K2 CallRecorded call-K1 CallReviewed call-K1 ReviewDisputed]",
	} {
		var calls []string
		for _, ty := range types(l) {
			if strings.HasPrefix(ty, "call-") {
				calls = append(calls, ty)
			}
		}
		if got := fmt.Sprint(calls); got != want {
			t.Errorf("%s on customer:C1 received %s, want %s", l.who, got, want)
		}
	}
}

// laggingCalls is a read side whose calls and calibration sessions stand
// still once frozen: what a
// server whose read side lags behind the log (another server appended)
// reads.
type laggingCalls struct {
	projections.Queries
	mu       sync.Mutex
	frozen   map[string]projections.CallView // nil: not frozen
	sessions map[string]projections.CalibrationSession
}

func (q *laggingCalls) Call(ctx context.Context, id string) (projections.CallView, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c, ok := q.frozen[id]; ok {
		return c, nil
	}
	c, err := q.Queries.Call(ctx, id)
	if err == nil && q.frozen != nil {
		q.frozen[id] = c
	}
	return c, err
}

func (q *laggingCalls) Calibration(ctx context.Context, id string) (projections.CalibrationSession, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if c, ok := q.sessions[id]; ok {
		return c, nil
	}
	c, err := q.Queries.Calibration(ctx, id)
	if err == nil && q.frozen != nil {
		q.sessions[id] = c
	}
	return c, err
}

func (q *laggingCalls) freeze() {
	q.sessions = map[string]projections.CalibrationSession{}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.frozen = map[string]projections.CallView{}
}

// TestCallWriteIfMatchAhead: a QA write's checks hold against the call
// version its append follows even when If-Match names a version the read
// side has not reached: a second resolution of a dispute, sent with the
// ETag of the first, is refused (409) while the read side still shows the
// dispute open, and nothing is appended.
func TestCallWriteIfMatchAhead(t *testing.T) {
	lag := &laggingCalls{}
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		lag.Queries = c.Queries
		c.Queries = lag
	}})
	s.publishForm()
	s.qaCalls("K1")
	dp := s.disputed("K1")
	lag.freeze()
	s.callView("S1", "K1") // the dispute open, as frozen
	first := s.must("S1", "POST", "/v1/qa/disputes/"+dp+"/resolution", map[string]any{"resolution": "upheld", "note": "기준대로"}, 201)
	etag := fmt.Sprintf(`"%v"`, first["version"])
	s.refuse("S1", "POST", "/v1/qa/disputes/"+dp+"/resolution", map[string]any{"resolution": "upheld", "note": "두 번째"}, 409, "conflict",
		"If-Match", etag)
}

// TestCalibrationIfMatchAhead: as TestCallWriteIfMatchAhead for a
// calibration session: a second score of one evaluator, sent with the
// ETag of their first while the read side lags, is refused (409) and
// appends nothing.
func TestCalibrationIfMatchAhead(t *testing.T) {
	lag := &laggingCalls{}
	s := calibrationStackWith(t, func(c *api.Config) {
		lag.Queries = c.Queries
		c.Queries = lag
	})
	id := s.must("S1", "POST", "/v1/qa/calibrations",
		map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S2", "S1"}}, 201)["sessionId"].(string)
	s.must("S2", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 1, -1), 201)
	lag.freeze()
	s.session("S1", id) // S2 has scored, S1 not, as frozen
	first := s.must("S1", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(3, 4, 1, 2), 201)
	etag := fmt.Sprintf(`"%v"`, first["version"])
	s.refuse("S1", "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 5, 1, 5), 409, "conflict", "If-Match", etag)
}

// TestRetriesAfterLaterWrites: a retry of a QA write gets its first answer
// and appends nothing even after later writes changed what the request
// would now do: a dispute retried once it is upheld (it would otherwise
// open a second dispute), a first review retried after its correction.
func TestRetriesAfterLaterWrites(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1")
	review := events.NewID().String()
	firstReview := s.req("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), "Idempotency-Key", review)
	key := events.NewID().String()
	reason := map[string]any{"reason": "다시 들어 주세요"}
	first := s.req("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", reason, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("dispute: %d %s", first.status, first.raw)
	}
	s.must("S1", "POST", "/v1/qa/disputes/"+first.body["disputeId"].(string)+"/resolution", map[string]any{"resolution": "upheld", "note": "기준대로"}, 201)
	head := s.head()
	if again := s.req("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", reason, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("the dispute retried after its resolution: %d %s, first %s", again.status, again.raw, first.raw)
	}
	s.must("S1", "POST", "/v1/calls/K1/reviews", withField(newReview(), "supersedes", 1), 201)
	if again := s.req("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), "Idempotency-Key", review); again.status != 201 || !bytes.Equal(again.raw, firstReview.raw) {
		t.Errorf("the first review retried after a correction: %d %s, first %s", again.status, again.raw, firstReview.raw)
	}
	if evs := s.appendedSince(head); len(evs) != 1 {
		t.Errorf("the retries appended: %v", evs)
	}
}

// TestDisputeRaces: of racing resolutions of one dispute (upheld and
// re-scored) and corrections of its evaluation, exactly one resolution
// lands and no correction while the dispute is open: a correction may land
// only after an upheld resolution (then the dispute is closed and the
// evaluation is the latest; on PostgreSQL's lagging read side CI met that
// order), never beside a re-score (evaluation 1 is then superseded); and of
// racing disputes of one evaluation, one.
func TestDisputeRaces(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.publishForm()
	s.qaCalls("K1", "K2")
	id := s.disputed("K1")
	path := "/v1/qa/disputes/" + id + "/resolution"
	var wg sync.WaitGroup
	var mu sync.Mutex
	landed := map[string]int{} // by what was sent
	send := func(path string, body any) {
		a, err := s.send("S1", "POST", path, body)
		switch {
		case err != nil:
			t.Error(err)
		case a.status == 201:
			mu.Lock()
			landed[path]++
			mu.Unlock()
		case a.status != 400 && a.status != 409:
			t.Errorf("POST %s racing: %d %s", path, a.status, a.raw)
		}
	}
	for i := range 3 {
		wg.Go(func() { send(path, map[string]any{"resolution": "upheld", "note": fmt.Sprint("유지 ", i)}) })
		wg.Go(func() {
			send(path, map[string]any{"resolution": "rescored", "note": fmt.Sprint("재채점 ", i), "items": scores("needs", 5)})
		})
		wg.Go(func() { send("/v1/calls/K1/reviews", withField(newReview(), "supersedes", 1)) })
	}
	wg.Wait()
	c := s.callView("S1", "K1")
	ds := c["disputes"].([]any)
	if landed[path] != 1 || landed["/v1/calls/K1/reviews"] > 1 || len(ds) != 1 || ds[0].(map[string]any)["status"] == "open" ||
		len(c["evaluations"].([]any)) > 2 {
		t.Errorf("racing writes landed %v; disputes %v, %d evaluations", landed, ds, len(c["evaluations"].([]any)))
	}
	if landed["/v1/calls/K1/reviews"] == 1 {
		// The correction must follow an upheld resolution in the log.
		var types []string
		for _, e := range s.must("U1", "GET", "/v1/audit/streams/call-K1?limit=1000", nil, 200)["events"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		if ds[0].(map[string]any)["status"] != "upheld" || len(types) < 2 ||
			types[len(types)-2] != "DisputeResolved" || types[len(types)-1] != "CallReviewed" {
			t.Errorf("a correction landed beside the dispute's resolution: call stream %v, disputes %v", types, ds)
		}
	}

	s.must("S1", "POST", "/v1/calls/K2/reviews", newReview(), 201)
	status := make([]int, 6)
	for i := range status {
		wg.Go(func() {
			a, err := s.send("R1", "POST", "/v1/calls/K2/evaluations/1/dispute", map[string]any{"reason": fmt.Sprint("이의 ", i)})
			if err != nil {
				t.Error(err)
				return
			}
			status[i] = a.status
		})
	}
	wg.Wait()
	if ds := s.callView("R1", "K2")["disputes"].([]any); len(ds) != 1 || slices.Index(status, 201) < 0 || slices.Index(status[slices.Index(status, 201)+1:], 201) >= 0 {
		t.Errorf("racing disputes answered %v: disputes %v", status, ds)
	}
}

// TestCalibrationScoresRace: evaluators scoring a session at the same
// moment all land (one's append is no reason to refuse another's score);
// one evaluator's racing scores land once.
func TestCalibrationScoresRace(t *testing.T) {
	s := calibrationStack(t)
	id := s.must("S1", "POST", "/v1/qa/calibrations",
		map[string]any{"callId": "K1", "formId": "F1", "evaluators": []string{"S1", "S2", "S4", "H1"}}, 201)["sessionId"].(string)
	var wg sync.WaitGroup
	status := map[string][]int{}
	var mu sync.Mutex
	for _, who := range []string{"S1", "S2", "S4", "H1", "H1", "H1"} {
		wg.Go(func() {
			a, err := s.send(who, "POST", "/v1/qa/calibrations/"+id+"/scores", calScore(5, 4, 1, 3))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			status[who] = append(status[who], a.status)
			mu.Unlock()
		})
	}
	wg.Wait()
	for who, st := range status {
		if slices.Index(st, 201) < 0 || slices.Index(st[slices.Index(st, 201)+1:], 201) >= 0 {
			t.Errorf("%s's racing scores answered %v, want one 201", who, st)
		}
	}
	if sess, raw := s.session("U1", id); len(sess["scored"].([]any)) != 4 {
		t.Errorf("racing scores: %s", raw)
	}
}
