package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events/eventstest"
)

// TestConsoleLiveDeadline: a live feed opened with a session closes with
// 4001 when the session would go idle (it is not use of the session), the
// browser's reconnect is authenticated afresh: accepted while the session
// lives, refused once the clock has passed its idle timeout.
func TestConsoleLiveDeadline(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	// The deadline timer runs on the machine's clock for the idle timeout
	// measured on the stack's: two seconds here, so the test waits for it
	// (a bound on a wait, not on speed: the close must come, whenever).
	s := newStack(t, stackOptions{now: clock.Now, consoleIdle: 2 * time.Second})
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	dial := func() (*liveSub, *http.Response, error) {
		hdr := http.Header{"Origin": {s.base}, "Cookie": {"dangol_session=" + u.cookie("dangol_session")}}
		conn, resp, err := (&websocket.Dialer{HandshakeTimeout: hang}).Dial(s.liveURL(), hdr)
		if err != nil {
			return nil, resp, err
		}
		l := &liveSub{who: "R1", topics: []string{"advisor:R1"}, conn: conn, done: make(chan struct{})}
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["advisor:R1"]}`)); err != nil {
			t.Fatal(err)
		}
		go l.read()
		return l, resp, nil
	}
	l, resp, err := dial()
	if err != nil {
		t.Fatalf("live feed with the session: %v (%v)", err, resp)
	}
	if code := l.closeCode(t); code != 4001 {
		t.Fatalf("the feed of a session reaching its idle deadline closed with %d, want 4001", code)
	}
	// The stack's clock has not moved: the session lives, the reconnect is accepted.
	l, resp, err = dial()
	if err != nil {
		t.Fatalf("reconnect of a live session: %v (%v)", err, resp)
	}
	l.conn.Close()
	clock.Set(clock.Now().Add(3 * time.Second))
	if _, resp, err := dial(); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reconnect of an idle session: %v, %v; want 401", err, resp)
	}
}
