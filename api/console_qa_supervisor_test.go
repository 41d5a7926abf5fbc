package api_test

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestConsoleQARecording: the console's recording route streams the call's
// recording as the API does, whole and by Range, to whoever may open the
// call page; to another rep, for a digest that is not the call's, or for a
// call that does not exist, it is not found.
func TestConsoleQARecording(t *testing.T) {
	s, digest := qaFixture(t)
	audio := testWAV(20)
	src := "/recordings/" + digest + "?call=K1"
	for _, who := range []string{"S1", "R1", "H1", "U1"} {
		u := newWebUser(s)
		u.login(who, testPassword, "")
		whole := u.get(src)
		if whole.status != 200 || whole.body != string(audio) {
			t.Errorf("%s: the whole recording: %d, %d bytes of %d", who, whole.status, len(whole.body), len(audio))
		}
		part := u.do("GET", src, nil, "Range", "bytes=8-11")
		if part.status != 206 || part.body != "WAVE" || part.header.Get("Content-Range") != "bytes 8-11/"+strconv.Itoa(len(audio)) {
			t.Errorf("%s: a range: %d %q %q", who, part.status, part.body, part.header.Get("Content-Range"))
		}
	}
	u := newWebUser(s)
	u.login("R2", testPassword, "")
	for _, path := range []string{src, "/recordings/" + digest + "?call=K9", "/recordings/" + digest, "/recordings/" + sha256hex([]byte("x")) + "?call=K1", "/qa/calls/K1"} {
		if a := u.get(path); a.status != 404 || bytes.Contains([]byte(a.body), audio[:64]) {
			t.Errorf("R2: %s answered %d", path, a.status)
		}
	}
}

// qaKey is a fresh Idempotency-Key for a console form.
func qaKey() string { return events.NewID().String() }

// reviewForm is the call page's scorecard as newReview scores it: 3, 4,
// pass, N/A (83.3), with a point at 00:10 on "needs".
func reviewForm(key string) url.Values {
	return url.Values{"_key": {key}, "formId": {"F1"}, "formVersion": {"1"}, "score.greeting": {"3"}, "score.needs": {"4"}, "comment.needs": {"좋음"},
		"score.disclosure": {"1"}, "score.closing": {"na"}, "pt.at": {"00:10", ""}, "pt.item": {"needs", ""}, "pt.note": {"니즈를 먼저 물어보기", ""}}
}

// TestConsoleQAReview: the call page's scorecard appends what POST
// /v1/calls/{id}/reviews appends (the server's total, the point at its
// second and item), once for a resubmitted form; a refused scorecard
// (an item unscored, a moment that is no clock, a moment past the call's
// end) appends nothing and says why at the item or point; a correction
// supersedes the latest evaluation; only supervisors may score, and the
// call page shows no scorecard to anyone else.
func TestConsoleQAReview(t *testing.T) {
	s, _ := qaFixture(t)
	sup := newWebUser(s)
	sup.login("S1", testPassword, "")
	page := sup.mustStatus(sup.get("/qa/calls/K1"), 200, "the call page")
	if !strings.Contains(page.body, `id="qa-scorecard"`) {
		t.Fatalf("no scorecard for the supervisor")
	}

	refusals := []struct {
		name  string
		set   url.Values
		where string // the element that must hold the message
	}{
		{"an item unscored", url.Values{"score.needs": {""}}, `id="item-needs"`},
		{"a moment that is no clock", url.Values{"pt.at": {"1:2:3:4", ""}}, `data-point-row`},
		{"a moment past the call's end", url.Values{"pt.at": {"00:25", ""}}, `data-point-row`},
		{"a score above the item's max", url.Values{"score.greeting": {"6"}}, `id="item-greeting"`},
	}
	for _, c := range refusals {
		before := s.head()
		f := reviewForm(qaKey())
		for k, v := range c.set {
			f[k] = v
		}
		a := sup.post("/qa/calls/K1/review", f)
		if a.status != 400 {
			t.Errorf("%s: %d, want 400", c.name, a.status)
			continue
		}
		if i := strings.Index(a.body, c.where); i < 0 || !strings.Contains(a.body[i:], `class="msg error" role="alert"`) {
			t.Errorf("%s: no message at %s", c.name, c.where)
		}
		if s.head() != before {
			t.Errorf("%s: the refused scorecard appended", c.name)
		}
	}

	key := qaKey()
	sup.get("/qa/calls/K1")
	sup.mustRedirect(sup.post("/qa/calls/K1/review", reviewForm(key)), "/qa/calls/K1?done=reviewed#evaluations", "the review")
	head := s.head()
	sup.mustRedirect(sup.post("/qa/calls/K1/review", reviewForm(key)), "/qa/calls/K1?done=reviewed#evaluations", "the review resubmitted")
	if s.head() != head {
		t.Errorf("a resubmitted scorecard appended again")
	}
	log := s.streamLog("call-K1")
	ev := s.openedData(&log[len(log)-1])
	if log[len(log)-1].Type != "CallReviewed" || ev["total"] != 83.3 || ev["formVersion"] != 1.0 {
		t.Fatalf("the scorecard appended %s %v", log[len(log)-1].Type, ev)
	}
	pts := ev["coachingPoints"].([]any)
	if len(pts) != 1 || pts[0].(map[string]any)["atSec"] != 10.0 || pts[0].(map[string]any)["itemId"] != "needs" {
		t.Errorf("coaching points %v", pts)
	}

	// A correction: the page offers evaluation 1's scores to correct.
	page = sup.get("/qa/calls/K1")
	if !strings.Contains(page.body, `name="score.greeting" value="3" checked`) {
		t.Errorf("the correction is not prefilled with evaluation 1's scores")
	}
	f := reviewForm(qaKey())
	f.Set("score.greeting", "5")
	f.Set("supersedes", "1")
	sup.mustRedirect(sup.post("/qa/calls/K1/review", f), "/qa/calls/K1?done=reviewed#evaluations", "the correction")
	log = s.streamLog("call-K1")
	if ev := s.openedData(&log[len(log)-1]); ev["supersedes"] != 1.0 || ev["total"] != 90.0 {
		t.Errorf("the correction appended %v", ev)
	}
	page = sup.get("/qa/calls/K1")
	for _, want := range []string{`id="eval-2"`, `id="eval-1"`, "superseded by evaluation 2", "corrects evaluation 1"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the call page lacks %q", want)
		}
	}

	// The queue: the QA readers; the disputes: supervisors.
	for who, want := range map[string][2]int{"H1": {200, 403}, "U1": {200, 403}, "R1": {403, 403}} {
		u := newWebUser(s)
		u.login(who, testPassword, "")
		if q, d := u.get("/qa"), u.get("/qa/disputes"); q.status != want[0] || d.status != want[1] {
			t.Errorf("%s: the queue answered %d, the disputes %d, want %v", who, q.status, d.status, want)
		}
	}

	// Who may score: only supervisors; others see the page without a scorecard.
	for _, who := range []string{"H1", "U1", "R1"} {
		u := newWebUser(s)
		u.login(who, testPassword, "")
		p := u.mustStatus(u.get("/qa/calls/K1"), 200, who+"'s call page")
		if strings.Contains(p.body, `id="qa-scorecard"`) || !strings.Contains(p.body, `id="eval-2"`) {
			t.Errorf("%s: the call page shows a scorecard, or not the evaluations", who)
		}
		before := s.head()
		if a := u.post("/qa/calls/K1/review", reviewForm(qaKey())); a.status != 403 {
			t.Errorf("%s: posting a scorecard answered %d, want 403", who, a.status)
		}
		if s.head() != before {
			t.Errorf("%s: a refused scorecard appended", who)
		}
	}
}

// TestConsoleQADisputes: the disputes page lists the open dispute with the
// rep's reason; upholding it without a note is refused at the note and
// appends nothing, with a note it appends DisputeResolved (once for a
// resubmitted form); a dispute re-scored on the call page appends the new
// evaluation superseding the disputed one and the resolution, the
// disputed evaluation's form version kept; only supervisors resolve.
func TestConsoleQADisputes(t *testing.T) {
	s, _ := qaFixture(t)
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview(), 201)
	d1 := s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "고지는 통화 끝에 했습니다"}, 201)["disputeId"].(string)
	s.awaitApplied()

	sup := newWebUser(s)
	sup.login("S1", testPassword, "")
	page := sup.mustStatus(sup.get("/qa/disputes"), 200, "the disputes page")
	if !strings.Contains(page.body, `id="d-`+d1+`"`) || !strings.Contains(page.body, "고지는 통화 끝에 했습니다") {
		t.Fatalf("the disputes page does not show the open dispute")
	}
	if call := sup.get("/qa/calls/K1"); strings.Contains(call.body, `id="qa-scorecard"`) || !strings.Contains(call.body, `id="qa-open-dispute"`) {
		t.Errorf("with a dispute open the call page offers a correction, or does not say the dispute is open")
	}

	other := newWebUser(s)
	other.login("H1", testPassword, "")
	before := s.head()
	if a := other.post("/qa/disputes/"+d1+"/resolution", url.Values{"resolution": {"upheld"}, "note": {"유지"}, "_key": {qaKey()}}); a.status != 403 {
		t.Errorf("a centre head resolving: %d, want 403", a.status)
	}
	a := sup.post("/qa/disputes/"+d1+"/resolution", url.Values{"resolution": {"upheld"}, "note": {""}, "_key": {qaKey()}, "call": {"K1"}})
	if a.status != 400 || !strings.Contains(a.body, `<span class="msg" role="alert">`) {
		t.Errorf("an uphold without a note: %d", a.status)
	}
	if s.head() != before {
		t.Fatalf("refused resolutions appended")
	}
	key := qaKey()
	up := url.Values{"resolution": {"upheld"}, "note": {"녹취 확인: 고지 누락"}, "_key": {key}, "call": {"K1"}}
	sup.mustRedirect(sup.post("/qa/disputes/"+d1+"/resolution", up), "/qa/disputes?call=K1&done=upheld", "the uphold")
	head := s.head()
	sup.mustRedirect(sup.post("/qa/disputes/"+d1+"/resolution", up), "/qa/disputes?call=K1&done=upheld", "the uphold resubmitted")
	if s.head() != head {
		t.Errorf("a resubmitted uphold appended again")
	}
	log := s.streamLog("call-K1")
	if ev := s.openedData(&log[len(log)-1]); log[len(log)-1].Type != "DisputeResolved" || ev["resolution"] != "upheld" || ev["disputeId"] != d1 || ev["note"] != "녹취 확인: 고지 누락" {
		t.Fatalf("the uphold appended %s %v", log[len(log)-1].Type, ev)
	}

	if all := sup.get("/qa/disputes?status=all"); !strings.Contains(all.body, "녹취 확인: 고지 누락") {
		t.Errorf("the resolved dispute's note is not shown")
	}

	// A second dispute, re-scored on the call page.
	d2 := s.must("R1", "POST", "/v1/calls/K1/evaluations/1/dispute", map[string]any{"reason": "다시 봐 주세요"}, 201)["disputeId"].(string)
	s.awaitApplied()
	page = sup.mustStatus(sup.get("/qa/calls/K1?dispute="+d2), 200, "the re-score page")
	if !strings.Contains(page.body, `action="/qa/disputes/`+d2+`/resolution"`) || !strings.Contains(page.body, `name="score.greeting" value="3" checked`) {
		t.Fatalf("the re-score is not offered on evaluation 1's scores")
	}
	f := reviewForm(qaKey())
	f.Del("formVersion")
	f.Set("dispute", d2)
	f.Set("call", "K1")
	f.Set("resolution", "rescored")
	f.Set("score.disclosure", "0")
	before = s.head()
	if a := sup.post("/qa/disputes/"+d2+"/resolution", f); a.status != 400 || !strings.Contains(a.body, `id="qa-note"`) {
		t.Errorf("a re-score without a note: %d", a.status)
	}
	if s.head() != before {
		t.Fatalf("a refused re-score appended")
	}
	f.Set("note", "필수 고지 누락 확인, 재채점")
	sup.mustRedirect(sup.post("/qa/disputes/"+d2+"/resolution", f), "/qa/calls/K1?done=rescored#evaluations", "the re-score")
	log = s.streamLog("call-K1")
	n := len(log)
	rev, res := s.openedData(&log[n-2]), s.openedData(&log[n-1])
	if log[n-2].Type != "CallReviewed" || rev["supersedes"] != 1.0 || rev["disputeId"] != d2 || rev["total"] != 0.0 || rev["criticalFailed"] != true {
		t.Errorf("the re-score appended %s %v", log[n-2].Type, rev)
	}
	if log[n-1].Type != "DisputeResolved" || res["resolution"] != "rescored" || res["evaluation"] != 2.0 || res["note"] != "필수 고지 누락 확인, 재채점" {
		t.Errorf("the re-score's resolution %s %v", log[n-1].Type, res)
	}
	page = sup.get("/qa/calls/K1")
	for _, want := range []string{"re-scores evaluation 1 (dispute)", "superseded by evaluation 2", "re-scored", "upheld"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the call page lacks %q", want)
		}
	}
}
