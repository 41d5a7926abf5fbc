package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestLiveEndedBeforeAttach: a credential that ends after the live
// upgrade checked it but before the client's subscribe attached it to the
// hub still closes the feed with 4401. The hub kicks the clients attached
// when it dispatches the end; this one was not attached yet, so only the
// check at the attach catches it (the race TestConsoleSigninDeactivated
// lost once under load, with the feed left open).
func TestLiveEndedBeforeAttach(t *testing.T) {
	s := newStack(t, stackOptions{})
	token, _ := s.addStaff("R9", "Rep Nine", "rep", s.now().Add(24*time.Hour))
	s.awaitApplied() // the token is known to the read side (PostgreSQL's lags)
	watch := s.subscribe("U1", []string{"log"}, nil)

	// R9's upgrade is authenticated; the subscribe message waits.
	conn, resp, err := (&websocket.Dialer{HandshakeTimeout: hang}).Dial(s.liveURL(), http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("live feed with R9's token: %v (%v)", err, resp)
	}
	l := &liveSub{who: "R9", topics: []string{"rep:R9"}, conn: conn, done: make(chan struct{})}
	s.must("A001", "POST", "/v1/staff/R9/deactivation", nil, 201)
	s.waitUntil("the hub dispatches the deactivation", func() bool {
		return slices.ContainsFunc(watch.received(), func(m map[string]any) bool { return m["type"] == "StaffDeactivated" })
	})
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["rep:R9"]}`)); err != nil {
		t.Fatal(err)
	}
	go l.read()
	if code := l.closeCode(t); code != 4401 {
		t.Errorf("the deactivated member's feed closed with %d, want 4401", code)
	}
	watch.finish(t)
}
