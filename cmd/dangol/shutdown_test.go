package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestServeShutdown: while the server runs, /healthz and /readyz answer on
// the API listener and /metrics on the metrics listener, with the
// projection, HTTP and runtime series. Stopping it lets a request in flight finish, refuses new
// connections, and sends WebSocket clients a going-away close frame.
func TestServeShutdown(t *testing.T) {
	s := bootStack(t)
	// A live client, known to be subscribed once it got an event.
	f := s.follow("U1", s.head(), "log")
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	if m := f.next(t); m["type"] != "CustomerRegistered" {
		t.Fatalf("live message %v", m)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		st, _, body := s.do("", "GET", p, nil)
		if p == "/metrics" { // on the metrics listener only (serve_main_test.go)
			st, body = get(t, "http://"+s.srv.metricsAddr+p)
		}
		if st != 200 {
			t.Fatalf("%s: %d %s", p, st, body)
		}
		if p == "/metrics" {
			for _, series := range []string{"dangol_projection_lag_events", "dangol_reactor_appended_total", "dangol_http_requests_total", "dangol_events_appended_total", "go_goroutines"} {
				if !bytes.Contains(body, []byte(series)) {
					t.Errorf("/metrics lacks %s", series)
				}
			}
		}
	}

	// An upload in flight: its handler is reading the body (it asked for
	// it with 100 Continue, which the client waits for before it sends a
	// byte of the body), half of which is not sent yet.
	audio := bytes.Repeat([]byte("RIFFWAVE"), 4096)
	pr, pw := io.Pipe()
	r, _ := http.NewRequest("PUT", s.base+"/v1/recordings", pr)
	r.ContentLength = int64(len(audio))
	r.Header.Set("Authorization", "Bearer "+s.tok["R1"])
	r.Header.Set("Content-Type", "audio/wav")
	r.Header.Set("Expect", "100-continue")
	inFlight := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{ExpectContinueTimeout: hang}}).Do(r)
		if err != nil {
			t.Errorf("the in-flight upload: %v", err)
			inFlight <- 0
			return
		}
		resp.Body.Close()
		inFlight <- resp.StatusCode
	}()
	if _, err := pw.Write(audio[:len(audio)/2]); err != nil {
		t.Fatal(err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	waitUntil(t, "the listener to close", func() bool {
		c, err := net.DialTimeout("tcp", s.srv.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-stopped:
		t.Fatalf("the server stopped (%v) with a request in flight", err)
	default:
	}
	if _, err := pw.Write(audio[len(audio)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if st := <-inFlight; st != 201 {
		t.Errorf("the in-flight upload was answered %d, want 201", st)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(hang):
		t.Fatal("hang: the server did not stop")
	}
	select {
	case code := <-f.code:
		if code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want %d (going away)", code, websocket.CloseGoingAway)
		}
	case <-time.After(hang):
		t.Fatal("hang: the live client was not closed on shutdown")
	}
}
