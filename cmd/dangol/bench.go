package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/events/seglog"
	"github.com/dangol/dangol/ops/bench"
	"github.com/dangol/dangol/ops/pgcluster"
)

func runBench(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "replay" {
		return runBenchReplay(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "http" {
		return runBenchHTTP(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "console" {
		return runBenchConsole(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "campaigns" {
		return runBenchCampaigns(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "writer" {
		return runBenchWriter(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "latency" {
		return runBenchLatency(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "store" {
		fmt.Fprintln(stderr, "Usage: dangol bench store|http|replay|latency|writer|console|campaigns [flags]   (dangol bench <subcommand> -h)")
		return errors.New("bench: the subcommands are store, http, replay, latency, writer, console and campaigns")
	}
	fs := newFlags("bench store", "Measures the event store on this machine: the disk's own fsync rate, durable\n"+
		"appends at each writer count, a whole-log read with decoding and hash\n"+
		"verification, a subscription catching up from the start, and bytes per\n"+
		"event. Works in a fresh store under --bench-dir (embedded) or in a\n"+
		"throwaway PostgreSQL cluster started from the machine's binaries\n"+
		"(--store postgres without --postgres-url), removed afterwards unless --keep.", stderr)
	dir := fs.String("bench-dir", "", "directory for the throwaway store (default: a new temp dir)")
	backend := fs.String("store", "embedded", "embedded (the segment log), bolt (the previous embedded store) or postgres")
	pgURL := fs.String("postgres-url", "", "with --store postgres: an empty database to use instead of a throwaway cluster")
	writers := fs.String("writers", "1,64", "comma-separated writer counts to run")
	n := fs.Int("events", 200000, "events per run")
	batch := fs.Int("batch", 1, "events per append")
	batched := fs.Int("batched", 1000, "after the --writers runs, a run of events.AppendBatch calls of this many appends (each of --batch events to a new stream), as the bulk import makes them (0: not)")
	batchedWriters := fs.Int("batched-writers", 4, "with --batched: concurrent AppendBatch callers")
	size := fs.Int("size", 500, "approximate bytes of data per event")
	keep := fs.Bool("keep", false, "keep the embedded store afterwards (a throwaway PostgreSQL cluster always goes)")
	sealEvery := fs.Int64("seal-every", 0, "at the end, measure appends at the largest --writers count with the sealer off and on, alternating, sealing every N events (0: not)")
	sealRounds := fs.Int("seal-rounds", 5, "with --seal-every: rounds of two runs of --events each, sealer off then on")
	sealPoll := fs.Duration("seal-poll", time.Second, "with --seal-every: the sealer reads the log this often (0: follows it live), as serve's --seal-poll")
	peerName := fs.String("peer", "", "with --store postgres: messagedb runs each load on Message DB's write_message too, right after dangol's, on the same cluster")
	peerDir := fs.String("peer-dir", "", "with --peer messagedb: the database/ directory of a checkout of github.com/message-db/message-db, whose SQL the bench installs")
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	counts, err := parseInts(*writers)
	if err != nil {
		return fmt.Errorf("--writers: %w", err)
	}
	root := *dir
	if root == "" {
		if root, err = os.MkdirTemp("", "dangol-bench-*"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(root, 0o700); err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(root)
	}
	host, _ := os.Hostname()
	fmt.Fprintf(stdout, "dangol bench store  %s  %s/%s  %d CPUs  GOMAXPROCS=%d  host=%s\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), host)

	rate, err := bench.FsyncRate(root, 2000)
	if err != nil {
		return fmt.Errorf("fsync probe: %w", err)
	}
	var s events.Store
	switch *backend {
	case "embedded":
		fmt.Fprintf(stdout, "store: embedded (segment log) at %s, %d events per run, batch %d, ~%d-byte events\n", root, *n, *batch, *size)
		if s, err = seglog.Open(filepath.Join(root, "log"), seglog.Options{}); err != nil {
			return err
		}
	case "bolt":
		fmt.Fprintf(stdout, "store: embedded (bbolt) at %s, %d events per run, batch %d, ~%d-byte events\n", root, *n, *batch, *size)
		if s, err = bolt.Open(filepath.Join(root, "events.db"), bolt.Options{}); err != nil {
			return err
		}
	case "postgres":
		url := *pgURL
		if url == "" {
			srv, err := pgcluster.Start()
			if err != nil {
				return err
			}
			defer srv.Remove() // it would not outlive this process anyway (parent-death signal)
			if url, err = srv.CreateDatabase(ctx, "dangol_bench"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "store: PostgreSQL, throwaway cluster (default settings, fsync on) on 127.0.0.1:%d, same host\n", srv.Port())
		} else {
			fmt.Fprintln(stdout, "store: PostgreSQL at --postgres-url")
		}
		fmt.Fprintf(stdout, "%d events per run, batch %d, ~%d-byte events\n", *n, *batch, *size)
		if s, err = postgres.Open(ctx, url, postgres.Options{Migrate: true}); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--store %q: want embedded, bolt or postgres", *backend)
	}
	defer s.Close()
	peer, err := openBenchPeer(ctx, *peerName, *peerDir, s)
	if err != nil {
		return err
	}
	defer peer.close()
	fmt.Fprintf(stdout, "disk fsync loop (4 KiB write + fsync): %.0f syncs/s\n", rate)
	total := 0
	for i, w := range counts {
		r, err := bench.Appends(ctx, s, bench.AppendConfig{Writers: w, Events: *n, Batch: *batch, DataBytes: *size, Prefix: fmt.Sprintf("R%d", i)})
		if err != nil {
			return err
		}
		total += r.Events
		fmt.Fprintln(stdout, r)
		again, err := peer.run(ctx, stdout, r)
		if err != nil {
			return err
		}
		total += again
		if w == 1 && *batch == 1 {
			// The disk's rate drifts on a shared machine: probe it again
			// right after and compare with the mean of the two probes.
			again, err := bench.FsyncRate(root, 2000)
			if err != nil {
				return fmt.Errorf("fsync probe: %w", err)
			}
			fmt.Fprintf(stdout, "  single writer at %.0f%% of the fsync loop's rate (%.0f syncs/s before the run, %.0f after: %.0f%% of their mean)\n",
				100*r.AppendsPer/rate, rate, again, 200*r.AppendsPer/(rate+again))
		}
	}
	if *batched > 0 {
		r, err := bench.Appends(ctx, s, bench.AppendConfig{Writers: *batchedWriters, Events: *n, Batch: *batch, Entries: *batched, DataBytes: *size, Prefix: "B"})
		if err != nil {
			return err
		}
		total += r.Events
		fmt.Fprintln(stdout, r)
	}
	rr, err := bench.ReadVerify(ctx, s, 4096)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rr)
	cu, err := bench.CatchUp(ctx, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "subscription catch-up from the start: %d events in %s: %.0f events/s\n", cu.Events, cu.Elapsed.Round(time.Millisecond), cu.EventsPerSec)
	if used := usedBytes(s); used > 0 && total > 0 {
		fmt.Fprintf(stdout, "bytes on disk: %.0f bytes/event (%d bytes for %d events)\n", float64(used)/float64(total), used, total)
	}
	if *sealEvery > 0 {
		cfg := bench.AppendConfig{Writers: slices.Max(counts), Events: *n, Batch: *batch, DataBytes: *size}
		if err := benchSealing(ctx, stdout, s, filepath.Join(root, "seals"), *sealEvery, *sealPoll, max(1, *sealRounds), cfg); err != nil {
			return err
		}
	}
	return s.Close()
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// benchStore starts the throwaway PostgreSQL cluster that --store postgres
// asks for and returns its database's URL and getenv pointing dangol's
// commands at it; remove removes the cluster. For the embedded store it
// returns "" and getenv as they are.
func benchStore(ctx context.Context, backend string, getenv env) (pgURL string, _ env, remove func(), err error) {
	switch backend {
	case "embedded":
		return "", getenv, func() {}, nil
	case "postgres":
		pg, err := pgcluster.Start()
		if err != nil {
			return "", nil, nil, err
		}
		if pgURL, err = pg.CreateDatabase(ctx, "dangol_bench"); err != nil {
			pg.Remove()
			return "", nil, nil, err
		}
		return pgURL, withStoreEnv(getenv, pgURL), func() { pg.Remove() }, nil
	}
	return "", nil, nil, fmt.Errorf("--store %q: want embedded or postgres", backend)
}

// startBenchServer starts `dangol serve` on the data dir (and the database
// at pgURL, if not "") on a loopback port, its log quiet and no sampler,
// and waits for its read side to catch up: requests before would be
// answered 503. The caller stops it.
func startBenchServer(ctx context.Context, dir, pgURL string, getenv env) (*server, error) {
	var cfg serveConfig
	cfg.store.data, cfg.addr, cfg.logLevel, cfg.shutdownTimeout, cfg.readyLag, cfg.maxBody = dir, "127.0.0.1:0", "error", 5*time.Second, 1000, 64<<10
	cfg.sampler.disable = true
	if pgURL != "" {
		cfg.store.backend, cfg.store.postgresURL = "postgres", pgURL
	}
	srv, err := startServer(ctx, cfg, getenv, io.Discard)
	if err != nil {
		return nil, err
	}
	select {
	case <-srv.runner.CaughtUp():
		return srv, nil
	case <-ctx.Done():
		srv.stop()
		return nil, ctx.Err()
	}
}

// staffToken registers a staff member in the data dir (`dangol staff add`)
// and returns their bearer token.
func staffToken(ctx context.Context, dir string, getenv env, id, name, role string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, []string{"staff", "add", "--data", dir, "--id", id, "--name", name, "--role", role}, getenv, &out, io.Discard)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], err
}
