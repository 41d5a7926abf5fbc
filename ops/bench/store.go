// Package bench holds dangol's load tools: the code behind `dangol bench`.
// They drive a real store (or a real HTTP server) and report rates and
// latencies; they never assert anything.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dangol/dangol/events"
)

// AppendConfig describes one append load.
type AppendConfig struct {
	Writers   int    // concurrent goroutines, each appending to its own streams
	Events    int    // total events to append
	Batch     int    // events per append
	Entries   int    // > 0: each call is one events.AppendBatch of this many appends, each to a new stream
	DataBytes int    // approximate size of each event's data
	Prefix    string // stream id prefix, so runs on one store do not collide
}

// AppendReport is what an append load measured.
type AppendReport struct {
	AppendConfig
	Elapsed      time.Duration
	EventsPerSec float64
	AppendsPer   float64 // calls per second (appends, or batches with Entries)
	P50, P99     time.Duration
	Max          time.Duration
}

// String formats the report as one line.
func (r AppendReport) String() string {
	if r.Entries > 0 {
		return fmt.Sprintf("writers=%-3d AppendBatch of %d streams x %d events=%-8d %10.0f events/s %9.0f batches/s  p50=%-9s p99=%-9s max=%s",
			r.Writers, r.Entries, r.Batch, r.Events, r.EventsPerSec, r.AppendsPer, round(r.P50), round(r.P99), round(r.Max))
	}
	return fmt.Sprintf("writers=%-3d batch=%-4d events=%-8d %10.0f events/s %9.0f appends/s  p50=%-9s p99=%-9s max=%s",
		r.Writers, r.Batch, r.Events, r.EventsPerSec, r.AppendsPer, round(r.P50), round(r.P99), round(r.Max))
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Appends runs an append load against s. Each writer owns its streams and
// uses exact expected versions, as a real command handler would.
func Appends(ctx context.Context, s events.Store, cfg AppendConfig) (AppendReport, error) {
	if cfg.Writers < 1 || cfg.Batch < 1 || cfg.Events < cfg.Batch {
		return AppendReport{}, fmt.Errorf("bench: need writers >= 1, batch >= 1, events >= batch")
	}
	data := sampleData(cfg.DataBytes)
	perCall := cfg.Batch * max(1, cfg.Entries)
	perWriter := cfg.Events / cfg.Writers / perCall
	if perWriter < 1 {
		perWriter = 1
	}
	lat := make([][]time.Duration, cfg.Writers)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.Writers {
		wg.Go(func() {
			stream := fmt.Sprintf("customer-%sW%d", cfg.Prefix, w)
			next := events.NoStream
			l := make([]time.Duration, 0, perWriter)
			for c := range perWriter {
				if cfg.Entries > 0 {
					batch := newStreams(fmt.Sprintf("%sC%d", stream, c), cfg.Entries, cfg.Batch, data)
					t0 := time.Now()
					_, errs := events.AppendBatch(ctx, s, batch)
					l = append(l, time.Since(t0))
					if err := errors.Join(errs...); err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
					continue
				}
				t0 := time.Now()
				res, err := s.Append(ctx, stream, next, benchEvents(cfg.Batch, data)...)
				l = append(l, time.Since(t0))
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				next = events.Exact(res.Version)
			}
			lat[w] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p := failed.Load(); p != nil {
		return AppendReport{}, fmt.Errorf("bench: append: %w", *p)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	n := len(all) * perCall
	cfg.Events = n
	return AppendReport{
		AppendConfig: cfg, Elapsed: elapsed,
		EventsPerSec: float64(n) / elapsed.Seconds(),
		AppendsPer:   float64(len(all)) / elapsed.Seconds(),
		P50:          all[len(all)/2], P99: all[len(all)*99/100], Max: all[len(all)-1],
	}, nil
}

// benchEvents returns n ContactLogged events with data.
func benchEvents(n int, data json.RawMessage) []events.Event {
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1,
			Actor: events.Actor{ID: "bench", Role: "rep"}, Data: data}
	}
	return evs
}

// newStreams returns entries appends of perStream events, each starting a
// stream of its own (prefix-S<i>), as an import of new customers does.
func newStreams(prefix string, entries, perStream int, data json.RawMessage) []events.StreamAppend {
	batch := make([]events.StreamAppend, entries)
	for i := range batch {
		batch[i] = events.StreamAppend{Stream: fmt.Sprintf("%sS%d", prefix, i), Expected: events.NoStream, Events: benchEvents(perStream, data)}
	}
	return batch
}

// sampleData returns ContactLogged-shaped JSON of about n bytes.
func sampleData(n int) json.RawMessage {
	head := `{"channel":"phone_outbound","purpose":"advice","occurredAt":"2026-11-25T09:30:00Z","durationSec":312,"staffId":"R017","summary":"`
	tail := `"}`
	pad := n - len(head) - len(tail)
	if pad < 0 {
		pad = 0
	}
	return json.RawMessage(head + strings.Repeat("x", pad) + tail)
}

// ReadReport is what a whole-log read measured.
type ReadReport struct {
	Events       uint64
	Elapsed      time.Duration
	EventsPerSec float64
}

// String formats the report as one line.
func (r ReadReport) String() string {
	return fmt.Sprintf("read+verify %d events in %s: %.0f events/s", r.Events, round(r.Elapsed), r.EventsPerSec)
}

// ReadVerify reads the whole log in pages, decoding every envelope and
// verifying every hash chain, and fails on the first bad event.
func ReadVerify(ctx context.Context, s events.Store, page int) (ReadReport, error) {
	v := events.NewChainVerifier()
	start := time.Now()
	if sc, ok := s.(scanner); ok { // the store's single-transaction fast path
		if err := sc.Scan(ctx, events.Start, v.Add); err != nil {
			return ReadReport{}, err
		}
		el := time.Since(start)
		return ReadReport{Events: v.Checked(), Elapsed: el, EventsPerSec: float64(v.Checked()) / el.Seconds()}, nil
	}
	from := events.Start
	for {
		evs, err := s.ReadAll(ctx, from, page)
		if err != nil {
			return ReadReport{}, err
		}
		for i := range evs {
			if err := v.Add(&evs[i]); err != nil {
				return ReadReport{}, err
			}
		}
		if len(evs) < page {
			break
		}
		from = evs[len(evs)-1].Position
	}
	el := time.Since(start)
	return ReadReport{Events: v.Checked(), Elapsed: el, EventsPerSec: float64(v.Checked()) / el.Seconds()}, nil
}

type scanner interface {
	Scan(ctx context.Context, from events.Position, fn func(*events.Envelope) error) error
}

// FsyncRate measures the disk under dir: n writes of 4 KiB at a fixed
// offset, each followed by fsync, as a floor for what any durable append can
// reach on this machine. It returns syncs per second.
func FsyncRate(dir string, n int) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	start := time.Now()
	for i := range n {
		buf[0] = byte(i)
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// DirSize returns the bytes on disk of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}

// CatchUp subscribes from the start of the log and measures how fast the
// subscription delivers everything up to the head: what a projection
// rebuild or a new server's live hub sees, decoding included.
func CatchUp(ctx context.Context, s events.Store) (ReadReport, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return ReadReport{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	sub, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		return ReadReport{}, err
	}
	defer sub.Close()
	var n uint64
	for e := range sub.Events() {
		n++
		if !e.Position.Less(head) {
			el := time.Since(start)
			return ReadReport{Events: n, Elapsed: el, EventsPerSec: float64(n) / el.Seconds()}, nil
		}
	}
	return ReadReport{}, fmt.Errorf("bench: subscription ended after %d events: %v", n, sub.Err())
}
