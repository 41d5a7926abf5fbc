package importer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Progress reports an import's progress to W: on a terminal (TTY) a bar
// redrawn in place with the rows read, the events appended per second and
// the time left; anywhere else (a file, CI's log) a plain line at most
// every Every. The clock is Now's, so tests set both. It is safe for
// concurrent use.
type Progress struct {
	W     io.Writer
	TTY   bool
	Now   func() time.Time
	Every time.Duration // between two reports (default a second on a terminal, 10 s elsewhere)
	Total int64         // the input's size in bytes (0: unknown, no bar or time left)

	mu          sync.Mutex
	start, last time.Time
	drawn       int  // the length of the bar on a terminal's line, which a shorter one must blank out
	dryRun      bool // the events are counted, not appended (set by Run)
}

// Start sets the time the import started.
func (p *Progress) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start = p.Now()
	p.last = p.start
}

// countOnly says the events are counted, not appended (a dry run).
func (p *Progress) countOnly() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dryRun = true
}

// update reports that done bytes of the input are read into rows and
// appended events are appended (in a dry run: counted); a final report is
// always written.
func (p *Progress) update(done, rows, appended int64, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.Now()
	every := p.Every
	if every <= 0 {
		every = map[bool]time.Duration{true: time.Second, false: 10 * time.Second}[p.TTY]
	}
	if !final && now.Sub(p.last) < every {
		return
	}
	p.last = now
	line := p.line(now.Sub(p.start), done, rows, appended)
	if p.TTY {
		n := utf8.RuneCountInString(line)
		line += strings.Repeat(" ", max(0, p.drawn-n))
		p.drawn = n
	}
	switch {
	case p.TTY && final:
		fmt.Fprint(p.W, "\r"+line+"\n")
	case p.TTY:
		fmt.Fprint(p.W, "\r"+line)
	default:
		fmt.Fprintln(p.W, line)
	}
}

// barWidth is the bar's width in characters.
const barWidth = 24

// line is one report: how far, how fast, how long still.
func (p *Progress) line(el time.Duration, done, rows, appended int64) string {
	var b strings.Builder
	frac := -1.0
	if p.Total > 0 {
		frac = min(1, float64(done)/float64(p.Total))
	}
	if p.TTY && frac >= 0 {
		n := int(frac * barWidth)
		b.WriteString("[" + strings.Repeat("#", n) + strings.Repeat(".", barWidth-n) + "] ")
	}
	if frac >= 0 {
		fmt.Fprintf(&b, "%3.0f%% ", frac*100)
	}
	if p.dryRun {
		fmt.Fprintf(&b, "%d rows, %d events to append", rows, appended)
	} else {
		fmt.Fprintf(&b, "%d rows, %d events appended", rows, appended)
	}
	if s := el.Seconds(); s > 0 {
		fmt.Fprintf(&b, ", %.0f events/s", float64(appended)/s)
	}
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(el) * (1 - frac) / frac)
		fmt.Fprintf(&b, ", ETA %s", left.Round(time.Second))
	}
	fmt.Fprintf(&b, ", %s", el.Round(time.Second))
	return b.String()
}
