package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
)

// The access record (docs/audit.md, "Who read whose data"): every read of
// a customer's personal data is one events.AccessRead, batched by the
// Server's access recorder and appended as PersonalDataRead events to the
// stream of the read's UTC month (events.AccessStream), part of the sealed
// log. A read never waits for the store: recordRead queues the entry, and
// the recorder appends the queue every AccessFlush (default 1 s) or as soon
// as MaxAccessReads entries wait, and once more when Run ends, so a
// graceful shutdown loses nothing.

const (
	// defaultAccessFlush is how long a read waits at most before its batch
	// is appended.
	defaultAccessFlush = time.Second
	// maxAccessQueue bounds the reads held in memory, queued or waiting for
	// a failed append to be retried (about 200 bytes each: some 20 MB).
	// Past it, while the store is down, new reads are dropped and counted
	// in dangol_access_reads_dropped_total{reason="queue_full"}; the
	// oldest are kept, to be appended in order when the store is back.
	maxAccessQueue = 100_000
	// accessEventBudget is the most encoded bytes of one PersonalDataRead:
	// under events.MaxEventSize with room for the envelope.
	accessEventBudget = events.MaxEventSize - 2048
	// finalFlushTimeout bounds the last flush of a shutdown.
	finalFlushTimeout = 10 * time.Second
)

// accessActor is the actor of the recorder's appends.
var accessActor = events.System("access")

// accessRecorder queues the access record's entries and appends them in
// batches. Its methods are safe for concurrent use by multiple goroutines.
type accessRecorder struct {
	store   Store
	log     *slog.Logger
	metrics *accessMetrics

	mu       sync.Mutex
	queue    []events.AccessRead // not yet built into events
	failed   []accessBatch       // built, appended without success: retried first, with the same event ids
	held     int                 // reads in failed or in the flush under way: held in memory beside the queue
	stopped  bool                // Run ended: record appends at once
	dropping bool                // the queue was full since the last append that took it
	kick     chan struct{}       // a full batch waits

	flushMu sync.Mutex // one flush at a time

	tallies accessTallies // the monthly check's counts (audit_access.go)
}

// accessBatch is the events of one stream appended together.
type accessBatch struct {
	stream string
	events []events.Event
	reads  int
}

func newAccessRecorder(store Store, log *slog.Logger, m *Metrics) *accessRecorder {
	a := &accessRecorder{store: store, log: log, kick: make(chan struct{}, 1)}
	if m != nil {
		a.metrics = m.access
	}
	return a
}

// recordRead notes, in the access record, that p read customerID's
// personal data by action (customer_view, timeline_view, search_hit,
// lookup, list, worklist, recording_play, export_clear, ...); detail says
// more where the action needs it (an export's reason and range). It never
// blocks on the store: entries are batched and appended in the background.
func (s *Server) recordRead(r *http.Request, p Principal, action, customerID, detail string) {
	s.RecordRead(r.Context(), p, s.clientOf(r), action, customerID, detail)
}

// RecordRead notes a read of customerID's personal data by p from the
// client address from (the zero Addr if unknown) in the access record, as
// recordRead does for the API's routes: the web console calls it for its
// pages, with the session's member and the browser's address. It never
// blocks on the store. An entry the catalog would refuse (a malformed id)
// is dropped, logged without its values, and counted.
func (s *Server) RecordRead(ctx context.Context, p Principal, from netip.Addr, action, customerID, detail string) {
	s.access.add(ctx, s.accessRead(p, from, action, customerID, detail))
}

// accessRead is the entry of a read by p from the client address from,
// now by the server's clock.
func (s *Server) accessRead(p Principal, from netip.Addr, action, customerID, detail string) events.AccessRead {
	a := events.AccessRead{StaffID: p.StaffID, Role: p.Role, At: s.now(), CustomerID: customerID, Action: action, Detail: detail}
	if from.IsValid() {
		a.From = from.Unmap().WithZone("").String()
	}
	return a
}

// recordReadNow appends the entry of a read by p to the access record
// before it returns, after the reads queued before it: for a read whose
// data must not leave unrecorded (an export in clear). It returns the
// store's error if the entry could not be appended; the caller then sends
// nothing.
func (s *Server) recordReadNow(r *http.Request, p Principal, action, customerID, detail string) error {
	return s.access.appendNow(r.Context(), s.accessRead(p, s.clientOf(r), action, customerID, detail))
}

// FlushAccess appends every queued read of the access record now, and
// retries the batches whose append failed; it returns the first append's
// error (the reads stay queued for the next flush). The auditor's reads of
// the record call it first, so that they see every read made until then.
func (s *Server) FlushAccess(ctx context.Context) error { return s.access.flush(ctx) }

func (a *accessRecorder) add(ctx context.Context, r events.AccessRead) {
	if err := (&events.PersonalDataRead{Reads: []events.AccessRead{r}}).Validate(); err != nil {
		field := ""
		if e := (*events.Error)(nil); errors.As(err, &e) {
			field = e.Field
		}
		a.log.Error("access record: entry refused", "action", r.Action, "field", field)
		a.metrics.dropped("invalid", 1)
		return
	}
	a.mu.Lock()
	if len(a.queue)+a.held >= maxAccessQueue {
		first := !a.dropping
		a.dropping = true
		a.mu.Unlock()
		if first { // once per outage: the metric counts them
			a.log.Error("access record: the queue is full; new reads are dropped until the store takes the queue", "waiting", maxAccessQueue)
		}
		a.metrics.dropped("queue_full", 1)
		return
	}
	a.queue = append(a.queue, r)
	full, stopped := len(a.queue) >= events.MaxAccessReads, a.stopped
	a.mu.Unlock()
	a.metrics.queued(1)
	switch {
	case stopped: // nobody flushes any more: append now, bounded
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
		defer cancel()
		a.flushOrDrop(ctx)
	case full:
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// appendNow appends r at once, after the queue (so that the record keeps
// its order). r is not kept if the append fails: its read does not happen.
func (a *accessRecorder) appendNow(ctx context.Context, r events.AccessRead) error {
	if err := a.flush(ctx); err != nil {
		return err
	}
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	bs, err := buildAccessBatches([]events.AccessRead{r})
	if err != nil {
		return err
	}
	if _, err := a.store.Append(ctx, bs[0].stream, events.Any, bs[0].events...); err != nil {
		a.metrics.failure() // no hole in the record: the read is refused
		return err
	}
	a.metrics.queued(1)
	a.metrics.appended(1)
	return nil
}

// flushTicks returns the ticks of a flush every interval (none if
// interval is not positive) and the function that stops them.
func flushTicks(interval time.Duration) (<-chan time.Time, func()) {
	if interval <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(interval)
	return t.C, t.Stop
}

// run appends the queue at each tick (never, if tick is nil: then only
// full batches and FlushAccess do), and once more when ctx ends, after
// which reads are appended as they are recorded. Tests pass ticks of
// their own, so that a flush happens exactly when they say.
func (a *accessRecorder) run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.stopped = true
			a.mu.Unlock()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			a.flushOrDrop(fctx)
			cancel()
			return
		case <-tick:
		case <-a.kick:
		}
		if err := a.flush(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("access record: append failed; retrying at the next flush", "err", err.Error(), "waiting", a.waiting())
		}
	}
}

// flushOrDrop flushes until the queue is empty, the retries fail three
// times, or ctx ends; what is left is dropped, logged and counted.
func (a *accessRecorder) flushOrDrop(ctx context.Context) {
	var err error
	for range 3 {
		if err = a.flush(ctx); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err == nil {
		return
	}
	a.flushMu.Lock() // no flush under way: held is the failed batches'
	a.mu.Lock()
	lost := len(a.queue) + a.held
	a.queue, a.failed, a.held = nil, nil, 0
	a.mu.Unlock()
	a.flushMu.Unlock()
	a.log.Error("access record: reads lost at shutdown: the store refused them", "reads", lost, "err", err.Error())
	a.metrics.dropped("shutdown", lost)
}

func (a *accessRecorder) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue) + a.held
}

// flush appends the failed batches again, then the queue, one append per
// month's stream. A failed append is kept with its event ids, so that its
// retry appends nothing twice (a store that wrote it but lost the answer
// answers the retry with the first result).
func (a *accessRecorder) flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	// The reads taken stay counted in held until their append is
	// answered: the queue's bound is on everything in memory.
	a.mu.Lock()
	todo, queue := a.failed, a.queue
	a.failed, a.queue = nil, nil
	a.held += len(queue)
	a.mu.Unlock()
	built, err := buildAccessBatches(queue)
	if err != nil { // cannot happen: every entry was validated
		a.log.Error("access record: batch refused", "err", err.Error(), "reads", len(queue))
		a.metrics.dropped("invalid", len(queue))
		a.release(len(queue), false)
	}
	todo = append(todo, built...)
	for i, b := range todo {
		_, err := a.store.Append(ctx, b.stream, events.Any, b.events...)
		switch {
		case err == nil:
			a.metrics.appended(b.reads)
			a.release(b.reads, true)
		case events.ErrorCode(err) == events.Invalid: // would fail again, for ever
			a.log.Error("access record: batch refused by the store", "err", err.Error(), "reads", b.reads)
			a.metrics.dropped("invalid", b.reads)
			a.release(b.reads, false)
		default:
			a.metrics.failure()
			a.keep(todo[i:])
			return err
		}
	}
	return nil
}

// release stops counting n reads of the flush under way as held: their
// append was answered (taken, if appended).
func (a *accessRecorder) release(n int, appended bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held -= n
	if appended {
		a.dropping = false
	}
}

// keep puts batches back to be retried first, before any kept since (their
// reads are still counted in held).
func (a *accessRecorder) keep(bs []accessBatch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failed = append(bs[:len(bs):len(bs)], a.failed...)
}

// buildAccessBatches groups reads by month, in order, into PersonalDataRead
// events of at most MaxAccessReads entries and accessEventBudget bytes.
func buildAccessBatches(reads []events.AccessRead) ([]accessBatch, error) {
	var out []accessBatch
	index := map[string]int{}
	var cur []events.AccessRead
	curMonth, size := "", 0
	emit := func() error {
		if len(cur) == 0 {
			return nil
		}
		ev, err := events.NewEvent(&events.PersonalDataRead{Reads: cur}, events.Meta{Actor: accessActor})
		if err != nil {
			return err
		}
		stream := events.AccessStream(curMonth)
		i, ok := index[stream]
		if !ok {
			i = len(out)
			index[stream] = i
			out = append(out, accessBatch{stream: stream})
		}
		out[i].events = append(out[i].events, ev)
		out[i].reads += len(cur)
		cur, size = nil, 0
		return nil
	}
	for _, r := range reads {
		month := events.AccessMonth(r.At)
		n := encodedSize(r)
		if month != curMonth || len(cur) == events.MaxAccessReads || size+n > accessEventBudget {
			if err := emit(); err != nil {
				return nil, err
			}
			curMonth = month
		}
		cur = append(cur, r)
		size += n
	}
	if err := emit(); err != nil {
		return nil, err
	}
	return out, nil
}

// encodedSize is r's length in a PersonalDataRead's JSON, with its comma.
func encodedSize(r events.AccessRead) int {
	b, err := json.Marshal(r)
	if err != nil {
		return accessEventBudget // alone in its event, where NewEvent says why
	}
	return len(b) + 1
}

// accessMetrics count the access record's entries.
type accessMetrics struct {
	queuedTotal   prometheus.Counter
	appendedTotal prometheus.Counter
	droppedTotal  *prometheus.CounterVec
	failures      prometheus.Counter
}

func newAccessMetrics(reg prometheus.Registerer) *accessMetrics {
	m := &accessMetrics{
		queuedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dangol_access_reads_recorded_total", Help: "Reads of customers' personal data queued for the access record.",
		}),
		appendedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dangol_access_reads_appended_total", Help: "Reads of customers' personal data appended to the access record.",
		}),
		droppedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dangol_access_reads_dropped_total",
			Help: "Reads never appended to the access record, by reason: queue_full (the store was down too long), shutdown (the store refused the last flush), invalid.",
		}, []string{"reason"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dangol_access_append_failures_total", Help: "Failed appends of the access record (each is retried).",
		}),
	}
	reg.MustRegister(m.queuedTotal, m.appendedTotal, m.droppedTotal, m.failures)
	return m
}

func (m *accessMetrics) queued(n int) {
	if m != nil {
		m.queuedTotal.Add(float64(n))
	}
}

func (m *accessMetrics) appended(n int) {
	if m != nil {
		m.appendedTotal.Add(float64(n))
	}
}

func (m *accessMetrics) dropped(reason string, n int) {
	if m != nil && n > 0 {
		m.droppedTotal.WithLabelValues(reason).Add(float64(n))
	}
}

func (m *accessMetrics) failure() {
	if m != nil {
		m.failures.Inc()
	}
}

// clientAddrKey holds, in a request's context, the address of the client
// it came from (withClientAddr), so that a route the console runs in
// process (Dispatch) records its browser's address too.
type clientAddrKey struct{}

// withClientAddr notes each request's client address in its context.
func (s *Server) withClientAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := ClientAddr(r, s.TrustedProxies)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr)))
	})
}

// clientOf returns the address r's client came from: the one noted by
// withClientAddr (for a dispatched request, its outer request's), else
// r's own.
func (s *Server) clientOf(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(clientAddrKey{}).(netip.Addr); ok {
		return a
	}
	return ClientAddr(r, s.TrustedProxies)
}

// ClientAddr returns the address r comes from: its connection's peer, or,
// when that peer is in trusted (the reverse proxies in front of dangol),
// the rightmost address of X-Forwarded-For that is not a trusted proxy.
// Without trusted proxies the header is ignored (anyone can send it). The
// zero Addr if the peer is no IP address (an in-process request).
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap().WithZone("")
	if !inPrefixes(trusted, peer) {
		return peer
	}
	var list []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, part)
			}
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(list[i])
		if err != nil {
			return peer // a garbled chain: the proxy is the last address known
		}
		a = a.Unmap().WithZone("")
		if !inPrefixes(trusted, a) {
			return a
		}
		peer = a
	}
	return peer
}

func inPrefixes(list []netip.Prefix, a netip.Addr) bool {
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Least privilege on reads (docs/api.md, "Who reads whom"): a rep or a
// private banker reads their own book (the customers they advise); any
// other customer only by an exact lookup (an inbound caller's id or
// phone), recorded as a lookup so that the monthly check counts it.
// Supervisors, centre heads and auditors read every customer.

// bookBound reports whether p's reads are limited to their own book.
func bookBound(p Principal) bool { return p.Role == roleRep || p.Role == rolePB }

// ReadAction returns the action a read by p of a customer advised by
// advisor is recorded as: action, or lookup for a customer outside the
// book of a rep or private banker. The console's pages ask it too.
func ReadAction(p Principal, advisor, action string) string {
	if bookBound(p) && advisor != p.StaffID {
		return "lookup"
	}
	return action
}

// advisorOf returns the id of customer id's current advisor, "" if none
// (or no such customer): asked only for book-bound readers, whose reads
// it decides.
func (s *Server) advisorOf(r *http.Request, p Principal, id string) string {
	if !bookBound(p) {
		return ""
	}
	v, err := s.Queries.Customer(r.Context(), id, s.now())
	if err != nil || v.Advisor == nil {
		return ""
	}
	return v.Advisor.ID
}

// customersOf returns the customers holding a sealed copy of the recording
// of digest: whose call a playback plays.
func (b *Blobs) customersOf(digest string) []string {
	list, err := os.ReadDir(b.sealedDir(digest))
	if err != nil {
		return nil
	}
	var ids []string
	for _, e := range list {
		if events.ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// recordPlay records a playback of the recording of digest for each
// customer whose call it is (a lookup outside a book-bound reader's
// book). A player's later range requests (seeking) are the same
// playback: only a request from the start is recorded. A staged upload
// no call names yet has no customer, and is not recorded.
//
// A player fetches a recording from the start twice (the console's call
// page: the audio element's first range and the waveform's whole file), so
// a fetch from the start by the same member within playbackWindow of the
// last one recorded is that same playback: every member's playback is
// recorded at least once a minute, never twice for one page.
func (s *Server) recordPlay(r *http.Request, p Principal, digest string) {
	if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") {
		return
	}
	if st := recordOf(r); st != nil && st.status >= 300 {
		return // 304: nothing was sent
	}
	if !s.plays.first(p.StaffID+" "+digest, s.now()) {
		return
	}
	for _, id := range s.Blobs.customersOf(digest) {
		// Outside a rep's or private banker's book, a lookup: the monthly
		// check flags it as it does a customer page.
		s.recordRead(r, p, ReadAction(p, s.advisorOf(r, p, id), "recording_play"), id, "recording "+digest)
	}
}

// WorklistReadDetail is the detail of a worklist read in the access
// record (one entry, no customer: the book is the advisor's): the API's
// GET /v1/worklist and the console's worklist page say it alike.
func WorklistReadDetail(advisor string, customers int) string {
	return fmt.Sprintf("advisor %s, %d customers", advisor, customers)
}

// playbackWindow is how long fetches of one recording from the start by
// one member count as one playback in the access record.
const playbackWindow = time.Minute

// playbacks remembers when each member's playback of each recording was
// last recorded, for playbackWindow.
type playbacks struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// first reports whether a playback of key at now is a new one (none was
// recorded in the window before it), and if so remembers it. Entries past
// the window are dropped as the map grows.
func (pb *playbacks) first(key string, now time.Time) bool {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.last == nil {
		pb.last = map[string]time.Time{}
	}
	if t, ok := pb.last[key]; ok && now.Sub(t) < playbackWindow && !now.Before(t) {
		return false
	}
	if len(pb.last) >= 4096 {
		for k, t := range pb.last {
			if now.Sub(t) >= playbackWindow || now.Before(t) {
				delete(pb.last, k)
			}
		}
	}
	pb.last[key] = now
	return true
}
