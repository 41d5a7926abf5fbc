package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
)

// formItems returns the items of a form body (stdForm's shape) as the API
// answers them.
func formItems(b map[string]any) []any {
	var out []any
	for _, it := range b["items"].([]map[string]any) {
		m := map[string]any{}
		for k, v := range it {
			if n, ok := v.(int); ok {
				m[k] = float64(n)
				continue
			}
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

// formV2 is stdForm with closing removed and a new item: a change that
// must not touch version 1.
func formV2() map[string]any {
	return map[string]any{"name": "표준 평가표 2", "note": "마무리 대신 요약",
		"items": []map[string]any{
			{"itemId": "greeting", "label": "인사", "weight": 1, "max": 5},
			{"itemId": "needs", "label": "니즈 파악", "weight": 3, "max": 5},
			{"itemId": "disclosure", "label": "필수 고지", "weight": 2, "max": 1, "critical": true},
			{"itemId": "summary", "label": "요약", "weight": 2, "max": 3, "naAllowed": true}}}
}

// TestFormVersions: each PUT publishes the next version on qaform-<id>,
// whose stream version is the form version; every version stays readable
// as published; the list holds the latest of each form.
func TestFormVersions(t *testing.T) {
	s := newStack(t, stackOptions{})
	a := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm())
	if a.status != 201 || a.body["stream"] != "qaform-F1" || a.body["version"] != 1.0 || a.header.Get("ETag") != `"1"` {
		t.Fatalf("first PUT: %d %s (ETag %s)", a.status, a.raw, a.header.Get("ETag"))
	}
	a = s.req("H1", "PUT", "/v1/qa/forms/F1", formV2())
	if a.status != 201 || a.body["version"] != 2.0 {
		t.Fatalf("second PUT (a centre head): %d %s", a.status, a.raw)
	}
	evs := s.logEvents(0)
	last := evs[len(evs)-1]
	if last["type"] != "ScorecardFormPublished" || last["stream"] != "qaform-F1" || last["version"] != 1.0 { // the stream's second event
		t.Fatalf("the log's last event: %v", last)
	}
	if d := last["data"].(map[string]any); d["formId"] != "F1" || d["version"] != 2.0 || d["note"] != "마무리 대신 요약" {
		t.Errorf("its data: %v", d)
	}

	for _, tc := range []struct {
		query string
		want  map[string]any
		ver   float64
		by    string
	}{
		{"?version=1", stdForm(), 1, "S1"},
		{"?version=2", formV2(), 2, "H1"},
		{"", formV2(), 2, "H1"},
		{"?version=0", formV2(), 2, "H1"},
	} {
		for _, who := range []string{"R1", "P1", "S1", "H1", "U1"} {
			a := s.req(who, "GET", "/v1/qa/forms/F1"+tc.query, nil)
			b := a.body
			if a.status != 200 || b["id"] != "F1" || b["version"] != tc.ver || b["latestVersion"] != 2.0 || a.header.Get("ETag") != `"2"` {
				t.Fatalf("GET %s as %s: %d %s (ETag %s)", tc.query, who, a.status, a.raw, a.header.Get("ETag"))
			}
			if b["name"] != tc.want["name"] || b["publishedBy"] != tc.by || b["publishedAt"] == "" {
				t.Errorf("GET %s: %s", tc.query, a.raw)
			}
			if got, want := fmt.Sprint(b["items"]), fmt.Sprint(formItems(tc.want)); got != want {
				t.Errorf("GET %s: items\n got %s\nwant %s", tc.query, got, want)
			}
		}
	}
	for _, q := range []string{"?version=3", "?version=1000"} {
		if a := s.req("S1", "GET", "/v1/qa/forms/F1"+q, nil); a.status != 404 || a.errCode() != "not_found" {
			t.Errorf("GET %s: %d %s", q, a.status, a.raw)
		}
	}
	if a := s.req("S1", "GET", "/v1/qa/forms/F2", nil); a.status != 404 {
		t.Errorf("GET an unpublished form: %d %s", a.status, a.raw)
	}

	if items := s.must("R1", "GET", "/v1/qa/forms", nil, 200)["items"].([]any); len(items) != 1 {
		t.Fatalf("list: %v", items)
	}
	s.must("S1", "PUT", "/v1/qa/forms/A-FORM", stdForm(), 201)
	items := s.must("U1", "GET", "/v1/qa/forms", nil, 200)["items"].([]any)
	var got []string
	for _, it := range items {
		f := it.(map[string]any)
		got = append(got, fmt.Sprint(f["id"], "@", f["version"], "/", f["latestVersion"]))
	}
	if want := []string{"A-FORM@1/1", "F1@2/2"}; !slices.Equal(got, want) {
		t.Errorf("list: %v, want %v (the latest of each, by id)", got, want)
	}
}

// TestFormListEmpty: before any form, the list is empty, not null.
func TestFormListEmpty(t *testing.T) {
	s := newStack(t, stackOptions{})
	if a := s.req("R1", "GET", "/v1/qa/forms", nil); a.status != 200 || !bytes.Contains(a.raw, []byte(`"items":[]`)) {
		t.Errorf("%d %s", a.status, a.raw)
	}
}

// TestFormIfMatch: an If-Match names the form version the editor started
// from ("0": none yet), which must still be the latest.
func TestFormIfMatch(t *testing.T) {
	s := newStack(t, stackOptions{})
	head := s.head()
	for _, m := range []string{`"1"`, `"2"`} {
		a := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "If-Match", m)
		if a.status != 409 || a.errCode() != "conflict" || a.errDetails()["actualVersion"] != 0.0 || a.errDetails()["stream"] != "qaform-F1" {
			t.Errorf("If-Match %s on a new form: %d %s", m, a.status, a.raw)
		}
	}
	for _, m := range []string{"one", `"-1"`, `"1073741824"`} {
		if a := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "If-Match", m); a.status != 400 || a.errDetails()["field"] != "If-Match" {
			t.Errorf("If-Match %s: %d %s", m, a.status, a.raw)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("refused PUTs appended: head %v → %v", head, got)
	}
	if a := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "If-Match", `"0"`); a.status != 201 || a.body["version"] != 1.0 {
		t.Fatalf(`If-Match "0" on a new form: %d %s`, a.status, a.raw)
	}
	head = s.head()
	for _, m := range []string{`"0"`, `"2"`, `W/"3"`} {
		a := s.req("H1", "PUT", "/v1/qa/forms/F1", formV2(), "If-Match", m)
		if a.status != 409 || a.errDetails()["actualVersion"] != 1.0 || a.errDetails()["stream"] != "qaform-F1" {
			t.Errorf("If-Match %s at version 1: %d %s", m, a.status, a.raw)
		}
	}
	if got := s.head(); got != head {
		t.Fatalf("refused PUTs appended: head %v → %v", head, got)
	}
	etag := s.req("H1", "GET", "/v1/qa/forms/F1", nil).header.Get("ETag")
	a := s.req("H1", "PUT", "/v1/qa/forms/F1", formV2(), "If-Match", etag)
	if a.status != 201 || a.body["version"] != 2.0 || a.header.Get("ETag") != `"2"` {
		t.Fatalf("If-Match %s (the GET's ETag): %d %s", etag, a.status, a.raw)
	}
	// The editor who started from version 1 too is refused now.
	if a := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "If-Match", etag); a.status != 409 || a.errDetails()["actualVersion"] != 2.0 {
		t.Errorf("a second edit from version 1: %d %s", a.status, a.raw)
	}
}

// TestFormRacingEditors: editors publishing at once without If-Match each
// get the next version (or 409, should the race be lost five times), never
// two events of one version, and the n-th event of the stream is version n.
func TestFormRacingEditors(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.publishForm()
	const n = 8
	answers := make([]answer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			who := []string{"S1", "H1"}[i%2]
			answers[i], errs[i] = s.send(who, "PUT", "/v1/qa/forms/F1", withField(stdForm(), "note", fmt.Sprint("edit ", i)))
		})
	}
	wg.Wait()
	var versions []float64
	for i, a := range answers {
		switch {
		case errs[i] != nil:
			t.Fatal(errs[i])
		case a.status == 201:
			versions = append(versions, a.body["version"].(float64))
		case a.status != 409:
			t.Errorf("editor %d: %d %s", i, a.status, a.raw)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != float64(i+2) {
			t.Fatalf("versions published: %v, want 2, 3, … each once", versions)
		}
	}
	if len(versions) == 0 {
		t.Fatal("no editor published")
	}
	evs := s.must("U1", "GET", "/v1/audit/streams/qaform-F1?limit=100", nil, 200)["events"].([]any)
	if len(evs) != len(versions)+1 {
		t.Errorf("the stream holds %d events, %d PUTs succeeded after the first", len(evs), len(versions))
	}
	for _, e := range evs {
		e := e.(map[string]any)
		if v := e["data"].(map[string]any)["version"]; v != e["version"].(float64)+1 {
			t.Errorf("event at stream version %v says form version %v, want the stream's event number", e["version"], v)
		}
	}
}

// TestFormIdempotentRetry: a retry with the same Idempotency-Key gets the
// first answer and appends nothing, even after the form moved on; the key
// with another body, another caller or another form is a conflict.
func TestFormIdempotentRetry(t *testing.T) {
	s := newStack(t, stackOptions{})
	key := events.NewID().String()
	first := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "Idempotency-Key", key)
	if first.status != 201 || first.body["eventIds"].([]any)[0] != key {
		t.Fatalf("%d %s", first.status, first.raw)
	}
	s.must("H1", "PUT", "/v1/qa/forms/F1", formV2(), 201)
	head := s.head()
	again := s.req("S1", "PUT", "/v1/qa/forms/F1", stdForm(), "Idempotency-Key", key)
	if again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("retry: %d %s, first %s", again.status, again.raw, first.raw)
	}
	for _, tc := range []struct {
		name, who, path string
		body            map[string]any
	}{
		{"another body", "S1", "/v1/qa/forms/F1", formV2()},
		{"another caller", "H1", "/v1/qa/forms/F1", stdForm()},
		{"another form", "S1", "/v1/qa/forms/F2", stdForm()},
	} {
		if a := s.req(tc.who, "PUT", tc.path, tc.body, "Idempotency-Key", key); a.status != 409 || a.errCode() != "conflict" {
			t.Errorf("the key with %s: %d %s", tc.name, a.status, a.raw)
		}
	}
	if got := s.head(); got != head {
		t.Errorf("retries appended: head %v → %v", head, got)
	}
	if v := s.must("R1", "GET", "/v1/qa/forms/F1", nil, 200)["latestVersion"]; v != 2.0 {
		t.Errorf("latest version %v after the retries, want 2", v)
	}
}

// TestFormRefusesBadInput: every broken rule is 400 naming the field, and
// nothing is appended; a published version is not changed by them.
func TestFormRefusesBadInput(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.publishForm()
	item := func(k string, v any) map[string]any {
		b := stdForm()
		items := b["items"].([]map[string]any)
		items[1] = withField(items[1], k, v)
		return b
	}
	items := func(its ...map[string]any) map[string]any { return withField(stdForm(), "items", its) }
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = map[string]any{"itemId": fmt.Sprint("i", i), "label": "x", "weight": 1, "max": 1}
	}
	one := map[string]any{"itemId": "a", "label": "A", "weight": 1, "max": 5}
	for _, tc := range []struct {
		name  string
		path  string
		body  any
		field string
	}{
		{"empty body", "/v1/qa/forms/F1", map[string]any{}, "name"},
		{"no name", "/v1/qa/forms/F1", without(stdForm(), "name"), "name"},
		{"blank name", "/v1/qa/forms/F1", withField(stdForm(), "name", "  "), "name"},
		{"a name on two lines", "/v1/qa/forms/F1", withField(stdForm(), "name", "a\nb"), "name"},
		{"a long name", "/v1/qa/forms/F1", withField(stdForm(), "name", strings.Repeat("가", 201)), "name"},
		{"a long note", "/v1/qa/forms/F1", withField(stdForm(), "note", strings.Repeat("n", 2001)), "note"},
		{"no items", "/v1/qa/forms/F1", without(stdForm(), "items"), "items"},
		{"empty items", "/v1/qa/forms/F1", items(), "items"},
		{"51 items", "/v1/qa/forms/F1", items(many...), "items"},
		{"no itemId", "/v1/qa/forms/F1", item("itemId", ""), "items[1].itemId"},
		{"a bad itemId", "/v1/qa/forms/F1", item("itemId", "니즈"), "items[1].itemId"},
		{"a repeated itemId", "/v1/qa/forms/F1", item("itemId", "greeting"), "items[1].itemId"},
		{"no label", "/v1/qa/forms/F1", item("label", ""), "items[1].label"},
		{"weight 0", "/v1/qa/forms/F1", item("weight", 0), "items[1].weight"},
		{"weight 101", "/v1/qa/forms/F1", item("weight", 101), "items[1].weight"},
		{"max 0", "/v1/qa/forms/F1", item("max", 0), "items[1].max"},
		{"max 101", "/v1/qa/forms/F1", item("max", 101), "items[1].max"},
		{"a critical item of max 5", "/v1/qa/forms/F1", item("critical", true), "items[1].max"},
		{"a weight as a string", "/v1/qa/forms/F1", item("weight", "3"), "items.weight"},
		{"a fractional max", "/v1/qa/forms/F1", item("max", 2.5), "items.max"},
		{"an unknown field", "/v1/qa/forms/F1", withField(stdForm(), "version", 7), "version"},
		{"an unknown item field", "/v1/qa/forms/F1", items(withField(one, "score", 3)), "score"},
		{"the id in the body", "/v1/qa/forms/F1", withField(stdForm(), "formId", "F1"), "formId"},
		{"a key twice", "/v1/qa/forms/F1", `{"name":"a","name":"b","items":[]}`, "name"},
		{"not an object", "/v1/qa/forms/F1", `[1]`, ""},
		{"a bad form id", "/v1/qa/forms/F%201", stdForm(), "id"},
		{"a form id too long", "/v1/qa/forms/" + strings.Repeat("F", 65), stdForm(), "id"},
	} {
		head := s.head()
		a := s.req("S1", "PUT", tc.path, tc.body)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != nilIfEmpty(tc.field) {
			t.Errorf("%s: %d %s, want 400 naming %q", tc.name, a.status, a.raw, tc.field)
		}
		if got := s.head(); got != head {
			t.Errorf("%s: appended (head %v → %v)", tc.name, head, got)
		}
	}
	if a := s.req("S1", "PUT", "/v1/qa/forms/F1", "name=x", "Content-Type", "text/plain"); a.status != 400 {
		t.Errorf("a form body: %d %s", a.status, a.raw)
	}
	for _, q := range []string{"?version=-1", "?version=x", "?version=1.5", "?version=99999999999"} {
		if a := s.req("S1", "GET", "/v1/qa/forms/F1"+q, nil); a.status != 400 || a.errDetails()["field"] != "version" {
			t.Errorf("GET %s: %d %s", q, a.status, a.raw)
		}
	}
	f := s.must("S1", "GET", "/v1/qa/forms/F1", nil, 200)
	if f["version"] != 1.0 || fmt.Sprint(f["items"]) != fmt.Sprint(formItems(stdForm())) {
		t.Errorf("the form after refused PUTs: %v", f)
	}
}

// TestFormRoles: supervisors and centre heads publish; no other role, and
// a refused PUT appends nothing. Every reading role reads; an admin does
// not.
func TestFormRoles(t *testing.T) {
	s := newStack(t, stackOptions{})
	head := s.head()
	for _, who := range []string{"R1", "P1", "U1", "A001"} {
		if a := s.req(who, "PUT", "/v1/qa/forms/F1", stdForm()); a.status != 403 || a.errCode() != "forbidden" {
			t.Errorf("PUT as %s: %d %s", who, a.status, a.raw)
		}
	}
	if a := s.req("", "PUT", "/v1/qa/forms/F1", stdForm()); a.status != 401 {
		t.Errorf("PUT without a token: %d %s", a.status, a.raw)
	}
	if got := s.head(); got != head {
		t.Fatalf("refused PUTs appended: head %v → %v", head, got)
	}
	s.must("S1", "PUT", "/v1/qa/forms/F1", stdForm(), 201)
	s.must("H1", "PUT", "/v1/qa/forms/F2", stdForm(), 201)
	for _, path := range []string{"/v1/qa/forms", "/v1/qa/forms/F1"} {
		for _, who := range []string{"R1", "P1", "S1", "H1", "U1"} {
			s.must(who, "GET", path, nil, 200)
		}
		if a := s.req("A001", "GET", path, nil); a.status != 403 {
			t.Errorf("GET %s as the admin: %d %s", path, a.status, a.raw)
		}
	}
}

// TestFormNewVersionLeavesReviews: a review names the version it was
// scored on; publishing the next version changes neither it nor that
// version, and a review without formVersion is scored on the new latest.
func TestFormNewVersionLeavesReviews(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.publishForm()
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.recordCall("R1", "K1", "C1", 120)
	s.recordCall("R1", "K2", "C1", 120)
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview(), 201)
	s.must("H1", "PUT", "/v1/qa/forms/F1", formV2(), 201)
	review := func(id string) map[string]any {
		return s.must("S1", "GET", "/v1/calls/"+id, nil, 200)["call"].(map[string]any)["review"].(map[string]any)
	}
	first := review("K1")
	if first["formVersion"] != 1.0 || first["total"] != 83.3 || len(first["items"].([]any)) != 4 {
		t.Errorf("the review on version 1 after version 2: %v", first)
	}
	if v1 := s.must("S1", "GET", "/v1/qa/forms/F1?version=1", nil, 200); fmt.Sprint(v1["items"]) != fmt.Sprint(formItems(stdForm())) {
		t.Errorf("version 1 after version 2: %v", v1["items"])
	}
	// Version 2 has no closing: a review of it on the latest is refused,
	// naming the item, and appends nothing.
	head := s.head()
	if a := s.req("S1", "POST", "/v1/calls/K2/reviews", newReview()); a.status != 400 || a.errDetails()["field"] != "items[3].itemId" {
		t.Errorf("a review naming closing on version 2: %d %s", a.status, a.raw)
	}
	if got := s.head(); got != head {
		t.Errorf("the refused review appended")
	}
	onV1 := withField(newReview(), "formVersion", 1)
	s.must("S1", "POST", "/v1/calls/K2/reviews", onV1, 201)
	if r := review("K2"); r["formVersion"] != 1.0 {
		t.Errorf("a review asked on version 1: %v", r)
	}
}
