package importer

import (
	"strings"
	"testing"
)

// TestReview15RawAfterBlankLines: the raw bytes of a CSV row that follows
// blank lines (which encoding/csv skips) are the row's own, starting at
// the line the row starts on, CRLF or not; a quoted line break inside the
// row stays.
func TestReview15RawAfterBlankLines(t *testing.T) {
	in := "customerId,ref,version,observedAt,address\r\n\r\n\r\nC1,R,1,2026-10-01,\"a\r\nb\"\r\n\n\nC2,R2,1,2026-10-01,x\n"
	rr, err := newRowReader(strings.NewReader(in), CSV, Profiles)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		line int
		raw  string
	}{{4, "C1,R,1,2026-10-01,\"a\r\nb\""}, {8, "C2,R2,1,2026-10-01,x"}} {
		r, err := rr.next()
		if err != nil || r.line != want.line || string(r.raw) != want.raw {
			t.Errorf("row: line %d, raw %q, %v; want line %d, raw %q", r.line, r.raw, err, want.line, want.raw)
		}
	}
}

// TestReview15JSONArrayRefused: a .json file holding one JSON array (an
// export's usual form), on one line or pretty-printed, is not JSON Lines:
// the file is refused at its first line, not read as rows each rejected
// (every fragment of it, personal data and all, copied into the rejects
// file).
func TestReview15JSONArrayRefused(t *testing.T) {
	for _, in := range []string{
		`[{"customerId":"C1","ref":"A","version":"1","observedAt":"2026-10-05","email":"a@example.com"}]` + "\n",
		"\n  [\n  {\n    \"customerId\": \"C1\",\n    \"email\": \"a@example.com\"\n  }\n]\n",
	} {
		rr, err := newRowReader(strings.NewReader(in), JSONL, Profiles)
		if err != nil {
			t.Fatal(err)
		}
		r, err := rr.next()
		if err == nil || !strings.Contains(err.Error(), "JSON array") || strings.Contains(err.Error(), "example") {
			t.Errorf("a JSON array read as JSON Lines: row %q (%s), %v; want the file refused", r.raw, r.bad, err)
		}
	}
}

// TestReview15SystemLowercase: a source system is named in lower case
// only. The name goes into every event id and claim, so "Core" would be
// another system than "core": importing a file again under it appended
// every record a second time, a second claim of each value ranked after
// every listed system.
func TestReview15SystemLowercase(t *testing.T) {
	for _, system := range []string{"Core", "CARD", "internetBanking"} {
		if err := CheckSystem(system); err == nil || !strings.Contains(err.Error(), "lower case") {
			t.Errorf("--source %s: %v; want it refused, asking for lower case", system, err)
		}
	}
	for _, system := range []string{"core", "card_2", "internet-banking"} {
		if err := CheckSystem(system); err != nil {
			t.Errorf("--source %s: %v", system, err)
		}
	}
}
