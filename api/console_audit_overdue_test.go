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
	overdue := func() bool {
		s.awaitApplied()
		return strings.Contains(u.must("/audit", 200, en...).body, `id="au-overdue"`)
	}
	// The tree follows the log on its own: a warning that depends on an
	// event just appended may take a moment to show.
	becomesOverdue := func() bool {
		for deadline := time.Now().Add(hang); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if overdue() {
				return true
			}
		}
		return false
	}

	at(3 * time.Hour)
	if overdue() {
		t.Error("overdue with no event waiting")
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	if !becomesOverdue() {
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
	if !becomesOverdue() {
		t.Error("no warning 2 intervals and 10 minutes after the latest seal, with an event waiting")
	}
}
