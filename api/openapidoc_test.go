package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The OpenAPI answer check: every answer a stack receives is checked
// against the document the server serves. Its status must be documented
// for the operation and its JSON body must match the documented schema.
// (openapi_test.go checks the document itself against the routes and the
// Go types; this checks what the running server actually answers.)

// apiDoc is the served OpenAPI document, used to check answers.
type apiDoc struct {
	raw       map[string]any
	templates []pathTemplate
}

type pathTemplate struct {
	path string
	re   *regexp.Regexp
}

func (s *stack) loadDoc() *apiDoc {
	s.t.Helper()
	a := s.req("", "GET", "/v1/openapi.json", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" || a.body["openapi"] != "3.0.3" {
		s.t.Fatalf("GET /v1/openapi.json without a token: %d %.200s", a.status, a.raw)
	}
	d := &apiDoc{raw: a.body}
	param := regexp.MustCompile(`\\\{[A-Za-z0-9_]+\\\}`)
	for p := range a.body["paths"].(map[string]any) {
		d.templates = append(d.templates, pathTemplate{p, regexp.MustCompile("^" + param.ReplaceAllString(regexp.QuoteMeta(p), `[^/]+`) + "$")})
	}
	return d
}

// operations returns "METHOD /template" of every documented operation.
func (d *apiDoc) operations() []string {
	var out []string
	for p, ops := range d.raw["paths"].(map[string]any) {
		for m := range ops.(map[string]any) {
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(out)
	return out
}

// template returns the documented path template a concrete path matches.
func (d *apiDoc) template(path string) string {
	best := ""
	for _, tp := range d.templates {
		if tp.re.MatchString(path) && len(strings.ReplaceAll(tp.path, "{", "")) > len(best) {
			best = tp.path
		}
	}
	return best
}

func (d *apiDoc) resolve(ref string) map[string]any {
	var cur any = d.raw
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cur = cur.(map[string]any)[part]
	}
	return cur.(map[string]any)
}

// checkAnswer checks that the answer's status is documented for the
// operation and that a JSON body matches the documented schema.
func (d *apiDoc) checkAnswer(t *testing.T, method, path string, a answer) {
	t.Helper()
	tmpl := d.template(path)
	if tmpl == "" {
		if a.status != 404 || a.errCode() != "not_found" {
			t.Errorf("%s %s: undocumented path answered %d %s", method, path, a.status, a.raw)
		}
		return
	}
	op, _ := d.raw["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if op == nil {
		return // a method the path does not serve: the mux answers
	}
	resp, ok := op["responses"].(map[string]any)[fmt.Sprint(a.status)].(map[string]any)
	if !ok {
		t.Errorf("%s %s answered %d, which is not documented for %s %s: %.300q", method, path, a.status, method, tmpl, a.raw)
		return
	}
	if r, ok := resp["$ref"].(string); ok {
		resp = d.resolve(r)
	}
	content, _ := resp["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if js == nil || a.status == 101 {
		return
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: %d answered with Content-Type %q, documented application/json", method, path, a.status, ct)
		return
	}
	var v any
	if err := json.Unmarshal(a.raw, &v); err != nil {
		t.Errorf("%s %s: %d body is not JSON: %v", method, path, a.status, err)
		return
	}
	var errs []string
	d.validate(js["schema"].(map[string]any), v, "body", &errs)
	for _, e := range errs {
		t.Errorf("%s %s: %d answer does not match the documented schema: %s", method, path, a.status, e)
	}
}

// validate checks v against an OpenAPI 3.0 schema. Objects with declared
// properties and no additionalProperties are treated as closed, so an
// undocumented field in an answer is reported.
func (d *apiDoc) validate(schema map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	if v == nil && schema["nullable"] == true {
		return
	}
	if r, ok := schema["$ref"].(string); ok {
		d.validate(d.resolve(r), v, at, errs)
		return
	}
	for _, sub := range asAnySlice(schema["allOf"]) {
		d.validate(sub.(map[string]any), v, at, errs)
	}
	if one := asAnySlice(schema["oneOf"]); len(one) > 0 {
		n := 0
		for _, sub := range one {
			var e []string
			d.validate(sub.(map[string]any), v, at, &e)
			if len(e) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of the oneOf schemas, want exactly 1", n)
		}
	}
	typ, _ := schema["type"].(string)
	if typ == "" {
		return
	}
	if v == nil {
		fail("null, but the schema is %s and not nullable", typ)
		return
	}
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return
		}
		for _, r := range asAnySlice(schema["required"]) {
			if _, ok := m[r.(string)]; !ok {
				fail("required property %q missing", r)
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, x := range m {
			if p, ok := props[k].(map[string]any); ok {
				d.validate(p, x, at+"."+k, errs)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("property %q is not allowed", k)
				}
			case map[string]any:
				d.validate(ap, x, at+"."+k, errs)
			case nil:
				if len(props) > 0 {
					fail("property %q is not documented", k)
				}
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range l {
				d.validate(items, x, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("want a string, got %T %v", v, v)
			return
		}
		if en := asAnySlice(schema["enum"]); len(en) > 0 && !slices.Contains(en, any(str)) {
			fail("%q is not one of %v", str, en)
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		switch schema["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not a date-time", str)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				fail("%q is not a date", str)
			}
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok {
			fail("want a number, got %T", v)
			return
		}
		if typ == "integer" && f != float64(int64(f)) {
			fail("%v is not an integer", f)
		}
		if lo, ok := schema["minimum"].(float64); ok && f < lo {
			fail("%v is below the minimum %v", f, lo)
		}
		if hi, ok := schema["maximum"].(float64); ok && f > hi {
			fail("%v is above the maximum %v", f, hi)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	}
}

func asAnySlice(v any) []any { s, _ := v.([]any); return s }

// TestOpenAPIServedWithoutAuth: the document is served without a token and
// lists the operations with the bearer scheme.
func TestOpenAPIServedWithoutAuth(t *testing.T) {
	s := newStack(t, stackOptions{})
	ops := s.doc.operations()
	if len(ops) < 30 || !slices.Contains(ops, "GET /v1/live") || !slices.Contains(ops, "POST /v1/calls/{id}/reviews") {
		t.Fatalf("operations %v", ops)
	}
	a := s.req("raw:Bearer nonsense", "GET", "/v1/openapi.json", nil)
	if a.status != 200 {
		t.Fatalf("a bad token on the public document: %d", a.status)
	}
}
