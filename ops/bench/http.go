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

// LiveReport is what the WebSocket fan-out load measured.
type LiveReport struct {
	Subscribers int
	Rate        int // appends per second attempted
	Appended    int
	Expected    int // messages that should have arrived (appended × subscribers)
	Received    int
	Closed      int // subscribers the server closed (e.g. 4008 too slow)
	P50, P99    time.Duration
	Max         time.Duration
}

// String formats the report.
func (r LiveReport) String() string {
	return fmt.Sprintf("live fan-out: %d subscribers, %d appends at %d/s: received %d of %d (%d missing, %d subscribers closed)  event-to-client p50=%s p99=%s max=%s",
		r.Subscribers, r.Appended, r.Rate, r.Received, r.Expected, r.Expected-r.Received, r.Closed, round(r.P50), round(r.P99), round(r.Max))
}

// Live connects subs WebSocket subscribers to topic, then appends through
// appendOne at rate per second for dur, and measures how long each event
// takes from its append's start to each subscriber (by the id the append
// returned). Latency includes the append's own durable commit.
func Live(ctx context.Context, wsURL, token, topic string, subs, rate int, dur time.Duration,
	appendOne func(ctx context.Context, seq int) (eventID string, err error)) (LiveReport, error) {
	rep := LiveReport{Subscribers: subs, Rate: rate}
	var sent sync.Map // event id → time the append started
	type receipt struct {
		id string
		at time.Time
	}
	type result struct {
		got    []receipt
		closed bool
	}
	results := make([]result, subs)
	var wg sync.WaitGroup
	hdr := http.Header{"Authorization": {"Bearer " + token}}
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	var ready sync.WaitGroup
	conns := make([]*websocket.Conn, subs)
	for i := range subs {
		c, _, err := dialer.DialContext(ctx, wsURL, hdr)
		if err != nil {
			return rep, fmt.Errorf("dial subscriber %d: %w", i, err)
		}
		if err := c.WriteJSON(map[string]any{"subscribe": []string{topic}}); err != nil {
			return rep, err
		}
		conns[i] = c
	}
	for i, c := range conns {
		ready.Add(1)
		wg.Go(func() {
			ready.Done()
			defer c.Close()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNormalClosure {
						results[i].closed = true
					}
					return
				}
				results[i].got = append(results[i].got, receipt{eventID(msg), time.Now()})
			}
		})
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // let the server attach every subscriber

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
				sent.Store(id, t0)
				appended.Add(1)
			}
		})
	}
	appendWG.Wait()
	time.Sleep(2 * time.Second) // drain
	for _, c := range conns {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	wg.Wait()
	var all []time.Duration
	for _, r := range results {
		for _, g := range r.got {
			if t, ok := sent.Load(g.id); ok {
				all = append(all, g.at.Sub(t.(time.Time)))
			}
		}
		if r.closed {
			rep.Closed++
		}
	}
	slices.Sort(all)
	rep.Appended = int(appended.Load())
	rep.Expected = rep.Appended * subs
	rep.Received = len(all)
	if len(all) > 0 {
		rep.P50, rep.P99, rep.Max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return rep, nil
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
