package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// TestBenchReplayLargestBook: `dangol bench replay` times the worklist of
// the largest book; it timed the advisor of the first potential VIP, who
// often had none ("worklist of advisor  (0 customers)", issue 14). Its
// report names every read model's report too. No time is judged.
func TestBenchReplayLargestBook(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--data", dir, "--customers", "300", "--months", "1", "--workers", "2"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "replay", "--data", dir}, noEnv, &out, &out); err != nil {
		t.Fatalf("bench replay: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^worklist of advisor (\S+), the largest book \((\d+) customers\): \S+$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no worklist line of the largest book:\n%s", out.String())
	}
	if n, _ := strconv.Atoi(m[2]); n == 0 {
		t.Errorf("the largest book of %s has no customers:\n%s", m[1], out.String())
	}
	if !regexp.MustCompile(`(?m)^report tier-migration +\S+$`).MatchString(out.String()) {
		t.Errorf("no tier-migration report line:\n%s", out.String())
	}
	if want := hugePages(); want != "" && !regexp.MustCompile(`(?m)^transparent huge pages: `+want+` `).MatchString(out.String()) {
		t.Errorf("no line naming the host's transparent huge pages (%s):\n%s", want, out.String())
	}
}
