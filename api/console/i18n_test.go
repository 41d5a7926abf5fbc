package console

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestErrorTextGroupsNumbers: a validation message shows its integers as
// the forms' hints write them, with thousands separators in both
// languages ("2,000자"), while a year stays a year and other verbs (U+%04X)
// format the plain integer.
func TestErrorTextGroupsNumbers(t *testing.T) {
	cs := mustCatalogs()
	for _, c := range []struct {
		lang string
		err  error
		want string
	}{
		{"ko", events.InvalidField("summary", "must be at most %d characters", 2000), "2,000자 이하여야 합니다."},
		{"en", events.InvalidField("summary", "must be at most %d characters", 2000), "Must be at most 2,000 characters."},
		{"en", events.InvalidField("summary", "must be at most %d characters", 999), "Must be at most 999 characters."},
		{"en", events.InvalidField("n", "must be an integer from %d to %d", -1234567, int64(1000000)), "Must be a whole number from -1,234,567 to 1,000,000."},
		{"ko", events.InvalidField("ids", "%d of %d event ids were already appended; retry the original append unchanged", 1500, 2500),
			"이벤트 ID 2,500개 중 1,500개가 이미 기록되었습니다."},
		{"ko", events.InvalidField("on", "must be a date between years %d and %d", 1900, 2200), "1900년부터 2200년 사이의 날짜여야 합니다."},
		{"en", events.InvalidField("name", "must not contain control characters (U+%04X)", rune(7)), "Must not contain control characters (U+0007)."},
	} {
		if got := cs.errorText(c.lang, c.err); !strings.Contains(got, c.want) {
			t.Errorf("%s %q: %q, want %q", c.lang, c.err, got, c.want)
		}
	}
}

// TestGroupedFormats: grouped formats as an integer does for every verb a
// catalog uses, with the separators for %d and %v only.
func TestGroupedFormats(t *testing.T) {
	for _, c := range []struct {
		format string
		n      int64
		want   string
	}{
		{"%d", 0, "0"}, {"%d", 999, "999"}, {"%d", 1000, "1,000"}, {"%d", 65536, "65,536"}, {"%v", 1234567, "1,234,567"},
		{"%d", -1000, "-1,000"}, {"%[1]d/%[1]d", 2000, "2,000/2,000"}, {"%7d|", 2000, "  2,000|"}, {"%-7d|", 2000, "2,000  |"},
		{"%04X", 7, "0007"}, {"%x", 255, "ff"}, {"%c", 'A', "A"},
	} {
		if got := fmt.Sprintf(c.format, grouped(c.n)); got != c.want {
			t.Errorf("%s of %d: %q, want %q", c.format, c.n, got, c.want)
		}
	}
}

// TestErrorTextFormatsEveryTemplate: with its integers grouped, every
// validation message still takes its template's arguments (no %!).
func TestErrorTextFormatsEveryTemplate(t *testing.T) {
	cs := mustCatalogs()
	for _, tmpl := range validationTemplates(t, "../../events", "../../api", "../../projections") {
		args := sampleArgs(tmpl)
		for i, a := range args {
			if n, ok := a.(int); ok {
				args[i] = n * 1000 // grouped where it is a %d
			}
		}
		for _, lang := range Languages {
			if got := cs.errorText(lang, events.InvalidField("f", tmpl, args...)); strings.Contains(got, "%!") {
				t.Errorf("%s: %q with %v: %q", lang, tmpl, args, got)
			}
		}
	}
}
