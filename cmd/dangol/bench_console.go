package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dangol/dangol/projections"
)

// The targets for the console's two busiest pages, on the p99 of
// the server's time.
const (
	worklistTarget = 50 * time.Millisecond
	customerTarget = 20 * time.Millisecond
)

// runBenchConsole seeds a bank into a throwaway data dir, boots a real
// `dangol serve` on it, signs in as the rep with the largest book the way a
// person does (a setup code from the admin API, /setup, /login), and
// measures the worklist and the customer page over loopback: the server's
// time as the page's Server-Timing header tells it, and the time the
// client saw.
func runBenchConsole(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench console", "Seeds a bank (dangol seed) into a throwaway data dir, boots dangol serve on it,\n"+
		"signs in as the rep with the largest book through /setup and /login, and\n"+
		"measures the worklist (GET /) and the customer page (GET /customers/{id}, over\n"+
		"the book's customers) from concurrent clients over loopback: the server's time\n"+
		"(Server-Timing) and the client's, p50/p90/p99/max, against the targets\n"+
		"p99 < 50 ms (worklist) and < 20 ms (customer page).", stderr)
	customers := fs.Int("customers", 100000, "customers in the seeded bank")
	seedN := fs.Uint64("seed", 1, "the seed's generator seed (the same seed and size give the same bank)")
	requests := fs.Int("requests", 2000, "measured requests per page")
	warmup := fs.Int("warmup", 50, "requests per page before measuring, not counted")
	clients := fs.Int("clients", 4, "concurrent clients, each with a session of its own")
	backend := fs.String("store", "embedded", "embedded, or postgres (a throwaway cluster from the machine's binaries; log, keys and read models in it)")
	keepDir := fs.String("bench-dir", "", "seed the bank into this directory and keep it; one that already holds a ledger is measured as it is,\n"+
		"without seeding (repeated runs, profiling); embedded store only (default: a throwaway temp dir)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of each page's measured run to <prefix>-worklist.pprof and <prefix>-customer.pprof (server and clients share the process)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *requests < 1 || *clients < 1 || *warmup < 0 || *customers < 1 {
		return errors.New("bench console: --requests, --clients and --customers must be positive, --warmup not negative")
	}
	if *backend == "postgres" && *keepDir != "" {
		return errors.New("bench console: --bench-dir keeps an embedded ledger; a throwaway PostgreSQL cluster goes with the run")
	}
	pgURL, getenv, removePG, err := benchStore(ctx, *backend, getenv)
	if err != nil {
		return err
	}
	defer removePG()
	dir, reuse := *keepDir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "dangol-bench-console-*"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else {
		reuse = hasEmbeddedLog(storeFlags{data: dir})
	}

	fmt.Fprintf(stdout, "dangol bench console  %s  %s/%s  %d CPUs (%s)  GOMAXPROCS=%d  %s  store=%s\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(),
		runtime.GOMAXPROCS(0), runtime.Version(), *backend)
	fmt.Fprintf(stdout, "command: dangol bench console %s\n", strings.Join(args, " "))
	fmt.Fprintf(stdout, "settings: %s\n", flagValues(fs))

	if reuse {
		fmt.Fprintf(stdout, "bank: the ledger already in %s, as it is (--customers and --seed not applied)\n", dir)
	} else {
		var seeded bytes.Buffer
		if err := run(ctx, []string{"seed", "--data", dir, "--customers", strconv.Itoa(*customers), "--seed", strconv.FormatUint(*seedN, 10)},
			getenv, &seeded, stderr); err != nil {
			return err
		}
		fmt.Fprint(stdout, seeded.String())
	}
	adminTok, err := staffToken(ctx, dir, getenv, "BENCH-ADMIN", "Bench Admin", "admin")
	if err != nil {
		return err
	}

	booted := time.Now()
	srv, err := startBenchServer(ctx, dir, pgURL, getenv)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "server on %s, read side caught up in %s\n", srv.addr, time.Since(booted).Round(time.Millisecond))
	base := "http://" + srv.addr

	rep, book, err := largestBook(ctx, srv.queries)
	if err != nil {
		return err
	}
	browsers, err := signIn(ctx, base, adminTok, rep, *clients)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "book: rep %s with %d customers; %d sessions, each signed in through the console (/setup, then /login)\n",
		rep, len(book), len(browsers))

	pages := []struct {
		name, route string
		target      time.Duration
		path        func(i int) string
		want        func(i int) string // a string the page must hold
	}{
		{"worklist", "GET /", worklistTarget, func(int) string { return "/" }, func(int) string { return book[0] }},
		{"customer", "GET /customers/{id}", customerTarget,
			func(i int) string { return "/customers/" + book[i%len(book)] }, func(i int) string { return book[i%len(book)] }},
	}
	failed := 0
	for _, p := range pages {
		if _, err := load(ctx, browsers, *warmup, p.path, p.want); err != nil && *warmup > 0 {
			return fmt.Errorf("%s warm-up: %w", p.name, err)
		}
		stop, err := startProfile(*profile, p.name)
		if err != nil {
			return err
		}
		r, err := load(ctx, browsers, *requests, p.path, p.want)
		stop()
		failed += r.errors
		fmt.Fprint(stdout, r.format(p.name, p.route, p.target))
		if err != nil {
			fmt.Fprintf(stdout, "  first error: %v\n", err)
		}
	}
	if *profile != "" {
		fmt.Fprintf(stdout, "CPU profiles: %s-worklist.pprof, %s-customer.pprof (go tool pprof -top <file>)\n", *profile, *profile)
	}
	if failed > 0 {
		return fmt.Errorf("bench console: %d requests failed", failed)
	}
	return nil
}

// largestBook finds, on the read side, the rep with the most customers and
// returns them with their customers' ids in worklist order.
func largestBook(ctx context.Context, q projections.Queries) (string, []string, error) {
	staff, err := q.StaffList(ctx)
	if err != nil {
		return "", nil, err
	}
	var rep string
	var book []projections.WorkItem
	for _, m := range staff {
		if m.Role != "rep" {
			continue
		}
		w, err := q.Worklist(ctx, m.ID, now(), projections.WorklistOptions{})
		if err != nil {
			return "", nil, err
		}
		if len(w) > len(book) {
			rep, book = m.ID, w
		}
	}
	if len(book) == 0 {
		return "", nil, errors.New("bench console: no rep has a customer (a bank this small has no potential VIPs: seed more customers)")
	}
	ids := make([]string, len(book))
	for i, it := range book {
		ids[i] = it.CustomerID
	}
	return rep, ids, nil
}

// cpuModel is the processor's name from /proc/cpuinfo, "unknown" elsewhere.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// flagValues lists every flag's value in effect (command line or
// environment), as flags that repeat the run.
func flagValues(fs *flag.FlagSet) string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name+"="+f.Value.String()) })
	return strings.Join(out, " ")
}

// startProfile starts a CPU profile of the page's run, if asked; the
// returned func stops it.
func startProfile(prefix, page string) (func(), error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(prefix + "-" + page + ".pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// pageReport is what a page's run measured.
type pageReport struct {
	clients, errors int
	elapsed         time.Duration
	cpu             time.Duration   // the process's CPU time (user and system) during the run
	gc              gcStats         // the process's collector during the run
	server, client  []time.Duration // sorted
	bytes           int64           // of every page answered
}

// load fetches path(i) for i in [0, total) from every browser at once, each
// browser one request at a time, and checks each answer: 200, holding
// want(i), with a Server-Timing header. The error is the first failure.
func load(ctx context.Context, bs []*browser, total int, path, want func(int) string) (pageReport, error) {
	type result struct {
		server, client []time.Duration
		bytes          int64
		errors         int
		err            error
	}
	results := make([]result, len(bs))
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0, gc0 := cpuTime(), readGC()
	start := time.Now()
	for c, b := range bs {
		res := &results[c]
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				status, h, body, err := b.get(ctx, path(i))
				took := time.Since(t0)
				var server time.Duration
				if err == nil {
					server, err = checkPage(status, h, body, want(i))
				}
				if err != nil {
					res.errors++
					if res.err == nil {
						res.err = fmt.Errorf("GET %s: %w", path(i), err)
					}
					continue
				}
				res.server, res.client, res.bytes = append(res.server, server), append(res.client, took), res.bytes+int64(len(body))
			}
		})
	}
	wg.Wait()
	r := pageReport{clients: len(bs), elapsed: time.Since(start), cpu: cpuTime() - cpu0, gc: readGC().since(gc0)}
	var first error
	for _, res := range results {
		r.server, r.client = append(r.server, res.server...), append(r.client, res.client...)
		r.bytes += res.bytes
		r.errors += res.errors
		if first == nil {
			first = res.err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	slices.Sort(r.server)
	slices.Sort(r.client)
	return r, first
}

// checkPage checks a page's answer and returns the server's time its
// Server-Timing header tells ("app;dur=<milliseconds>").
func checkPage(status int, h http.Header, body []byte, want string) (time.Duration, error) {
	if status != http.StatusOK {
		return 0, fmt.Errorf("status %d, want 200 (Location %q)", status, h.Get("Location"))
	}
	if !bytes.Contains(body, []byte(want)) {
		return 0, fmt.Errorf("the page does not show %s", want)
	}
	v := h.Get("Server-Timing")
	_, dur, ok := strings.Cut(v, "dur=")
	ms, err := strconv.ParseFloat(strings.TrimSpace(strings.Split(dur, ";")[0]), 64)
	if !ok || err != nil || ms < 0 {
		return 0, fmt.Errorf("no server time in Server-Timing %q", v)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// format is the report of page name (route), measured against target.
func (r pageReport) format(name, route string, target time.Duration) string {
	n := len(r.server)
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  requests=%d errors=%d clients=%d  %.0f req/s  %d bytes/page\n", name, route, n, r.errors, r.clients,
		float64(n)/r.elapsed.Seconds(), r.bytes/int64(max(1, n)))
	if n == 0 {
		return b.String()
	}
	verdict := "met"
	if p99(r.server) >= target {
		verdict = "MISSED"
	}
	fmt.Fprintf(&b, "  server time  %s  target p99 < %s: %s\n", quantiles(r.server), ms(target), verdict)
	fmt.Fprintf(&b, "  client time  %s\n", quantiles(r.client))
	fmt.Fprintf(&b, "  CPU per request %s (this process: server and clients; wall %s x %d CPUs available)\n",
		ms(r.cpu/time.Duration(n)), r.elapsed.Round(time.Millisecond), runtime.NumCPU())
	fmt.Fprintf(&b, "  GC %d cycles, %d KiB allocated per request (this process), live heap %d MiB\n",
		r.gc.cycles, r.gc.allocs/uint64(n)>>10, r.gc.live>>20)
	return b.String()
}

// cpuTime is the CPU time this process used so far (getrusage): unlike
// latency, it does not grow when other processes share the machine.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// quantiles formats p50, p90, p99 and max of sorted ds.
func quantiles(ds []time.Duration) string {
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(float64(len(ds))*f))] }
	return fmt.Sprintf("p50=%s p90=%s p99=%s max=%s", ms(q(0.5)), ms(q(0.9)), ms(p99(ds)), ms(ds[len(ds)-1]))
}

func p99(ds []time.Duration) time.Duration { return ds[min(len(ds)-1, len(ds)*99/100)] }

// ms formats d in milliseconds with two decimals, as Server-Timing has it.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
}

// gcStats are the collector's counters (runtime/metrics).
type gcStats struct{ cycles, allocs, live uint64 }

func readGC() gcStats {
	ms := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(ms)
	v := func(i int) uint64 {
		if ms[i].Value.Kind() == metrics.KindUint64 {
			return ms[i].Value.Uint64()
		}
		return 0
	}
	return gcStats{cycles: v(0), allocs: v(1), live: v(2)}
}

// since is what happened from before to g; the live heap is g's.
func (g gcStats) since(before gcStats) gcStats {
	return gcStats{cycles: g.cycles - before.cycles, allocs: g.allocs - before.allocs, live: g.live}
}
