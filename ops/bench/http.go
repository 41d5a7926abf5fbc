package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// HTTPReport is what an HTTP load measured.
type HTTPReport struct {
	Name     string
	Clients  int
	Requests int
	Errors   int
	Elapsed  time.Duration
	PerSec   float64
	P50, P99 time.Duration
	FirstErr string // the first error, when there were any
}

// String formats the report as one line (two with an error).
func (r HTTPReport) String() string {
	s := fmt.Sprintf("%-26s clients=%-4d requests=%-7d errors=%-4d %9.0f req/s  p50=%-9s p99=%s",
		r.Name, r.Clients, r.Requests, r.Errors, r.PerSec, round(r.P50), round(r.P99))
	if r.FirstErr != "" {
		s += "\n  first error: " + r.FirstErr
	}
	return s
}

// Client is a bearer-authenticated HTTP client for the load tools.
type Client struct {
	Base  string // e.g. http://127.0.0.1:8080
	Token string
	HTTP  *http.Client
}

// NewClient returns a client with a connection pool sized for conns.
func NewClient(base, token string, conns int) *Client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	return &Client{Base: base, Token: token, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Do sends one request with a JSON body (nil for none) and decodes a JSON
// answer into out (nil to discard); a status other than want is an error.
func (c *Client) Do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// Load runs op from clients goroutines until total operations were done and
// reports throughput and latency. op gets the client index and the
// operation's sequence number.
func Load(ctx context.Context, name string, clients, total int, op func(ctx context.Context, client, seq int) error) HTTPReport {
	lat := make([][]time.Duration, clients)
	var next, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, c, i); err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := HTTPReport{Name: name, Clients: clients, Requests: len(all), Errors: int(errs.Load()), Elapsed: el,
		PerSec: float64(len(all)) / el.Seconds()}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	if e := firstErr.Load(); e != nil {
		r.FirstErr = *e
	}
	return r
}

// LiveSubscriber is one WebSocket subscriber of a fan-out load.
type LiveSubscriber struct {
	Token  string
	Topics []string
	// Wants reports whether the event of the seq-th append is on one of
	// the subscriber's topics: what it must receive.
	Wants func(seq int) bool
	// From is the subscription's fromPosition (the log's head before the
	// appends): however late the server attaches it, it misses nothing.
	From any
}

// LiveReport is what a WebSocket fan-out load measured.
type LiveReport struct {
	Name        string
	Subscribers int
	Rate        int // appends per second offered
	Appended    int
	AppendedIn  time.Duration // from the first append's start to the last's end
	Expected    int           // messages that should have arrived (each append × the subscribers that want it)
	Received    int           // of those, how many arrived (each once)
	Closed      int           // subscribers the server closed
	TooSlow     int           // of those, closed with 4008 (too slow)
	Duplicates  int           // messages of an append a subscriber had already received
	Unwanted    int           // messages of an append a subscriber received that are not on its topics
	P50, P99    time.Duration
	Max         time.Duration
	// AnsweredP99 is the p99 from the append's answer instead (0 for a
	// message that came first): the fan-out's own share.
	AnsweredP99 time.Duration
}

// LiveHeader is the header line of LiveReport rows.
const LiveHeader = "live fan-out               subscribers  appends  offered/s  made/s   expected   received   missing  closed  4008  dup unwanted        p50        p99        max  p99 after answer"

// String formats the report as one row under LiveHeader.
func (r LiveReport) String() string {
	made := 0.0
	if r.AppendedIn > 0 {
		made = float64(r.Appended) / r.AppendedIn.Seconds()
	}
	return fmt.Sprintf("%-26s %11d %8d %10d %7.0f %10d %10d %9d %7d %5d %4d %8d %10s %10s %10s %17s",
		r.Name, r.Subscribers, r.Appended, r.Rate, made, r.Expected, r.Received, r.Expected-r.Received, r.Closed, r.TooSlow,
		r.Duplicates, r.Unwanted, round(r.P50), round(r.P99), round(r.Max), round(r.AnsweredP99))
}

// receipt is one message a subscriber received: the event id and when.
type receipt struct {
	id string
	at time.Time
}

// liveResult is what one subscriber received, and how its connection ended.
type liveResult struct {
	mu   sync.Mutex // over got while the connection is read
	got  []receipt
	code int // the server's close code; 0 when the load closed it
}

// Live connects subs, then appends through appendOne at rate per second
// for dur, and measures how long each event takes from its append's start
// to each subscriber that wants it (by the id the append returned).
// Latency includes the append's own durable commit. Once the appends are
// done it waits until every subscriber has what it wants (at most drain:
// what has not arrived by then is missing).
func Live(ctx context.Context, name, wsURL string, subs []LiveSubscriber, rate int, dur, drain time.Duration,
	appendOne func(ctx context.Context, seq int) (eventID string, err error)) (LiveReport, error) {
	rep := LiveReport{Name: name, Subscribers: len(subs), Rate: rate}
	conns, err := dialLive(ctx, wsURL, subs)
	if err != nil {
		return rep, err
	}
	results := make([]liveResult, len(subs))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { readLive(c, &results[i]) })
	}
	type sentEvent struct {
		seq          int
		at, answered time.Time // when its append started, and was answered
	}
	var sent sync.Map // event id → sentEvent
	// Appends are issued on a fixed schedule by a pool, so a slow append does
	// not slow the offered rate.
	interval := time.Second / time.Duration(rate)
	n := int(dur / interval)
	var appendWG sync.WaitGroup
	var appended atomic.Int64
	start := time.Now()
	sem := make(chan struct{}, 64)
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		appendWG.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			id, err := appendOne(ctx, i)
			if err == nil {
				sent.Store(id, sentEvent{i, t0, time.Now()})
				appended.Add(1)
			}
		})
	}
	appendWG.Wait()
	rep.AppendedIn = time.Since(start)
	sent.Range(func(_, v any) bool {
		for _, s := range subs {
			if s.Wants(v.(sentEvent).seq) {
				rep.Expected++
			}
		}
		return true
	})
	// Poll what each subscriber has of what it wants, until all of it.
	arrived, scanned, seenBy := 0, make([]int, len(subs)), make([]map[string]bool, len(subs))
	for end := time.Now().Add(drain); ; time.Sleep(10 * time.Millisecond) {
		for i := range results {
			r := &results[i]
			r.mu.Lock()
			got := r.got[scanned[i]:]
			scanned[i] = len(r.got)
			r.mu.Unlock()
			for _, g := range got {
				if v, ok := sent.Load(g.id); ok && subs[i].Wants(v.(sentEvent).seq) && !seenBy[i][g.id] {
					if seenBy[i] == nil {
						seenBy[i] = map[string]bool{}
					}
					seenBy[i][g.id] = true
					arrived++
				}
			}
		}
		if arrived >= rep.Expected || !time.Now().Before(end) {
			break
		}
	}
	for _, c := range conns {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	wg.Wait()
	var all, answered []time.Duration
	for i := range results {
		r := &results[i]
		seen := map[string]bool{}
		for _, g := range r.got {
			v, ok := sent.Load(g.id)
			switch {
			case !ok: // not an append of the load (the access record's, another writer's)
				continue
			case !subs[i].Wants(v.(sentEvent).seq):
				rep.Unwanted++
				continue
			case seen[g.id]:
				rep.Duplicates++
				continue
			}
			seen[g.id] = true
			all = append(all, g.at.Sub(v.(sentEvent).at))
			answered = append(answered, max(g.at.Sub(v.(sentEvent).answered), 0))
		}
		if r.code != 0 {
			rep.Closed++
		}
		if r.code == 4008 {
			rep.TooSlow++
		}
	}
	slices.Sort(all)
	slices.Sort(answered)
	rep.Appended = int(appended.Load())
	rep.Received = len(all)
	if len(all) > 0 {
		rep.P50, rep.P99, rep.Max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
		rep.AnsweredP99 = answered[len(answered)*99/100]
	}
	return rep, nil
}

// dialLive opens one connection per subscriber and sends its subscribe
// message.
func dialLive(ctx context.Context, wsURL string, subs []LiveSubscriber) ([]*websocket.Conn, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conns := make([]*websocket.Conn, 0, len(subs))
	for i, s := range subs {
		c, _, err := dialer.DialContext(ctx, wsURL, http.Header{"Authorization": {"Bearer " + s.Token}})
		if err == nil {
			msg := map[string]any{"subscribe": s.Topics}
			if s.From != nil {
				msg["fromPosition"] = s.From
			}
			err = c.WriteJSON(msg)
		}
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// LiveRefusal subscribes to topics with token and returns the close code
// the server answers with (0 when it sends an event or its first message
// is not a close).
func LiveRefusal(ctx context.Context, wsURL, token string, topics []string) (int, error) {
	conns, err := dialLive(ctx, wsURL, []LiveSubscriber{{Token: token, Topics: topics}})
	if err != nil {
		return 0, err
	}
	c := conns[0]
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, _, err = c.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); ok {
		return ce.Code, nil
	}
	return 0, err
}

// readLive reads c into r until it ends.
func readLive(c *websocket.Conn, r *liveResult) {
	defer c.Close()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNormalClosure {
				r.code = ce.Code
			}
			return
		}
		r.mu.Lock()
		r.got = append(r.got, receipt{eventID(msg), time.Now()})
		r.mu.Unlock()
	}
}

// eventID extracts the "id" of a live message without decoding all of it:
// the load tool must not be the bottleneck it measures.
func eventID(msg []byte) string {
	const key = `"id":"`
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return ""
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
