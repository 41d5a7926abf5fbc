package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// TestConsoleAuditSealOverdue: the seal page warns when events wait and
// the latest seal is older than twice the sealer's interval (a sealer
// stopped or failing), and not before, nor when nothing waits.
func TestConsoleAuditSealOverdue(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	at := func(d time.Duration) { clock.Set(eventstest.Epoch.Add(d)) }
	s := newStack(t, stackOptions{now: clock.Now, sealInterval: time.Hour, consoleIdle: 24 * time.Hour})
	u := signIn(s, "U1") // signing in appends: before the seal
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.sealNow()
	en := []string{"Accept-Language", "en"}
	// overdue asks the page once the tree follows the log to its head: the
	// warning counts the events waiting in the tree, so a page asked before
	// the tree read an event just appended would say nothing whatever the
	// clock.
	overdue := func() bool {
		t.Helper()
		s.awaitApplied()
		s.awaitTree()
		return strings.Contains(u.must("/audit", 200, en...).body, `id="au-overdue"`)
	}

	at(3 * time.Hour)
	if overdue() {
		t.Error("overdue with no event waiting")
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	if !overdue() {
		t.Error("no warning with an event waiting 3 intervals after the latest seal")
	}
	s.sealNow()
	at(3*time.Hour + 10*time.Minute)
	s.must("R1", "POST", "/v1/customers", newCustomer("C3"), 201)
	at(4*time.Hour + 30*time.Minute)
	if overdue() {
		t.Error("overdue at 1.5 intervals")
	}
	at(5*time.Hour + 10*time.Minute)
	if !overdue() {
		t.Error("no warning 2 intervals and 10 minutes after the latest seal, with an event waiting")
	}
}

// awaitTree waits until the server's Merkle tree holds the whole log: its
// last leaf is the log's head (the sealer follows the log on its own).
func (s *stack) awaitTree() {
	s.t.Helper()
	s.waitUntil("the tree reaches the log's head", func() bool {
		head, err := s.store.Head(s.t.Context())
		if err != nil {
			s.t.Fatal(err)
		}
		n := s.srv.Tree.Size()
		if n == 0 {
			return head.IsZero()
		}
		last, err := s.srv.Tree.Position(n - 1)
		return err == nil && last == head
	})
}
