package console

import (
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dangol/dangol/api"
)

// Failed sign-ins are throttled twice:
//
//   - Per account, from the log: StaffMember.FailedSignIns holds the times
//     of the member's latest SignInFailed, so the lock holds across restarts
//     and across every server of a deployment. Five failures within 15
//     minutes lock the account for 15 minutes from the fifth; an attempt on
//     a locked account does not even check the password (it is recorded as
//     SignInFailed, reason locked, and does not prolong the lock). An id no
//     member has locks alike, from failures kept in memory (unknownIDs):
//     were only members' ids to lock, five guesses would tell whether an
//     id is one.
//   - Per client address, in memory: 20 failures within a sliding 15 minutes
//     from one address (an IPv6 /64) are answered 429 until the oldest of
//     them leaves the window, whichever accounts they named, unknown ids
//     included. An attempt still being judged counts as a failure, so that
//     attempts sent at once cannot all pass before the first is recorded.
//     The table is bounded; it forgets on restart, which the per-account
//     lock does not.
//
// Both judge at Console.now, so that tests drive them with a clock.
const (
	lockFailures = 5
	lockWindow   = 15 * time.Minute
	lockFor      = 15 * time.Minute
	addrFailures = 20
	addrWindow   = 15 * time.Minute
	maxEntries   = 10000 // of each table in memory: addresses, unknown ids
	keptFailures = 20    // of an unknown id, as StaffMember.FailedSignIns keeps a member's
)

// lockedUntil returns until when failures (oldest first, the recordedAt
// of the member's SignInFailed) lock the account, judged at now: zero if
// not locked. A failure inside a lock is an attempt the lock refused (the
// console appends those as "locked"): it neither counts nor extends it.
func lockedUntil(failures []time.Time, now time.Time) time.Time {
	var until time.Time
	var counted []time.Time
	for _, f := range failures {
		if f.Before(until) {
			continue
		}
		counted = append(counted, f)
		if n := len(counted); n >= lockFailures && !counted[n-lockFailures].Before(f.Add(-lockWindow)) {
			until, counted = f.Add(lockFor), nil
		}
	}
	if now.Before(until) {
		return until
	}
	return time.Time{}
}

// addrThrottle counts failed sign-ins per client address, in memory. Safe
// for concurrent use.
type addrThrottle struct {
	mu       sync.Mutex
	failures map[netip.Prefix][]time.Time // oldest first, within addrWindow of the latest
	judging  map[netip.Prefix]int         // attempts begun and not yet ended
}

func newAddrThrottle() *addrThrottle {
	return &addrThrottle{failures: map[netip.Prefix][]time.Time{}, judging: map[netip.Prefix]int{}}
}

// addrKey is the throttle's key of an address: the address itself for
// IPv4, its /64 for IPv6 (one client holds a whole /64).
func addrKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// recent returns the failures of key within the window before now.
func recent(fs []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-addrWindow)) {
		i++
	}
	return fs[i:]
}

// blocked reports whether address a is throttled at now. An invalid
// address (no RemoteAddr, which only in-process callers lack) never is.
func (t *addrThrottle) blocked(a netip.Addr, now time.Time) bool {
	if !a.IsValid() {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blockedLocked(addrKey(a), now)
}

func (t *addrThrottle) blockedLocked(k netip.Prefix, now time.Time) bool {
	return len(recent(t.failures[k], now))+t.judging[k] >= addrFailures
}

// begin starts an attempt from a at now, unless a is throttled; until the
// returned end is called the attempt counts as a failure. The caller
// records a failure (fail) before it ends the attempt (for that moment it
// counts twice: the throttle errs on the side of refusing).
func (t *addrThrottle) begin(a netip.Addr, now time.Time) (end func(), ok bool) {
	if !a.IsValid() {
		return func() {}, true
	}
	k := addrKey(a)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blockedLocked(k, now) {
		return nil, false
	}
	t.judging[k]++
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.judging[k]--; t.judging[k] == 0 {
			delete(t.judging, k)
		}
	}, true
}

// fail records a failed attempt from a at now.
func (t *addrThrottle) fail(a netip.Addr, now time.Time) {
	if !a.IsValid() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := addrKey(a)
	fs := append(recent(t.failures[k], now), now)
	if len(fs) > addrFailures {
		fs = slices.Clone(fs[len(fs)-addrFailures:])
	}
	t.failures[k] = fs
	if len(t.failures) > maxEntries {
		prune(t.failures, now.Add(-addrWindow))
	}
}

// unknownIDs counts failed attempts on staff ids no member has, in memory,
// so that such an id locks as a member's does. Safe for concurrent use.
type unknownIDs struct {
	mu       sync.Mutex
	failures map[string][]time.Time // oldest first, the latest keptFailures
}

func newUnknownIDs() *unknownIDs { return &unknownIDs{failures: map[string][]time.Time{}} }

// fail records a failed attempt on id at now, and reports whether id was
// locked then (lockedUntil, as for a member).
func (u *unknownIDs) fail(id string, now time.Time) (locked bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fs := u.failures[id]
	locked = !lockedUntil(fs, now).IsZero()
	fs = append(fs, now)
	if len(fs) > keptFailures {
		fs = slices.Clone(fs[len(fs)-keptFailures:])
	}
	u.failures[id] = fs
	if len(u.failures) > maxEntries {
		// An id whose latest failure is older than a window and a lock
		// cannot be locked again without new failures.
		prune(u.failures, now.Add(-lockWindow-lockFor))
	}
	return locked
}

// prune forgets the keys whose latest failure is at or before cutoff and,
// if the table is still over three quarters of maxEntries, those
// whose latest failure is oldest, down to that (so that pruning, a scan,
// is rare).
func prune[K comparable](failures map[K][]time.Time, cutoff time.Time) {
	for k, fs := range failures {
		if !fs[len(fs)-1].After(cutoff) {
			delete(failures, k)
		}
	}
	if len(failures) <= maxEntries*3/4 {
		return
	}
	type entry struct {
		k    K
		last time.Time
	}
	all := make([]entry, 0, len(failures))
	for k, fs := range failures {
		all = append(all, entry{k, fs[len(fs)-1]})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.last.Compare(b.last) })
	for _, e := range all[:len(all)-maxEntries*3/4] {
		delete(failures, e.k)
	}
}

// clientAddr is the address a request comes from: its connection's peer,
// or, when that peer is one of TrustedProxies, the rightmost address of
// X-Forwarded-For that is not a trusted proxy (api.ClientAddr, which the
// access record uses too). Without trusted proxies the header is ignored
// (anyone can send it).
func (c *Console) clientAddr(r *http.Request) netip.Addr { return api.ClientAddr(r, c.TrustedProxies) }
