package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events/eventstest"
)

// The sign-in's security review: each test here is a defect found in it,
// failing before its fix.

// TestConsoleSecurityLiveFeedExpires: a live connection outlives neither
// its token's expiry nor its session's end (idle, here), by the server's
// clock: the first event after it closes the connection with 4001 instead
// of being delivered, and the reconnect is refused. Before, a feed opened
// with a token kept receiving past the token's expiry for as long as the
// connection held (the session's deadline ran on a timer only).
func TestConsoleSecurityLiveFeedExpires(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	u := newWebUser(s)
	u.setPassword("U1", signinPassword) // an auditor: the "log" topic has every event
	start := clock.Now()
	token := s.must("A001", "POST", "/v1/staff/U1/tokens", map[string]any{"ttlHours": 1}, 201)["token"].(string)

	for _, c := range []struct {
		what   string
		header http.Header
		ends   time.Time
	}{
		{"a token", http.Header{"Authorization": {"Bearer " + token}}, start.Add(time.Hour)},
		{"a session", http.Header{"Origin": {s.base}, "Cookie": {"dangol_session=" + u.cookie("dangol_session")}}, start.Add(30 * time.Minute)},
	} {
		clock.Set(start)
		dial := func() (*websocket.Conn, *http.Response, error) {
			return (&websocket.Dialer{HandshakeTimeout: hang}).Dial(s.liveURL(), c.header)
		}
		conn, resp, err := dial()
		if err != nil {
			t.Fatalf("%s: live feed: %v (%v)", c.what, err, resp)
		}
		l := &liveSub{who: "U1", topics: []string{"log"}, conn: conn, done: make(chan struct{})}
		sub := fmt.Sprintf(`{"subscribe":["log"],"fromPosition":%v}`, s.head()) // nothing missed while it attaches
		if err := conn.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
			t.Fatal(err)
		}
		go l.read()
		clock.Set(c.ends.Add(-time.Second))
		s.setupCode("R1")
		s.waitUntil(c.what+": the event a second before the end arrives", func() bool { return len(l.received()) == 1 })
		clock.Set(c.ends.Add(time.Second))
		s.setupCode("R1")
		if code := l.closeCode(t); code != 4001 {
			t.Errorf("%s: the feed closed with %d after its end, want 4001", c.what, code)
		}
		if n := len(l.received()); n != 1 {
			t.Errorf("%s: %d events received, want the one before the end only", c.what, n)
		}
		if _, resp, err := dial(); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: the reconnect after the end: %v (%v), want 401", c.what, err, resp)
		}
	}
}
