package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events"
)

// e2e is a running `dangol serve` on a temp dir with one token per role.
type e2e struct {
	t      *testing.T
	dir    string
	srv    *server
	base   string
	tokens map[string]string // role → token
}

func e2eStart(t *testing.T, dir string, tokens map[string]string) *e2e {
	t.Helper()
	return e2eStartAt(t, dir, dirURL(t, dir), tokens)
}

// e2eStartAt starts a server on dir and, if url is set, on the PostgreSQL
// database at url (two servers on one database share dir for the master
// key and the recordings, as they would share storage).
func e2eStartAt(t *testing.T, dir, url string, tokens map[string]string) *e2e {
	t.Helper()
	if tokens == nil {
		tokens = map[string]string{}
		for _, r := range []struct{ id, role string }{{"A1", "admin"}, {"R1", "rep"}, {"P1", "private_banker"},
			{"S1", "supervisor"}, {"H1", "centre_head"}, {"U1", "auditor"}, {"R2", "rep"}} {
			var out bytes.Buffer
			if err := run(context.Background(), []string{"staff", "add", "--data", dir, "--id", r.id, "--name", "Staff " + r.id,
				"--role", r.role}, storeEnv(url), &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			key := r.role
			if r.id == "R2" {
				key = "rep2"
			}
			tokens[key] = lines[len(lines)-1]
		}
	}
	var cfg serveConfig
	cfg.store.data, cfg.addr, cfg.logLevel, cfg.shutdownTimeout, cfg.readyLag, cfg.maxBody = dir, "127.0.0.1:0", "error", 5*time.Second, 1000, 64<<10
	cfg.sampler.newRepCalls, cfg.sampler.longCallSec, cfg.sampler.perRepWeek = 1, 900, 3
	if url != "" {
		cfg.store.backend, cfg.store.postgresURL = "postgres", url
	}
	srv, err := startServer(context.Background(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, dir: dir, srv: srv, base: "http://" + srv.addr, tokens: tokens}
	t.Cleanup(func() { srv.stop() })
	select {
	case <-srv.runner.CaughtUp():
	case <-time.After(30 * time.Second):
		t.Fatal("hang: projections did not catch up")
	}
	return e
}

// call sends a request as role ("" for none) and returns status and body.
func (e *e2e) call(role, method, path string, body any, hdr ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, m
}

func (e *e2e) must(role, method, path string, body any, want int) map[string]any {
	e.t.Helper()
	st, m := e.call(role, method, path, body)
	if st != want {
		e.t.Fatalf("%s %s as %s: %d %v, want %d", method, path, role, st, m, want)
	}
	return m
}

// logLen is the number of events in the log, read as the auditor.
func (e *e2e) logLen() int {
	e.t.Helper()
	n, from := 0, "0"
	for {
		m := e.must("auditor", "GET", "/v1/audit/log?limit=1000&from_position="+from, nil, 200)
		evs := m["events"].([]any)
		n += len(evs)
		if len(evs) < 1000 {
			return n
		}
		from = fmt.Sprint(evs[len(evs)-1].(map[string]any)["position"])
	}
}

func customerBody(id string) map[string]any {
	return map[string]any{"customerId": id, "name": "김민준", "birthDate": "1970-05-01", "phone": "010-1234-5678",
		"address": "서울특별시 강남구 테헤란로 1", "branchId": "B001", "source": map[string]any{"system": "core", "ref": "X1"}}
}

func contactBody() map[string]any {
	return map[string]any{"channel": "phone_outbound", "purpose": "advice", "summary": "적금 만기 안내",
		"occurredAt": "2026-11-20T01:00:00Z", "durationSec": 300}
}

func TestE2EWritesReadsAndBadInput(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	reg := e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	e.must("supervisor", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	for path, body := range map[string]any{
		"/v1/customers/C1/profile":       map[string]any{"changes": map[string]string{"phone": "010-9999-0000"}, "source": "branch"},
		"/v1/customers/C1/verifications": map[string]any{"channel": "phone_inbound"},
		"/v1/customers/C1/consents":      map[string]any{"channel": "sms", "purpose": "marketing", "granted": true},
		"/v1/customers/C1/life-events":   map[string]any{"kind": "child_wedding", "expectedOn": "2026-12-20", "note": "딸 결혼"},
		"/v1/customers/C1/contacts":      contactBody(),
		"/v1/customers/C1/pitches":       map[string]any{"product": "LOAN01", "channel": "phone_outbound", "outcome": "considering", "followUpOn": "2026-11-01"},
		"/v1/customers/C1/requests":      map[string]any{"text": "모바일 앱 글씨 크게", "category": "mobile"},
	} {
		e.must("rep", "POST", path, body, 201)
	}
	v := e.must("rep", "GET", "/v1/customers/C1", nil, 200)
	if v["name"] != "김민준" || v["phone"] != "010-9999-0000" || v["doNotContact"] != false || v["version"] != float64(8) {
		t.Fatalf("customer view %v", v)
	}
	wl := e.must("rep", "GET", "/v1/worklist", nil, 200)
	items := wl["items"].([]any)
	if len(items) != 1 || !strings.Contains(fmt.Sprint(items[0]), "pitch_follow_up_due") {
		t.Fatalf("worklist %v", wl)
	}
	// as_of before the profile change shows the old phone.
	old := e.must("auditor", "GET", fmt.Sprintf("/v1/customers/C1?at_position=%v", reg["position"].(float64)+1), nil, 200)
	if old["phone"] != "010-1234-5678" || old["version"] != float64(1) {
		t.Fatalf("at_position view already has the later phone: %v", old)
	}

	// Bad inputs: each answered with the right code, each appending nothing.
	before := e.logLen()
	big := map[string]any{"channel": "phone_outbound", "purpose": "advice", "occurredAt": "2026-11-20T01:00:00Z",
		"summary": strings.Repeat("가", 30000)}
	for _, tc := range []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		code               string
	}{
		{"malformed JSON", "POST", "/v1/customers/C1/contacts", `{"channel":`, nil, 400, "invalid"},
		{"unknown field", "POST", "/v1/customers/C1/contacts", `{"channel":"sms","purpose":"advice","occurredAt":"2026-11-20T01:00:00Z","mood":"x"}`, nil, 400, "invalid"},
		{"wrong type", "POST", "/v1/customers/C1/contacts", `{"channel":7,"purpose":"advice","occurredAt":"2026-11-20T01:00:00Z"}`, nil, 400, "invalid"},
		{"missing required", "POST", "/v1/customers/C1/contacts", `{"channel":"sms","purpose":"advice"}`, nil, 400, "invalid"},
		{"bad enum", "POST", "/v1/customers/C1/pitches", `{"product":"P1","channel":"sms","outcome":"maybe"}`, nil, 400, "invalid"},
		{"oversized body", "POST", "/v1/customers/C1/contacts", big, nil, 413, "too_large"},
		{"bad id", "POST", "/v1/customers/C%201/contacts", contactBody(), nil, 400, "invalid"},
		{"unknown customer", "POST", "/v1/customers/C404/contacts", contactBody(), nil, 404, "not_found"},
		{"wrong If-Match", "POST", "/v1/customers/C1/contacts", contactBody(), []string{"If-Match", `"3"`}, 409, "conflict"},
		{"bad Idempotency-Key", "POST", "/v1/customers/C1/contacts", contactBody(), []string{"Idempotency-Key", "nope"}, 400, "invalid"},
		{"duplicate customer", "POST", "/v1/customers", customerBody("C1"), nil, 409, "conflict"},
		{"wrong content type", "POST", "/v1/customers/C1/contacts", contactBody(), []string{"Content-Type", "text/plain"}, 400, "invalid"},
		{"invalid UTF-8", "POST", "/v1/customers/C1/requests", []byte("{\"text\":\"\xff\xfe\"}"), nil, 400, "invalid"},
		{"call without recording", "POST", "/v1/calls", map[string]any{"callId": "K1", "customerId": "C1", "direction": "inbound",
			"startedAt": "2026-11-20T01:00:00Z", "durationSec": 60, "recording": map[string]any{"sha256": strings.Repeat("0", 64), "contentType": "audio/wav", "bytes": 10}}, nil, 400, "invalid"},
	} {
		st, m := e.call("rep", tc.method, tc.path, tc.body, tc.hdr...)
		code, _ := m["error"].(map[string]any)["code"].(string)
		if st != tc.status || code != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, st, m, tc.status, tc.code)
		}
		if tc.name == "wrong If-Match" && m["error"].(map[string]any)["details"].(map[string]any)["actualVersion"] != float64(8) {
			t.Errorf("conflict details %v", m)
		}
	}
	if after := e.logLen(); after != before {
		t.Fatalf("bad requests appended %d events", after-before)
	}

	// Idempotent retry: same key, same answer, one event.
	key := events.NewID().String()
	_, first := e.call("rep", "POST", "/v1/customers/C1/contacts", contactBody(), "Idempotency-Key", key)
	_, second := e.call("rep", "POST", "/v1/customers/C1/contacts", contactBody(), "Idempotency-Key", key)
	if fmt.Sprint(first) != fmt.Sprint(second) || e.logLen() != before+1 {
		t.Fatalf("retry: %v vs %v, log grew by %d", first, second, e.logLen()-before)
	}

	// Restart: the same view, personal fields decrypted again.
	e.srv.stop()
	e2 := e2eStart(t, e.dir, e.tokens)
	v2 := e2.must("rep", "GET", "/v1/customers/C1", nil, 200)
	if v2["name"] != "김민준" || v2["version"] != float64(9) {
		t.Fatalf("after restart: %v", v2)
	}
	if ok := e2.must("auditor", "GET", "/v1/audit/verify", nil, 200); ok["ok"] != true {
		t.Fatalf("verify: %v", ok)
	}
}

// TestE2ERoles checks the role matrix of shared/API.md: allowed roles get
// past authorisation (any status but 401/403), others get 403; no token 401.
func TestE2ERoles(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	all := []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin"}
	for _, tc := range []struct {
		method, path string
		allowed      string
	}{
		{"POST", "/v1/customers", "rep private_banker admin"},
		{"POST", "/v1/customers/C1/contacts", "rep private_banker"},
		{"POST", "/v1/customers/C1/pitches", "rep private_banker"},
		{"POST", "/v1/customers/C1/assignment", "supervisor centre_head admin"},
		{"PUT", "/v1/recordings", "rep private_banker admin"},
		{"POST", "/v1/calls", "rep private_banker admin"},
		{"POST", "/v1/calls/K1/selection", "supervisor"},
		{"POST", "/v1/calls/K1/reviews", "supervisor"},
		{"POST", "/v1/coaching/P1/follow-up", "centre_head"},
		{"POST", "/v1/staff", "admin"},
		{"GET", "/v1/customers/C1", "rep private_banker supervisor centre_head auditor"},
		{"GET", "/v1/qa/queue", "supervisor centre_head auditor"},
		{"GET", "/v1/reports/tiers", "supervisor centre_head auditor"},
		{"GET", "/v1/audit/log", "auditor"},
		{"GET", "/v1/audit/verify", "auditor"},
	} {
		for _, role := range all {
			st, _ := e.call(role, tc.method, tc.path, "{}")
			allowed := strings.Contains(" "+tc.allowed+" ", " "+role+" ")
			if allowed && (st == 401 || st == 403) || !allowed && st != 403 {
				t.Errorf("%s %s as %s: %d (allowed=%v)", tc.method, tc.path, role, st, allowed)
			}
		}
		if st, _ := e.call("", tc.method, tc.path, "{}"); st != 401 {
			t.Errorf("%s %s without a token: %d, want 401", tc.method, tc.path, st)
		}
	}
	// A revoked token stops working at once.
	tok := e.must("admin", "POST", "/v1/staff/R1/tokens", nil, 201)
	e.tokens["fresh"] = tok["token"].(string)
	if st, _ := e.call("fresh", "GET", "/v1/customers/C1", nil); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	e.must("admin", "DELETE", "/v1/staff/R1/tokens/"+tok["tokenId"].(string), nil, 201)
	if st, _ := e.call("fresh", "GET", "/v1/customers/C1", nil); st != 401 {
		t.Fatalf("revoked token: %d, want 401", st)
	}
	e.tokens["forged"] = e.tokens["rep"][:len(e.tokens["rep"])-2] + "xx"
	if st, _ := e.call("forged", "GET", "/v1/customers/C1", nil); st != 401 {
		t.Fatalf("forged token: %d, want 401", st)
	}
}

// wsClient collects live messages.
type wsClient struct {
	conn *websocket.Conn
	mu   sync.Mutex
	got  []map[string]any
	done chan struct{}
	code int
}

func (e *e2e) subscribe(role string, topics []string, from *float64) *wsClient {
	e.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+e.srv.addr+"/v1/live", http.Header{"Authorization": {"Bearer " + e.tokens[role]}})
	if err != nil {
		e.t.Fatal(err)
	}
	msg := map[string]any{"subscribe": topics}
	if from != nil {
		msg["fromPosition"] = *from
	}
	if err := c.WriteJSON(msg); err != nil {
		e.t.Fatal(err)
	}
	w := &wsClient{conn: c, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					w.code = ce.Code
				}
				return
			}
			w.mu.Lock()
			w.got = append(w.got, m)
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *wsClient) positions() []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := make([]float64, len(w.got))
	for i, m := range w.got {
		p[i] = m["position"].(float64)
	}
	return p
}

// TestE2ELive: 20 writers, 10 subscribers, one of which disconnects and
// resumes from its last position; each sees exactly its events, in order, once.
func TestE2ELive(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	for i := range 5 {
		e.must("rep", "POST", "/v1/customers", customerBody(fmt.Sprintf("C%d", i)), 201)
	}
	e.must("supervisor", "POST", "/v1/customers/C0/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	type sub struct {
		role   string
		topics []string
		w      *wsClient
		match  func(ev map[string]any) bool
	}
	custOf := func(ev map[string]any) string { return strings.TrimPrefix(ev["stream"].(string), "customer-") }
	zero := 0.0
	var subs []*sub
	for i := range 8 {
		c := fmt.Sprintf("C%d", i%5)
		subs = append(subs, &sub{role: "rep", topics: []string{"customer:" + c}, match: func(ev map[string]any) bool { return custOf(ev) == c }})
	}
	subs = append(subs, &sub{role: "auditor", topics: []string{"log"}, match: func(map[string]any) bool { return true }})
	subs = append(subs, &sub{role: "rep", topics: []string{"advisor:R1"}, match: func(ev map[string]any) bool { return custOf(ev) == "C0" }})
	start := e.logLen()
	startPos := float64(start)
	for _, s := range subs {
		s.w = e.subscribe(s.role, s.topics, &startPos)
	}
	_ = zero
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := range 10 {
				st, m := e.call("rep", "POST", fmt.Sprintf("/v1/customers/C%d/contacts", (w+i)%5), contactBody())
				if st != 201 {
					t.Errorf("writer %d: %d %v", w, st, m)
				}
				if w == 0 && i == 4 { // the log subscriber drops and resumes
					subs[8].w.conn.Close()
					<-subs[8].w.done
					p := subs[8].w.positions()
					last := startPos
					if len(p) > 0 {
						last = p[len(p)-1]
					}
					old := subs[8].w
					subs[8].w = e.subscribe("auditor", []string{"log"}, &last)
					nw := subs[8].w
					nw.mu.Lock() // its reader is already appending
					nw.got = append(old.got, nw.got...)
					nw.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	logEvents := e.must("auditor", "GET", fmt.Sprintf("/v1/audit/log?limit=1000&from_position=%d", start), nil, 200)["events"].([]any)
	if len(logEvents) != 200 {
		t.Fatalf("log has %d new events, want 200", len(logEvents))
	}
	for i, s := range subs {
		var want []float64
		for _, le := range logEvents {
			if ev := le.(map[string]any); s.match(ev) {
				want = append(want, ev["position"].(float64))
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(s.w.positions()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // anything extra would show now
		if got := s.w.positions(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("subscriber %d %v: got %d events %v, want %d %v", i, s.topics, len(got), got, len(want), want)
		}
	}
	// Roles: a rep may not follow the whole log.
	w := e.subscribe("rep", []string{"log"}, nil)
	<-w.done
	if w.code != 4403 {
		t.Fatalf("rep subscribing to log: close %d, want 4403", w.code)
	}
	w = e.subscribe("rep", []string{"nonsense"}, nil)
	<-w.done
	if w.code != 4400 {
		t.Fatalf("bad topic: close %d, want 4400", w.code)
	}
}

// TestE2ECoaching is the coaching scenario as users live it.
func TestE2ECoaching(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	sup := e.subscribe("supervisor", []string{"coaching"}, nil)

	audio := bytes.Repeat([]byte("RIFFWAVE"), 1000)
	sum := sha256.Sum256(audio)
	req, _ := http.NewRequest("PUT", e.base+"/v1/recordings", bytes.NewReader(audio))
	req.Header.Set("Authorization", "Bearer "+e.tokens["rep"])
	req.Header.Set("Content-Type", "audio/wav")
	req.Header.Set("X-Content-SHA256", hex.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("upload: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	digest := hex.EncodeToString(sum[:])
	e.must("rep", "POST", "/v1/calls", map[string]any{"callId": "K1", "customerId": "C1", "direction": "outbound",
		"startedAt": "2026-11-20T01:00:00Z", "durationSec": 120,
		"recording": map[string]any{"sha256": digest, "contentType": "audio/wav", "bytes": len(audio)}}, 201)

	// Range download.
	rreq, _ := http.NewRequest("GET", e.base+"/v1/recordings/"+digest, nil)
	rreq.Header.Set("Authorization", "Bearer "+e.tokens["supervisor"])
	rreq.Header.Set("Range", "bytes=8-15")
	rresp, err := http.DefaultClient.Do(rreq)
	if err != nil || rresp.StatusCode != 206 {
		t.Fatalf("range: %v %v", rresp.Status, err)
	}
	part, _ := io.ReadAll(rresp.Body)
	rresp.Body.Close()
	if string(part) != "RIFFWAVE" {
		t.Fatalf("range body %q", part)
	}

	// The sampler selects the new rep's first call.
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := e.must("supervisor", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)
		if len(q) == 1 && q[0].(map[string]any)["reason"] == "new_rep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sampler did not select the call: %v", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	reviewedAt := now()
	e.must("supervisor", "POST", "/v1/calls/K1/reviews", map[string]any{"formId": "F1",
		"items":          []map[string]any{{"criterion": "greeting", "weight": 1, "score": 3, "max": 5}, {"criterion": "needs", "weight": 2, "score": 4, "max": 5}},
		"coachingPoints": []map[string]any{{"criterion": "greeting", "note": "고객 이름으로 인사"}, {"criterion": "needs", "note": "질문을 더"}}}, 201)
	if q := e.must("supervisor", "GET", "/v1/qa/queue", nil, 200)["items"].([]any); len(q) != 0 {
		t.Fatalf("reviewed call still queued: %v", q)
	}
	pts := e.must("rep", "GET", "/v1/coaching", nil, 200)["items"].([]any)
	if len(pts) != 2 {
		t.Fatalf("coaching points %v", pts)
	}
	due := events.AddOneMonth(reviewedAt)
	var ids []string
	for _, p := range pts {
		pm := p.(map[string]any)
		d, _ := time.Parse(time.RFC3339Nano, pm["followUpDue"].(string))
		if d.Sub(due).Abs() > time.Minute || pm["status"] != "open" {
			t.Fatalf("point %v: due %v, want about %v", pm, d, due)
		}
		ids = append(ids, pm["id"].(string))
	}
	if st, _ := e.call("rep2", "POST", "/v1/coaching/"+ids[0]+"/acknowledgement", map[string]any{}); st != 403 {
		t.Fatalf("another rep acknowledged: %d", st)
	}
	for _, id := range ids {
		e.must("rep", "POST", "/v1/coaching/"+id+"/acknowledgement", map[string]any{"comment": "네"}, 201)
	}
	checkedAt := now()
	e.must("centre_head", "POST", "/v1/coaching/"+ids[0]+"/follow-up", map[string]any{"outcome": "improved"}, 201)
	e.must("centre_head", "POST", "/v1/coaching/"+ids[1]+"/follow-up", map[string]any{"outcome": "not_improved", "note": "아직"}, 201)
	open := e.must("centre_head", "GET", "/v1/coaching?status=not_improved", nil, 200)["items"].([]any)
	if len(open) != 1 {
		t.Fatalf("not_improved points %v", open)
	}
	d, _ := time.Parse(time.RFC3339Nano, open[0].(map[string]any)["followUpDue"].(string))
	if d.Sub(events.AddOneMonth(checkedAt)).Abs() > time.Minute {
		t.Fatalf("re-opened point due %v, want about %v", d, events.AddOneMonth(checkedAt))
	}
	report := e.must("centre_head", "GET", "/v1/reports/coaching", nil, 200)["data"].(map[string]any)
	if report["improvementRate"] != 0.5 {
		t.Fatalf("coaching report %v", report)
	}
	var types []string
	deadline = time.Now().Add(10 * time.Second)
	for len(types) < 5 && time.Now().Before(deadline) {
		sup.mu.Lock()
		types = types[:0]
		for _, m := range sup.got {
			types = append(types, m["type"].(string))
		}
		sup.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	want := "[CallReviewed CoachingAcknowledged CoachingAcknowledged CoachingFollowedUp CoachingFollowedUp]"
	if fmt.Sprint(types) != want {
		t.Fatalf("supervisor's coaching feed %v, want %s", types, want)
	}
}

// TestE2EShutdown: stopping the server sends WebSocket clients a close
// frame, and /healthz, /readyz and /metrics answer while it runs.
func TestE2EShutdown(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(e.base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p == "/metrics" && (!bytes.Contains(body, []byte("dangol_projection_lag_events")) || !bytes.Contains(body, []byte("go_goroutines"))) {
			t.Fatalf("metrics lack projection or runtime series")
		}
	}
	w := e.subscribe("auditor", []string{"log"}, nil)
	time.Sleep(100 * time.Millisecond)
	if err := e.srv.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("hang: the client was not closed on shutdown")
	}
	if w.code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want %d (going away)", w.code, websocket.CloseGoingAway)
	}
}

// TestE2EErasure: after erasure the customer's personal fields read as the
// marker, before and after a restart, and every chain still verifies.
func TestE2EErasure(t *testing.T) {
	e := e2eStart(t, t.TempDir(), nil)
	e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	e.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
	if st, _ := e.call("rep", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "request", "requestedBy": "C1"}); st != 403 {
		t.Fatalf("a rep erased a customer: %d", st)
	}
	e.must("admin", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "C1"}, 201)
	check := func(e *e2e) {
		v := e.must("rep", "GET", "/v1/customers/C1", nil, 200)
		if v["name"] != "[erased]" || v["phone"] != nil && v["phone"] != "" || v["branchId"] != "B001" {
			t.Fatalf("erased view %v", v)
		}
		tl := e.must("rep", "GET", "/v1/customers/C1/timeline", nil, 200)
		if strings.Contains(fmt.Sprint(tl), "김민준") || strings.Contains(fmt.Sprint(tl), "적금") {
			t.Fatalf("timeline still shows personal data: %v", tl)
		}
		if ok := e.must("auditor", "GET", "/v1/audit/verify", nil, 200); ok["ok"] != true {
			t.Fatalf("verify after erasure: %v", ok)
		}
	}
	check(e)
	e.srv.stop()
	check(e2eStart(t, e.dir, e.tokens))
}
