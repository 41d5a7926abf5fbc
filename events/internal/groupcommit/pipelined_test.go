package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestPipelinedOverlapsAndOrders: while a group's flush is held, the
// requests that arrive are applied (on Run's goroutine, meanwhile) and go
// out together in the next group, which is sealed only once the first
// has been answered; after runs on Run's goroutine after each flush.
func TestPipelinedOverlapsAndOrders(t *testing.T) {
	q := New[*req](64)
	applied := make(chan int, 64) // each request's n as apply takes it
	var open, groups [][]int      // Run's goroutine only (apply, seal, after)
	var cur []int
	entered, release := make(chan struct{}), make(chan struct{})
	var afters int
	go q.RunPipelined(func(batch []*req) {
		for _, r := range batch {
			cur = append(cur, r.n)
			applied <- r.n
		}
	}, func() func() func() {
		g := cur
		cur = nil
		open = append(open, g)
		first := len(open) == 1
		return func() func() {
			if first {
				close(entered)
				<-release
			}
			return func() { afters++; groups = append(groups, g) }
		}
	})
	answered := make(chan int, 64)
	do := func(n int) {
		r := &req{n: n}
		if err := q.Do(context.Background(), r); err != nil {
			t.Error(err)
		}
		answered <- n
	}
	go do(0)
	<-applied
	<-entered
	for n := 1; n <= 5; n++ {
		go do(n)
		<-applied // applied while group 0's flush is held
	}
	select {
	case n := <-answered:
		t.Fatalf("request %d answered while the first flush was held", n)
	default:
	}
	close(release)
	seen := map[int]bool{}
	for range 6 {
		seen[<-answered] = true
	}
	q.Close() // Run has returned: groups and afters are final
	if len(seen) != 6 {
		t.Fatalf("answers %v", seen)
	}
	if len(groups) != 2 || len(groups[0]) != 1 || groups[0][0] != 0 || len(groups[1]) != 5 {
		t.Fatalf("groups %v, want [[0] [the five that arrived during its flush]]", groups)
	}
	if afters != 2 {
		t.Fatalf("after ran %d times for 2 groups", afters)
	}
}

// TestPipelinedCloseNeverStrandsACaller races callers against Close:
// every Do returns, nil exactly for the requests a flush saw, ErrClosed
// for the others.
func TestPipelinedCloseNeverStrandsACaller(t *testing.T) {
	for round := range 200 {
		q := New[*req](8)
		var cur []*req
		go q.RunPipelined(func(batch []*req) { cur = append(cur, batch...) }, func() func() func() {
			g := cur
			cur = nil
			return func() func() {
				for _, r := range g {
					r.committed = true
				}
				return nil
			}
		})
		var wg sync.WaitGroup
		errs := make([]error, 32)
		reqs := make([]*req, 32)
		for i := range reqs {
			reqs[i] = &req{n: i}
			wg.Go(func() { errs[i] = q.Do(context.Background(), reqs[i]) })
		}
		if round%3 == 0 {
			wg.Wait()
		}
		q.Close()
		wg.Wait()
		for i, r := range reqs {
			switch {
			case errs[i] == nil && !r.committed:
				t.Fatalf("round %d: request %d answered nil but never flushed", round, i)
			case errs[i] != nil && (r.committed || !errors.Is(errs[i], events.ErrClosed)):
				t.Fatalf("round %d: request %d: %v, flushed %v", round, i, errs[i], r.committed)
			}
		}
	}
}
