package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// liveSub is a WebSocket subscription that collects what it receives.
type liveSub struct {
	who    string
	topics []string
	conn   *websocket.Conn
	done   chan struct{}

	mu   sync.Mutex
	msgs []map[string]any
	code int   // the close code the server sent, if any
	err  error // why reading stopped
}

// dialLive opens /v1/live as who and sends the subscribe message; from nil
// leaves fromPosition out. raw, if set, is sent instead of the message.
func (s *stack) dialLive(who string, topics []string, from *float64, raw ...string) (*liveSub, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: hang}
	hdr := http.Header{}
	if who != "" {
		hdr.Set("Authorization", "Bearer "+s.tok[who])
	}
	conn, resp, err := d.Dial(s.liveURL(), hdr)
	if err != nil {
		return nil, resp, err
	}
	l := &liveSub{who: who, topics: topics, conn: conn, done: make(chan struct{})}
	var msg []byte
	if len(raw) > 0 {
		msg = []byte(raw[0])
	} else {
		m := map[string]any{"subscribe": topics}
		if from != nil {
			m["fromPosition"] = *from
		}
		msg, _ = json.Marshal(m)
	}
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		conn.Close()
		return nil, resp, err
	}
	go l.read()
	return l, resp, nil
}

func (l *liveSub) read() {
	defer close(l.done)
	for {
		_, b, err := l.conn.ReadMessage()
		if err != nil {
			l.mu.Lock()
			l.err = err
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				l.code = ce.Code
			}
			l.mu.Unlock()
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			m = map[string]any{"unparsable": string(b)}
		}
		l.mu.Lock()
		l.msgs = append(l.msgs, m)
		l.mu.Unlock()
	}
}

// received returns a copy of the messages so far.
func (l *liveSub) received() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// lastPosition returns the position of the last message received, or def.
func (l *liveSub) lastPosition(def float64) float64 {
	m := l.received()
	if len(m) == 0 {
		return def
	}
	p, _ := m[len(m)-1]["position"].(float64)
	return p
}

// finish closes the subscription with a close handshake: everything the
// server sent before its close frame has then been received.
func (l *liveSub) finish(t *testing.T) {
	t.Helper()
	_ = l.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(hang))
	select {
	case <-l.done:
	case <-time.After(hang):
		t.Fatalf("hang: the server did not answer the close of %v", l.topics)
	}
	l.conn.Close()
}

// closeCode waits for the server to close the connection and returns its code.
func (l *liveSub) closeCode(t *testing.T) int {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(hang):
		t.Fatalf("hang: the server did not close %v", l.topics)
	}
	l.conn.Close()
	return l.code
}

// subscribe opens /v1/live as who on topics (from nil: from now on); a
// refused connection fails the test.
func (s *stack) subscribe(who string, topics []string, from *float64) *liveSub {
	s.t.Helper()
	l, resp, err := s.dialLive(who, topics, from)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		s.t.Fatalf("subscribe %v as %s: %v (HTTP %d)", topics, who, err, status)
	}
	s.t.Cleanup(func() { l.conn.Close() })
	return l
}

// liveURL is the WebSocket address of /v1/live.
func (s *stack) liveURL() string { return "ws" + strings.TrimPrefix(s.base, "http") + "/v1/live" }

// liveConnections returns the dangol_ws_connections gauge of reg.
func liveConnections(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "dangol_ws_connections" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}
