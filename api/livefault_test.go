package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// TestLiveUndeliverable: an event whose data a server cannot open (its key
// store unreachable) or encode closes the live clients it concerns with
// 1011, in the live feed and in a replay, instead of skipping it while the
// feed moves on; clients it does not concern keep going. Once the server
// can open it, a client resuming from its last position gets it.
//
// The faults are injected around the real sealer, in a second server of
// the deployment (over the stack's store and read side): a key store
// outage cannot be staged without stopping the read side too.
func TestLiveUndeliverable(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R2", "POST", "/v1/customers", newCustomer("C2"), 201)
	f := &faultySealer{Sealer: s.sealer, fail: map[string]error{}}
	base := s.secondServer(f)
	contact := func(customer string, fault error) float64 {
		id := events.NewID().String()
		if fault != nil {
			f.set(id, fault)
		}
		return s.must("R1", "POST", "/v1/customers/"+customer+"/contacts", newContact("fault test"), 201,
			"Idempotency-Key", id)["position"].(float64)
	}

	from := s.head()
	c1 := dialAt(t, base, s.tok["R1"], []string{"customer:C1"}, &from)
	logged := dialAt(t, base, s.tok["U1"], []string{"log"}, &from)
	c2 := dialAt(t, base, s.tok["R2"], []string{"customer:C2"}, &from)
	qa := dialAt(t, base, s.tok["S1"], []string{"qa"}, &from)

	unopenable := contact("C1", errKeyStore)
	after := contact("C2", nil)
	s.waitUntil("the C2 subscriber gets the event after the unopenable one", func() bool { return len(c2.received()) == 1 })
	for _, l := range []*liveSub{c1, logged} {
		if code := l.closeCode(t); code != websocket.CloseInternalServerErr || len(l.received()) != 0 {
			t.Fatalf("%v: close code %d after %d events, want 1011 before the event at %v", l.topics, code, len(l.received()), unopenable)
		}
	}
	if p := c2.lastPosition(0); p != after {
		t.Fatalf("the C2 subscriber got %v, want %v", p, after)
	}

	// Resuming while the data still cannot be opened: the replay stops
	// there too, with 1011.
	again := dialAt(t, base, s.tok["R1"], []string{"customer:C1"}, &from)
	if code := again.closeCode(t); code != websocket.CloseInternalServerErr || len(again.received()) != 0 {
		t.Fatalf("replay over the unopenable event: close code %d after %d events, want 1011", code, len(again.received()))
	}
	// Once it can be opened, resuming gets it.
	f.set("", nil)
	resumed := dialAt(t, base, s.tok["R1"], []string{"customer:C1"}, &from)
	s.waitUntil("the resumed subscriber gets the event", func() bool { return len(resumed.received()) == 1 })
	if p := resumed.lastPosition(0); p != unopenable {
		t.Fatalf("resumed at %v, want the event at %v", p, unopenable)
	}

	// Data that cannot be encoded: the same, and C2's feed goes on.
	unencodable := contact("C1", errUnencodable)
	after = contact("C2", nil)
	if code := resumed.closeCode(t); code != websocket.CloseInternalServerErr || len(resumed.received()) != 1 {
		t.Fatalf("unencodable event at %v: close code %d after %d events, want 1011", unencodable, code, len(resumed.received()))
	}
	s.waitUntil("the C2 subscriber gets the event after the unencodable one", func() bool { return len(c2.received()) == 2 })
	if p := c2.lastPosition(0); p != after {
		t.Fatalf("the C2 subscriber got %v, want %v", p, after)
	}
	// qa matched none of these events: it is still open and got nothing.
	qa.finish(t)
	if n := len(qa.received()); n != 0 || qa.code != websocket.CloseNormalClosure {
		t.Fatalf("the qa subscriber got %d events and close code %d", n, qa.code)
	}
	c2.finish(t)
}

var (
	errKeyStore    = events.Errorf(events.Unavailable, "key store unreachable")
	errUnencodable = errors.New("answer data that cannot be encoded")
)

// faultySealer is the stack's sealer, except for the event ids set: their
// data cannot be opened (or, for errUnencodable, opens into data that
// cannot be encoded).
type faultySealer struct {
	*pii.Sealer
	mu   sync.Mutex
	fail map[string]error
}

// set makes the event id fail with err; set("", nil) clears every fault.
func (f *faultySealer) set(id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id == "" {
		clear(f.fail)
		return
	}
	f.fail[id] = err
}

func (f *faultySealer) OpenEnvelope(ctx context.Context, e *events.Envelope) (events.Data, error) {
	f.mu.Lock()
	err := f.fail[e.ID.String()]
	f.mu.Unlock()
	switch {
	case err == errUnencodable:
		return unencodable{}, nil
	case err != nil:
		return nil, err
	}
	return f.Sealer.OpenEnvelope(ctx, e)
}

// unencodable is event data whose JSON encoding fails.
type unencodable struct{}

func (unencodable) EventType() string            { return "ContactLogged" }
func (unencodable) Validate() error              { return nil }
func (unencodable) MarshalJSON() ([]byte, error) { return nil, errUnencodable }

// secondServer starts another API server over the stack's store and read
// side, opening personal data with sealer, and returns its base URL.
func (s *stack) secondServer(sealer api.Sealer) string {
	s.t.Helper()
	srv := api.New(api.Config{Store: s.store, Queries: s.queries, Progress: s.progress, Sealer: sealer,
		Logger: slog.New(slog.DiscardHandler), Live: api.NewLiveMetrics(prometheus.NewRegistry()), Now: s.opt.now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			s.t.Errorf("second server: %v", err)
		}
		ctx, stop := context.WithTimeout(context.Background(), hang)
		srv.WaitLive(ctx)
		stop()
		hs.Close()
	})
	return hs.URL
}

// dialAt subscribes to topics on the server at base with a bearer token;
// the subscription collects what it receives.
func dialAt(t *testing.T, base, token string, topics []string, from *float64) *liveSub {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/v1/live", map[string][]string{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	m := map[string]any{"subscribe": topics}
	if from != nil {
		m["fromPosition"] = *from
	}
	if err := conn.WriteJSON(m); err != nil {
		t.Fatal(err)
	}
	l := &liveSub{topics: topics, conn: conn, done: make(chan struct{})}
	go l.read()
	return l
}
