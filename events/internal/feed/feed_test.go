package feed

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestEndWithAndFirstReason: a store's Close (EndWith) ends a loop blocked
// on a consumer that does not read; the reason it gives wins over the
// context error the loop sees afterwards; the channel is closed.
func TestEndWithAndFirstReason(t *testing.T) {
	stop := make(chan struct{})
	f := New(context.Background(), 0)
	f.EndWith(stop, events.ErrClosed)
	sent := make(chan bool, 1)
	f.Go(func() { sent <- f.Send(events.Envelope{}) }) // nobody reads: Send blocks
	close(stop)
	select {
	case ok := <-sent:
		if ok {
			t.Fatal("Send succeeded with no reader")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("EndWith did not end a blocked Send")
	}
	if _, open := <-f.Events(); open {
		t.Fatal("the channel is still open after the loop returned")
	}
	if !errors.Is(f.Err(), events.ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed (the first reason)", f.Err())
	}
	select {
	case <-f.Failed():
	default:
		t.Fatal("Failed not closed after Fail")
	}
	f.Close() // after the loop ended: returns at once
}

// TestCloseEndsTheLoop: Close cancels the context the loop watches and
// waits for it; Err is the context's error.
func TestCloseEndsTheLoop(t *testing.T) {
	f := New(context.Background(), 1)
	f.Go(func() {
		<-f.Context().Done()
		f.Fail(f.Context().Err())
	})
	f.Close()
	if !errors.Is(f.Err(), context.Canceled) {
		t.Fatalf("Err() = %v after Close", f.Err())
	}
}
