package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/dangol/dangol/projections"
)

// TestBenchLatency: `dangol bench latency` times the worklist of a book
// that has customers, every report and the customer view, each the number
// of runs asked; a --runs of 0 or an unknown read store is refused. No
// time is judged.
func TestBenchLatency(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--data", dir, "--customers", "300", "--months", "1", "--workers", "2"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{"--runs", "0"}, {"--read-store", "bolt"}} {
		if err := run(context.Background(), append([]string{"bench", "latency", "--data", dir}, bad...), noEnv, &out, &out); err == nil {
			t.Errorf("bench latency %v: no error", bad)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"bench", "latency", "--data", dir, "--runs", "3"}, noEnv, &out, &out); err != nil {
		t.Fatalf("bench latency: %v\n%s", err, out.String())
	}
	names := append([]string{"worklist", "customer view"}, projections.ReportNames...)
	for _, name := range names {
		if !regexp.MustCompile(`(?m)^(report )?` + name + ` +3 runs: p50=\S+ p90=\S+ p99=\S+ max=\S+$`).MatchString(out.String()) {
			t.Errorf("no line of %s:\n%s", name, out.String())
		}
	}
	if !regexp.MustCompile(`(?m)^the worklist is advisor \S+'s: [1-9]\d* customers$`).MatchString(out.String()) {
		t.Errorf("the worklist timed is not of a book with customers:\n%s", out.String())
	}
}
