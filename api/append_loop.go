package api

import (
	"errors"
	"net/http"

	"github.com/dangol/dangol/events"
)

// A checkedAppend is a write whose precondition (a customer not merged, a
// call not yet reviewed, a campaign still running) is checked against the
// state it reads: it reads, checks, and appends expecting the version it
// read, so that another append landing in between makes the append
// conflict instead of following events no check saw. Such a conflict is
// not the client's: the write reads, checks and appends again, up to
// attempts appends. Every API write that checks before it appends runs
// through one (run): the customer writes (appendToCustomer), campaign
// writes and gated pitches (appendAsRead), a call's QA (callWrite) and a
// calibration session's (sessionWrite).
type checkedAppend struct {
	attempts int
	// read reads the state the write is checked against, checks the
	// request on it and returns the version it read; its error ends the
	// write unanswered (nothing appended).
	read func() (version uint64, err error)
	// ahead, if set, refuses (409) a read older than the version the
	// client's If-Match names: the read side has not reached it yet.
	ahead func(version uint64) error
	// waitAhead makes a read refused by ahead count as an attempt that
	// lost a race, made again after wait, rather than end the write.
	waitAhead bool
	// append appends expecting version (or the client's If-Match).
	append func(version uint64) error
	// pinned is set when the client named the version (If-Match): a
	// conflict is then the answer, never made again.
	pinned bool
	// wait, if set, runs before another attempt (the read side's
	// catch-up with the stream).
	wait func()
}

// run makes the write: read, check, append, and again while the append
// loses a race (a conflict not of the client's making and not a reused
// Idempotency-Key). It returns the last attempt's error.
func (c checkedAppend) run() error {
	for attempt := 1; ; attempt++ {
		read, err := c.read()
		if err != nil {
			return err
		}
		if c.ahead != nil {
			if err := c.ahead(read); err != nil {
				if !c.waitAhead || attempt == c.attempts {
					return err
				}
				c.again()
				continue
			}
		}
		err = c.append(read)
		if c.pinned || attempt == c.attempts || events.ErrorCode(err) != events.Conflict || errors.Is(err, errKeyReused) {
			return err
		}
		c.again()
	}
}

func (c checkedAppend) again() {
	if c.wait != nil {
		c.wait()
	}
}

// readSideAttempts bounds a write checked against the read side: each
// attempt after the first waits for the read side to catch up with the
// stream.
const readSideAttempts = 5

// checkedOnReadSide is the checkedAppend of request r to stream, checked
// against the read side's view of its entity (read): the client's
// If-Match pins the version, and a read behind it or an append that lost
// a race waits for the read side to apply the stream's last event, then
// reads again.
func (s *Server) checkedOnReadSide(r *http.Request, stream string, read func() (uint64, error), append func(uint64) error) checkedAppend {
	return checkedAppend{attempts: readSideAttempts, read: read, append: append,
		ahead:     func(v uint64) error { return ifMatchAhead(r, stream, v) },
		waitAhead: true,
		pinned:    r.Header.Get("If-Match") != "",
		wait:      func() { s.catchUp(r.Context(), stream) }}
}
