package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/dangol/dangol/ops/bench"
)

// runBenchHTTP boots a real `dangol serve` on a throwaway data dir and
// loads it over loopback HTTP and WebSocket from the same process: client
// and server share this machine, as the targets assume.
func runBenchHTTP(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench http", "Boots dangol serve on a throwaway data dir and measures, over loopback:\n"+
		"durable contact appends from concurrent clients, customer view reads, and\n"+
		"the WebSocket fan-out's event-to-client latency.", stderr)
	clients := fs.Int("clients", 64, "concurrent HTTP clients for appends")
	appends := fs.Int("appends", 20000, "contact appends to make")
	readers := fs.Int("readers", 32, "concurrent HTTP clients for reads")
	reads := fs.Int("reads", 100000, "customer view reads to make")
	subs := fs.Int("subscribers", 1000, "WebSocket subscribers")
	rate := fs.Int("rate", 1000, "appends per second during the WebSocket test")
	dur := fs.Duration("live-duration", 10*time.Second, "length of the WebSocket test")
	customers := fs.Int("customers", 1000, "customers to register first")
	backend := fs.String("store", "embedded", "embedded, or postgres (a throwaway cluster from the machine's binaries; log, keys and read models in it)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	pgURL, getenv, removePG, err := benchStore(ctx, *backend, getenv)
	if err != nil {
		return err
	}
	defer removePG()
	dir, err := os.MkdirTemp("", "dangol-bench-http-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	repTok, err := staffToken(ctx, dir, getenv, "R001", "Bench Rep", "rep")
	if err != nil {
		return err
	}
	audTok, err := staffToken(ctx, dir, getenv, "U001", "Bench Auditor", "auditor")
	if err != nil {
		return err
	}
	srv, err := startBenchServer(ctx, dir, pgURL, getenv)
	if err != nil {
		return err
	}
	defer srv.stop()
	base := "http://" + srv.addr
	fmt.Fprintf(stdout, "dangol bench http  %s  %s/%s  %d CPUs  server and client in one process on %s  store=%s\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), srv.addr, *backend)

	rep := bench.NewClient(base, repTok, max(*clients, *readers))
	reg := bench.Load(ctx, "register customers", 16, *customers, func(ctx context.Context, _, i int) error {
		return rep.Do(ctx, "POST", "/v1/customers", map[string]any{"customerId": fmt.Sprintf("C%07d", i), "name": "김민준",
			"phone": "010-1234-5678", "branchId": "B001", "source": map[string]string{"system": "bench"}}, 201, nil)
	})
	fmt.Fprintln(stdout, reg)
	contact := func(ctx context.Context, i int) (string, error) {
		var res struct {
			EventIDs []string `json:"eventIds"`
		}
		err := rep.Do(ctx, "POST", fmt.Sprintf("/v1/customers/C%07d/contacts", i%*customers), map[string]any{
			"channel": "phone_outbound", "purpose": "advice", "summary": "상담: 적금 만기 안내, 대출 상담 희망",
			"occurredAt": time.Now().UTC().Format(time.RFC3339), "durationSec": 300}, 201, &res)
		if err != nil || len(res.EventIDs) == 0 {
			return "", err
		}
		return res.EventIDs[0], nil
	}
	fmt.Fprintln(stdout, bench.Load(ctx, "append contacts (durable)", *clients, *appends, func(ctx context.Context, _, i int) error {
		_, err := contact(ctx, i)
		return err
	}))
	fmt.Fprintln(stdout, bench.Load(ctx, "GET customer view", *readers, *reads, func(ctx context.Context, _, i int) error {
		return rep.Do(ctx, "GET", fmt.Sprintf("/v1/customers/C%07d", i%*customers), nil, 200, nil)
	}))
	lr, err := bench.Live(ctx, "ws://"+srv.addr+"/v1/live", audTok, "log", *subs, *rate, *dur, contact)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, lr)
	return nil
}
