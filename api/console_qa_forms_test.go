package api_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The scorecard forms screen over real HTTP: who may open it, what its
// editor refuses (nothing appended), and a resubmitted publication (the
// same form twice) appends once.

var formKeyRe = regexp.MustCompile(`name="_key" value="([^"]+)"`)

// editorForm is the editor's fields for stdForm's items as posted, with
// op and the page's Idempotency-Key.
func editorForm(a webAnswer, op string) url.Values {
	f := url.Values{"op": {op}, "base": {"0"}, "name": {"표준 평가표"}, "rows": {"2"},
		"item-0-itemId": {"greeting"}, "item-0-label": {"인사"}, "item-0-weight": {"1"}, "item-0-max": {"5"},
		"item-1-itemId": {"disclosure"}, "item-1-label": {"필수 고지"}, "item-1-weight": {"2"}, "item-1-max": {"1"}, "item-1-critical": {"1"}}
	if m := formKeyRe.FindStringSubmatch(a.body); m != nil {
		f.Set("_key", m[1])
	}
	return f
}

// with returns a copy of f with k set to v.
func with(f url.Values, k, v string) url.Values {
	c := url.Values{}
	for key, vs := range f {
		c[key] = append([]string(nil), vs...)
	}
	c.Set(k, v)
	return c
}

func TestConsoleQAForms(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, m := range [][2]string{{"S1", "supervisor"}, {"R1", "rep"}, {"P1", "private_banker"}, {"U1", "auditor"}, {"A001", "admin"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	for _, id := range []string{"R1", "P1", "U1", "A001"} {
		u := newWebUser(s)
		u.mustStatus(u.login(id, testPassword, ""), 303, "sign-in of "+id)
		for _, path := range []string{"/qa/forms", "/qa/forms/F1"} {
			u.mustStatus(u.get(path), 403, id+" GET "+path)
		}
		head := s.head()
		u.mustStatus(u.post("/qa/forms/F1", editorForm(webAnswer{}, "publish")), 403, id+" publishing")
		if got := s.head(); got != head {
			t.Errorf("%s's refused publication appended", id)
		}
	}

	sup := newWebUser(s)
	sup.mustStatus(sup.login("S1", testPassword, ""), 303, "sign-in of S1")
	a := sup.mustStatus(sup.get("/qa/forms/F1"), 200, "a new form's editor")
	for _, path := range []string{"/qa/forms/F1?version=1", "/qa/forms/F1?version=x", "/qa/forms/F%201"} {
		sup.mustStatus(sup.get(path), 404, "GET "+path)
	}
	if r := sup.get("/qa/forms?new=" + url.QueryEscape("F 1")); r.status != 400 || !strings.Contains(r.body, `id="qf-new-msg"`) {
		t.Errorf("a bad new form id: %d", r.status)
	}
	sup.mustRedirect(sup.get("/qa/forms?new=F1"), "/qa/forms/F1", "a new form by its id")

	// Refused, nothing appended: each shown where it belongs.
	head := s.head()
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string // in the answer
	}{
		{"no name", with(editorForm(a, "publish"), "name", ""), 400, `id="form-name-msg"`},
		{"a weight not a number", with(editorForm(a, "publish"), "item-0-weight", "two"), 400, `id="item-0-weight-msg"`},
		{"a weight of 0", with(editorForm(a, "publish"), "item-0-weight", "0"), 400, `id="item-0-weight-msg"`},
		{"a critical item's max 5", with(editorForm(a, "publish"), "item-1-max", "5"), 400, `id="item-1-max-msg"`},
		{"the same item twice", with(editorForm(a, "publish"), "item-1-itemId", "greeting"), 400, `id="item-1-itemId-msg"`},
		{"no items", with(editorForm(a, "publish"), "rows", "0"), 400, `id="form-items-msg"`},
		{"a check", editorForm(a, "check"), 200, `id="qf-done"`},
		{"an edit", editorForm(a, "add"), 200, `id="item-2-itemId"`},
		{"an unknown action", editorForm(a, "delete-all"), 400, ""},
		{"a move out of range", editorForm(a, "remove-7"), 400, ""},
		{"a version the form never had", with(editorForm(a, "publish"), "base", "3"), 409, `id="qf-error"`},
	} {
		r := sup.post("/qa/forms/F1", tc.form)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want %d with %s", tc.name, r.status, tc.status, tc.want)
		}
		if got := s.head(); got != head {
			t.Fatalf("%s: appended (head %v → %v)", tc.name, head, got)
		}
	}
	if r := sup.post("/qa/forms/F1", with(editorForm(a, "publish"), "_csrf", "forged")); r.status != 403 {
		t.Errorf("a forged form token: %d", r.status)
	}

	// Published once, however often the same form is sent.
	pub := editorForm(a, "publish")
	for range 2 {
		sup.mustRedirect(sup.post("/qa/forms/F1", pub), "/qa/forms/F1?done=published", "publish")
	}
	evs := s.formEvents("F1")
	if len(evs) != 1 || evs[0]["version"] != 1.0 || evs[0]["name"] != "표준 평가표" {
		t.Fatalf("published: %v", evs)
	}
	if got := s.logEvents(head); len(got) != 1 || got[0]["actor"].(map[string]any)["id"] != "S1" {
		t.Errorf("the log got %v", got)
	}
	// Who published it is shown by name, not by staff id.
	if l := sup.mustStatus(sup.get("/qa/forms"), 200, "the list"); !strings.Contains(l.body, "<td>Supervisor One</td>") || strings.Contains(l.body, "<td>S1</td>") {
		t.Errorf("the list does not name the publisher:\n%s", l.body)
	}
	// The API reads it as the console published it.
	f := s.must("S1", "GET", "/v1/qa/forms/F1", nil, 200)
	if items := f["items"].([]any); len(items) != 2 || items[1].(map[string]any)["critical"] != true {
		t.Errorf("GET /v1/qa/forms/F1: %v", f)
	}
	a = sup.mustStatus(sup.get("/qa/forms/F1?done=published"), 200, "the published form")
	if !strings.Contains(a.body, `id="qf-done"`) || !strings.Contains(a.body, `name="base" value="1"`) {
		t.Errorf("after publishing, the page shows no notice or its editor is not on version 1")
	}

	// A second editor's draft of the new form, started before version 1.
	head = s.head()
	r := sup.post("/qa/forms/F1", with(editorForm(a, "publish"), "_key", "01JDQ8Z6M3V9K2X7R4T5Y6W8N9"))
	if r.status != 409 || !strings.Contains(r.body, `id="qf-conflict"`) || !strings.Contains(r.body, `name="base" value="1"`) {
		t.Errorf("a draft started before version 1: %d, want 409 with the conflict and the draft moved to version 1", r.status)
	}
	if got := s.head(); got != head {
		t.Errorf("the stale draft appended")
	}
}
