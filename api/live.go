package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
)

// Close codes of the live feed beyond RFC 6455's.
const (
	closeTooSlow   = 4008 // the client did not keep up; resume with the last position received
	closeBadSub    = 4400 // the subscribe message was invalid
	closeForbidden = 4403 // a topic the role may not read
)

const (
	liveQueue      = 1024             // messages a client may lag behind before it is closed with 4008
	livePing       = 20 * time.Second // ping interval
	liveWriteWait  = 10 * time.Second
	liveMaxMessage = 16 << 10 // largest client message
)

// liveMsg is one event pushed to a client.
type liveMsg struct {
	Position   events.Position `json:"position"`
	Stream     string          `json:"stream"`
	Type       string          `json:"type"`
	ID         string          `json:"id"`
	RecordedAt time.Time       `json:"recordedAt"`
	Topics     []string        `json:"topics"`
	Data       any             `json:"data"`
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
}

// NewLiveMetrics creates and registers the live-feed collectors on reg.
func NewLiveMetrics(reg prometheus.Registerer) *LiveMetrics {
	m := &LiveMetrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dangol_ws_connections", Help: "Open WebSocket connections."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dangol_ws_disconnects_total",
			Help: "WebSocket disconnects by reason."}, []string{"reason"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "dangol_ws_messages_sent_total", Help: "Events pushed to WebSocket clients."}),
	}
	reg.MustRegister(m.connections, m.disconnects, m.sent)
	return m
}

// hub follows the log once and fans matching events out to clients.
type hub struct {
	s       *Server
	mu      sync.Mutex
	clients map[*client]struct{}
	pos     events.Position // last event dispatched
	ready   chan struct{}
	closed  bool
}

// queued is an event on its way to one client.
type queued struct {
	pos events.Position
	pm  *websocket.PreparedMessage
}

// client is one WebSocket connection's subscription.
type client struct {
	p      Principal
	topics map[string]bool
	queue  chan queued
	kicked chan int // close code, buffered 1
}

func newHub(s *Server) *hub {
	return &hub{s: s, clients: map[*client]struct{}{}, ready: make(chan struct{})}
}

// run follows the store from its head until ctx ends.
func (h *hub) run(ctx context.Context) error {
	head, err := h.s.Store.Head(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.pos = head
	h.mu.Unlock()
	close(h.ready)
	defer h.shutdown()
	for {
		sub, err := h.s.Store.Subscribe(ctx, h.pos)
		if err != nil {
			return err
		}
		for env := range sub.Events() {
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
	for c := range h.clients {
		c.kick(websocket.CloseGoingAway)
	}
}

func (h *hub) dispatch(ctx context.Context, env *events.Envelope) {
	msg, ok := h.s.message(ctx, env)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos = env.Position
	if !ok {
		return
	}
	// Clients with the same matching topics get the same bytes: encode and
	// frame each distinct message once, not once per client.
	prepared := map[string]*websocket.PreparedMessage{}
	for c := range h.clients {
		m, match := c.filter(msg)
		if !match {
			continue
		}
		key := strings.Join(m.Topics, ",")
		pm := prepared[key]
		if pm == nil {
			var err error
			if pm, err = prepare(m); err != nil {
				h.s.Logger.Error("live: cannot encode event", "position", msg.Position.String(), "err", err)
				return
			}
			prepared[key] = pm
		}
		select {
		case c.queue <- queued{msg.Position, pm}:
		default:
			delete(h.clients, c)
			c.kick(closeTooSlow)
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
	h.clients[c] = struct{}{}
	return h.pos, true
}

func (h *hub) detach(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
}

func (c *client) kick(code int) {
	select {
	case c.kicked <- code:
	default:
	}
}

// filter returns msg with only the client's topics, and whether any matched.
func (c *client) filter(msg liveMsg) (liveMsg, bool) {
	var topics []string
	for _, t := range msg.Topics {
		if c.topics[t] {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return msg, false
	}
	msg.Topics = topics
	return msg, true
}

// message computes an event's topics and opened data. Topics: "log" for
// every event, "customer:<id>" and "advisor:<id>" for customer events and
// calls, "qa" for call recording, selection and review, "coaching" for
// reviews with coaching points and coaching events.
func (s *Server) message(ctx context.Context, env *events.Envelope) (liveMsg, bool) {
	d, err := s.decoder()(ctx, env)
	if err != nil && events.ErrorCode(err) != events.NotFound {
		s.Logger.Error("live: cannot decode event", "position", env.Position.String(), "err", err)
		return liveMsg{}, false
	}
	msg := liveMsg{Position: env.Position, Stream: env.Stream, Type: env.Type, ID: env.ID.String(),
		RecordedAt: env.RecordedAt, Topics: []string{"log"}, Data: d}
	cat, id := events.StreamID(env.Stream)
	customer := ""
	switch cat {
	case events.CategoryCustomer:
		customer = id
	case events.CategoryCall:
		switch dd := d.(type) {
		case *events.CallRecorded:
			customer = dd.CustomerID
			msg.Topics = append(msg.Topics, "qa", "rep:"+dd.StaffID)
		case *events.CallSelectedForReview:
			msg.Topics = append(msg.Topics, "qa")
		case *events.CallReviewed:
			msg.Topics = append(msg.Topics, "qa")
			if len(dd.CoachingPoints) > 0 {
				msg.Topics = append(msg.Topics, "coaching")
			}
		case *events.CoachingAcknowledged, *events.CoachingFollowedUp:
			msg.Topics = append(msg.Topics, "coaching")
		}
		// CallRecorded names its rep and customer itself (and the read
		// side may not have it yet); later call events take them from it.
		if _, recorded := d.(*events.CallRecorded); !recorded {
			if c, err := s.Queries.Call(ctx, id); err == nil {
				msg.Topics = append(msg.Topics, "rep:"+c.StaffID)
				customer = c.CustomerID
			}
		}
	}
	if customer != "" {
		msg.Topics = append(msg.Topics, "customer:"+customer)
		if adv, ok := d.(*events.AdvisorAssigned); ok {
			msg.Topics = append(msg.Topics, "advisor:"+adv.AdvisorID)
		} else if v, err := s.Queries.Customer(ctx, customer, s.now()); err == nil && v.Advisor != nil {
			msg.Topics = append(msg.Topics, "advisor:"+v.Advisor.ID)
		}
	}
	return msg, true
}

// mayRead reports whether a principal may subscribe to topic.
func mayRead(p Principal, topic string) bool {
	kind, id, _ := strings.Cut(topic, ":")
	switch p.Role {
	case roleAuditor:
		return true
	case roleSupervisor, roleCentreHead:
		return kind != "log"
	case roleRep, rolePB:
		return kind == "customer" || (kind == "advisor" || kind == "rep") && id == p.StaffID
	}
	return false
}

func validTopic(t string) bool {
	switch t {
	case "qa", "coaching", "log":
		return true
	}
	kind, id, ok := strings.Cut(t, ":")
	return ok && (kind == "customer" || kind == "advisor" || kind == "rep") && events.ValidID(id)
}

func prepare(m liveMsg) (*websocket.PreparedMessage, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return websocket.NewPreparedMessage(websocket.TextMessage, b)
}

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384,
	CheckOrigin: func(*http.Request) bool { return true }} // bearer tokens, not cookies, authenticate

// serveLive handles GET /v1/live.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request, p Principal) error {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	s.liveWG.Add(1)
	defer s.liveWG.Done()
	if s.live != nil {
		s.live.connections.Inc()
		defer s.live.connections.Dec()
	}
	reason := s.runLive(r.Context(), conn, p)
	if s.live != nil {
		s.live.disconnects.WithLabelValues(reason).Inc()
	}
	return nil
}

func (s *Server) runLive(ctx context.Context, conn *websocket.Conn, p Principal) string {
	defer conn.Close()
	conn.SetReadLimit(liveMaxMessage)
	closeWith := func(code int, text string) {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var sub subscribeMsg
	if _, raw, err := conn.ReadMessage(); err != nil {
		return "no_subscribe"
	} else if err := events.Strict(raw, &sub); err != nil || len(sub.Subscribe) == 0 || len(sub.Subscribe) > 100 {
		closeWith(closeBadSub, "expected {\"subscribe\": [topics], \"fromPosition\": n}")
		return "bad_subscribe"
	}
	c := &client{p: p, topics: map[string]bool{}, queue: make(chan queued, liveQueue), kicked: make(chan int, 1)}
	for _, t := range sub.Subscribe {
		if !validTopic(t) {
			closeWith(closeBadSub, "unknown topic "+t)
			return "bad_subscribe"
		}
		if !mayRead(p, t) {
			closeWith(closeForbidden, "your role may not read "+t)
			return "forbidden"
		}
		c.topics[t] = true
	}
	select {
	case <-s.hub.ready:
	case <-ctx.Done():
		return "shutdown"
	}
	at, ok := s.hub.attach(c)
	if !ok {
		closeWith(websocket.CloseGoingAway, "server shutting down")
		return "shutdown"
	}
	defer s.hub.detach(c)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reader only answers pings and notices the client leaving.
	_ = conn.SetReadDeadline(time.Time{})
	conn.SetPongHandler(func(string) error { return nil })
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	send := func(pm *websocket.PreparedMessage) error {
		_ = conn.SetWriteDeadline(time.Now().Add(liveWriteWait))
		if s.live != nil {
			s.live.sent.Inc()
		}
		return conn.WritePreparedMessage(pm)
	}
	// Replay what the client missed, up to where the hub took over.
	if sub.FromPosition != nil {
		from := *sub.FromPosition
		for from.Less(at) {
			evs, err := s.Store.ReadAll(ctx, from, 512)
			if err != nil {
				// Going live now would leave a gap: close, the client resumes.
				closeWith(websocket.CloseInternalServerErr, "replay failed; reconnect with fromPosition")
				return "replay_error"
			}
			if len(evs) == 0 {
				break
			}
			for i := range evs {
				if at.Less(evs[i].Position) {
					break
				}
				if msg, ok := s.message(ctx, &evs[i]); ok {
					if m, match := c.filter(msg); match {
						pm, err := prepare(m)
						if err != nil {
							return "encode_error"
						}
						if err := send(pm); err != nil {
							return "write_error"
						}
					}
				}
				from = evs[i].Position
			}
		}
	}
	ping := time.NewTicker(livePing)
	defer ping.Stop()
	for {
		select {
		case m := <-c.queue:
			if sub.FromPosition != nil && !sub.FromPosition.Less(m.pos) {
				continue // the client asked for events after a position the hub had not reached
			}
			if err := send(m.pm); err != nil {
				return "write_error"
			}
		case code := <-c.kicked:
			if code == closeTooSlow {
				closeWith(closeTooSlow, "too slow: reconnect with fromPosition set to the last position received")
				return "too_slow"
			}
			closeWith(code, "server shutting down")
			return "shutdown"
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(liveWriteWait)); err != nil {
				return "ping_failed"
			}
		case <-ctx.Done():
			return "client_closed"
		}
	}
}

// WaitLive waits until every WebSocket connection has ended (after Run
// returned they are being closed) or ctx ends.
func (s *Server) WaitLive(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.liveWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
