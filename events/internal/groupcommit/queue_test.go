package groupcommit

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
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

// TestBatchesAndAfter: callers queued while a batch commits share the next
// batches, none bigger than the maximum, and after runs once per batch.
func TestBatchesAndAfter(t *testing.T) {
	q := New[*req](16)
	release := make(chan struct{})
	var sizes []int
	var afters atomic.Int64
	var wg sync.WaitGroup
	do := func(i int) {
		wg.Go(func() {
			if err := q.Do(context.Background(), &req{n: i}); err != nil {
				t.Error(err)
			}
		})
	}
	// The first request is queued before Run starts, so Run (not its
	// caller, inline) commits it and holds the committer until release.
	do(0)
	for len(q.in) < 1 {
		runtime.Gosched()
	}
	entered := make(chan struct{})
	go q.Run(func(batch []*req) func() {
		if len(sizes) == 0 {
			close(entered)
			<-release
		}
		sizes = append(sizes, len(batch))
		return func() { afters.Add(1) }
	})
	<-entered // Run holds the committer
	for i := 1; i < 33; i++ {
		do(i) // the committer is busy: each one queues
	}
	for len(q.in) < 32 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	q.Close() // Run has returned: sizes and afters are final
	if !slices.Equal(sizes, []int{1, 16, 16}) {
		t.Fatalf("33 requests, 32 of them queued behind the first, went in batches %v, want [1 16 16]", sizes)
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
	entered := make(chan struct{}, 1)
	go q.Run(func([]*req) func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-block
		return nil
	})
	defer q.Close()
	defer close(block)
	go q.Do(context.Background(), &req{}) // occupies the committer (inline or in Run)
	// Until the first commit is under way, the second Do could find the
	// queue idle and commit inline itself, blocking on block forever.
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := q.Do(ctx, &req{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do with an ending ctx: %v", err)
	}
}

// TestLoneCallerCommitsInline: a caller finding nothing queued and nobody
// committing commits its request in its own goroutine (no hand-over to
// Run), after included; callers arriving meanwhile go to Run, batched, and
// run after Close has waited for the caller's commit to end.
func TestLoneCallerCommitsInline(t *testing.T) {
	q := New[*req](16)
	release := make(chan struct{})
	var mu sync.Mutex
	var inCaller []bool
	var sizes []int
	var afters atomic.Int64
	go q.Run(func(batch []*req) func() {
		caller := inCommitOfCaller()
		mu.Lock()
		inCaller, sizes = append(inCaller, caller), append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
		for _, r := range batch {
			r.committed = true
		}
		return func() { afters.Add(1) }
	})
	for !q.started() {
		runtime.Gosched()
	}
	first := &req{n: 0}
	firstDone := make(chan error)
	go func() { firstDone <- q.Do(context.Background(), first) }()
	for {
		mu.Lock()
		n := len(sizes)
		mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = q.Do(context.Background(), &req{n: i + 1}) })
	}
	for waitingInDo() < len(errs) { // all handed to Run, behind the commit under way
		runtime.Gosched()
	}
	close(release)
	if err := <-firstDone; err != nil || !first.committed {
		t.Fatalf("the lone caller's Do: %v, committed %v", err, first.committed)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("queued caller %d: %v", i, err)
		}
	}
	for q.busy() { // Run may still be running the last batch's after
		runtime.Gosched()
	}
	lone := &req{}
	if err := q.Do(context.Background(), lone); err != nil || !lone.committed {
		t.Fatalf("a lone caller once all was answered: %v, committed %v", err, lone.committed)
	}
	q.Close()
	mu.Lock()
	defer mu.Unlock()
	if !inCaller[0] || !inCaller[len(inCaller)-1] {
		t.Errorf("the lone callers' commits ran in their goroutines: %v, want the first and the last", inCaller)
	}
	for i, c := range inCaller[1 : len(inCaller)-1] {
		if c {
			t.Errorf("batch %d of the queued callers ran in a caller's goroutine", i+1)
		}
	}
	if got := slices.Max(sizes[1 : len(sizes)-1]); got < 2 {
		t.Errorf("the 8 callers queued behind a commit went in batches %v, want them batched", sizes[1:len(sizes)-1])
	}
	if int(afters.Load()) != len(sizes) {
		t.Errorf("after ran %d times for %d batches", afters.Load(), len(sizes))
	}
}

// TestCloseWaitsForInlineCommit: Close returns only once a caller's own
// commit under way has ended, and no caller commits after it.
func TestCloseWaitsForInlineCommit(t *testing.T) {
	q := New[*req](4)
	release := make(chan struct{})
	var ended, afterClose atomic.Bool
	var closed atomic.Bool
	entered := make(chan bool, 1) // whether the commit runs in the caller's goroutine
	go q.Run(func(batch []*req) func() {
		if closed.Load() {
			afterClose.Store(true)
		}
		select {
		case entered <- inCommitOfCaller():
		default:
		}
		<-release
		ended.Store(true)
		return nil
	})
	for !q.started() {
		runtime.Gosched()
	}
	// Nothing else touches the committer's lock now (busy's TryLock would
	// race the caller's and could send it to Run), so the caller commits
	// inline.
	go q.Do(context.Background(), &req{})
	if !<-entered {
		close(release)
		t.Fatal("a lone caller's commit ran in Run, not in the caller's goroutine")
	}
	closeDone := make(chan struct{})
	go func() { q.Close(); close(closeDone) }()
	for waitingIn("Close(", "[sync.Mutex.Lock") == 0 { // Run has stopped; Close waits for the commit
		select {
		case <-closeDone:
			t.Fatal("Close returned while a caller's commit was under way")
		default:
			runtime.Gosched()
		}
	}
	close(release)
	<-closeDone
	closed.Store(true)
	if !ended.Load() {
		t.Fatal("Close returned before the caller's commit ended")
	}
	if err := q.Do(context.Background(), &req{}); !errors.Is(err, events.ErrClosed) || afterClose.Load() {
		t.Fatalf("Do after Close: %v (committed after Close: %v)", err, afterClose.Load())
	}
}

// inCommitOfCaller reports whether the commit function calling it runs in
// a caller's goroutine (Queue.inline) rather than in Run.
func inCommitOfCaller() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "groupcommit.(*Queue[...]).inline(")
}

// waitingInDo counts the goroutines waiting in Queue.Do for the committer.
func waitingInDo() int { return waitingIn("Do(", "[select") }

// waitingIn counts the goroutines in the Queue method whose name starts
// method, blocked in state (as runtime.Stack's header names it).
func waitingIn(method, state string) int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if head, _, _ := strings.Cut(g, "\n"); strings.Contains(head, state) && strings.Contains(g, "groupcommit.(*Queue[...])."+method) {
			n++
		}
	}
	return n
}
