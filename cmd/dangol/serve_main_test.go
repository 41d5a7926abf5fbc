package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/ops/pgtest"
)

// The tests of serve's Main: what it opens, how its parts run and stop, and
// where it serves metrics.

// mainConfig is a server on the embedded store in dir, on :0, without
// reactors.
func mainConfig(dir string) serveConfig {
	cfg := serveConfig{addr: "127.0.0.1:0", logLevel: "error", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = dir
	cfg.sampler.disable = true
	return cfg
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := (&http.Client{Timeout: hang}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestServeMetricsListener: /metrics is served on --metrics-addr only (by
// default a loopback address), never on the API listener, where anyone
// holding the API's address could read it without a token.
func TestServeMetricsListener(t *testing.T) {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	if err := parse(fs, nil, noEnv); err != nil {
		t.Fatal(err)
	}
	if host, _, err := net.SplitHostPort(cfg.metricsAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Fatalf("default --metrics-addr %q is not a loopback address", cfg.metricsAddr)
	}

	cfg = mainConfig(t.TempDir())
	cfg.metricsAddr = "127.0.0.1:0"
	srv, err := startServer(t.Context(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	if st, body := get(t, "http://"+srv.addr+"/metrics"); st != http.StatusNotFound || bytes.Contains(body, []byte("dangol_")) {
		t.Fatalf("the API listener answers /metrics: %d %.200s", st, body)
	}
	st, body := get(t, "http://"+srv.metricsAddr+"/metrics")
	if st != 200 {
		t.Fatalf("metrics listener /metrics: %d", st)
	}
	for _, series := range []string{"dangol_projection_lag_events", "dangol_projection_lag_error 0", "go_goroutines"} {
		if !bytes.Contains(body, []byte(series)) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	for _, base := range []string{srv.addr, srv.metricsAddr} {
		if st, _ := get(t, "http://"+base+"/healthz"); st != 200 {
			t.Errorf("%s/healthz: %d", base, st)
		}
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	cfg = mainConfig(t.TempDir())
	cfg.metricsAddr = metricsOff
	srv, err = startServer(t.Context(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if srv.metricsAddr != "" || srv.metricsLn != nil {
		t.Errorf("--metrics-addr off listens on %q", srv.metricsAddr)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeFailedStartClosesWhatItOpened: a start that fails late (here:
// the metrics address is taken) leaves no store open: the log and the key
// store can be opened again at once.
func TestServeFailedStartClosesWhatItOpened(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	cfg := mainConfig(dir)
	cfg.metricsAddr = taken.Addr().String()
	if _, err := startServer(t.Context(), cfg, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("start with the metrics address taken: %v", err)
	}
	s, err := bolt.Open(cfg.store.eventsPath(), bolt.Options{})
	if err != nil {
		t.Fatalf("the log is still open: %v", err)
	}
	s.Close()
	master, _, err := pii.LoadMasterKey("", cfg.store.keyFile(), false)
	if err != nil {
		t.Fatal(err)
	}
	k, err := boltkeys.Open(cfg.store.keysPath(), master)
	if err != nil {
		t.Fatalf("the key store is still open: %v", err)
	}
	k.Close()
}

// TestServeFailingPartStopsTheRest: when one part fails (here the read
// side, which finds sealed data with no key: keys.db was lost), the others
// stop, the stores are closed and the failure is the server's error.
func TestServeFailingPartStopsTheRest(t *testing.T) {
	dir := t.TempDir()
	cfg := mainConfig(dir)
	log, err := openEventStore(t.Context(), cfg.store, false)
	if err != nil {
		t.Fatal(err)
	}
	keys, sealer, err := openKeys(t.Context(), cfg.store, log, noEnv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.NewEvent(&events.CustomerRegistered{CustomerID: "C1", Name: "김민준", BranchID: "B001",
		Source: events.Source{System: "test"}}, events.Meta{Actor: events.System("test"), Seal: sealer.SealFor(t.Context(), "C1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(t.Context(), events.CustomerStream("C1"), events.NoStream, ev); err != nil {
		t.Fatal(err)
	}
	keys.Close()
	log.Close()
	if err := os.Remove(cfg.store.keysPath()); err != nil {
		t.Fatal(err)
	}

	srv, err := startServer(t.Context(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.wait() }()
	select {
	case err = <-done:
	case <-time.After(hang):
		srv.stop()
		t.Fatal("hang: the server kept running with its read side failed")
	}
	if err == nil || !strings.HasPrefix(err.Error(), "read side: ") || !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("server error %v, want the read side's (no data key)", err)
	}
	if c, err := net.DialTimeout("tcp", srv.addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the API listener still accepts connections")
	}
	s, err := bolt.Open(cfg.store.eventsPath(), bolt.Options{})
	if err != nil {
		t.Fatalf("the log was not closed: %v", err)
	}
	s.Close()
}

// TestServeRefusesUnreadableHead: a log whose head cannot be read stops the
// start with that error, rather than reporting an empty ledger.
func TestServeRefusesUnreadableHead(t *testing.T) {
	dir := t.TempDir()
	cfg := mainConfig(dir)
	log, err := openEventStore(t.Context(), cfg.store, false)
	if err != nil {
		t.Fatal(err)
	}
	log.Close() // Head now fails: Unavailable
	s := &server{cfg: cfg, log: log, logger: slog.New(slog.DiscardHandler)}
	var stderr bytes.Buffer
	err = s.greet(t.Context(), &stderr)
	if err == nil || events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("greet over a closed log: %v, want its Unavailable error", err)
	}
	if strings.Contains(stderr.String(), "empty") {
		t.Fatalf("an unreadable log was reported empty: %s", stderr.String())
	}
}

// TestOpenKeysByStoreFlag: --store chooses the key store, not the log's
// type. With --store postgres the keys are in the log's database (no
// keys.db); a log that is not the PostgreSQL store itself is refused
// rather than getting a keys.db beside it.
func TestOpenKeysByStoreFlag(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Database(t)
	pg, err := postgres.Open(ctx, url, postgres.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	discard := slog.New(slog.DiscardHandler)
	sf := storeFlags{data: t.TempDir(), backend: "postgres", postgresURL: url}

	wrapped := metrics.InstrumentStore(pg, prometheus.NewRegistry())
	if keys, _, err := openKeys(ctx, sf, wrapped, noEnv, discard); err == nil {
		keys.Close()
		t.Fatal("--store postgres over a decorated log opened a key store")
	}
	if _, err := os.Stat(sf.keysPath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("keys.db beside a PostgreSQL log: %v", err)
	}

	keys, sealer, err := openKeys(ctx, sf, pg, noEnv, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	if err := sealer.Seal(ctx, "C1", &events.CustomerRegistered{CustomerID: "C1", Name: "김민준"}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pg.Pool().QueryRow(ctx, `SELECT count(*) FROM dangol_keys WHERE customer_id = 'C1'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("data keys in the database: %d, %v", n, err)
	}
	if _, err := os.Stat(sf.keysPath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("keys.db beside a PostgreSQL log: %v", err)
	}
}
