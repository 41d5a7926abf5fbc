package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/bench"
)

func runBench(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "replay" {
		return runBenchReplay(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "http" {
		return runBenchHTTP(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "store" {
		fmt.Fprintln(stderr, "Usage: dangol bench store|http|replay [flags]   (dangol bench store -h, dangol bench http -h)")
		return errors.New("bench: the subcommands are store and http")
	}
	fs := newFlags("bench store", "Measures the event store on this machine: the disk's own fsync rate, durable\n"+
		"appends at each writer count, a whole-log read with decoding and hash\n"+
		"verification, and bytes on disk per event. Works in a fresh store under\n"+
		"--bench-dir, removed afterwards unless --keep.", stderr)
	dir := fs.String("bench-dir", "", "directory for the throwaway store (default: a new temp dir)")
	writers := fs.String("writers", "1,64", "comma-separated writer counts to run")
	n := fs.Int("events", 200000, "events per run")
	batch := fs.Int("batch", 1, "events per append")
	size := fs.Int("size", 500, "approximate bytes of data per event")
	keep := fs.Bool("keep", false, "keep the store afterwards")
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
	fmt.Fprintf(stdout, "store: embedded (bbolt) at %s, %d events per run, batch %d, ~%d-byte events\n", root, *n, *batch, *size)

	rate, err := bench.FsyncRate(root, 2000)
	if err != nil {
		return fmt.Errorf("fsync probe: %w", err)
	}
	fmt.Fprintf(stdout, "disk fsync loop (4 KiB write + fsync): %.0f syncs/s\n", rate)

	path := filepath.Join(root, "events.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	total := 0
	for i, w := range counts {
		r, err := bench.Appends(ctx, s, bench.AppendConfig{Writers: w, Events: *n, Batch: *batch, DataBytes: *size, Prefix: fmt.Sprintf("R%d", i)})
		if err != nil {
			return err
		}
		total += r.Events
		fmt.Fprintln(stdout, r)
		if w == 1 && *batch == 1 {
			fmt.Fprintf(stdout, "  single writer at %.0f%% of the fsync loop's rate\n", 100*r.AppendsPer/rate)
		}
	}
	rr, err := bench.ReadVerify(ctx, s, 4096)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rr)
	used, err := s.UsedBytes()
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	if info, err := os.Stat(path); err == nil && total > 0 {
		fmt.Fprintf(stdout, "bytes on disk: %.0f bytes/event used by bbolt (%d bytes for %d events, free pages included); file %d bytes with preallocation\n",
			float64(used)/float64(total), used, total, info.Size())
	}
	return nil
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
