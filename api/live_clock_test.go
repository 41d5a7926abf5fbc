package api_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events/eventstest"
)

// handClock is a LiveClock that moves only when the test moves it: a
// timer fires, in advance's goroutine, once the clock passes its deadline.
type handClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*handTimer
}

type handTimer struct {
	c  *handClock
	at time.Time
	on bool
	f  func()
}

func newHandClock() *handClock { return &handClock{now: eventstest.Epoch} }

func (c *handClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *handClock) AfterFunc(d time.Duration, f func()) api.LiveTimer {
	t := &handTimer{c: c, f: f}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *handTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.on
	t.on = false
	return was
}

func (t *handTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.on
	t.on, t.at = true, t.c.now.Add(d)
	return was
}

// armed counts the timers waiting to fire.
func (c *handClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.on {
			n++
		}
	}
	return n
}

// advance moves the clock on by d and fires the timers it passes; they
// have run when it returns.
func (c *handClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if t.on && !t.at.After(c.now) {
			t.on = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// probedSub is a subscription that reads everything and tells when the
// server has taken its answer to each lag probe: after the pong it sends
// a ping of its own, which the server answers once it has read the pong.
type probedSub struct {
	conn     *websocket.Conn
	answered chan string // each probe's payload, once the server has its pong
	done     chan struct{}

	mu        sync.Mutex
	positions []float64
	code      int
}

func (s *stack) subscribeProbed(who, topic string, from float64) *probedSub {
	s.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, _, err := d.Dial(s.liveURL(), map[string][]string{"Authorization": {"Bearer " + s.tok[who]}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	l := &probedSub{conn: conn, answered: make(chan string, 100), done: make(chan struct{})}
	conn.SetPingHandler(func(p string) error {
		deadline := time.Now().Add(hang) // detects a hang only
		_ = conn.WriteControl(websocket.PongMessage, []byte(p), deadline)
		if p != "" { // a lag probe; keep-alive pings carry nothing
			_ = conn.WriteControl(websocket.PingMessage, []byte("seen:"+p), deadline)
		}
		return nil
	})
	conn.SetPongHandler(func(p string) error {
		if probe, ok := strings.CutPrefix(p, "seen:"); ok {
			l.answered <- probe
		}
		return nil
	})
	msg, _ := json.Marshal(map[string]any{"subscribe": []string{topic}, "fromPosition": from})
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		defer close(l.done)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					l.mu.Lock()
					l.code = ce.Code
					l.mu.Unlock()
				}
				return
			}
			var m struct{ Position float64 }
			_ = json.Unmarshal(b, &m)
			l.mu.Lock()
			l.positions = append(l.positions, m.Position)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *probedSub) received() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.positions)
}

// probe waits until the server has taken the client's answer to a probe.
func (l *probedSub) probe(t *testing.T) {
	t.Helper()
	select {
	case <-l.answered:
	case <-l.done:
		t.Fatalf("the client that reads was closed (code %d)", l.code)
	case <-time.After(hang):
		t.Fatal("hang: no lag probe reached the client that reads")
	}
}

func (l *probedSub) open(t *testing.T) {
	t.Helper()
	select {
	case <-l.done:
		t.Fatalf("the client that reads was closed (code %d)", l.code)
	default:
	}
}

// appendUntilProbed appends contacts to customer one at a time until
// probes are armed for want clients: a client gets one with its first
// event sent live, not with those it replays (it may attach after the
// first appends). It returns how many it appended; subscribers is how
// many clients each event goes to.
func (s *stack) appendUntilProbed(clock *handClock, customer string, subscribers, want int) int {
	s.t.Helper()
	sent := s.liveSent()
	for n := 1; n <= 8; n++ {
		s.appendContacts(customer, 1)
		s.waitUntil("the event is sent to every client", func() bool { return s.liveSent() >= sent+float64(n*subscribers) })
		if clock.armed() == want {
			return n
		}
	}
	s.t.Fatalf("after 8 events, %d clients are probed, want %d", clock.armed(), want)
	return 0
}

// maxLag is LiveMaxLag on the hand clock's stacks.
const maxLag = 5 * time.Second

// handStack is a stack whose live feed runs on a hand clock, with customer
// C1 registered at from.
func handStack(t *testing.T) (*stack, *handClock, float64) {
	t.Helper()
	clock := newHandClock()
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		c.LiveMaxLag, c.LiveClock = maxLag, clock
	}})
	reg := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	return s, clock, reg["position"].(float64)
}

// TestLiveKeepsUpOnHandClock: a client that reads everything is never
// closed, however far the feed's clock moves between the rounds: each
// round's probe is answered before the clock passes LiveMaxLag.
func TestLiveKeepsUpOnHandClock(t *testing.T) {
	s, clock, from := handStack(t)
	reading := s.subscribeProbed("R1", "customer:C1", from)
	n := s.appendUntilProbed(clock, "C1", 1, 1)
	for round := range 10 {
		if round > 0 {
			s.appendContacts("C1", 2)
			n += 2
		}
		s.waitUntil("the client gets the round's events", func() bool { return reading.received() == n })
		reading.probe(t)
		if a := clock.armed(); a != 1 {
			t.Fatalf("round %d: %d timers armed, want the client's probe", round, a)
		}
		clock.advance(maxLag) // the probe's deadline: answered, it closes nothing
		reading.open(t)
		if c := s.tooSlow(); c != 0 {
			t.Fatalf("round %d: too_slow counted %v times, want 0", round, c)
		}
	}
	if got, want := reading.received(), len(s.streamPositions("C1", from)); got != want {
		t.Fatalf("the client got %d events, the stream has %d after its position", got, want)
	}
}
