package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/ops/pgtest"
)

// TestBenchWriter: `bench writer --prepare --snapshot-at-events K` brings
// the PostgreSQL read-model tables to the log's head and stores the
// writer's snapshot at the K-th event; `bench writer`, another run, is a
// newly elected writer that restores it and folds the rest of the log (the
// tail) until caught up; `--full-replay` is the same writer folding the
// whole log. Each names its phases; the stored snapshot stays where it was
// and the log gains nothing. Misplaced flags, a K at or before half the
// log, and a start with no snapshot stored are refused, storing none. No
// time is judged.
func TestBenchWriter(t *testing.T) {
	ctx := context.Background()
	url, data := pgtest.Database(t), t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"seed", "--store", "postgres", "--postgres-url", url, "--data", data, "--customers", "1000", "--months", "1", "--workers", "8"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	logHead := func() uint64 {
		var seq int64
		if err := conn.QueryRow(ctx, "SELECT seq FROM dangol_log_head").Scan(&seq); err != nil {
			t.Fatal(err)
		}
		return uint64(seq)
	}
	snapshotAt := func() int64 { // -1: none stored
		var pos int64 = -1
		err := conn.QueryRow(ctx, "SELECT commit_pos FROM dangol_rm.rm_snapshot").Scan(&pos)
		if err != nil && err != pgx.ErrNoRows && !regexp.MustCompile(`does not exist`).MatchString(err.Error()) {
			t.Fatal(err)
		}
		return pos
	}
	head := logHead()
	bench := func(args ...string) error {
		out.Reset()
		return run(ctx, append([]string{"bench", "writer", "--data", data, "--store", "postgres", "--postgres-url", url}, args...), noEnv, &out, &out)
	}
	half := strconv.FormatUint(head/2, 10)
	for _, bad := range [][]string{
		{"--prepare", "--full-replay"},
		{"--snapshot-at-events", "100"},
		{"--prepare", "--snapshot-at-events", half},
		{}, // no snapshot stored yet
	} {
		if err := bench(bad...); err == nil {
			t.Errorf("bench writer %v: no error\n%s", bad, out.String())
		}
		if at := snapshotAt(); at != -1 {
			t.Fatalf("bench writer %v: a snapshot stored at %d", bad, at)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"bench", "writer", "--data", data, "--prepare"}, noEnv, &out, &out); err == nil {
		t.Errorf("bench writer on the embedded store: no error\n%s", out.String())
	}

	k := head * 3 / 4
	if err := bench("--prepare", "--snapshot-at-events", strconv.FormatUint(k, 10)); err != nil {
		t.Fatalf("--prepare: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^stored snapshot: position (\d+), (\d+) events before the head, [1-9]\d* bytes in [1-9]\d* chunks`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no stored snapshot line:\n%s", out.String())
	}
	at, _ := strconv.ParseUint(m[1], 10, 64)
	if before, _ := strconv.ParseUint(m[2], 10, 64); at < k || at >= head || before != head-at {
		t.Fatalf("snapshot at %d, %s before the head %d: want at or after the event %d and before the head\n%s", at, m[2], head, k, out.String())
	}

	lines := func(what string, events uint64) {
		t.Helper()
		for _, re := range []string{
			`(?m)^opened the read store in \S+ \(CPU \S+\); elected after \S+ \(CPU \S+\)$`,
			`(?m)^` + what + ` of ` + strconv.FormatUint(events, 10) + ` events folded in memory in \S+ \(CPU \S+, \d+ events/s\)$`,
			`(?m)^newly elected writer caught up with the log at ` + strconv.FormatUint(head, 10) + ` in \S+ \(CPU \S+\): 1000 customers; heap \d+ bytes after GC, \d+ before the read models \(\d+ bytes/customer theirs\), peak RSS \d+ bytes$`,
		} {
			if !regexp.MustCompile(re).MatchString(out.String()) {
				t.Errorf("no line %s:\n%s", re, out.String())
			}
		}
	}
	for range 2 {
		if err := bench(); err != nil {
			t.Fatalf("bench writer: %v\n%s", err, out.String())
		}
		if !regexp.MustCompile(`(?m)^snapshot at ` + strconv.FormatUint(at, 10) + ` \(\d+ bytes\) loaded and checked in \S+ \(CPU \S+\)$`).MatchString(out.String()) {
			t.Errorf("no snapshot line:\n%s", out.String())
		}
		lines("tail", head-at)
		if got := snapshotAt(); got != int64(at) {
			t.Fatalf("after a start from it the snapshot is at %d, want %d", got, at)
		}
	}
	if err := bench("--full-replay"); err != nil {
		t.Fatalf("--full-replay: %v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`(?m)^the stored snapshot refused \(.+\) in \S+$`).MatchString(out.String()) {
		t.Errorf("no refusal line:\n%s", out.String())
	}
	lines("whole log", head)
	if got := snapshotAt(); got != int64(at) {
		t.Fatalf("after a full replay the snapshot is at %d, want %d", got, at)
	}
	if got := logHead(); got != head {
		t.Fatalf("the log's head moved from %d to %d", head, got)
	}
}
