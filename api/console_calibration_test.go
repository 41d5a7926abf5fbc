package api_test

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// The calibration screens over real HTTP against the whole stack: opening
// a session, blind scoring, closing, the outcome; every refused form
// appends nothing; who may.

// calForm is the scorecard form's fields for F1's four items (closing
// "na" for N/A) with a comment on greeting.
func calForm(greeting, needs, disclosure, closing, comment string) url.Values {
	v := url.Values{"_key": {newKeyForTest()}, "score.greeting": {greeting}, "score.needs": {needs},
		"score.disclosure": {disclosure}, "score.closing": {closing}, "comment.greeting": {comment}}
	for k, x := range v {
		if x[0] == "" {
			delete(v, k)
		}
	}
	return v
}

// newKeyForTest is a fresh Idempotency-Key.
func newKeyForTest() string { return events.NewID().String() }

// sessionFrom is the session id a redirect to its page names.
func sessionFrom(t *testing.T, p page) string {
	t.Helper()
	loc := p.header.Get("Location")
	rest, ok := strings.CutPrefix(loc, "/qa/calibrations/")
	if p.status != http.StatusSeeOther || !ok {
		t.Fatalf("opening answered %d to %q:\n%.3000s", p.status, loc, p.body)
	}
	id, _, _ := strings.Cut(rest, "?")
	return id
}

// TestConsoleCalibration: S1 opens a session on K1 for S1, H1 and S2 (a
// refused form first: one evaluator, a version that is no number — nothing
// appended); S1 scores (a missing item refused first, nothing appended);
// H1's page shows nothing of S1's score; H1 scores; S2 (who is not the
// opener) cannot close; S1 closes, and the page shows each total and
// distance as the API has them and each item's spread, the wide ones
// marked.
func TestConsoleCalibration(t *testing.T) {
	s := calibrationStack(t)
	s1, h1, s2 := signIn(s, "S1"), signIn(s, "H1"), signIn(s, "S2")
	en := []string{"Accept-Language", "en"}

	list := s1.must("/qa/calibrations?call=K1", 200, en...)
	for _, want := range []string{`value="K1"`, `name="evaluator" value="S1" checked`, `name="evaluator" value="H1"`, `name="evaluator" value="S2"`,
		`<option value="F1" selected>`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the list page's form lacks %s", want)
		}
	}
	if strings.Contains(list.body, `value="S3"`) {
		t.Error("a deactivated supervisor is offered as an evaluator")
	}

	head := s.rhHead()
	for _, bad := range []url.Values{
		{"callId": {"K1"}, "formId": {"F1"}, "evaluator": {"S1"}},
		{"callId": {"K1"}, "formId": {"F1"}, "formVersion": {"x"}, "evaluator": {"S1", "H1"}},
		{"callId": {"K404"}, "formId": {"F1"}, "evaluator": {"S1", "H1"}},
	} {
		bad.Set("_key", newKeyForTest())
		p := s1.post("/qa/calibrations", bad, en...)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `role="alert"`) {
			t.Errorf("%v: %d, want 400 with the message at its field:\n%.2000s", bad, p.status, p.body)
		}
	}
	if s.rhHead() != head {
		t.Fatal("a refused session was appended")
	}

	form := url.Values{"callId": {"K1"}, "formId": {"F1"}, "evaluator": {"S1", "H1", "S2"}, "note": {"12월 보정"}, "_key": {newKeyForTest()}}
	id := sessionFrom(t, s1.post("/qa/calibrations", form, en...))
	if again := sessionFrom(t, s1.post("/qa/calibrations", form, en...)); again != id {
		t.Errorf("the form posted twice opened %s and %s", id, again)
	}
	page := "/qa/calibrations/" + id
	p := s1.must(page+"?done=opened", 200, en...)
	if !strings.Contains(p.body, `id="cal-scorecard"`) || !strings.Contains(p.body, "The session is open.") || !strings.Contains(p.body, `data-player`) {
		t.Fatalf("the opener's page of the new session lacks the scorecard, the notice or the player:\n%.3000s", p.body)
	}

	head = s.rhHead()
	if p := s1.post(page+"/scores", calForm("3", "", "1", "na", ""), en...); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `<fieldset class="qa-item invalid" id="item-needs"`) {
		t.Errorf("a score without needs: %d, the message not at the item:\n%.3000s", p.status, p.body)
	}
	if s.rhHead() != head {
		t.Fatal("a refused score was appended")
	}
	if p := s1.post(page+"/scores", calForm("3", "4", "1", "na", "S1의 비밀 의견"), en...); p.status != http.StatusSeeOther {
		t.Fatalf("S1's score: %d\n%.2000s", p.status, p.body)
	}
	p = s1.must(page, 200, en...)
	if strings.Contains(p.body, `id="cal-scorecard"`) || !strings.Contains(p.body, "S1의 비밀 의견") || !strings.Contains(p.body, "total 83.3") {
		t.Errorf("after scoring S1 does not see their own score (83.3) instead of the scorecard:\n%.3000s", p.body)
	}
	// Closing with one score: refused (the API wants two), the message at
	// the note, nothing appended.
	head = s.rhHead()
	if p := s1.post(page+"/closure", url.Values{"_key": {newKeyForTest()}, "note": {"너무 이름"}}, en...); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="cal-close-msg" role="alert">`) {
		t.Errorf("closing with one score: %d, no message:\n%.3000s", p.status, p.section("cal-close"))
	}
	if s.rhHead() != head {
		t.Error("a refused closure was appended")
	}
	hp := h1.must(page, 200, en...)
	if strings.Contains(hp.body, "S1의 비밀 의견") || strings.Contains(hp.body, "83.3") {
		t.Error("H1 sees S1's score while the session is open")
	}
	if !strings.Contains(hp.body, `<li data-evaluator="S1">Supervisor One <span class="tag ok">scored</span>`) || !strings.Contains(hp.body, "1 of 3 scored") {
		t.Errorf("H1 does not see that S1 has scored:\n%.3000s", hp.section("cal-people"))
	}
	if p := h1.post(page+"/scores", calForm("5", "2", "1", "5", ""), en...); p.status != http.StatusSeeOther {
		t.Fatalf("H1's score: %d\n%.2000s", p.status, p.body)
	}
	head = s.rhHead()
	if sp := s2.must(page, 200, en...); strings.Contains(sp.body, `id="cal-close-form"`) || !strings.Contains(sp.body, `id="cal-scorecard"`) {
		t.Error("S2, an evaluator who did not open the session, is offered to close it, or not to score")
	}
	if p := s2.post(page+"/closure", url.Values{"_key": {newKeyForTest()}}, en...); p.status < 400 {
		t.Errorf("S2 closed the session: %d", p.status)
	}
	if s.rhHead() != head {
		t.Errorf("S2's refused closure appended: the head moved from %v to %v", head, s.rhHead())
	}

	if !strings.Contains(s1.must(page, 200, en...).body, `id="cal-close-form"`) {
		t.Fatal("the opener is not offered to close a session two have scored")
	}
	if p := s1.post(page+"/closure", url.Values{"_key": {newKeyForTest()}, "note": {"인사 기준 재확인"}}, en...); p.status != http.StatusSeeOther {
		t.Fatalf("closing: %d\n%.2000s", p.status, p.body)
	}
	closed, _ := s.session("S2", id)
	p = s2.must(page, 200, en...)
	if strings.Contains(p.body, `id="cal-scorecard"`) {
		t.Error("a closed session still offers S2 the scorecard")
	}
	dist := p.section("cal-distances")
	for _, sc := range closed["scores"].([]any) {
		m := sc.(map[string]any)
		want := `<tr data-evaluator="` + m["evaluatorId"].(string) + `"><th scope="row">`
		row := dist[strings.Index(dist, want):]
		row = row[:strings.Index(row, "</tr>")]
		for _, k := range []string{"total", "distance"} {
			if !strings.Contains(row, `<td class="num">`+oneDecimal(m[k].(float64))+`</td>`) {
				t.Errorf("%s's %s is not %v as the API has it: %s", m["evaluatorId"], k, m[k], row)
			}
		}
	}
	items := p.section("cal-items")
	for _, want := range []string{`<tr data-item="greeting" class="wide">`, `<tr data-item="needs" class="wide">`, `<tr data-item="disclosure"><th`,
		`<td class="num">N/A</td><td class="num">100%</td>`} {
		if !strings.Contains(items, want) {
			t.Errorf("the spread table lacks %s:\n%s", want, items)
		}
	}
	if n := strings.Count(p.body, `<svg class="chart"`); n != 2 {
		t.Errorf("%d charts on a closed session, want distance and spread", n)
	}
	if !strings.Contains(p.body, "인사 기준 재확인") {
		t.Error("the closing note is not shown")
	}
	if l := s1.must("/qa/calibrations?status=closed", 200, en...); !strings.Contains(l.body, `<tr data-session="`+id+`">`) {
		t.Error("the closed session is not in the list of closed sessions")
	}
}

// oneDecimal writes f as the console does (one decimal, none when whole).
func oneDecimal(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// TestConsoleCalibrationRoles: supervisors and centre heads open the
// calibration screens; reps, private bankers, auditors and admins may not,
// and their posts append nothing.
func TestConsoleCalibrationRoles(t *testing.T) {
	s := calibrationStack(t)
	for _, id := range []string{"S1", "H1"} {
		signIn(s, id).must("/qa/calibrations", 200)
	}
	var others []*member
	for _, id := range []string{"R1", "P1", "U1", "A001"} {
		others = append(others, signIn(s, id))
	}
	head := s.rhHead()
	for _, m := range others {
		id := m.id
		m.must("/qa/calibrations", http.StatusForbidden)
		if p := m.post("/qa/calibrations", url.Values{"callId": {"K1"}, "formId": {"F1"}, "evaluator": {"S1", "H1"}}); p.status != http.StatusForbidden {
			t.Errorf("%s opening a session: %d", id, p.status)
		}
	}
	if s.rhHead() != head {
		t.Error("a refused role appended")
	}
}
