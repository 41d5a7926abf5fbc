package importer

import (
	"strings"
	"testing"
)

// TestJSONLinesNotObjects: a line that is JSON but no object (null, an
// array, a string) is a rejected row naming why, as is one that is no
// JSON; blank lines are no rows.
func TestJSONLinesNotObjects(t *testing.T) {
	in := "null\n\n[1,2]\n\"C1\"\n{\"customerId\":\n   \n"
	rr, err := newRowReader(strings.NewReader(in), JSONL, Profiles)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for {
		r, err := rr.next()
		if err != nil {
			break
		}
		if r.bad != "is not a JSON object" {
			t.Errorf("line %d (%q): %q, want it rejected as no JSON object", r.line, r.raw, r.bad)
		}
		lines = append(lines, r.line)
	}
	if got := len(lines); got != 4 || lines[0] != 1 || lines[1] != 3 || lines[3] != 5 {
		t.Errorf("rows at lines %v, want 1, 3, 4, 5", lines)
	}
}
