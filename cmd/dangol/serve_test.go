package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The cmd tests boot the real `dangol serve` (startServer, or run itself)
// on 127.0.0.1:0 over a t.TempDir(), with staff created by `dangol staff
// add`, and keep to what only the binary does: boot, restart on the same
// data, shutdown, the PostgreSQL backend and several servers on one
// database. The handlers' behaviour is tested in package api.

// hang bounds every wait; it only detects hangs.
const hang = 30 * time.Second

// cmdStaff are the staff every booted server has, added with `dangol staff
// add` before it starts.
var cmdStaff = []struct{ id, role string }{
	{"A001", "admin"}, {"R1", "rep"}, {"P1", "private_banker"}, {"S1", "supervisor"}, {"U1", "auditor"},
}

// stack is a running `dangol serve` and a bearer token per staff id.
type stack struct {
	t      *testing.T
	dir    string // data directory: master key, recordings, the embedded log
	url    string // PostgreSQL database of the log, "" for the embedded store
	srv    *server
	base   string
	tok    map[string]string
	client *http.Client
}

// bootStack adds cmdStaff to a fresh data directory on the test backend
// and starts a server on it.
func bootStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	return bootStackAt(t, dir, dirURL(t, dir))
}

// bootStackAt is bootStack on dir and, if url is set, on that PostgreSQL
// database.
func bootStackAt(t *testing.T, dir, url string) *stack {
	t.Helper()
	tok := map[string]string{}
	for _, m := range cmdStaff {
		tok[m.id] = staffAdd(t, dir, url, m.id, m.role)
	}
	return startStack(t, dir, url, tok)
}

// staffAdd runs `dangol staff add` and returns the token, the last line of
// its standard output.
func staffAdd(t *testing.T, dir, url, id, role string, extra ...string) string {
	t.Helper()
	var out bytes.Buffer
	args := append([]string{"staff", "add", "--data", dir, "--id", id, "--name", "Staff " + id, "--role", role}, extra...)
	if err := run(context.Background(), args, storeEnv(url), &out, io.Discard); err != nil {
		t.Fatalf("dangol staff add %s: %v", id, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// startStack starts a server on dir (and url) and waits until its read
// models have caught up with the log; it is stopped at the end of the test.
// Two servers may share one database and one dir, as they would share
// storage, but not a Merkle tree: the second of two gets its own
// (startSecondStack).
func startStack(t *testing.T, dir, url string, tok map[string]string) *stack {
	t.Helper()
	return startStackTree(t, dir, url, tok, "")
}

// startSecondStack starts another server on dir and url beside a running
// one, with a tree directory of its own (--seal-dir), as docker-compose
// gives each server.
func startSecondStack(t *testing.T, dir, url string, tok map[string]string) *stack {
	t.Helper()
	return startStackTree(t, dir, url, tok, filepath.Join(t.TempDir(), "seals"))
}

// startStackTree is startStack with the tree in sealDir ("" = <dir>/seals).
func startStackTree(t *testing.T, dir, url string, tok map[string]string, sealDir string) *stack {
	t.Helper()
	return startStackWith(t, dir, url, tok, func(cfg *serveConfig) { cfg.seal.dir = sealDir })
}

// startStackWith is startStack with the test's configuration changed by
// set before the server starts.
func startStackWith(t *testing.T, dir, url string, tok map[string]string, set func(*serveConfig)) *stack {
	t.Helper()
	cfg := serveConfig{addr: "127.0.0.1:0", metricsAddr: "127.0.0.1:0", logLevel: "error", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = dir
	if url != "" {
		cfg.store.backend, cfg.store.postgresURL = "postgres", url
	}
	cfg.sampler.newRepCalls, cfg.sampler.longCallSec, cfg.sampler.perRepWeek = 1, 900, 3
	set(&cfg)
	srv, err := startServer(context.Background(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The client's own transport, so that its idle connections can be
	// closed before the server stops: a connection the pool opened but
	// never used would hold up the server's graceful shutdown.
	s := &stack{t: t, dir: dir, url: url, srv: srv, base: "http://" + srv.addr, tok: tok,
		client: &http.Client{Timeout: hang, Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	t.Cleanup(func() { s.stop() })
	select {
	case <-srv.runner.CaughtUp():
	case <-time.After(hang):
		t.Fatal("hang: the read models did not catch up")
	}
	return s
}

// stop shuts the server down and waits for it; the error is the server's.
func (s *stack) stop() error {
	s.client.CloseIdleConnections()
	return s.srv.stop()
}

// do sends a request as who (a staff id, or "" for no token). A []byte
// body is sent as audio/wav, anything else but nil as JSON. It returns the
// status, the headers and the body; a transport error fails the test.
func (s *stack) do(who, method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	s.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	if b, ok := body.([]byte); ok {
		rd, ctype = bytes.NewReader(b), "audio/wav"
	} else if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	r, _ := http.NewRequest(method, s.base+path, rd)
	if rd != nil {
		r.Header.Set("Content-Type", ctype)
	}
	if who != "" {
		r.Header.Set("Authorization", "Bearer "+s.tok[who])
	}
	for ; len(hdr) >= 2; hdr = hdr[2:] {
		r.Header.Set(hdr[0], hdr[1])
	}
	resp, err := s.client.Do(r)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, raw
}

// json sends a request that must be answered want, and returns the JSON
// object answered.
func (s *stack) json(who, method, path string, body any, want int, hdr ...string) map[string]any {
	s.t.Helper()
	st, _, raw := s.do(who, method, path, body, hdr...)
	var m map[string]any
	if st != want || json.Unmarshal(raw, &m) != nil {
		s.t.Fatalf("%s %s as %s: %d %s, want %d and a JSON object", method, path, who, st, raw, want)
	}
	return m
}

// head returns the position of the log's last event (read as the auditor).
func (s *stack) head() float64 {
	s.t.Helper()
	last := 0.0
	for {
		evs := s.json("U1", "GET", fmt.Sprintf("/v1/audit/log?limit=1000&from_position=%d", int64(last)), nil, 200)["events"].([]any)
		if len(evs) == 0 {
			return last
		}
		last = evs[len(evs)-1].(map[string]any)["position"].(float64)
	}
}

// waitUntil polls cond until it holds; it fails the test after hang, which
// only detects a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(hang)
	for !cond() {
		select {
		case <-timeout:
			t.Fatalf("hang: %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// customer is a registration body.
func customer(id string) map[string]any {
	return map[string]any{"customerId": id, "name": "김민준 " + id, "birthDate": "1970-05-01", "phone": "010-1234-5678",
		"address": "서울특별시 강남구 테헤란로 1", "branchId": "B001", "source": map[string]any{"system": "core", "ref": id}}
}

// contact is a contact body dated an hour before the pinned clock.
func contact(summary string) map[string]any {
	return map[string]any{"channel": "phone_inbound", "purpose": "advice", "summary": summary, "occurredAt": now().Add(-time.Hour)}
}

// feed is a live subscription: the server's messages arrive on msgs, and
// the close code it sent on code once it closed the connection.
type feed struct {
	conn *websocket.Conn
	msgs chan map[string]any
	code chan int
}

// follow subscribes who to topics from after position from.
func (s *stack) follow(who string, from float64, topics ...string) *feed {
	s.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: hang}
	conn, _, err := d.Dial("ws://"+s.srv.addr+"/v1/live", http.Header{"Authorization": {"Bearer " + s.tok[who]}})
	if err != nil {
		s.t.Fatalf("live as %s: %v", who, err)
	}
	s.t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(map[string]any{"subscribe": topics, "fromPosition": from}); err != nil {
		s.t.Fatal(err)
	}
	f := &feed{conn: conn, msgs: make(chan map[string]any, 1000), code: make(chan int, 1)}
	go func() {
		for {
			var m map[string]any
			err := conn.ReadJSON(&m)
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce):
				f.code <- ce.Code
				return
			case err != nil:
				f.code <- 0 // no close frame
				return
			}
			f.msgs <- m
		}
	}()
	return f
}

// next returns the next message of the feed.
func (f *feed) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case c := <-f.code:
		t.Fatalf("the feed closed with %d while a message was awaited", c)
	case <-time.After(hang):
		t.Fatal("hang: no message on the feed")
	}
	return nil
}

// syncBuffer is a bytes.Buffer that a server may write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// servingAddr returns the address of the "dangol serving" log line in a
// JSON log, or "".
func servingAddr(log string) string {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "dangol serving" {
			return line.Addr
		}
	}
	return ""
}

// serveCommand runs `dangol serve` with args (after --data dir and a free
// --addr) as an operator does, waits for its serving line and returns the
// API's address, what it has logged so far, and stop, which ends it and
// fails the test unless it exits cleanly.
func serveCommand(t *testing.T, dir string, args ...string) (addr string, stderr *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stderr = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, args...), envFor(t, dir), io.Discard, stderr)
	}()
	waitUntil(t, "the server's serving line", func() bool { addr = servingAddr(stderr.String()); return addr != "" })
	stop = func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve ended with %v", err)
			}
		case <-time.After(hang):
			t.Fatal("hang: serve did not stop")
		}
	}
	return addr, stderr, stop
}

// waitOK waits until GET url answers 200.
func waitOK(t *testing.T, url string) {
	t.Helper()
	waitUntil(t, url+" to answer 200", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// TestServeCommand boots `dangol serve` as an operator does, with flags,
// on :0 and a fresh data directory: it says how to create the first admin,
// answers /healthz and /readyz, and ends cleanly when its context ends.
func TestServeCommand(t *testing.T) {
	dir := t.TempDir()
	addr, stderr, stop := serveCommand(t, dir, "--metrics-addr", "127.0.0.1:0", "--log-level", "info")
	if !strings.Contains(stderr.String(), "The ledger is empty") || !strings.Contains(stderr.String(), "dangol staff add --data "+dir) {
		t.Errorf("no first-admin hint on an empty ledger:\n%s", stderr.String())
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		waitOK(t, "http://"+addr+p)
	}
	stop()
}

// TestServeStagingFlags: --recording-staging-max-uploads reaches the API
// (a second upload that no call references is refused with 429), and a
// negative bound is refused at start.
func TestServeStagingFlags(t *testing.T) {
	dir := t.TempDir()
	tok := staffAdd(t, dir, dirURL(t, dir), "R1", "rep")
	if err := run(t.Context(), []string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--metrics-addr", "off",
		"--recording-staging-ttl", "-1h"}, envFor(t, dir), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("serve with a negative staging TTL: %v, want a refusal", err)
	}
	addr, _, stop := serveCommand(t, dir, "--metrics-addr", "off", "--recording-staging-max-uploads", "1")
	waitOK(t, "http://"+addr+"/readyz")
	upload := func(audio string) int {
		r, err := http.NewRequest("PUT", "http://"+addr+"/v1/recordings", strings.NewReader(audio))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "audio/wav")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			body, _ := io.ReadAll(resp.Body)
			t.Logf("upload: %d %s", resp.StatusCode, body)
		}
		return resp.StatusCode
	}
	if got := upload("RIFF first"); got != 201 {
		t.Fatalf("first upload: %d", got)
	}
	if got := upload("RIFF second"); got != 429 {
		t.Fatalf("second upload past --recording-staging-max-uploads 1: %d, want 429", got)
	}
	stop()
}
