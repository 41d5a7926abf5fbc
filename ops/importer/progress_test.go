package importer

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// stepClock is a clock that moves by step each time it is read.
func stepClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(step); return t }
}

// TestProgressTerminal: on a terminal the bar is redrawn in place with
// the rate and the time left, a shorter one blanking out the longer one's
// end, and the final report ends the line.
func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &Progress{W: &buf, TTY: true, Now: stepClock(time.Second), Total: 1000}
	p.Start()
	p.update(250, 100, 200, false)
	p.update(500, 200, 400, false)
	p.update(1000, 400, 800, true)
	want := "\r[######..................]  25% 100 rows, 200 events appended, 200 events/s, ETA 3s, 1s" +
		"\r[############............]  50% 200 rows, 400 events appended, 200 events/s, ETA 2s, 2s" +
		"\r[########################] 100% 400 rows, 800 events appended, 267 events/s, 3s" + strings.Repeat(" ", 8) + "\n" // blanks over the longer bar's end
	if got := buf.String(); got != want {
		t.Fatalf("terminal progress:\n%q\nwant\n%q", got, want)
	}
}

// TestProgressLines: anywhere else each report is a line of its own, at
// most one every Every; the final report is always written.
func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := &Progress{W: &buf, Now: stepClock(4 * time.Second), Every: 10 * time.Second, Total: 100}
	p.Start()                   // 4s
	p.update(10, 10, 10, false) // 8s: 4s since the start, too early
	p.update(20, 20, 20, false) // 12s: 8s, too early
	p.update(30, 30, 30, false) // 16s: 12s, written
	p.update(40, 40, 40, false) // 20s: 4s since the last, too early
	p.update(100, 99, 99, true) // 24s: final
	want := " 30% 30 rows, 30 events appended, 2 events/s, ETA 28s, 12s\n" +
		"100% 99 rows, 99 events appended, 5 events/s, 20s\n"
	if got := buf.String(); got != want {
		t.Fatalf("progress lines:\n%q\nwant\n%q", got, want)
	}
}
