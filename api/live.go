package api

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
)

// Close codes of the live feed beyond RFC 6455's. Both 4008 and 1011 mean
// "reconnect with fromPosition set to the last position received": the
// server stopped sending before an event it could not deliver, so nothing
// after that position was skipped.
const (
	closeTooSlow   = 4008                             // the client did not keep up
	closeResume    = websocket.CloseInternalServerErr // 1011: an event could not be delivered (or replayed) here
	closeBadSub    = 4400                             // the subscribe message was invalid
	closeForbidden = 4403                             // a topic the role may not read
)

const (
	// liveQueue is how many events a client may lag behind the hub before it
	// is closed with 4008; a client still replaying goes on from the store
	// instead, liveCatchUps times at most.
	liveQueue = 1024
	// liveCatchUps is how often a client's replay may go on reading the
	// store because the live events dispatched meanwhile overflowed its
	// queue; the next time, it does not keep up (4008).
	liveCatchUps = 4
	// liveMaxLag is how long one write to a client may stay blocked (its
	// socket buffers full) before it is closed with 4008.
	liveMaxLag = 5 * time.Second
	// liveWriteWait bounds each write, and the time a client closed for
	// being too slow has to take what is in flight and the close frame.
	liveWriteWait = 10 * time.Second
	// liveSocketBuffer is the kernel send buffer of a live connection (the
	// kernel doubles it); by default it grows to megabytes.
	liveSocketBuffer = 128 << 10
	livePing         = 20 * time.Second // ping interval
	liveMaxMessage   = 16 << 10         // largest client message
)

const resumeText = "reconnect with fromPosition set to the last position received"

// liveMsg is one event pushed to a client.
type liveMsg struct {
	Position   events.Position `json:"position"`
	Stream     string          `json:"stream"`
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	RecordedAt time.Time       `json:"recordedAt"`
	Topics     []string        `json:"topics"`
	Data       any             `json:"data"`

	err       error // why the event cannot be delivered as it should (logged, never sent)
	noData    bool  // its data could not be opened
	unsettled kinds // topic kinds it may have had but routing could not settle
}

// subscribeMsg is what a client sends to start receiving.
type subscribeMsg struct {
	Subscribe    []string         `json:"subscribe"`
	FromPosition *events.Position `json:"fromPosition"`
}

// LiveMetrics count WebSocket connections.
type LiveMetrics struct {
	connections prometheus.Gauge
	disconnects *prometheus.CounterVec
	sent        prometheus.Counter
	catchUps    prometheus.Counter
}

// NewLiveMetrics creates and registers the live-feed collectors on reg.
func NewLiveMetrics(reg prometheus.Registerer) *LiveMetrics {
	m := &LiveMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dangol_ws_connections", Help: "Open WebSocket connections."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dangol_ws_disconnects_total",
			Help: "WebSocket disconnects by reason (too_slow counts when the server decides to close a lagging client)."}, []string{"reason"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "dangol_ws_messages_sent_total", Help: "Events pushed to WebSocket clients."}),
		catchUps: prometheus.NewCounter(prometheus.CounterOpts{Name: "dangol_ws_catchups_total",
			Help: "Replays that went on reading the store because the live events dispatched meanwhile overflowed the client's queue."}),
	}
	reg.MustRegister(m.connections, m.disconnects, m.sent, m.catchUps)
	return m
}

// hub follows the log once and fans matching events out to clients.
type hub struct {
	s       *Server
	rt      *router // used by the run goroutine only
	mu      sync.Mutex
	clients map[*client]struct{}
	// byTopic indexes clients by their topics, so an event costs the
	// clients it matches, not every client (a bank's thousand advisors
	// each follow their own book).
	byTopic map[string]map[*client]struct{}
	kindsOf [8]int          // how many clients hold a topic of each kind (by bit)
	pos     events.Position // last event dispatched
	ready   chan struct{}
	closed  bool
	done    chan struct{} // closed when the hub stops: connections still subscribing end too
	targets []*client     // dispatch's scratch, run goroutine only
	round   uint64        // dispatch's count, marking the clients already in targets
}

// queued is an event on its way to one client.
type queued struct {
	pos   events.Position
	frame []byte    // shared: never changed
	at    time.Time // when the hub queued it
}

// client is one WebSocket connection's subscription.
type client struct {
	p      Principal
	conn   *websocket.Conn
	topics map[string]bool
	kinds  kinds // of topics
	queue  chan queued
	at     events.Position // where it attached: it replays what is up to it itself
	mark   uint64          // the hub's round that last took it as a target (under the hub's mu)
	load   uint64          // events queued to it since the last shedding (under the hub's mu)
	// replaying: it is replaying up to at from the store, and a full queue
	// makes it behind rather than too slow; behind: the hub queues it
	// nothing more, and it reads on from the store (caughtUp). Both under
	// the hub's mu.
	replaying, behind bool

	code   atomic.Int32  // the close code of the first kick
	text   string        // its reason, set before kicked is closed
	kicked chan struct{} // closed by the first kick
}

func newHub(s *Server) *hub {
	return &hub{s: s, rt: newRouter(s.Store), clients: map[*client]struct{}{}, byTopic: map[string]map[*client]struct{}{},
		ready: make(chan struct{}), done: make(chan struct{})}
}

// run follows the store from its head until ctx ends.
func (h *hub) run(ctx context.Context) error {
	// Also when it stops before reading the head: connections waiting for
	// it to be ready end, and no new one is counted for WaitLive.
	defer h.shutdown()
	head, err := h.s.Store.Head(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.pos = head
	h.mu.Unlock()
	close(h.ready)
	load, clock := overload{maxLag: h.s.liveMaxLag()}, h.s.liveClock()
	for {
		sub, err := h.s.Store.Subscribe(ctx, h.pos)
		if err != nil {
			return err
		}
		for env := range sub.Events() {
			if load.over(behind(sub.Events()), clock.Now()) {
				h.shedLoad()
			}
			h.dispatch(ctx, &env)
		}
		err = sub.Err()
		sub.Close()
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, events.ErrFellBehind) {
			return err
		}
	}
}

func (h *hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	close(h.done)
	for c := range h.clients {
		c.kick(websocket.CloseGoingAway, "server shutting down")
	}
}

// dispatch routes one event to the clients attached before it. A client
// the event cannot be delivered to as it should (its data cannot be
// opened or encoded, its routing cannot be looked up) is closed with 1011,
// one whose queue is full with 4008: no client misses an event silently.
func (h *hub) dispatch(ctx context.Context, env *events.Envelope) {
	h.mu.Lock()
	h.pos = env.Position // clients attaching from now on replay this event themselves
	if staff, id, ok := endedCredentials(env); ok {
		for c := range h.clients {
			if c.p.StaffID == staff && (id == "" || c.p.TokenID == id) {
				h.remove(c)
				c.kick(closeEnded, "your session or token has ended; sign in again")
			}
		}
	}
	need := h.need()
	h.mu.Unlock()
	if need == 0 {
		h.rt.skip(env)
		return
	}
	msg := h.s.message(ctx, env, h.rt, need)
	// Clients with the same matching topics get the same bytes: encode and
	// frame each distinct message once, not once per client.
	prepared := map[string][]byte{}
	logged := false
	h.mu.Lock()
	defer h.mu.Unlock()
	targets := h.targetsOf(msg)
	now, dispatched := h.s.now(), h.s.liveClock().Now()
	for _, c := range targets {
		// The deadline's timer runs on the machine's clock: this holds it
		// on the server's, so no event goes out after a credential's end.
		if !c.p.Until.IsZero() && !now.Before(c.p.Until) {
			h.remove(c)
			c.kick(closeDeadline, deadlineText)
			continue
		}
		m, deliver, fail := c.route(msg)
		var pm []byte
		if deliver {
			key := strings.Join(m.Topics, ",")
			var ok bool
			if pm, ok = prepared[key]; !ok {
				var err error
				if pm, err = prepare(m); err != nil {
					msg.fail(err, 0)
				}
				prepared[key] = pm
			}
			fail = pm == nil
		}
		if fail {
			if !logged {
				h.s.Logger.Error("live: cannot deliver event; closing the clients it may concern", "position", env.Position.String(), "err", msg.err)
				logged = true
			}
			h.remove(c)
			c.kick(closeResume, "cannot deliver the event at position "+env.Position.String()+"; "+resumeText)
			continue
		}
		if !deliver {
			continue
		}
		select {
		case c.queue <- queued{msg.Position, pm, dispatched}:
			c.load++
		default:
			if c.replaying {
				c.behind = true // it reads this event and the next from the store
				continue
			}
			h.remove(c)
			h.s.tooSlow(c)
		}
	}
	clear(targets)
	h.targets = targets[:0]
}

// targetsOf returns the clients msg may concern, each once: those its
// topics match, or every client when its routing left topic kinds
// unsettled (route closes those they may concern). A client that attached
// at msg's position (while it was routed) replays it itself. Called with
// h.mu held.
func (h *hub) targetsOf(msg liveMsg) []*client {
	targets := h.targets[:0]
	h.round++
	take := func(c *client) {
		if c.mark != h.round && c.at.Less(msg.Position) && !c.behind {
			c.mark = h.round
			targets = append(targets, c)
		}
	}
	if msg.unsettled != 0 {
		for c := range h.clients {
			take(c)
		}
		return targets
	}
	for _, t := range msg.Topics {
		for c := range h.byTopic[t] {
			take(c)
		}
	}
	return targets
}

// need returns the topic kinds some client holds. Called with h.mu held.
func (h *hub) need() kinds {
	var k kinds
	for bit, n := range h.kindsOf {
		if n > 0 {
			k |= 1 << bit
		}
	}
	return k
}

// add registers c under its topics. Called with h.mu held.
func (h *hub) add(c *client) {
	h.clients[c] = struct{}{}
	for t := range c.topics {
		if h.byTopic[t] == nil {
			h.byTopic[t] = map[*client]struct{}{}
		}
		h.byTopic[t][c] = struct{}{}
	}
	h.count(c.kinds, 1)
}

// remove unregisters c, if it is registered. Called with h.mu held.
func (h *hub) remove(c *client) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	for t := range c.topics {
		delete(h.byTopic[t], c)
		if len(h.byTopic[t]) == 0 {
			delete(h.byTopic, t)
		}
	}
	h.count(c.kinds, -1)
}

func (h *hub) count(k kinds, d int) {
	for bit := range h.kindsOf {
		if k&(1<<bit) != 0 {
			h.kindsOf[bit] += d
		}
	}
}

// attach registers c and returns the position after which it receives live
// events; everything up to it must be replayed from the store.
func (h *hub) attach(c *client) (events.Position, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return events.Position{}, false
	}
	c.at = h.pos
	h.add(c)
	return h.pos, true
}

// caughtUp is called when c's replay has reached where it attached. If
// the hub found its queue full meanwhile (behind), it discards what is
// queued, attaches c again at the hub's position and returns it with
// again set: c replays on from the store up to it, since everything after
// where its replay is now was either discarded here or never queued. Else
// c is live from now on: a full queue is too slow.
func (h *hub) caughtUp(c *client) (at events.Position, again bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !c.behind {
		c.replaying = false
		return c.at, false
	}
	for len(c.queue) > 0 {
		<-c.queue
	}
	c.behind = false
	c.at = h.pos
	return h.pos, true
}

// enter counts a new connection for WaitLive, unless the hub has stopped:
// under h.mu, so that no connection is added once WaitLive may be waiting.
func (h *hub) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.s.liveWG.Add(1)
	return true
}

func (h *hub) detach(c *client) {
	h.mu.Lock()
	h.remove(c)
	h.mu.Unlock()
}

// kick asks c's connection to close with code and text; the first kick
// wins. It reports whether this one did.
func (c *client) kick(code int, text string) bool {
	if !c.code.CompareAndSwap(0, int32(code)) {
		return false
	}
	c.text = text
	close(c.kicked)
	return true
}

// liveMaxLag returns how far behind a live client may fall.
func (s *Server) liveMaxLag() time.Duration {
	if s.LiveMaxLag > 0 {
		return s.LiveMaxLag
	}
	return liveMaxLag
}

// tooSlow closes c with 4008 and counts it now: the close frame may take
// until the client reads again.
func (s *Server) tooSlow(c *client) {
	if !c.kick(closeTooSlow, "too slow; "+resumeText) {
		return
	}
	if s.live != nil {
		s.live.disconnects.WithLabelValues("too_slow").Inc()
	}
	// A write blocked on the client's full buffers gets liveWriteWait from
	// now, so that a client that resumes reading gets the close frame after
	// what is in flight.
	_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(liveWriteWait))
}
