package console

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
)

// authRoutes registers sign-in, setup, second factor, sign-out, the
// account page and the admin's staff screens.
func (c *Console) authRoutes() {
	c.auth = newAuthState()
	c.public("GET /login", c.getLogin)
	c.public("POST /login", c.postLogin)
	c.public("GET /setup", c.getSetup)
	c.public("POST /setup", c.postSetup)
	c.public("POST /enrol", c.postEnrol)
	c.page("POST /logout", everyone, c.postLogout)
	c.page("GET /account", everyone, c.getAccount)
	c.page("POST /account/password", everyone, c.postPassword)
	c.page("GET /account/second-factor", everyone, c.getAccountEnrol)
	c.page("POST /account/second-factor", everyone, c.postAccountEnrol)
	c.adminRoutes()
}

// authState is what sign-in keeps in memory: the per-address throttle,
// the TOTP codes already used, and a lock per account so that one
// account's attempts are judged one after the other (the per-account
// throttle then counts every failure before the next attempt).
type authState struct {
	addrs   *addrThrottle
	unknown *unknownIDs
	codes   *usedCodes

	mu    sync.Mutex
	locks map[string]*accountLock

	dummyOnce sync.Once
	dummy     string // a verifier no password matches, to spend the time of a check on unknown ids
}

type accountLock struct {
	mu    sync.Mutex
	users int
}

func newAuthState() *authState {
	return &authState{addrs: newAddrThrottle(), unknown: newUnknownIDs(), codes: newUsedCodes(), locks: map[string]*accountLock{}}
}

// lockAccount serialises the sign-in attempts on staff id and returns the
// unlock; the table holds only the accounts being attempted right now.
func (a *authState) lockAccount(id string) func() {
	a.mu.Lock()
	l := a.locks[id]
	if l == nil {
		l = &accountLock{}
		a.locks[id] = l
	}
	l.users++
	a.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		a.mu.Lock()
		if l.users--; l.users == 0 {
			delete(a.locks, id)
		}
		a.mu.Unlock()
	}
}

// spendCheck checks pw against a verifier no password matches, at the
// console's cost: an unknown id costs what a known one does, so timing
// does not tell them apart.
func (c *Console) spendCheck(pw string) {
	c.auth.dummyOnce.Do(func() { c.auth.dummy = hashPassword(string(newSecret()), c.Password) })
	_ = verifyPassword(pw, c.auth.dummy)
}

// appendEvents appends ds to staff member id's stream, in one append, as
// actor, expecting exp; then it waits (bounded) for the read side to apply
// them, so that the next request, a sign-in's first page or the next
// attempt judged by the throttle, finds them.
func (c *Console) appendEvents(ctx context.Context, id string, actor events.Actor, exp events.ExpectedVersion, ds ...events.Data) (events.AppendResult, error) {
	meta := events.Meta{Actor: actor, CorrelationID: events.NewID().String()}
	evs := make([]events.Event, 0, len(ds))
	for _, d := range ds {
		ev, err := events.NewEvent(d, meta)
		if err != nil {
			return events.AppendResult{}, err
		}
		evs = append(evs, ev)
	}
	res, err := c.Store.Append(ctx, events.StaffStream(id), exp, evs...)
	if err != nil {
		return res, err
	}
	c.awaitSignIn(ctx, res.Position)
	return res, nil
}

// signInWait bounds how long a sign-in waits for the read side.
const signInWait = 5 * time.Second

// awaitSignIn waits until the read side has applied pos, at most signInWait.
// Past it the write stands; a page read right after may not show it yet.
func (c *Console) awaitSignIn(ctx context.Context, pos events.Position) {
	if c.Progress == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, signInWait)
	defer cancel()
	if err := c.Progress.WaitFor(ctx, pos); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
		c.Logger.Warn("console: the read side did not apply a sign-in event in time", "position", pos.String())
	}
}

// memberActor is the member as the actor of their own sign-in events.
func memberActor(id, role string) events.Actor { return events.Actor{ID: id, Role: role} }

// anonymous is the actor of what a request not (yet) signed in did: a
// failed attempt is not the member's doing.
var anonymous = events.System("console")
