package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/projections"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// serveConfig is the configuration surface of `dangol serve`.
type serveConfig struct {
	store           storeFlags
	addr            string
	metricsAddr     string
	logLevel        string
	shutdownTimeout time.Duration
	readyLag        uint64
	maxBody         int64
	readStore       string
	sampler         samplerFlags
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.store.register(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "API listen address (also serves /metrics, /healthz, /readyz)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "separate listen address for /metrics, /healthz, /readyz (optional)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.Uint64Var(&c.readyLag, "ready-max-lag", 1000, "/readyz fails while the read models are more than this many events behind")
	fs.Int64Var(&c.maxBody, "max-body-bytes", 64<<10, "largest JSON request body")
	fs.StringVar(&c.readStore, "read-store", "", "where the read models live: memory (rebuilt by replay at start), or postgres (tables in the --postgres-url database, shared by every server; the default with --store postgres)")
	c.sampler.register(fs)
}

func runServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "Serves the HTTP API, the WebSocket live feed and metrics, on the embedded store\n"+
		"or (--store postgres) on PostgreSQL, where several servers may share one database.", stderr)
	var cfg serveConfig
	cfg.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	m, err := startServer(ctx, cfg, getenv, stderr)
	if err != nil {
		return err
	}
	return m.wait()
}

// server is a running `dangol serve`; tests start one on :0.
type server struct {
	addr   string // the API's actual listen address
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	runner readSide
}

// readSide is the read models' progress as the server and its tests see it:
// the in-memory runner, or the PostgreSQL read store's table checkpoint.
type readSide interface {
	api.Progress
	metrics.Progress
}

func (m *server) wait() error { <-m.done; return m.err }

// stop shuts the server down and waits for it.
func (m *server) stop() error { m.cancel(); return m.wait() }

func startServer(parent context.Context, cfg serveConfig, getenv env, stderr io.Writer) (*server, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	raw, err := openEventStore(parent, cfg.store, false)
	if err != nil {
		return nil, err
	}
	keys, sealer, err := openKeys(parent, cfg.store, raw, getenv, logger)
	if err != nil {
		raw.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := metrics.InstrumentStore(raw, reg)

	// Every PersonalDataErased the runner sees (at replay too) destroys the
	// key if it still exists: an erasure cut short by a crash between the
	// append and the key's destruction completes at the next start.
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if err := sealer.EnforceErasure(ctx, e); err != nil {
			return nil, err
		}
		return sealer.OpenEnvelope(ctx, e)
	}
	var (
		queries api.Queries
		side    readSide
		runRead func(context.Context) error
		closeRM = func() {}
	)
	switch rs := cfg.readStoreKind(); rs {
	case "memory":
		mem := projections.NewMemory()
		runner := projections.NewRunner(store, decode, mem.Projections(), cfg.sampler.reactors(store), projections.RunnerOptions{Logger: logger})
		mem.Attach(runner)
		queries, side, runRead = mem, runner, runner.Run
	case "postgres":
		if cfg.store.postgresURL == "" {
			keys.Close()
			raw.Close()
			return nil, fmt.Errorf("--read-store postgres needs --postgres-url")
		}
		rm, err := rmpg.Open(parent, cfg.store.postgresURL, rmpg.Options{Logger: logger, Cipher: rowCipher(sealer)})
		if err != nil {
			keys.Close()
			raw.Close()
			return nil, err
		}
		log := rmpg.Log{Source: store, Decode: decode, Reactors: func() []projections.Reactor { return cfg.sampler.reactors(store) }}
		queries, side, closeRM = rm, rm, rm.Close
		runRead = func(ctx context.Context) error { return rm.Run(ctx, log) }
	default:
		keys.Close()
		raw.Close()
		return nil, fmt.Errorf("--read-store %q: want memory or postgres", rs)
	}
	metrics.RegisterProjections(reg, side)

	blobs, err := api.OpenBlobs(filepath.Join(cfg.store.data, "recordings"))
	if err != nil {
		closeRM()
		keys.Close()
		raw.Close()
		return nil, err
	}
	srv := api.New(api.Config{Store: store, Queries: queries, Progress: side, Sealer: sealer, Blobs: blobs, Logger: logger,
		Metrics: api.NewMetrics(reg), Live: api.NewLiveMetrics(reg), MaxBodyBytes: cfg.maxBody, Now: now})

	mux := http.NewServeMux()
	ops := srv.Health(cfg.readyLag)
	mux.Handle("/healthz", ops)
	mux.Handle("/readyz", ops)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", srv.Handler())
	httpSrv := newHTTPServer(mux)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		closeRM()
		keys.Close()
		raw.Close()
		return nil, fmt.Errorf("listen %s: %w", cfg.addr, err)
	}
	var metricsSrv *http.Server
	var mln net.Listener
	if cfg.metricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			ln.Close()
			closeRM()
			keys.Close()
			raw.Close()
			return nil, fmt.Errorf("listen %s: %w", cfg.metricsAddr, err)
		}
		om := http.NewServeMux()
		om.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		om.Handle("/", ops)
		metricsSrv = newHTTPServer(om)
	}

	ctx, cancel := context.WithCancel(parent)
	m := &server{addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{}), runner: side}
	head, _ := raw.Head(ctx)
	logger.Info("dangol serving", "addr", m.addr, "data", cfg.store.data, "log_head", head.String())
	if head.IsZero() {
		fmt.Fprintf(stderr, "\nThe ledger is empty. Create the first admin (stop this server first; the store is opened exclusively):\n"+
			"  dangol staff add --data %s --id A001 --name \"First Admin\" --role admin\n"+
			"It prints a bearer token; with it, POST /v1/staff and /v1/staff/{id}/tokens add everyone else.\n\n", cfg.store.data)
	}

	// Long-running parts run as a group: the first to end stops the rest.
	var wg sync.WaitGroup
	var once sync.Once
	fail := func(err error) {
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
			once.Do(func() { m.err = err })
		}
		cancel()
	}
	wg.Go(func() { fail(runRead(ctx)) })
	wg.Go(func() { fail(srv.Run(ctx)) })
	wg.Go(func() { fail(httpSrv.Serve(ln)) })
	if metricsSrv != nil {
		wg.Go(func() { fail(metricsSrv.Serve(mln)) })
	}
	go func() {
		<-ctx.Done()
		logger.Info("shutting down")
		sctx, scancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
		defer scancel()
		_ = httpSrv.Shutdown(sctx) // in-flight requests finish
		if metricsSrv != nil {
			_ = metricsSrv.Shutdown(sctx)
		}
		wg.Wait()
		srv.WaitLive(sctx) // WebSocket clients got their close frame
		closeRM()
		keys.Close()
		if err := raw.Close(); err != nil && m.err == nil {
			m.err = err
		}
		logger.Info("stopped")
		close(m.done)
	}()
	return m, nil
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Minute, // recordings upload through this server
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
}

// openKeys loads the master key (environment, flag, or file, created on
// first start) and opens the key store beside the log.
func openKeys(ctx context.Context, sf storeFlags, store events.Store, getenv env, logger *slog.Logger) (pii.KeyStore, *pii.Sealer, error) {
	envKey := sf.masterKey
	if envKey == "" {
		envKey = getenv(pii.EnvMasterKey)
	}
	master, created, err := pii.LoadMasterKey(envKey, sf.keyFile(), true)
	if err != nil {
		return nil, nil, fmt.Errorf("master key: %w", err)
	}
	if created {
		logger.Warn("created a new master key; back it up apart from the data", "file", sf.keyFile(), "key_id", master.ID())
	}
	var keys pii.KeyStore
	if pg, ok := store.(*postgres.Store); ok {
		keys, err = pii.OpenPostgresKeys(ctx, pg.Pool(), master)
	} else {
		keys, err = pii.OpenBoltKeys(sf.keysPath(), master)
	}
	if err != nil {
		return nil, nil, err
	}
	return keys, pii.NewSealer(keys), nil
}

// readStoreKind resolves --read-store: PostgreSQL tables with the
// PostgreSQL store, memory otherwise, unless set.
func (c *serveConfig) readStoreKind() string {
	if c.readStore != "" {
		return c.readStore
	}
	if c.store.backend == "postgres" {
		return "postgres"
	}
	return "memory"
}

// rowCipher seals the PostgreSQL read models' customer rows with each
// customer's data key, so an erasure shreds every stored copy of the row.
func rowCipher(s *pii.Sealer) rmpg.RowCipher {
	return pii.RowSealer{Sealer: s, Purpose: "rm_customers"}
}
