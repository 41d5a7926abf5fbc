package events_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// docSections returns docs/events.md split into its "### Type" sections.
func docSections(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatalf("the catalog must be documented: %v", err)
	}
	sections := map[string]string{}
	parts := strings.Split(string(b), "\n### ")
	for _, p := range parts[1:] {
		name, body, _ := strings.Cut(p, "\n")
		if i := strings.Index(body, "\n## "); i >= 0 {
			body = body[:i]
		}
		sections[strings.TrimSpace(name)] = body
	}
	return sections
}

var rowRe = regexp.MustCompile("(?m)^\\| `([^`]+)` \\|.*$")

// TestDocsCoverCatalog checks that docs/events.md has a section for every
// type, a table row for every JSON field (nested ones as "source.system",
// array elements as "items[].score"), and marks as personal exactly the
// fields EachPersonal visits.
func TestDocsCoverCatalog(t *testing.T) {
	sections := docSections(t)
	for _, typ := range catalogTypes() {
		body, ok := sections[typ]
		if !ok {
			t.Errorf("docs/events.md has no section ### %s", typ)
			continue
		}
		rows := map[string]string{}
		var personal []string
		for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
			rows[m[1]] = m[0]
			if strings.Contains(m[0], "**personal**") {
				personal = append(personal, m[1])
			}
		}
		fields := jsonFields(reflect.TypeOf(events.New(typ)), "")
		for _, f := range fields {
			if _, ok := rows[f]; !ok {
				t.Errorf("%s: docs/events.md has no row for `%s`", typ, f)
			}
		}
		for r := range rows {
			if !slices.Contains(fields, r) {
				t.Errorf("%s: docs/events.md documents `%s`, which the type does not have", typ, r)
			}
		}
		var want []string
		for _, f := range personalFields[typ] {
			f, _, _ = strings.Cut(f, ".") // changes.email is documented as changes
			if !slices.Contains(want, f) {
				want = append(want, f)
			}
		}
		if !slices.Equal(personal, want) {
			t.Errorf("%s: docs/events.md marks %q personal, EachPersonal visits %q", typ, personal, want)
		}
	}
}
