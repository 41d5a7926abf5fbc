package kurrentdb

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/dangol/dangol/events"
)

// conn holds the Store's client and replaces it when it has given up.
//
// The v4 client serialises every call's request for a connection through
// one goroutine, which ignores the call's context. When a discovery fails
// (the node is down for longer than its maxDiscoverAttempts) that
// goroutine answers the one call whose request started it and returns for
// good: the calls queued behind it wait forever, and every later call is
// refused as "connection closed" without trying again. use abandons a
// call when its context ends, the store closes or its client gave up; a
// client that gave up is replaced by a new one, which discovers afresh.
// The calls queued on it stay blocked (the client cannot be closed under
// them), two goroutines each, as many as were in flight when the discovery
// failed. Safe for concurrent use.
type conn struct {
	cfg *esdb.Configuration

	mu     sync.Mutex
	cur    *client
	closed bool
}

// client is one esdb.Client; gone is closed once it gave up and was
// replaced.
type client struct {
	*esdb.Client
	gone chan struct{}
}

// errGaveUp is what a call queued on a client that gave up gets.
var errGaveUp = &events.Error{Code: events.Unavailable, Message: "kurrentdb unavailable: the client gave up discovering the cluster"}

func newConn(cfg *esdb.Configuration) (*conn, error) {
	c, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &conn{cfg: cfg, cur: &client{c, make(chan struct{})}}, nil
}

func (c *conn) current() *client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// renew replaces dead, if it is still the client, by a new one.
func (c *conn) renew(dead *client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.cur != dead {
		return
	}
	next, err := esdb.NewClient(c.cfg)
	if err != nil {
		return // the next call finds dead refusing again, and retries
	}
	c.cur = &client{next, make(chan struct{})}
	close(dead.gone)
}

// close closes the client.
func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.cur.Close()
}

// gaveUp reports whether err says the client stopped trying: its discovery
// failed, or it refuses calls since.
func gaveUp(err error) bool {
	var e *esdb.Error
	if errors.As(err, &e) && e.Code() == esdb.ErrorCodeConnectionClosed {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "maximum discovery attempt count reached")
}

// use runs f on s's client and returns its answer, or ctx's error, or
// ErrClosed once s is closing, or errGaveUp once the client gave up,
// whichever comes first. A result f returns after use returned is
// released (a stream it opened is closed).
func use[T any](ctx context.Context, s *Store, f func(*esdb.Client) (T, error), release func(T)) (T, error) {
	cl := s.conn.current()
	type answer struct {
		v   T
		err error
	}
	answers := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				// A call queued on the client when the store closed it
				// sends on the channel Close shut.
				if e, ok := r.(runtime.Error); !ok || !strings.Contains(e.Error(), "send on closed channel") {
					panic(r)
				}
				answers <- answer{err: errGaveUp}
			}
		}()
		v, err := f(cl.Client)
		answers <- answer{v, err}
	}()
	var zero T
	var err error = errGaveUp
	select {
	case a := <-answers:
		if gaveUp(a.err) {
			s.conn.renew(cl)
		}
		return a.v, a.err
	case <-cl.gone:
	case <-ctx.Done():
		err = ctx.Err()
	case <-s.closing:
		err = events.ErrClosed
	}
	go func() {
		if a := <-answers; a.err == nil && release != nil {
			release(a.v)
		}
	}()
	return zero, err
}
