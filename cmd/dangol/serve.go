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
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"time"

	oklog "github.com/oklog/run"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/api/console"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
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
	disputeWindow   time.Duration
	readStore       string
	sampler         samplerFlags
	seal            sealFlags
	staging         stagingFlags
	console         consoleFlags
	snapshots       snapshotFlags
	survivorship    survivorshipFlag // --survivorship (survivorship.go)
	catchUpGC       catchUpGC        // --catchup-gc-percent (catchup_gc.go)
}

// snapshotFlags configure the in-memory read side's snapshots
// (projections.SnapshotDir, SnapshotPolicy).
type snapshotFlags struct {
	dir      string // "": <data>/snapshots; off: none
	every    uint64
	interval time.Duration
	keep     int
}

func (f *snapshotFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.dir, "snapshots", "", "directory of the in-memory read models' snapshots (default <data>/snapshots): a start loads the newest and replays only the log after it; off: replay the whole log at every start, and shred the snapshots an earlier run left in <data>/snapshots")
	fs.Uint64Var(&f.every, "snapshot-every-events", 1_000_000, "write a read-model snapshot after this many events (0: never by count)")
	fs.DurationVar(&f.interval, "snapshot-every", time.Hour, "write a read-model snapshot once the log's time (the events' recordedAt) is this far past the last one (0: never by time)")
	fs.IntVar(&f.keep, "snapshot-keep", 2, "read-model snapshots kept, newest first")
}

// open returns the snapshot directory, or nil with --snapshots off.
func (f snapshotFlags) open(data string, keys pii.KeyStore, logger *slog.Logger) *projections.SnapshotDir {
	switch f.dir {
	case "off":
		return nil
	case "":
		return &projections.SnapshotDir{Dir: filepath.Join(data, "snapshots"), Keys: keys, Keep: f.keep, Logger: logger}
	}
	return &projections.SnapshotDir{Dir: f.dir, Keys: keys, Keep: f.keep, Logger: logger}
}

// shredLeft, with --snapshots off, shreds the snapshots an earlier run
// left in <data>/snapshots (their keys destroyed, the files removed): a
// server that writes none would never shred them at an erasure, so the
// erased customers' data would stay readable there under live keys. A
// directory given to an earlier run's --snapshots is the operator's to
// remove (docs/snapshots.md).
func (f snapshotFlags) shredLeft(data string, keys pii.KeyStore, logger *slog.Logger) error {
	if f.dir != "off" {
		return nil
	}
	dir := &projections.SnapshotDir{Dir: filepath.Join(data, "snapshots"), Keys: keys, Logger: logger}
	left, err := dir.List()
	if err != nil || len(left) == 0 {
		return err
	}
	if err := dir.ShredAll(); err != nil {
		return fmt.Errorf("--snapshots off: shred the %d snapshots an earlier run left in %s: %w", len(left), dir.Dir, err)
	}
	logger.Info("snapshots off: shredded the snapshots an earlier run left", "dir", dir.Dir, "snapshots", len(left))
	return nil
}

// consoleFlags configure the web console's sessions (console.Config).
type consoleFlags struct {
	secureCookies  bool
	idle, max      time.Duration
	trustedProxies string // comma-separated addresses or CIDR prefixes
}

// stagingFlags bound the recordings uploaded that no call references yet
// (api.Config's Staging fields).
type stagingFlags struct {
	ttl        time.Duration
	maxUploads int
	maxBytes   int64
}

// metricsOff is the --metrics-addr that serves no metrics.
const metricsOff = "off"

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.store.register(fs)
	c.catchUpGC.register(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "API listen address (also serves /healthz and /readyz)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "127.0.0.1:9090", "listen address of /metrics (and /healthz, /readyz), apart from the API so that only the network it is on can scrape it; off: no metrics listener")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.Uint64Var(&c.readyLag, "ready-max-lag", 1000, "/readyz fails while the read models are more than this many events behind")
	fs.Int64Var(&c.maxBody, "max-body-bytes", 64<<10, "largest JSON request body")
	fs.DurationVar(&c.disputeWindow, "dispute-window", events.DisputeWindow, "how long after a review its rep may dispute it (by the server's clock)")
	fs.Var(&c.survivorship, "survivorship", survivorshipUsage)
	fs.StringVar(&c.readStore, "read-store", "", "where the read models live: memory (rebuilt by replay at start), or postgres (tables in the --postgres-url database, shared by every server; the default with --store postgres)")
	c.sampler.register(fs)
	c.snapshots.register(fs)
	c.seal.register(fs, true)
	fs.DurationVar(&c.staging.ttl, "recording-staging-ttl", api.DefaultStagingTTL, "an uploaded recording that no call references is deleted this long after upload")
	fs.IntVar(&c.staging.maxUploads, "recording-staging-max-uploads", api.DefaultStagingMaxUploads, "uploads per staff member that no call references yet; more are refused (429)")
	fs.Int64Var(&c.staging.maxBytes, "recording-staging-max-bytes", api.DefaultStagingMaxBytes, "bytes of uploads that no call references yet, all staff together; more are refused (429)")
	fs.BoolVar(&c.console.secureCookies, "secure-cookies", false, "mark the web console's cookies Secure (and name the session cookie __Host-): set it whenever browsers reach the console over TLS, directly or through a proxy")
	fs.DurationVar(&c.console.idle, "session-idle", 30*time.Minute, "a console session unused this long is signed out")
	fs.DurationVar(&c.console.max, "session-max", 10*time.Hour, "every console session ends this long after sign-in, used or not")
	fs.StringVar(&c.console.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (for the console's per-address sign-in throttle, the address a sign-in records and the access record's where-from); empty: the header is ignored")
}

// proxies parses --trusted-proxies.
func (c consoleFlags) proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(c.trustedProxies, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR prefix", part)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func runServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "Serves the HTTP API, the WebSocket live feed and metrics, on the embedded store\n"+
		"or (--store postgres) on PostgreSQL, where several servers may share one database.", stderr)
	var cfg serveConfig
	cfg.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	s, err := startServer(ctx, cfg, getenv, stderr)
	if err != nil {
		return err
	}
	return s.wait()
}

// server is one `dangol serve`: the resources it opened, in order, and the
// run group of its long-lived parts (the HTTP servers, the live hub and the
// read side). Tests start one on :0.
type server struct {
	cfg    serveConfig
	logger *slog.Logger

	// Opened by open in this order; Close closes them in reverse.
	log       events.Store // the log as opened; the server writes through store
	keys      pii.KeyStore
	readStore *rmpg.Store // nil with --read-store memory
	ln        net.Listener
	metricsLn net.Listener // nil with --metrics-addr off

	// Built by open over the resources; nothing of theirs to close.
	store      *metrics.Store // log, instrumented
	sealer     *pii.Sealer
	search     pii.BlindIndex // customer search, keyed by a key derived from the master key
	queries    projections.Queries
	runner     readSide
	runRead    func(context.Context) error
	gc         *gcCatchUp // the collector raised while the in-memory read models catch up; nil with --read-store postgres
	seals      *sealing   // the Merkle tree, the sealing key and the sealer
	api        *api.Server
	console    *console.Console // the web console, at "/" of the API's listener
	httpSrv    *http.Server
	metricsSrv *http.Server // nil with --metrics-addr off

	addr        string // the API's actual listen address
	metricsAddr string // the metrics listener's, "" when off

	cancel    context.CancelFunc // ends the run group
	done      chan struct{}      // closed when the group ended and Close returned
	err       error              // the first part's failure, else Close's
	closeOnce sync.Once
	closeErr  error

	shutdownOnce   sync.Once
	shutdownCtx    context.Context
	shutdownCancel context.CancelFunc
}

// readSide is the read models' progress as the server and its tests see it:
// the in-memory runner, or the PostgreSQL read store's table checkpoint.
type readSide interface {
	api.Progress
	metrics.Progress
	metrics.Reactors
}

// startServer opens everything cfg names and starts serving; on error what
// it opened is closed again. The server runs until ctx ends or a part fails.
func startServer(ctx context.Context, cfg serveConfig, getenv env, stderr io.Writer) (*server, error) {
	s := &server{cfg: cfg, done: make(chan struct{})}
	if err := s.open(ctx, getenv, stderr); err != nil {
		s.Close()
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	g := s.group(ctx)
	go func() {
		defer close(s.done)
		s.err = s.run(g)
	}()
	return s, nil
}

// wait blocks until the server stopped and returns why: nil after a
// shutdown, the first failure otherwise.
func (s *server) wait() error { <-s.done; return s.err }

// stop shuts the server down and waits for it.
func (s *server) stop() error { s.cancel(); return s.wait() }

// open opens the resources in order and builds the parts over them. A
// failure returns at once: Close releases whatever was opened.
func (s *server) open(ctx context.Context, getenv env, stderr io.Writer) error {
	cfg := &s.cfg
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	s.logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	kind := cfg.readStoreKind()
	if kind != "memory" && kind != "postgres" {
		return fmt.Errorf("--read-store %q: want memory or postgres", kind)
	}
	if kind == "postgres" && cfg.store.postgresURL == "" {
		return fmt.Errorf("--read-store postgres needs --postgres-url")
	}
	if st := cfg.staging; st.ttl < 0 || st.maxUploads < 0 || st.maxBytes < 0 {
		return fmt.Errorf("--recording-staging-ttl, -max-uploads and -max-bytes must not be negative")
	}
	if cc := cfg.console; cc.idle < 0 || cc.max < 0 || cc.idle > 0 && cc.max > 0 && cc.idle > cc.max {
		return fmt.Errorf("--session-idle and --session-max must not be negative, the idle timeout at most the maximum (got %s and %s)", cc.idle, cc.max)
	}
	if cfg.disputeWindow < 0 {
		return fmt.Errorf("--dispute-window must not be negative (got %s)", cfg.disputeWindow)
	}
	proxies, err := cfg.console.proxies()
	if err != nil {
		return err
	}

	log, err := openEventStore(ctx, cfg.store, false)
	if err != nil {
		return err
	}
	s.log = log
	keys, sealer, master, err := openKeysMaster(ctx, cfg.store, s.log, getenv, s.logger)
	if err != nil {
		return err
	}
	s.keys, s.sealer, s.search = keys, sealer, pii.NewBlindIndex(master)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.store = metrics.InstrumentStore(s.log, reg)
	if kind == "memory" {
		s.gc = startCatchUpGC(cfg.catchUpGC, s.logger) // from the snapshot's load on; Close puts it back if the start fails
	}
	if err := s.openReadSide(ctx, kind); err != nil {
		return err
	}
	if s.gc != nil {
		s.gc.until(s.runner.CaughtUp())
	}
	metrics.RegisterProjections(reg, s.runner, metrics.LagOf(s.log)) // on KurrentDB the lag is in bytes of $all
	metrics.RegisterReactors(reg, s.runner)
	if s.seals, err = openSealing(cfg.seal, cfg.store, s.store, master, getenv, s.logger); err != nil {
		return err
	}

	blobs, err := api.OpenBlobs(filepath.Join(cfg.store.data, "recordings"))
	if err != nil {
		return err
	}
	if err := migrateRecordings(ctx, s.log, s.sealer, blobs, s.logger); err != nil {
		return err
	}
	s.api = api.New(api.Config{Store: s.store, Queries: s.queries, Progress: s.runner, Sealer: s.sealer, Blobs: blobs, Logger: s.logger,
		Search: s.search, Metrics: api.NewMetrics(reg), Live: api.NewLiveMetrics(reg), MaxBodyBytes: cfg.maxBody, Now: now,
		Tree: s.seals.tree, SealKey: s.seals.key, SealStatus: s.seals.sealer.Status, DisputeWindow: cfg.disputeWindow,
		StagingTTL: cfg.staging.ttl, StagingMaxUploads: cfg.staging.maxUploads, StagingMaxBytes: cfg.staging.maxBytes,
		TrustedProxies: proxies, BuiltInPlan: cfg.sampler.policy().Plan()})
	// The web console at "/": its sessions open the live feed too.
	s.console = console.New(console.Config{API: s.api, Store: s.store, Queries: s.queries, Progress: s.runner, Search: s.search,
		Logger: s.logger, Now: now, Secret: master.Derive("console"), SecureCookies: cfg.console.secureCookies,
		IdleTimeout: cfg.console.idle, SessionTimeout: cfg.console.max, TrustedProxies: proxies})
	s.api.UseSessions(s.console)
	s.api.Mount("/", s.console.Handler())

	// /metrics is never on the API listener: it would be open to every
	// client of the API, without a token.
	ops := s.api.Health(cfg.readyLag)
	mux := http.NewServeMux()
	mux.Handle("/healthz", ops)
	mux.Handle("/readyz", ops)
	mux.Handle("/", s.api.Handler())
	if s.ln, err = net.Listen("tcp", cfg.addr); err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	s.addr, s.httpSrv = s.ln.Addr().String(), newHTTPServer(mux)
	if cfg.metricsAddr != "" && cfg.metricsAddr != metricsOff {
		if s.metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w (another address, or off)", err)
		}
		om := http.NewServeMux()
		om.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		om.Handle("/", ops)
		s.metricsAddr, s.metricsSrv = s.metricsLn.Addr().String(), newHTTPServer(om)
	}
	return s.greet(ctx, stderr)
}

// openReadSide opens the read models: in memory, folded by a runner, or
// PostgreSQL tables written by the elected writer among the servers.
func (s *server) openReadSide(ctx context.Context, kind string) error {
	store, cfg := s.store, &s.cfg
	// Every PersonalDataErased the read side sees (at replay too) destroys
	// the key if it still exists: an erasure cut short by a crash between
	// the append and the key's destruction completes at the next start.
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if err := s.sealer.EnforceErasure(ctx, e); err != nil {
			return nil, err
		}
		return s.sealer.OpenEnvelope(ctx, e)
	}
	if kind == "memory" {
		mem, reactors, opt, snap, err := s.restoreMemory(ctx)
		if err != nil {
			return err
		}
		runner := projections.NewRunner(store, decode, mem.Projections(), reactors, opt)
		if snap != nil {
			snap.After(runner.CaughtUp())
		}
		mem.Attach(runner)
		s.queries, s.runner, s.runRead = mem, runner, runner.Run
		return nil
	}
	rm, err := rmpg.Open(ctx, cfg.store.postgresURL, rmpg.Options{Logger: s.logger, Cipher: rowCipher(s.sealer), SearchIndex: s.search.Terms,
		Survivorship: cfg.survivorship.Rule(), SnapshotKeys: s.keys})
	if err != nil {
		return err
	}
	s.readStore, s.queries, s.runner = rm, rm, rm
	log := rmpg.Log{Source: store, Decode: decode, Reactors: func() []projections.Reactor { return cfg.sampler.reactors(store) }}
	s.runRead = func(ctx context.Context) error { return rm.Run(ctx, log) }
	return nil
}

// restoreMemory builds the in-memory read models and reactors: from the
// newest usable snapshot, the runner then replaying the log after it, or
// empty for a replay of the whole log; the runner writes snapshots by the
// flags' policy (snap, nil with --snapshots off).
func (s *server) restoreMemory(ctx context.Context) (*projections.Memory, []projections.Reactor, projections.RunnerOptions, *projections.Snapshotter, error) {
	var (
		mem      *projections.Memory
		reactors []projections.Reactor
	)
	build := func() []projections.Projection {
		mem, reactors = projections.NewMemory(projections.WithSearchIndex(s.search.Terms),
			projections.WithSurvivorship(s.cfg.survivorship.Rule())), s.cfg.sampler.reactors(s.store)
		return projections.SnapshotRoots(mem.Projections(), reactors)
	}
	// Prefetch: each batch's customers' data keys in one read of the key
	// store before it is decoded (docs/replay.md).
	opt := projections.RunnerOptions{Logger: s.logger, Prefetch: s.sealer.PrefetchKeys}
	dir := s.cfg.snapshots.open(s.cfg.store.data, s.keys, s.logger)
	if dir == nil {
		build()
		mem.Expect(projections.StreamsIn(s.store)) // a replay from the start: size the maps once
		return mem, reactors, opt, nil, s.cfg.snapshots.shredLeft(s.cfg.store.data, s.keys, s.logger)
	}
	roots, info, ok := dir.Load(ctx, s.store, build)
	if ok {
		opt.From = info.Position
	} else {
		mem.Expect(projections.StreamsIn(s.store)) // no usable snapshot: a replay from the start
	}
	policy := projections.SnapshotPolicy{Every: s.cfg.snapshots.every, Interval: s.cfg.snapshots.interval}
	snap := projections.NewSnapshotter(dir, policy, roots)
	opt.AfterBatch = snap.AfterBatch
	return mem, reactors, opt, snap, nil
}

// greet logs the start and, on an empty ledger, tells the operator how to
// create the first admin. A log whose head cannot be read is an error: the
// server would only answer 503, and "empty" would be a lie.
func (s *server) greet(ctx context.Context, stderr io.Writer) error {
	head, err := s.log.Head(ctx)
	if err != nil {
		return fmt.Errorf("read the log's head: %w", err)
	}
	s.logger.Info("dangol serving", "addr", s.addr, "metrics_addr", s.metricsAddr, "data", s.cfg.store.data, "log_head", head.String(),
		"sealing_key", s.seals.key.VerifierKey())
	if head.IsZero() {
		stopFirst := " (stop this server first; the store is opened exclusively)"
		if s.cfg.store.backend == "postgres" || s.cfg.store.backend == "kurrentdb" {
			stopFirst = ""
		}
		flags, note := staffAddHint(s.cfg.store)
		fmt.Fprintf(stderr, "\nThe ledger is empty. Create the first admin%s:\n"+
			"  dangol staff add --data %s%s --id A001 --name \"First Admin\" --role admin\n%s"+
			"It prints a setup code on stderr: set the admin's password with it at http://%s/setup, then add everyone\n"+
			"else on the console's staff screen (/admin/staff). The bearer token it prints is for programs (POST /v1/staff).\n\n",
			stopFirst, s.cfg.store.data, flags, note, s.addr)
	}
	return nil
}

// group returns the long-lived parts as one run group: the first to return
// stops the rest, and its error is the server's. Interrupts run in the
// order the parts are added, so the HTTP servers drain first (a request in
// flight may wait for the read side), then the live hub closes its
// WebSocket clients, then the read side stops, then the sealer.
func (s *server) group(ctx context.Context) *oklog.Group {
	var g oklog.Group
	g.Add(func() error { <-ctx.Done(); return nil }, func(error) {
		s.logger.Info("shutting down")
		s.cancel()
	})
	g.Add(s.part(ctx, "http", func() error { return s.httpSrv.Serve(s.ln) }), func(error) { s.drain(s.httpSrv) })
	if s.metricsSrv != nil {
		g.Add(s.part(ctx, "metrics http", func() error { return s.metricsSrv.Serve(s.metricsLn) }), func(error) { s.drain(s.metricsSrv) })
	}
	// The hub, the read side and the sealer end when their own contexts
	// do, in the order above, not all at once when ctx ends.
	live, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	g.Add(s.part(ctx, "live feed", func() error { return s.api.Run(live) }), func(error) { stopLive() })
	read, stopRead := context.WithCancel(context.WithoutCancel(ctx))
	g.Add(s.part(ctx, "read side", func() error { return s.runRead(read) }), func(error) { stopRead() })
	sealCtx, stopSealing := context.WithCancel(context.WithoutCancel(ctx))
	g.Add(s.part(ctx, "sealer", func() error { return s.seals.run(sealCtx, s.logger) }), func(error) { stopSealing() })
	return &g
}

// part names a part's failure. Ending cleanly (nil, http.ErrServerClosed,
// context.Canceled) is only clean during a shutdown: a part that stops on
// its own while the server runs is a failure too.
func (s *server) part(ctx context.Context, name string, execute func() error) func() error {
	return func() error {
		err := execute()
		if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, context.Canceled) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s stopped while the server was running", name)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
}

// run runs the group to its end, waits for the WebSocket clients to get
// their close frame, and closes the resources.
func (s *server) run(g *oklog.Group) error {
	err := g.Run()
	s.api.WaitLive(s.shutdownContext())
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if s.shutdownCancel != nil {
		s.shutdownCancel()
	}
	if err != nil {
		s.logger.Error("stopped", "err", err.Error())
	} else {
		s.logger.Info("stopped")
	}
	return err
}

// drain stops h accepting connections and waits for the requests in flight
// until the shutdown timeout, past which their connections are closed.
func (s *server) drain(h *http.Server) {
	if err := h.Shutdown(s.shutdownContext()); err != nil {
		s.logger.Warn("requests still in flight at the shutdown timeout; closing their connections")
		h.Close()
	}
}

// shutdownContext bounds the whole shutdown by --shutdown-timeout, counted
// from the first call.
func (s *server) shutdownContext() context.Context {
	s.shutdownOnce.Do(func() {
		s.shutdownCtx, s.shutdownCancel = context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	})
	return s.shutdownCtx
}

// Close releases what open opened, in reverse order, once: the listeners
// (already closed if their server ran), the read store, the key store, the
// log. It returns the stores' errors.
func (s *server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.gc != nil {
			s.gc.end()
		}
		if s.metricsLn != nil {
			s.metricsLn.Close()
		}
		if s.ln != nil {
			s.ln.Close()
		}
		if s.seals != nil {
			errs = append(errs, s.seals.Close())
		}
		if s.readStore != nil {
			s.readStore.Close()
		}
		if s.keys != nil {
			errs = append(errs, s.keys.Close())
		}
		if s.log != nil {
			errs = append(errs, s.log.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
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

// readStoreKind resolves --read-store: PostgreSQL tables with the
// PostgreSQL store, memory otherwise, unless set.
func (c *serveConfig) readStoreKind() string {
	if c.readStore != "" {
		return c.readStore
	}
	if c.store.backend == "postgres" || c.store.backend == "kurrentdb" {
		return "postgres"
	}
	return "memory"
}
