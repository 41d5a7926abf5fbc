package console

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// attempt is one POST of a sign-in page (/login, /setup) being judged:
// what the two pages share, so that their throttles and refusals cannot
// drift apart. The address's throttle counts the attempt while it is
// judged; the account's lock makes one account's attempts wait for each
// other; an id no member has is locked as a member's would be; and every
// wrong id, password or code is refused with the page's one message.
type attempt struct {
	c       *Console
	w       http.ResponseWriter
	r       *http.Request
	now     time.Time
	addr    netip.Addr
	failure string                       // the catalog key of the page's refusal
	show    func(status int, key string) // renders the page refusing with key
	done    []func()                     // what end releases, last first
}

// beginAttempt starts judging a sign-in page's POST. It returns false if
// the address is throttled: the page was shown refusing with 429 and a
// Retry-After. Otherwise the caller defers a.end.
func (c *Console) beginAttempt(w http.ResponseWriter, r *http.Request, failure string, show func(status int, key string)) (*attempt, bool) {
	a := &attempt{c: c, w: w, r: r, now: c.now(), addr: c.clientAddr(r), failure: failure, show: show}
	end, ok := c.auth.addrs.begin(a.addr, a.now)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(addrWindow.Seconds())))
		show(http.StatusTooManyRequests, "login.error.throttled")
		return nil, false
	}
	a.done = append(a.done, end)
	return a, true
}

// end releases the account's lock, then the address's place.
func (a *attempt) end() {
	for i := len(a.done) - 1; i >= 0; i-- {
		a.done[i]()
	}
}

// refuse counts a failure against the address and shows the page refusing
// with key.
func (a *attempt) refuse(status int, key string) {
	a.c.auth.addrs.fail(a.addr, a.now)
	a.show(status, key)
}

// member takes staff id's lock (until end) and returns its member. It
// returns false when the page was answered instead: an id that is not one
// or that no member has is refused (locked after as many failures as a
// member's), and spend, if not nil, is called first where a member's
// secret would have been checked, so that an unknown id takes as long.
func (a *attempt) member(id string, spend func()) (projections.StaffMember, bool) {
	if !events.ValidID(id) {
		if spend != nil {
			spend()
		}
		a.refuse(http.StatusUnauthorized, a.failure)
		return projections.StaffMember{}, false
	}
	a.done = append(a.done, a.c.auth.lockAccount(id))
	m, err := a.c.Queries.StaffMember(a.r.Context(), id)
	if events.ErrorCode(err) == events.NotFound {
		if a.c.auth.unknown.fail(id, a.now) {
			a.refuse(http.StatusTooManyRequests, "login.error.locked") // as for a member: no secret checked
			return projections.StaffMember{}, false
		}
		if spend != nil {
			spend()
		}
		a.refuse(http.StatusUnauthorized, a.failure)
		return projections.StaffMember{}, false
	}
	if err != nil {
		a.c.fail(a.w, a.r, 0, err)
		return projections.StaffMember{}, false
	}
	return m, true
}

// failed records a failed sign-in of m for reason (one of
// events.SignInFailures) and refuses: "locked" as locked (429), any other
// with the page's one message (401).
func (a *attempt) failed(m projections.StaffMember, reason string) {
	if err := a.c.recordFailure(a.r.Context(), m, reason, a.addr); err != nil {
		a.c.fail(a.w, a.r, 0, err)
		return
	}
	if reason == "locked" {
		a.refuse(http.StatusTooManyRequests, "login.error.locked")
		return
	}
	a.refuse(http.StatusUnauthorized, a.failure)
}
