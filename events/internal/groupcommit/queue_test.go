package groupcommit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

type req struct {
	n         int
	committed bool
}

// TestCloseNeverStrandsACaller races callers against Close, many times:
// every Do returns, nil exactly for the requests the committer saw, and
// ErrClosed for the others.
func TestCloseNeverStrandsACaller(t *testing.T) {
	for round := range 200 {
		q := New[*req](64)
		var batches atomic.Int64
		var biggest atomic.Int64
		go q.Run(func(batch []*req) func() {
			batches.Add(1)
			if int64(len(batch)) > biggest.Load() {
				biggest.Store(int64(len(batch)))
			}
			for _, r := range batch {
				r.committed = true
			}
			return nil
		})
		var wg sync.WaitGroup
		errs := make([]error, 32)
		reqs := make([]*req, 32)
		for i := range reqs {
			reqs[i] = &req{n: i}
			wg.Go(func() { errs[i] = q.Do(context.Background(), reqs[i]) })
		}
		if round%2 == 0 {
			time.Sleep(time.Duration(round%7) * 10 * time.Microsecond)
		}
		q.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a caller was stranded by Close", round)
		}
		for i, r := range reqs {
			switch {
			case errs[i] == nil && !r.committed:
				t.Fatalf("round %d: request %d answered nil but never committed", round, i)
			case errs[i] != nil && (r.committed || !errors.Is(errs[i], events.ErrClosed)):
				t.Fatalf("round %d: request %d: %v, committed %v", round, i, errs[i], r.committed)
			}
		}
	}
}

// TestBatchesAndAfter: concurrent callers share batches no bigger than the
// maximum, and after runs once per batch.
func TestBatchesAndAfter(t *testing.T) {
	q := New[*req](16)
	release := make(chan struct{})
	var sizes []int
	var afters atomic.Int64
	go q.Run(func(batch []*req) func() {
		if len(sizes) == 0 {
			<-release // hold the first batch so the rest queue up
		}
		sizes = append(sizes, len(batch))
		return func() { afters.Add(1) }
	})
	var wg sync.WaitGroup
	for i := range 33 {
		wg.Go(func() {
			if err := q.Do(context.Background(), &req{n: i}); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	q.Close() // Run has returned: sizes and afters are final
	total := 0
	for _, n := range sizes {
		if n > 16 {
			t.Fatalf("a batch of %d, above the maximum 16", n)
		}
		total += n
	}
	if total != 33 || len(sizes) >= 33 {
		t.Fatalf("33 concurrent requests went in batches %v", sizes)
	}
	if int(afters.Load()) != len(sizes) {
		t.Fatalf("after ran %d times for %d batches", afters.Load(), len(sizes))
	}
}

// TestDoHonoursContext: a caller whose ctx ends while the committer is busy
// gets ctx.Err().
func TestDoHonoursContext(t *testing.T) {
	q := New[*req](4)
	block := make(chan struct{})
	go q.Run(func([]*req) func() { <-block; return nil })
	defer q.Close()
	defer close(block)
	go q.Do(context.Background(), &req{}) // occupies the committer
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Do(ctx, &req{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do with an ending ctx: %v", err)
	}
}
