package importer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestReview15ProgressRedrawShorter: on a terminal a redrawn bar shorter
// than the one before (the time left shrinking from 1m39s to 0s) leaves
// nothing of the longer one on screen.
func TestReview15ProgressRedrawShorter(t *testing.T) {
	var buf bytes.Buffer
	p := &Progress{W: &buf, TTY: true, Now: stepClock(time.Second), Total: 1000}
	p.Start()
	p.update(10, 1000000, 1000000, false)  // 1s: 1%, ETA 1m39s
	p.update(990, 1000001, 1000001, false) // 2s: 99%, ETA 0s
	want := p.line(2*time.Second, 990, 1000001, 1000001)
	if got := screen(buf.String()); got != want {
		t.Errorf("the terminal shows\n%q\nwant\n%q", got, want)
	}
}

// screen is what a terminal shows on its last line after out: a carriage
// return goes back to the line's start, later characters overwrite
// earlier ones, trailing spaces are not seen.
func screen(out string) string {
	var line []rune
	col := 0
	for _, r := range out {
		switch r {
		case '\r':
			col = 0
		case '\n':
			line, col = nil, 0
		default:
			if col < len(line) {
				line[col] = r
			} else {
				line = append(line, r)
			}
			col++
		}
	}
	return strings.TrimRight(string(line), " ")
}

// TestReview15ProgressDryRun: a dry run's progress counts the events it
// would append, as its summary does, instead of reporting none appended.
func TestReview15ProgressDryRun(t *testing.T) {
	var buf bytes.Buffer
	p := &Progress{W: &buf, Now: stepClock(time.Second)}
	p.Start()
	rej, err := CreateRejects(t.TempDir() + "/rejects.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer rej.Close()
	body := "customerId,ref,version,observedAt,email\nC1,A-1,1,2026-10-05,a@example.com\nC2,A-2,1,2026-10-05,b@example.com\n"
	cfg := Config{System: "card", Kind: Profiles, Format: CSV, DryRun: true, Rejects: rej, Progress: p}
	if _, err := Run(t.Context(), cfg, nil, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "2 rows, 2 events to append") || strings.Contains(got, "appended") {
		t.Errorf("a dry run's progress: %q", got)
	}
}
