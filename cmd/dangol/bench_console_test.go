package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBenchConsole runs `dangol bench console` on a tiny bank and checks
// the shape of its report: the machine and the command, the seeded bank,
// the book signed in to, and for each page the server's and the client's
// quantiles against the target. No figure is judged: this machine's speed
// is no test's business.
func TestBenchConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a bank and boots a server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // detects a hang only
	defer cancel()
	args := []string{"bench", "console", "--customers", "1000", "--requests", "50", "--warmup", "5", "--clients", "2"}
	store := "embedded"
	if pgBackend {
		store = "postgres"
		args = append(args, "--store", store)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench console: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	q := `p50=\d+\.\d\dms p90=\d+\.\d\dms p99=\d+\.\d\dms max=\d+\.\d\dms`
	want := []string{
		`^dangol bench console  \S+  \w+/\w+  \d+ CPUs \(.+\)  GOMAXPROCS=\d+  go\S+  store=` + store + `$`,
		`^command: ` + regexp.QuoteMeta("dangol "+strings.Join(args, " ")) + `$`,
		`^settings: --bench-dir= --clients=2 .*--customers=1000 --requests=50 --seed=1 .*--warmup=5$`,
		`^seeded 1000 customers: \d+ events in \d+ streams`,
		`^server on 127\.0\.0\.1:\d+, read side caught up in \S+$`,
		`^book: rep R\d{3} with [1-9]\d* customers; 2 sessions, each signed in through the console \(/setup, then /login\)$`,
		`^worklist  GET /  requests=50 errors=0 clients=2  \d+ req/s  [1-9]\d* bytes/page$`,
		`^  server time  ` + q + `  target p99 < 50\.00ms: (met|MISSED)$`,
		`^  client time  ` + q + `$`,
		`^  CPU per request \d+\.\d\dms \(this process: server and clients; wall \S+ x \d+ CPUs available\)$`,
		`^  GC \d+ cycles, \d+ KiB allocated per request \(this process\), live heap \d+ MiB$`,
		`^customer  GET /customers/\{id\}  requests=50 errors=0 clients=2  \d+ req/s  [1-9]\d* bytes/page$`,
		`^  server time  ` + q + `  target p99 < 20\.00ms: (met|MISSED)$`,
		`^  client time  ` + q + `$`,
		`^  CPU per request \d+\.\d\dms \(this process: server and clients; wall \S+ x \d+ CPUs available\)$`,
		`^  GC \d+ cycles, \d+ KiB allocated per request \(this process\), live heap \d+ MiB$`,
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d:\n%s\nwant it to match\n%s", i+1, lines[i], re)
		}
	}
}

// TestBenchConsoleBadFlags: a nonsensical size is refused before anything
// is seeded or started.
func TestBenchConsoleBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--requests", "0"}, {"--clients", "0"}, {"--warmup", "-1"}, {"--store", "oracle"}, {"--store", "postgres", "--bench-dir", t.TempDir()}} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"bench", "console"}, args...), func(string) string { return "" }, &out, &out)
		if err == nil {
			t.Errorf("bench console %v: no error", args)
		}
		if strings.Contains(out.String(), "seeded") {
			t.Errorf("bench console %v seeded a bank:\n%s", args, out.String())
		}
	}
}

// TestBenchConsoleReusesDir: with --bench-dir the bank is seeded once and
// kept; the next run measures that ledger without seeding it again.
func TestBenchConsoleReusesDir(t *testing.T) {
	if testing.Short() || pgBackend {
		t.Skip("seeds a bank and boots a server twice; --bench-dir is for the embedded store")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // detects a hang only
	defer cancel()
	dir := t.TempDir()
	for i, want := range []string{"\nseeded 1000 customers: ", "\nbank: the ledger already in " + dir + ", as it is"} {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"bench", "console", "--bench-dir", dir, "--customers", "1000", "--requests", "5", "--warmup", "0", "--clients", "1"},
			func(string) string { return "" }, &out, &errOut)
		if err != nil {
			t.Fatalf("run %d: %v\nstdout:\n%s\nstderr:\n%s", i+1, err, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), want) || (i > 0 && strings.Contains(out.String(), "seeded")) {
			t.Fatalf("run %d, want %q:\n%s", i+1, want, out.String())
		}
	}
}
