package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSeedProgressLines: written anywhere but a terminal (here a
// bytes.Buffer, as CI's log or a file would be), every progress report is a
// line of its own, with no carriage return.
func TestSeedProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 30000, time.Time{})
	p.since = func(time.Time) time.Duration { return 4 * time.Second }
	for _, d := range []int{10000, 20000, 30000} {
		p.report(d)
	}
	p.end()
	want := "10000/30000 customers, 4s\n20000/30000 customers, 4s\n30000/30000 customers, 4s\n"
	if got := buf.String(); got != want {
		t.Fatalf("progress written to a buffer:\n%q\nwant\n%q", got, want)
	}
}

// TestSeedProgressTerminal: on a terminal the report rewrites one line in
// place, and end closes it with a newline.
func TestSeedProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 20000, time.Time{})
	p.tty = true // a bytes.Buffer is not a terminal; pretend
	p.since = func(time.Time) time.Duration { return time.Second }
	p.report(10000)
	p.report(20000)
	p.end()
	p.end() // a second end adds nothing
	if got, want := buf.String(), "\r10000/20000 customers, 1s\r20000/20000 customers, 1s\n"; got != want {
		t.Fatalf("progress on a terminal: %q, want %q", got, want)
	}
	var none bytes.Buffer
	q := newProgress(&none, 1000, time.Time{})
	q.tty = true
	q.end()
	if none.Len() != 0 {
		t.Fatalf("end with nothing reported wrote %q", none.String())
	}
}

// TestIsTerminal: a buffer, a regular file and a pipe are not terminals;
// a character device is (/dev/null stands in for a terminal here).
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "seed.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"buffer": &bytes.Buffer{}, "file": f, "pipe": w} {
		if isTerminal(out) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if !isTerminal(null) {
		t.Errorf("%s (a character device) not taken for a terminal", os.DevNull)
	}
}
