package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/projections"
)

// TestBenchLatencySnapshot: `bench latency --write-snapshot DIR
// --snapshot-at-events K` writes one snapshot K events into the log and
// exits; `bench latency --snapshot DIR`, another run, starts from it and
// folds the tail after it (the rest of the log), then times the queries.
// The read models so started answer, at one pinned time, as a full replay
// does: every report, the largest book's worklist, each of its customers.
// Mixed or misplaced flags, and a directory without a snapshot, are
// refused and write no snapshot. No time is judged.
func TestBenchLatencySnapshot(t *testing.T) {
	ctx := context.Background()
	data, snaps := t.TempDir(), filepath.Join(t.TempDir(), "snaps")
	var out bytes.Buffer
	if err := run(ctx, []string{"seed", "--data", data, "--customers", "2000", "--months", "1", "--workers", "8"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	bench := func(args ...string) error {
		out.Reset()
		return run(ctx, append([]string{"bench", "latency", "--data", data}, args...), noEnv, &out, &out)
	}
	for _, bad := range [][]string{
		{"--write-snapshot", snaps, "--snapshot", snaps},
		{"--snapshot-at-events", "100"},
		{"--write-snapshot", snaps, "--read-store", "postgres"},
		{"--snapshot", snaps}, // nothing written yet
	} {
		if err := bench(bad...); err == nil {
			t.Errorf("bench latency %v: no error\n%s", bad, out.String())
		}
		if _, err := os.Stat(snaps); !os.IsNotExist(err) {
			t.Fatalf("bench latency %v: the snapshot directory exists (%v)", bad, err)
		}
	}

	const at = 5000
	if err := bench("--write-snapshot", snaps, "--snapshot-at-events", strconv.Itoa(at)); err != nil {
		t.Fatalf("--write-snapshot: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^replayed (\d+) events in .*\nsnapshot at \S+ \((\d+) events before the head\): written in \S+ \(CPU \S+\), [1-9]\d* bytes`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no replay and snapshot lines:\n%s", out.String())
	}
	total, _ := strconv.Atoi(m[1])
	before, _ := strconv.Atoi(m[2])
	if total <= at || before == 0 || before > total-at {
		t.Fatalf("the snapshot is %d events before the head of %d, want 1..%d:\n%s", before, total, total-at, out.String())
	}
	written := out.String()
	if regexp.MustCompile(`(?m)^worklist `).MatchString(out.String()) {
		t.Errorf("--write-snapshot timed queries:\n%s", out.String())
	}

	if err := bench("--snapshot", snaps, "--runs", "2"); err != nil {
		t.Fatalf("--snapshot: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(?m)^started from the snapshot at \S+: loaded and checked in \S+ \(CPU \S+\), tail of ` + strconv.Itoa(before) + ` events folded, ready in .* 2000 customers; heap \d+ bytes`).MatchString(out.String()) {
		t.Errorf("no start line with the tail of %d events:\n%s", before, out.String())
	}
	// The write's heap counts its read models (they were collected before
	// it was read: 592 bytes/customer at 4M against 1,781 replayed).
	heap := func(out string) int {
		m := regexp.MustCompile(`heap (\d+) bytes after GC`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no heap in:\n%s", out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if w, s := heap(written), heap(out.String()); w < s/2 {
		t.Errorf("the write's heap is %d bytes, the start's %d: the write's read models were not counted", w, s)
	}
	for _, name := range append([]string{"worklist", "customer view"}, projections.ReportNames...) {
		if !regexp.MustCompile(`(?m)^(report )?` + name + ` +2 runs: p50=\S+ p90=\S+ p99=\S+ max=\S+$`).MatchString(out.String()) {
			t.Errorf("no line of %s:\n%s", name, out.String())
		}
	}

	// The same answers as a full replay.
	s, keys, sealer, closeAll, err := openBench(ctx, storeFlags{data: data}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	var none string
	full, err := latencyMemory(ctx, s, sealer.OpenEnvelope, &none)
	if err != nil {
		t.Fatal(err)
	}
	started, err := benchStartFromSnapshot(ctx, s, keys, sealer.OpenEnvelope, snaps, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	same := func(what string, f func(q projections.Queries) (any, error)) {
		t.Helper()
		a, errA := f(full)
		b, errB := f(started)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if errA != nil || errB != nil || !bytes.Equal(ja, jb) {
			t.Errorf("%s: the full replay answers %s (%v), the start from the snapshot %s (%v)", what, ja, errA, jb, errB)
		}
	}
	for _, name := range projections.ReportNames {
		same("report "+name, func(q projections.Queries) (any, error) { return q.Report(ctx, name, now) })
	}
	advisor, size := started.Customers.LargestBook()
	if size == 0 {
		t.Fatal("the largest book is empty")
	}
	book, err := full.Worklist(ctx, advisor, now, projections.WorklistOptions{})
	if err != nil {
		t.Fatal(err)
	}
	same("worklist of "+advisor, func(q projections.Queries) (any, error) {
		return q.Worklist(ctx, advisor, now, projections.WorklistOptions{})
	})
	for _, it := range book {
		same("customer "+it.CustomerID, func(q projections.Queries) (any, error) { return q.Customer(ctx, it.CustomerID, now) })
	}
}
