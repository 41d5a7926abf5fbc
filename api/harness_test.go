package api_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/api/console"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/projections"
)

// The api tests run the real handlers over a real store: the embedded
// bbolt log in t.TempDir() (or PostgreSQL, see backend_test.go), the pii
// key store and sealer, the in-memory read models fed by the projection
// runner with the QA sampler and the segmentation job, all wired as `dangol
// serve` wires them, behind an httptest server. Staff are created as an
// operator does: the first admin appended to the log directly (what `dangol
// staff add` does), everyone else through the API. Every answer is checked
// against the OpenAPI document the server serves (openapidoc_test.go).

// hang bounds every wait; it only detects hangs.
const hang = 30 * time.Second

// serveStaff are the staff the tests create through the API, by id.
var serveStaff = []struct{ id, name, role string }{
	{"R1", "Rep One", "rep"}, {"P1", "Banker One", "private_banker"}, {"S1", "Supervisor One", "supervisor"},
	{"H1", "Head One", "centre_head"}, {"U1", "Auditor One", "auditor"}, {"R2", "Rep Two", "rep"},
	{"M1", "Marketer One", "marketer"},
}

// stackOptions configure newStack; the zero value is the default stack.
type stackOptions struct {
	now         events.Clock // the clock of the store and the server (default eventstest.Clock(eventstest.Epoch))
	newRepCalls int          // QA sampler: first calls of each rep selected (default 1000: every call)
	longCallSec int          // QA sampler: calls at least this long are selected (default 900)
	perRepWeek  int          // QA sampler: random calls per rep per ISO week (default 3)
	noReactors  bool         // run neither the sampler nor the segmentation job
	maxBody     int64        // largest JSON body (default 64 KiB)
	readyLag    uint64       // /readyz fails while the read side is this far behind (default 1000)
	logger      *slog.Logger // the server's logger (default: discarded)
	sealEvery   int64        // the sealer seals after this many events (default stackSealEvery: only sealNow seals)
	// sealInterval is the sealer's --seal-interval (default 0: off). Its
	// ticker is the machine's (a quarter of it), so an hour never ticks in
	// a test: only the status shows it.
	sealInterval time.Duration

	configure func(*api.Config) // adjusts the server's configuration last (e.g. the staging caps)
	// consoleIdle is the console's session idle timeout (default the
	// console's own, 30 minutes).
	consoleIdle time.Duration
}

func (o *stackOptions) defaults() {
	if o.now == nil {
		o.now = eventstest.Clock(eventstest.Epoch)
	}
	if o.newRepCalls == 0 {
		o.newRepCalls = 1000
	}
	if o.longCallSec == 0 {
		o.longCallSec = 900
	}
	if o.perRepWeek == 0 {
		o.perRepWeek = 3
	}
	if o.maxBody == 0 {
		o.maxBody = 64 << 10
	}
	if o.readyLag == 0 {
		o.readyLag = 1000
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.sealEvery == 0 {
		o.sealEvery = stackSealEvery
	}
}

// stackSealEvery is the stack's default --seal-every: more events than any
// test appends, so that seals appear only where a test calls sealNow.
const stackSealEvery = 1 << 40

// stack is a running API server with a bearer token per staff id. Its
// methods other than send fail the test and must be called from the test's
// goroutine.
type stack struct {
	t      *testing.T
	opt    stackOptions
	dir    string // master key, recordings, the embedded log
	url    string // the PostgreSQL database of the log, or ""
	master []byte // the master key, kept for restart

	store    events.Store // the instrumented log the server writes to
	sealer   *pii.Sealer
	seals    *seal.Sealer // the ledger's sealer, over the tree in dir/seals
	queries  projections.Queries
	progress api.Progress
	srv      *api.Server
	console  *console.Console
	reg      *prometheus.Registry
	http     *httptest.Server
	base     string // http://127.0.0.1:port

	tok    map[string]string // staff id (and "expired") → bearer token
	tokIDs map[string]string // staff id → token id
	doc    *apiDoc
	client *http.Client

	cancel   context.CancelFunc
	running  sync.WaitGroup
	runErrs  chan error
	closers  []func() error // in opening order; closed in reverse
	stopOnce sync.Once
}

// newStack boots a server on a fresh data directory with the first admin
// (A001), an already expired token ("expired", of rep X1), and serveStaff
// registered through the API, each with a token.
func newStack(t *testing.T, opt stackOptions) *stack {
	t.Helper()
	opt.defaults()
	dir := t.TempDir()
	master := make([]byte, pii.MasterKeySize)
	if _, err := rand.Read(master); err != nil {
		t.Fatal(err)
	}
	tok := map[string]string{}
	tokIDs := map[string]string{}
	s := openStack(t, dir, newDatabase(t), master, tok, tokIDs, opt)
	tok["A001"], tokIDs["A001"] = s.addStaff("A001", "Admin", "admin", opt.now().Add(90*24*time.Hour))
	tok["expired"], _ = s.addStaff("X1", "Expired Rep", "rep", opt.now().Add(-time.Second))
	s.awaitApplied()
	for _, m := range serveStaff {
		s.must("A001", "POST", "/v1/staff", map[string]any{"staffId": m.id, "name": m.name, "role": m.role, "branchIds": []string{"B001"}}, 201)
		res := s.must("A001", "POST", "/v1/staff/"+m.id+"/tokens", nil, 201)
		s.tok[m.id] = res["token"].(string)
		s.tokIDs[m.id] = res["tokenId"].(string)
	}
	return s
}

// openStack opens the stores on dir, starts the server and waits until its
// read models have caught up with the log; it is stopped at the end of the
// test.
func openStack(t *testing.T, dir, url string, master []byte, tok, tokIDs map[string]string, opt stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, opt: opt, dir: dir, url: url, master: master, tok: tok, tokIDs: tokIDs, runErrs: make(chan error, 3)}
	t.Cleanup(s.stop)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel

	raw, err := openLog(dir, url, opt.now)
	if err != nil {
		t.Fatal(err)
	}
	s.closers = append(s.closers, raw.Close)
	mk, err := pii.NewMasterKey(master)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := openKeys(ctx, dir, raw, mk)
	if err != nil {
		t.Fatal(err)
	}
	s.closers = append(s.closers, keys.Close)
	s.sealer = pii.NewSealer(keys)

	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.store = metrics.InstrumentStore(raw, s.reg)

	// As in serve: every PersonalDataErased the read side sees destroys the
	// key if it still exists.
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if err := s.sealer.EnforceErasure(ctx, e); err != nil {
			return nil, err
		}
		return s.sealer.OpenEnvelope(ctx, e)
	}
	policy := projections.DefaultSamplerPolicy()
	policy.NewRepCalls, policy.LongCallSec, policy.PerRepWeek = opt.newRepCalls, opt.longCallSec, opt.perRepWeek
	reactors := func() []projections.Reactor {
		if opt.noReactors {
			return nil
		}
		p := policy
		return []projections.Reactor{projections.NewSampler(p, s.store), projections.NewSegmenter(projections.DefaultTierRule(), s.store)}
	}
	// As in serve: the search index is keyed by the master key.
	search := pii.NewBlindIndex(mk)
	side, runRead, closeRead, err := openReadSide(ctx, url, s.store, decode, reactors, s.sealer, search.Terms, opt.logger)
	if err != nil {
		t.Fatal(err)
	}
	s.closers = append(s.closers, closeRead)
	s.queries, s.progress = side, side
	metrics.RegisterProjections(s.reg, side)

	blobs, err := api.OpenBlobs(filepath.Join(dir, "recordings"))
	if err != nil {
		t.Fatal(err)
	}
	tree, sealKey := s.openSeals(mk)
	cfg := api.Config{Store: s.store, Queries: side, Progress: side, Sealer: s.sealer, Blobs: blobs, Logger: opt.logger,
		Metrics: api.NewMetrics(s.reg), Live: api.NewLiveMetrics(s.reg), MaxBodyBytes: opt.maxBody, Now: opt.now, Search: search,
		Tree: tree, SealKey: sealKey, SealStatus: s.seals.Status, BuiltInPlan: policy.Plan(),
		// The access record is appended when a batch is full, when the
		// auditor reads it, and at shutdown, never on a timer: a test's
		// "nothing appended" cannot meet a flush of the reads before it.
		AccessFlush: -1}
	if opt.configure != nil {
		opt.configure(&cfg)
	}
	s.srv = api.New(cfg)
	// The web console, mounted as serve mounts it (cmd/dangol/serve.go).
	s.console = console.New(console.Config{API: s.srv, Store: s.store, Queries: side, Progress: side, Search: search, Logger: opt.logger, Now: opt.now,
		Secret: mk.Derive("console"), Password: console.PasswordCost{Time: 1, MemoryKiB: 64, Threads: 1}, IdleTimeout: opt.consoleIdle,
		RefusalFloor: -1}) // refusals answer at once (TestConsoleSecurityRefusalFloor holds the floor)
	s.srv.UseSessions(s.console)
	s.srv.Mount("/", s.console.Handler())

	mux := http.NewServeMux()
	ops := s.srv.Health(opt.readyLag)
	mux.Handle("/healthz", ops)
	mux.Handle("/readyz", ops)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.Handle("/", s.srv.Handler())
	s.http = httptest.NewServer(mux)
	s.base = s.http.URL
	// The client's own transport, so that its idle connections can be
	// closed before the server stops.
	s.client = &http.Client{Timeout: hang, Transport: http.DefaultTransport.(*http.Transport).Clone()}

	for _, run := range []func(context.Context) error{runRead, s.srv.Run, s.seals.Run} {
		s.running.Go(func() { s.runErrs <- run(ctx) })
	}
	select {
	case <-side.CaughtUp():
	case err := <-s.runErrs:
		t.Fatalf("the server stopped while starting: %v", err)
	case <-time.After(hang):
		t.Fatal("hang: the read models did not catch up")
	}
	s.doc = s.loadDoc()
	return s
}

// stop shuts the server down as serve does (live clients get their close
// frame, in-flight requests finish) and closes the stores in reverse
// order. It runs once; the test's cleanup calls it too.
func (s *stack) stop() {
	s.stopOnce.Do(func() {
		s.t.Helper()
		if s.client != nil {
			s.client.CloseIdleConnections()
		}
		s.cancel()
		if s.http != nil {
			s.http.Close()
		}
		s.running.Wait()
		close(s.runErrs)
		for err := range s.runErrs {
			if err != nil && !errors.Is(err, context.Canceled) {
				s.t.Errorf("server part ended with: %v", err)
			}
		}
		if s.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			s.srv.WaitLive(ctx)
			cancel()
		}
		for i := len(s.closers) - 1; i >= 0; i-- {
			if err := s.closers[i](); err != nil {
				s.t.Errorf("close: %v", err)
			}
		}
	})
}

// restart stops the server and starts a new one on the same data (and the
// same master key), with the same tokens.
func (s *stack) restart() *stack {
	s.t.Helper()
	s.stop()
	return openStack(s.t, s.dir, s.url, s.master, s.tok, s.tokIDs, s.opt)
}

// openSeals opens, as serve does, the Merkle tree of the log (in
// dir/seals, kept across restarts) and the sealer, with a sealing key
// derived from the master key (the same after a restart).
func (s *stack) openSeals(mk pii.MasterKey) (*seal.Tree, *seal.Key) {
	s.t.Helper()
	tree, err := seal.OpenTree(filepath.Join(s.dir, "seals"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.closers = append(s.closers, tree.Close)
	key, err := seal.NewKey("dangol-test", mk.Derive("test sealing seed"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.seals, err = seal.NewSealer(seal.Config{Store: s.store, Tree: tree, Key: key, Every: s.opt.sealEvery, Interval: s.opt.sealInterval, Now: s.opt.now, Logger: s.opt.logger})
	if err != nil {
		s.t.Fatal(err)
	}
	return tree, key
}

// sealNow seals the log as it is (SealNow: nothing is appended when no
// event came since the latest seal) and returns the latest seal.
func (s *stack) sealNow() *seal.Seal {
	s.t.Helper()
	sl, err := s.seals.SealNow(s.t.Context())
	if err != nil {
		s.t.Fatalf("seal now: %v", err)
	}
	if sl == nil {
		s.t.Fatal("seal now: the log is empty")
	}
	return sl
}

// now returns the stack's clock reading.
func (s *stack) now() time.Time { return s.opt.now() }

// addStaff appends what `dangol staff add` appends: a StaffRegistered (if
// the member is new) and a TokenIssued expiring at exp, straight to the
// log. It returns the bearer token and its id.
func (s *stack) addStaff(id, name, role string, exp time.Time) (token, tokenID string) {
	s.t.Helper()
	ctx := s.t.Context()
	stream := events.StaffStream(id)
	meta := events.Meta{Actor: events.System("cli"), CorrelationID: events.NewID().String()}
	reg, err := events.NewEvent(&events.StaffRegistered{StaffID: id, Name: name, Role: role}, meta)
	if err != nil {
		s.t.Fatal(err)
	}
	tok := api.NewToken()
	issued, err := events.NewEvent(&events.TokenIssued{TokenID: tok.ID, TokenHash: tok.Hash, ExpiresAt: exp.UTC().Truncate(time.Second)}, meta)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.Append(ctx, stream, events.NoStream, reg, issued); err != nil {
		s.t.Fatalf("add staff %s: %v", id, err)
	}
	return tok.Secret, tok.ID
}

// awaitApplied waits until the read side has applied the whole log.
func (s *stack) awaitApplied() {
	s.t.Helper()
	head, err := s.store.Head(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(s.t.Context(), hang)
	defer cancel()
	if err := s.progress.WaitFor(ctx, head); err != nil {
		s.t.Fatalf("hang: the read side did not reach %v: %v", head, err)
	}
}

// waitUntil polls cond until it holds; it fails the test after hang, which
// only detects a hang.
func (s *stack) waitUntil(what string, cond func() bool) {
	s.t.Helper()
	waitUntil(s.t, what, cond)
}

// waitUntil polls cond until it holds; it fails t after hang.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(hang)
	defer timeout.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-timeout.C:
			t.Fatalf("hang: %s", what)
		case <-tick.C:
		}
	}
}
