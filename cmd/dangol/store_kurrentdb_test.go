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
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/kurrentdb"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/ops/pgtest"
)

// No KurrentDB server runs where dangol is developed: these tests prove
// the flags, the refusals and the wiring around the log (keys and read
// models in PostgreSQL), with another store in the KurrentDB log's place.
// The adapter itself is proved against a server by ops/conformance.sh.

// TestServeKurrentDBRefusals: --store kurrentdb without its URLs, or with a
// database that cannot be reached, is a clear error naming what is missing
// (never the password), and creates nothing in the data directory.
func TestServeKurrentDBRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), hang)
	defer cancel()
	opened := false
	useKurrentLog(t, func(string, kurrentdb.Options) (events.Store, error) {
		opened = true
		return nil, errors.New("not here")
	})
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no kurrentdb url", []string{"--postgres-url", "postgres://dangol@127.0.0.1:1/dangol"}, "--kurrentdb-url"},
		{"no postgres url", []string{"--kurrentdb-url", "esdb://127.0.0.1:1?tls=false"}, "--postgres-url"},
		{"bad postgres url", []string{"--kurrentdb-url", "esdb://127.0.0.1:1?tls=false", "--postgres-url", "postgres://dangol:hunter22@[::1"}, "not a PostgreSQL connection string"},
		{"unreachable postgres", []string{"--kurrentdb-url", "esdb://127.0.0.1:1?tls=false",
			"--postgres-url", "postgres://dangol:hunter22@127.0.0.1:1/dangol?connect_timeout=2"}, "cannot connect to the PostgreSQL of the keys"},
	} {
		dir := t.TempDir()
		var errw bytes.Buffer
		args := append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--store", "kurrentdb"}, c.args...)
		err := run(ctx, args, noEnv, io.Discard, &errw)
		if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error()+errw.String(), "hunter22") {
			t.Fatalf("%s: exit %d, %v; want an error naming %q without the password", c.name, exitCode(err), err, c.want)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%s: the refused start left %d entries in the data directory", c.name, len(left))
		}
	}
	if opened {
		t.Error("the KurrentDB log was opened although the PostgreSQL database was missing")
	}
	err := run(ctx, []string{"serve", "--store", "kurrent"}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "kurrentdb") {
		t.Fatalf("--store kurrent: %v, want the list of stores with kurrentdb", err)
	}
}

// TestServeHelpMarksKurrentDB: -h says that --store kurrentdb is not run
// by this project's CI, beside the flags it takes.
func TestServeHelpMarksKurrentDB(t *testing.T) {
	var errw bytes.Buffer
	if err := run(t.Context(), []string{"serve", "-h"}, noEnv, io.Discard, &errw); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: %v", err)
	}
	help := errw.String()
	for _, want := range []string{"kurrentdb (the log in KurrentDB", "-kurrentdb-url", "$DANGOL_KURRENTDB_URL", "-kurrentdb-prefix",
		"NOT run by this project's CI", "ops/conformance.sh"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve -h lacks %q", want)
		}
	}
}

// TestServeKurrentDBWiring runs `dangol staff add` and `dangol serve` with
// --store kurrentdb, an embedded log with KurrentDB's kind of positions
// (pairLog) in the KurrentDB log's place: the log gets the events, the
// data keys are in PostgreSQL (no keys.db), the read models are PostgreSQL
// tables that answer a read after a commit/prepare position, the audit log
// pages by such positions, the log is opened with the default stream
// prefix, `dangol rebuild` replays it into fresh tables and `dangol verify`
// checks its hash chains.
func TestServeKurrentDBWiring(t *testing.T) {
	dir, logDir, pgURL := t.TempDir(), t.TempDir(), pgtest.Database(t)
	var got []kurrentdb.Options
	useKurrentLog(t, func(url string, opt kurrentdb.Options) (events.Store, error) {
		if url != "esdb://kurrentdb.test:2113?tls=false" {
			return nil, events.Errorf(events.Invalid, "url %q", url)
		}
		got = append(got, opt)
		inner, err := bolt.Open(filepath.Join(logDir, "events.db"), bolt.Options{Now: now})
		return pairLog{inner}, err
	})
	getenv := func(k string) string {
		return map[string]string{"DANGOL_STORE": "kurrentdb", "DANGOL_KURRENTDB_URL": "esdb://kurrentdb.test:2113?tls=false",
			"DANGOL_POSTGRES_URL": pgURL}[k]
	}
	tok := map[string]string{}
	for _, m := range cmdStaff {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"staff", "add", "--data", dir, "--id", m.id, "--name", "Staff " + m.id, "--role", m.role}, getenv, &out, io.Discard); err != nil {
			t.Fatalf("staff add --store kurrentdb: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		tok[m.id] = lines[len(lines)-1]
	}

	fs := newFlags("serve", "", io.Discard)
	var cfg serveConfig
	cfg.register(fs)
	if err := parse(fs, []string{"--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "error"}, getenv); err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(t.Context(), cfg, getenv, io.Discard)
	if err != nil {
		t.Fatalf("serve --store kurrentdb: %v", err)
	}
	if m := scrape(t, "http://"+srv.metricsAddr+"/metrics"); !strings.Contains(m, "\ndangol_projection_lag_bytes ") || strings.Contains(m, "dangol_projection_lag_events") {
		t.Errorf("serve --store kurrentdb exports the read models' lag as %q; want dangol_projection_lag_bytes only (positions are byte offsets)", grepLines(m, "dangol_projection_lag"))
	}
	s := &stack{t: t, dir: dir, url: pgURL, srv: srv, base: "http://" + srv.addr, tok: tok,
		client: &http.Client{Timeout: hang, Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(func() { s.stop() })
	if srv.readStore == nil {
		t.Fatal("serve --store kurrentdb keeps its read models in memory; want PostgreSQL tables")
	}
	select {
	case <-srv.runner.CaughtUp():
	case <-time.After(hang):
		t.Fatal("hang: the read models did not catch up")
	}
	pos := s.json("R1", "POST", "/v1/customers", customer("C1"), 201)["position"]
	view := s.json("R1", "GET", "/v1/customers/C1", nil, 200, "Dangol-Min-Position", fmt.Sprint(pos))
	if view["id"] != "C1" {
		t.Fatalf("the customer read back: %v", view)
	}
	if p, ok := pos.(string); !ok || !strings.Contains(p, "/") {
		t.Fatalf("the append's position %v, want a commit/prepare string", pos)
	}
	all := s.json("U1", "GET", "/v1/audit/log?limit=1000", nil, 200)["events"].([]any)
	first := all[0].(map[string]any)["position"]
	rest := s.json("U1", "GET", "/v1/audit/log?limit=1000&from_position="+fmt.Sprint(first), nil, 200)["events"].([]any)
	if len(all) < 2 || len(rest) < len(all)-1 || rest[0].(map[string]any)["position"] != all[1].(map[string]any)["position"] {
		t.Fatalf("the audit log after %v: %d events from %v; the whole log has %d from %v", first, len(rest), rest, len(all), all[:2])
	}

	for _, opt := range got {
		if opt.Prefix != "dangol-" {
			t.Errorf("the KurrentDB log was opened with prefix %q, want dangol-", opt.Prefix)
		}
	}
	if len(got) != len(cmdStaff)+1 {
		t.Errorf("the KurrentDB log was opened %d times, want once per command (%d)", len(got), len(cmdStaff)+1)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("keys.db in the data directory (%v): the keys belong in PostgreSQL", err)
	}
	conn, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var keys, logRows int
	if err := conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM dangol_keys WHERE customer_id = 'C1'), (SELECT count(*) FROM dangol_events)`).Scan(&keys, &logRows); err != nil {
		t.Fatal(err)
	}
	if keys != 1 || logRows != 0 {
		t.Errorf("PostgreSQL holds %d data keys of C1 and %d events; want the key, and the events in the log only", keys, logRows)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	var rebuilt bytes.Buffer
	if err := run(t.Context(), []string{"rebuild", "--data", dir}, getenv, &rebuilt, io.Discard); err != nil || !strings.Contains(rebuilt.String(), "rebuilt the read models from") {
		t.Fatalf("rebuild --store kurrentdb: %v, %s", err, rebuilt.String())
	}
	if err := run(t.Context(), []string{"verify", "--data", dir}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("verify --store kurrentdb: %v", err)
	}
	check, err := bolt.Open(filepath.Join(logDir, "events.db"), bolt.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	if evs, err := check.ReadStream(t.Context(), "customer-C1", 0, events.Forward, 10); err != nil || len(evs) == 0 {
		t.Fatalf("the stand-in log's customer-C1: %d events, %v", len(evs), err)
	}
}

// TestServeKurrentDBFirstAdminHint: on an empty ledger the first-admin
// hint names --store kurrentdb and the URLs staff add needs (not their
// values), or the admin would land in an embedded ledger.
func TestServeKurrentDBFirstAdminHint(t *testing.T) {
	logDir, pgURL := t.TempDir(), pgtest.Database(t)
	useKurrentLog(t, func(string, kurrentdb.Options) (events.Store, error) {
		inner, err := bolt.Open(filepath.Join(logDir, "events.db"), bolt.Options{Now: now})
		return pairLog{inner}, err
	})
	cfg := serveConfig{addr: "127.0.0.1:0", metricsAddr: metricsOff, logLevel: "error", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store = storeFlags{data: t.TempDir(), backend: "kurrentdb", postgresURL: pgURL, kurrentdb: kurrentFlags{url: "esdb://kurrentdb.test:2113", prefix: "dangol-"}}
	var errw bytes.Buffer
	srv, err := startServer(t.Context(), cfg, noEnv, &errw)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	hint := errw.String()
	if !strings.Contains(hint, "dangol staff add --data "+cfg.store.data+" --store kurrentdb --id A001") ||
		!strings.Contains(hint, "--kurrentdb-url and --postgres-url") || strings.Contains(hint, pgURL) {
		t.Fatalf("the first-admin hint on an empty KurrentDB ledger:\n%s", hint)
	}
}

// TestKurrentLogBatches: the bulk import's AppendBatch reaches the
// KurrentDB store's own through the wrapper that adds the key pool.
func TestKurrentLogBatches(t *testing.T) {
	spy := &batchSpy{}
	var log events.Store = &kurrentLog{Store: spy}
	if _, errs := events.AppendBatch(t.Context(), log, []events.StreamAppend{{Stream: "customer-1"}}); len(errs) != 1 || errs[0] != nil || spy.batches != 1 {
		t.Fatalf("AppendBatch through kurrentLog: %v, %d batches reached the log; want its AppendBatch", errs, spy.batches)
	}
}

// batchSpy is a log that counts the AppendBatch calls it gets.
type batchSpy struct {
	events.Store
	batches int
}

func (s *batchSpy) AppendBatch(_ context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	s.batches++
	return make([]events.AppendResult, len(batch)), make([]error, len(batch))
}

// TestComposeEnvNamesServeFlags: every DANGOL_* variable docker-compose.yml
// gives a server is one serve reads (a flag's, or a key's), so a profile
// that no CI runs (kurrentdb) cannot carry a misspelt setting unnoticed.
func TestComposeEnvNamesServeFlags(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlags("serve", "", io.Discard)
	var cfg serveConfig
	cfg.register(fs)
	known := map[string]bool{pii.EnvMasterKey: true, seal.EnvSealingKey: true}
	fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	names := regexp.MustCompile(`(?m)^\s+(DANGOL_[A-Z0-9_]+):`).FindAllStringSubmatch(string(raw), -1)
	if len(names) < 10 {
		t.Fatalf("only %d DANGOL_ variables found in docker-compose.yml", len(names))
	}
	for _, m := range names {
		if !known[m[1]] {
			t.Errorf("docker-compose.yml sets %s, which dangol serve does not read", m[1])
		}
	}
}

// useKurrentLog puts open in the KurrentDB log's place for the test.
func useKurrentLog(t *testing.T, open func(string, kurrentdb.Options) (events.Store, error)) {
	prev := openKurrentLog
	openKurrentLog = open
	t.Cleanup(func() { openKurrentLog = prev })
}

// TestPairLogConforms: the stand-in of TestServeKurrentDBWiring passes the
// store conformance suite, so what that test finds is serve's, not the
// stand-in's; and the suite holds no store to dense single-number
// positions, as it must not for KurrentDB.
func TestPairLogConforms(t *testing.T) {
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		s, err := bolt.Open(filepath.Join(tb.TempDir(), "events.db"), bolt.Options{Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return pairLog{s}
	})
}

// pairLog is a log with KurrentDB's kind of positions over one with a
// single dense sequence: event n of the inner log is at commit 1000n,
// prepare 1000n−100 (sparse, and never a single number), so the server's
// handling of such positions runs without a KurrentDB server.
type pairLog struct{ events.Store }

// LagUnit is KurrentDB's: its positions are byte offsets in $all.
func (pairLog) LagUnit() string { return "bytes" }

func pairOf(p events.Position) events.Position {
	if p.IsZero() {
		return p
	}
	return events.Position{Commit: 1000 * p.Seq(), Prepare: 1000*p.Seq() - 100}
}

// seqOf is the inner position of the last event at or before p.
func seqOf(p events.Position) events.Position {
	n := p.Commit / 1000
	if n > 0 && p.Less(pairOf(events.At(n))) {
		n--
	}
	return events.At(n)
}

func pairAll(evs []events.Envelope) []events.Envelope {
	for i := range evs {
		evs[i].Position = pairOf(evs[i].Position)
	}
	return evs
}

func (l pairLog) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	res, err := l.Store.Append(ctx, stream, expected, evs...)
	res.Position = pairOf(res.Position)
	return res, err
}

func (l pairLog) ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error) {
	evs, err := l.Store.ReadStream(ctx, stream, from, dir, limit)
	return pairAll(evs), err
}

func (l pairLog) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	evs, err := l.Store.ReadAll(ctx, seqOf(from), limit)
	return pairAll(evs), err
}

func (l pairLog) Head(ctx context.Context) (events.Position, error) {
	p, err := l.Store.Head(ctx)
	return pairOf(p), err
}

func (l pairLog) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	in, err := l.Store.Subscribe(ctx, seqOf(from))
	if err != nil {
		return nil, err
	}
	s := &pairSub{in: in, out: make(chan events.Envelope), done: make(chan struct{}), stop: make(chan struct{})}
	go s.run()
	return s, nil
}

// pairSub relays a subscription of the inner log with its positions paired.
type pairSub struct {
	in         events.Subscription
	out        chan events.Envelope
	done, stop chan struct{}
	once       sync.Once
}

func (s *pairSub) run() {
	defer func() {
		close(s.done) // first: a consumer that sees out closed reads Err() at once
		close(s.out)
	}()
	for e := range s.in.Events() {
		e.Position = pairOf(e.Position)
		select {
		case s.out <- e:
		case <-s.stop:
			return
		}
	}
}

func (s *pairSub) Events() <-chan events.Envelope { return s.out }

func (s *pairSub) Err() error {
	select {
	case <-s.done:
		return s.in.Err()
	default:
		return nil
	}
}

func (s *pairSub) Close() {
	s.once.Do(func() { close(s.stop) })
	s.in.Close()
	<-s.done
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func grepLines(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
