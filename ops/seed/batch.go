package seed

import (
	"context"
	"fmt"
	"sync"

	"github.com/dangol/dangol/events"
)

// Batches: a batch is sent once it holds batchEvents events; at most
// batchesInFlight are appended at once, and a worker whose stream would
// start one more waits (the memory a seed holds stays bounded).
const (
	batchEvents     = 4096
	batchesInFlight = 4
)

// batcher gathers the streams the workers generate into AppendBatch calls
// of many streams each, so that a million customers are not a million
// durable writes. A stream handed to it is appended later: the generator
// drains it (drain) wherever what follows needs what came before on the
// log — between phases, before a stream's next append.
type batcher struct {
	sink  events.BatchAppender
	st    *Stats
	slots chan struct{} // one per batch in flight
	wg    sync.WaitGroup

	mu     sync.Mutex
	cur    []events.StreamAppend
	curN   int   // events in cur
	failed error // the first entry refused or batch failed
}

func newBatcher(sink events.BatchAppender, st *Stats) *batcher {
	return &batcher{sink: sink, st: st, slots: make(chan struct{}, batchesInFlight)}
}

// add queues the append of evs to stream name at expected. It returns the
// first error of an earlier batch, so that the workers stop.
func (b *batcher) add(ctx context.Context, name string, expected events.ExpectedVersion, evs []events.Event) error {
	b.mu.Lock()
	if b.failed != nil {
		defer b.mu.Unlock()
		return b.failed
	}
	b.cur = append(b.cur, events.StreamAppend{Stream: name, Expected: expected, Events: evs})
	b.curN += len(evs)
	var full []events.StreamAppend
	if b.curN >= batchEvents {
		full, b.cur, b.curN = b.cur, nil, 0
	}
	b.mu.Unlock()
	if full != nil {
		return b.send(ctx, full)
	}
	return nil
}

// send appends batch in the background once a slot is free.
func (b *batcher) send(ctx context.Context, batch []events.StreamAppend) error {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.wg.Go(func() {
		defer func() { <-b.slots }()
		_, errs := b.sink.AppendBatch(ctx, batch)
		b.record(batch, errs)
	})
	return nil
}

// record counts the appended streams and keeps the first refusal.
func (b *batcher) record(batch []events.StreamAppend, errs []error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, err := range errs {
		if err != nil {
			if b.failed == nil {
				b.failed = fmt.Errorf("seed: %s: %w", batch[i].Stream, err)
			}
			continue
		}
		b.st.Events += int64(len(batch[i].Events))
		b.st.Streams++
	}
}

// drain appends what is queued, waits for every batch in flight and
// returns the first error of any.
func (b *batcher) drain(ctx context.Context) error {
	b.mu.Lock()
	rest := b.cur
	b.cur, b.curN = nil, 0
	b.mu.Unlock()
	var err error
	if len(rest) > 0 {
		err = b.send(ctx, rest)
	}
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed != nil {
		return b.failed
	}
	return err
}
