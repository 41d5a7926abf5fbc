package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/dangol/dangol/ops/bench"
)

// runBenchHTTP boots a real `dangol serve` on a throwaway data dir and
// loads it over loopback HTTP and WebSocket from the same process: client
// and server share this machine, as the targets assume.
func runBenchHTTP(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench http", "Boots dangol serve on a throwaway data dir and measures, over loopback:\n"+
		"durable contact appends from concurrent clients, customer view reads, and\n"+
		"the WebSocket fan-out's event-to-client latency in two cases side by side:\n"+
		"the firehose (every subscriber on the whole log) and a bank's (each advisor\n"+
		"on their own book, a few auditors on the log).", stderr)
	clients := fs.Int("clients", 64, "concurrent HTTP clients for appends")
	appends := fs.Int("appends", 20000, "contact appends to make")
	readers := fs.Int("readers", 32, "concurrent HTTP clients for reads")
	reads := fs.Int("reads", 100000, "customer view reads to make")
	subs := fs.Int("subscribers", 1000, "WebSocket subscribers on log in the firehose case")
	advisors := fs.Int("advisors", 1000, "advisors in the realistic case, each with a book of customers and a WebSocket subscriber on advisor:<id>")
	logSubs := fs.Int("log-subscribers", 10, "WebSocket subscribers on log in the realistic case")
	cases := fs.String("live-cases", "realistic,firehose", "the WebSocket cases to run, in order: realistic, firehose")
	profile := fs.String("cpuprofile", "", "write a CPU profile of each WebSocket case to <prefix>-<case>.pprof (server and clients share the process)")
	rate := fs.Int("rate", 1000, "appends per second during the WebSocket test")
	dur := fs.Duration("live-duration", 10*time.Second, "length of the WebSocket test")
	customers := fs.Int("customers", 1000, "customers to register first")
	backend := fs.String("store", "embedded", "embedded, or postgres (a throwaway cluster from the machine's binaries; log, keys and read models in it)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *advisors < 1 || *advisors > *customers {
		return fmt.Errorf("bench http: --advisors must be from 1 to --customers (%d)", *customers)
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
	tok := map[string]string{} // by role
	for _, m := range []struct{ id, name, role string }{{"R001", "Bench Rep", "rep"}, {"U001", "Bench Auditor", "auditor"},
		{"A001", "Bench Admin", "admin"}, {"S001", "Bench Supervisor", "supervisor"}} {
		if tok[m.role], err = staffToken(ctx, dir, getenv, m.id, m.name, m.role); err != nil {
			return err
		}
	}
	srv, err := startBenchServer(ctx, dir, pgURL, getenv)
	if err != nil {
		return err
	}
	defer srv.stop()
	base := "http://" + srv.addr
	fmt.Fprintf(stdout, "dangol bench http  %s  %s/%s  %d CPUs  server and client in one process on %s  store=%s\n",
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), srv.addr, *backend)

	rep := bench.NewClient(base, tok["rep"], max(*clients, *readers))
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
			"occurredAt": now().UTC().Format(time.RFC3339), "durationSec": 300}, 201, &res)
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
	advisorTokens, err := assignBooks(ctx, srv, bench.NewClient(base, tok["admin"], 16), bench.NewClient(base, tok["supervisor"], 16), *advisors, *customers, stdout)
	if err != nil {
		return err
	}
	wsURL := "ws://" + srv.addr + "/v1/live"
	if *advisors > 1 {
		if err := advisorTopicRefused(ctx, wsURL, advisorTokens[0], 1, stdout); err != nil {
			return err
		}
	}
	liveCases := map[string][]bench.LiveSubscriber{
		"firehose":  logSubscribers(tok["auditor"], *subs),
		"realistic": append(advisorSubscribers(advisorTokens, *customers), logSubscribers(tok["auditor"], *logSubs)...),
	}
	fmt.Fprintf(stdout, "%d appends/s for %s: event-to-client latency from the append's start (its durable commit included)\n%s\n", *rate, *dur, bench.LiveHeader)
	for _, name := range strings.Split(*cases, ",") {
		subs, ok := liveCases[name]
		if !ok {
			return fmt.Errorf("bench http: unknown --live-cases entry %q (realistic, firehose)", name)
		}
		// From the log's head: a subscriber the server attaches late
		// replays what it missed rather than counting it missing.
		head, err := srv.log.Head(ctx)
		if err != nil {
			return err
		}
		for i := range subs {
			subs[i].From = head
		}
		stop, err := startProfile(*profile, name)
		if err != nil {
			return err
		}
		lr, err := bench.Live(ctx, name, wsURL, subs, *rate, *dur, 10*time.Second, contact)
		stop()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, lr)
	}
	return nil
}

// advisorID names the bench's j-th advisor; customer i's advisor is the
// (i mod advisors)-th.
func advisorID(j int) string { return fmt.Sprintf("ADV%05d", j) }

// assignBooks registers the advisors (reps), issues each a token, assigns
// each customer to one, and returns the advisors' tokens once the read side
// knows them all (an assignment names a registered rep; a token
// authenticates once the read side has it).
func assignBooks(ctx context.Context, srv *server, admin, supervisor *bench.Client, advisors, customers int, stdout io.Writer) ([]string, error) {
	caughtUp := func() error {
		head, err := srv.log.Head(ctx)
		if err != nil {
			return err
		}
		return srv.runner.WaitFor(ctx, head)
	}
	fmt.Fprintln(stdout, bench.Load(ctx, "register advisors", 16, advisors, func(ctx context.Context, _, j int) error {
		return admin.Do(ctx, "POST", "/v1/staff", map[string]any{"staffId": advisorID(j), "name": "Bench Advisor", "role": "rep"}, 201, nil)
	}))
	if err := caughtUp(); err != nil {
		return nil, err
	}
	tokens := make([]string, advisors)
	issued := bench.Load(ctx, "advisors' tokens", 16, advisors, func(ctx context.Context, _, j int) error {
		var res struct {
			Token string `json:"token"`
		}
		err := admin.Do(ctx, "POST", "/v1/staff/"+advisorID(j)+"/tokens", nil, 201, &res)
		tokens[j] = res.Token
		return err
	})
	fmt.Fprintln(stdout, issued)
	r := bench.Load(ctx, "assign advisors", 16, customers, func(ctx context.Context, _, i int) error {
		return supervisor.Do(ctx, "POST", fmt.Sprintf("/v1/customers/C%07d/assignment", i),
			map[string]any{"advisorId": advisorID(i % advisors), "kind": "call_centre_rep"}, 201, nil)
	})
	fmt.Fprintln(stdout, r)
	if issued.Errors > 0 || r.Errors > 0 {
		return nil, fmt.Errorf("bench http: %d tokens and %d assignments failed", issued.Errors, r.Errors)
	}
	return tokens, caughtUp()
}

// advisorTopicRefused checks that the first advisor's token is refused the
// topic of the other-th advisor (4403): the realistic case's subscribers
// see only their own book.
func advisorTopicRefused(ctx context.Context, wsURL, token string, other int, stdout io.Writer) error {
	code, err := bench.LiveRefusal(ctx, wsURL, token, []string{"advisor:" + advisorID(other)})
	if err != nil {
		return err
	}
	if code != 4403 {
		return fmt.Errorf("bench http: advisor %s's token on advisor:%s: close code %d, want 4403", advisorID(0), advisorID(other), code)
	}
	fmt.Fprintf(stdout, "advisor %s's token on advisor:%s: refused with 4403\n", advisorID(0), advisorID(other))
	return nil
}

// logSubscribers are n auditors' subscribers on the whole log: each wants
// every append.
func logSubscribers(token string, n int) []bench.LiveSubscriber {
	subs := make([]bench.LiveSubscriber, n)
	for i := range subs {
		subs[i] = bench.LiveSubscriber{Token: token, Topics: []string{"log"}, Wants: func(int) bool { return true }}
	}
	return subs
}

// advisorSubscribers are one subscriber per advisor on their own topic,
// each with its own token (tokens[j] is the j-th advisor's): each wants
// the appends to its book (the seq-th append is on customer seq mod
// customers).
func advisorSubscribers(tokens []string, customers int) []bench.LiveSubscriber {
	subs := make([]bench.LiveSubscriber, len(tokens))
	for j := range subs {
		subs[j] = bench.LiveSubscriber{Token: tokens[j], Topics: []string{"advisor:" + advisorID(j)},
			Wants: func(seq int) bool { return seq%customers%len(tokens) == j }}
	}
	return subs
}
