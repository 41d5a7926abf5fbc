package api

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events"
)

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384,
	CheckOrigin: func(*http.Request) bool { return true }} // bearer tokens authenticate, or a session with its own same-origin check (sessionLive)

// serveLive handles GET /v1/live.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request, p Principal) error {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	// A bounded socket buffer makes a lagging client show in its queue,
	// where the server sees it, and keeps what a client closed for being
	// too slow must take before the close frame small.
	if tc, ok := conn.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(liveSocketBuffer)
	}
	if !s.hub.enter() {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return nil
	}
	defer s.liveWG.Done()
	if s.live != nil {
		s.live.connections.Inc()
		defer s.live.connections.Dec()
	}
	reason := s.runLive(r, conn, p)
	if s.live != nil && reason != "too_slow" { // too_slow is counted when decided
		s.live.disconnects.WithLabelValues(reason).Inc()
	}
	return nil
}

// reasonOf names a kick's close code for the disconnect metric.
func reasonOf(code int) string {
	switch code {
	case closeTooSlow:
		return "too_slow"
	case closeResume:
		return "undeliverable"
	case closeEnded:
		return "credentials_ended"
	case closeDeadline:
		return "credentials_deadline"
	}
	return "shutdown"
}

// stillValid checks r's credential again once the read side holds the log
// up to at, where the client attached. The upgrade checked it before the
// subscribe message; a sign-out, revocation or deactivation the hub
// dispatched between that check and the attach kicked no one, since the
// client was not attached yet, and it is not replayed to the client as a
// kick either. A read side that cannot be reached or does not catch up
// within the bound leaves the upgrade's check standing: the hub kicks on
// every later end.
func (s *Server) stillValid(ctx context.Context, r *http.Request, at events.Position) bool {
	if s.Progress != nil {
		ctx, cancel := context.WithTimeout(ctx, minPositionWait)
		err := s.Progress.WaitFor(ctx, at)
		cancel()
		if err != nil {
			return true
		}
	}
	_, err := s.authenticate(r)
	return err == nil || unavailable(err)
}

// runLive serves one subscription until it ends, and returns why.
func (s *Server) runLive(r *http.Request, conn *websocket.Conn, p Principal) string {
	ctx := r.Context()
	defer conn.Close()
	conn.SetReadLimit(liveMaxMessage)
	fw := &frameWriter{conn: conn}
	fw.answerPings()
	closeWith := func(code int, text string) {
		_ = fw.control(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(liveWriteWait))
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	// A server shutting down does not wait for the subscribe message.
	subscribed, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-s.hub.done:
			_ = conn.SetReadDeadline(time.Now())
		case <-subscribed:
		}
	}()
	var sub subscribeMsg
	_, raw, err := conn.ReadMessage()
	close(subscribed)
	<-watched // no deadline change after this
	if err != nil {
		select {
		case <-s.hub.done:
			closeWith(websocket.CloseGoingAway, "server shutting down")
			return "shutdown"
		default:
			return "no_subscribe"
		}
	} else if err := events.Strict(raw, &sub); err != nil || len(sub.Subscribe) == 0 || len(sub.Subscribe) > 100 {
		closeWith(closeBadSub, "expected {\"subscribe\": [topics], \"fromPosition\": n}")
		return "bad_subscribe"
	}
	c := &client{p: p, conn: conn, topics: map[string]bool{}, queue: make(chan queued, liveQueue), kicked: make(chan struct{})}
	if !p.Until.IsZero() {
		deadline := time.AfterFunc(p.Until.Sub(s.now()), func() { c.kick(closeDeadline, deadlineText) })
		defer deadline.Stop()
	}
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
		c.kinds |= kindOf(t)
	}
	select {
	case <-s.hub.ready:
	case <-s.hub.done: // stopped before it was ready: attach refuses
	case <-ctx.Done():
		return "shutdown"
	}
	c.replaying = sub.FromPosition != nil // before the hub has it
	at, ok := s.hub.attach(c)
	if !ok {
		closeWith(websocket.CloseGoingAway, "server shutting down")
		return "shutdown"
	}
	defer s.hub.detach(c)
	if !s.stillValid(ctx, r, at) {
		closeWith(closeEnded, "your session or token has ended; sign in again")
		return reasonOf(closeEnded)
	}
	s.recordLive(r, p, sub.Subscribe, sub.FromPosition)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The reader only answers pings and notices the client leaving.
	// No read deadline during replay (the client is busy reading what it is
	// sent, and no ping goes out); once live, each pong moves it on.
	_ = conn.SetReadDeadline(time.Time{})
	interval := s.LivePing
	if interval <= 0 {
		interval = livePing
	}
	maxLag, clock := s.liveMaxLag(), s.liveClock()
	probe := newLagProbe(clock, maxLag, func() { s.tooSlow(c) })
	defer probe.stop()
	var pinging atomic.Bool
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(3 * interval)) }
	conn.SetPongHandler(func(payload string) error {
		if pinging.Load() {
			alive()
			probe.answered(payload)
		}
		return nil
	})
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// finish sends the close frame of the kick that ended the subscription.
	finish := func() string {
		<-c.kicked // closed after the winning kick set code and text
		code := int(c.code.Load())
		closeWith(code, c.text)
		if code != websocket.CloseGoingAway {
			// Until the client answers the close (its reader ends): a pong
			// it sends as it reads what came before the close frame would
			// meet a closed socket, whose reset loses the frame.
			linger := time.NewTimer(liveWriteWait)
			select {
			case <-ctx.Done():
			case <-linger.C:
			}
			linger.Stop()
		}
		return reasonOf(code)
	}
	kicked := func() bool {
		select {
		case <-c.kicked:
			return true
		default:
			return false
		}
	}
	// A write that stays blocked (the client's buffers are full: it stopped
	// reading or reads too slowly) for maxLag makes the client too slow,
	// so that it gets 4008 once it reads again rather than a dropped
	// connection when the write times out. This one check is timed on the
	// machine's clock, not the LiveClock: it races the socket's own write
	// deadline (liveWriteWait, which the kernel enforces in real time) and
	// must fire before it, and a hand-moved clock cannot unblock a write.
	// Its test (TestLiveSlowClient, "log goes quiet") fills real sockets.
	watch := time.AfterFunc(maxLag, func() { s.tooSlow(c) })
	watch.Stop()
	defer watch.Stop()
	write := func(f func() error) error {
		watch.Reset(maxLag)
		err := f()
		watch.Stop()
		return err
	}
	send := func(frames ...[]byte) error {
		err := write(func() error { return fw.frames(frames, time.Now().Add(liveWriteWait)) })
		if err == nil && s.live != nil {
			s.live.sent.Add(float64(len(frames)))
		}
		return err
	}
	ping := func(payload []byte) error {
		return write(func() error { return fw.control(websocket.PingMessage, payload, time.Now().Add(liveWriteWait)) })
	}
	// failed names why a send failed.
	failed := func() string {
		if kicked() {
			return finish()
		}
		return "write_error"
	}
	undeliverable := func(msg liveMsg) string {
		s.Logger.Error("live: cannot replay event; closing the client", "position", msg.Position.String(), "err", msg.err)
		c.kick(closeResume, "cannot replay the event at position "+msg.Position.String()+"; "+resumeText)
		return finish()
	}
	// Replay what the client missed, up to where the hub took over, routing
	// each event as of its own position. If the hub meanwhile dispatched
	// more to the client than its queue holds, replay on from the store up
	// to where the hub is now (the router has seen every event up to from,
	// so it goes on), liveCatchUps times at most.
	var rt *router
	var from events.Position
	if sub.FromPosition != nil {
		rt, from = newRouter(s.Store), *sub.FromPosition
	}
	for round := 0; sub.FromPosition != nil; round++ {
		if round > 0 {
			next, again := s.hub.caughtUp(c)
			if !again {
				break
			}
			if round > liveCatchUps {
				s.tooSlow(c)
				return finish()
			}
			if s.live != nil {
				s.live.catchUps.Inc()
			}
			if !s.stillValid(ctx, r, next) {
				c.kick(closeEnded, "your session or token has ended; sign in again")
				return finish()
			}
			at = next
		}
	replay:
		for from.Less(at) {
			evs, err := s.Store.ReadAll(ctx, from, 512)
			if ctx.Err() != nil {
				return "client_closed"
			}
			if err != nil {
				// Going live now would leave a gap: close, the client resumes.
				c.kick(closeResume, "replay failed; "+resumeText)
				return finish()
			}
			if len(evs) == 0 {
				break
			}
			for i := range evs {
				if at.Less(evs[i].Position) {
					break replay
				}
				if kicked() {
					return finish()
				}
				msg := s.message(ctx, &evs[i], rt, c.kinds)
				m, deliver, fail := c.route(msg)
				if fail {
					return undeliverable(msg)
				}
				if deliver {
					pm, err := prepare(m)
					if err != nil {
						msg.fail(err, 0)
						return undeliverable(msg)
					}
					if err := send(pm); err != nil {
						return failed()
					}
				}
				from = evs[i].Position
			}
		}
	}
	// From here the client must answer pings: the reader's deadline moves
	// with every pong, and passes if none comes.
	pinging.Store(true)
	alive()
	keepAlive := time.NewTicker(interval)
	defer keepAlive.Stop()
	frames := make([][]byte, 0, liveBatch)
	for {
		if kicked() { // before anything queued: the queue may never drain
			return finish()
		}
		select {
		case m := <-c.queue:
			// An event queued for maxLag: the client (or its share of the
			// server) does not keep up.
			if clock.Now().Sub(m.at) > maxLag {
				s.tooSlow(c)
				return finish()
			}
			if frames = c.batch(frames[:0], m, sub.FromPosition); len(frames) == 0 {
				continue
			}
			if err := send(frames...); err != nil {
				return failed()
			}
			// Behind what was sent, a probe of the client's lag.
			if payload := probe.next(); payload != nil {
				if err := ping(payload); err != nil {
					return failed()
				}
			}
		case <-c.kicked:
			return finish()
		case <-keepAlive.C:
			if err := ping(nil); err != nil {
				if kicked() {
					return finish()
				}
				return "ping_failed"
			}
		case <-ctx.Done():
			return "client_closed"
		}
	}
}

// batch appends to frames m's and what else c's queue holds, up to
// liveBatch, but for events up to from (the client asked for events after
// a position the hub had not reached).
func (c *client) batch(frames [][]byte, m queued, from *events.Position) [][]byte {
	for {
		if from == nil || from.Less(m.pos) {
			frames = append(frames, m.frame)
		}
		if len(frames) == liveBatch {
			return frames
		}
		select {
		case m = <-c.queue:
		default:
			return frames
		}
	}
}

// WaitLive waits until every WebSocket connection has ended or ctx ends.
// Call it after Run returned: the connections are then being closed, and
// new ones are refused with 1001.
func (s *Server) WaitLive(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.liveWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// recordLive notes in the access record what a client's topics push of
// customers' personal data, opened. Each customer topic is an entry: the
// feed pushes that customer's events, and a replay from a position their
// history, as a timeline does; a rep's or private banker's subscription to
// a customer outside their book is a lookup. An advisor's topic pushes
// their book: one worklist entry naming the advisor. The whole log (an
// auditor's topic) pushes every customer's data in clear: an export in
// clear, one entry without a customer, from where it starts.
func (s *Server) recordLive(r *http.Request, p Principal, topics []string, from *events.Position) {
	seen := map[string]bool{}
	for _, t := range topics {
		if seen[t] {
			continue
		}
		seen[t] = true
		kind, id, _ := strings.Cut(t, ":")
		switch kind {
		case "customer":
			s.recordRead(r, p, ReadAction(p, s.advisorOf(r, p, id), "api_read"), id, "live feed")
		case "advisor":
			// Every customer of the advisor's book, as a worklist is: one
			// entry, the book told by the advisor.
			s.recordRead(r, p, "worklist", "", "live feed of advisor "+id+"'s book")
		case "log":
			start := "from now on"
			if from != nil {
				start = "after position " + from.String()
			}
			s.recordRead(r, p, "export_clear", "", "live feed of the whole log, personal fields opened, "+start)
		}
	}
}
