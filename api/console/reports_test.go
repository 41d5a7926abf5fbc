package console

import (
	"strings"
	"testing"
)

// TestEveryWeek: the requests report's week axis holds the quiet weeks
// between the first and the last, across a year's end (2026 has 53 ISO
// weeks) and from a week 53 into week 1.
func TestEveryWeek(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-W46 2026-W48", "2026-W46 2026-W47 2026-W48"},
		{"2026-W52 2027-W02", "2026-W52 2026-W53 2027-W01 2027-W02"},
		{"2020-W53 2021-W01", "2020-W53 2021-W01"},
		{"2026-W10", "2026-W10"},
		{"2026-W01 junk", "2026-W01 junk"},
	} {
		if got := strings.Join(everyWeek(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("everyWeek(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestTextCellKeepsFormulasText: text a spreadsheet would run as a formula
// gets a leading apostrophe in the CSV, and only there.
func TestTextCellKeepsFormulasText(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+82": "'+82", "-x": "'-x", "@me": "'@me", "Kim": "Kim", "": ""} {
		if c := textCell(in); c.CSV != want || c.Text != in {
			t.Errorf("textCell(%q) = %+v, want CSV %q and the text as it is", in, c, want)
		}
	}
}
