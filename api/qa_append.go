package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The writes of a call's QA (a review, an evaluation's acknowledgement
// and dispute, a dispute's resolution) check the call's state, then append
// one or two events expecting the version they checked. Their retries are
// answered from the log, as the first request was, once the state the
// first request changed refuses them.

// callWrite appends to call id's stream the events build makes of the
// call as the read side has it, expecting the version read (If-Match
// overrides it). An append that lost a race with another append to the
// call (the sampler's selection, an acknowledgement) reads the call again
// and builds again (a checkedAppend), so that build's checks hold against
// the events the append follows. When build refuses the request as
// invalid, a retry of a request that already did the work gets the first
// answer.
func (s *Server) callWrite(w http.ResponseWriter, r *http.Request, p Principal, id string, extra extraFunc,
	build func(c projections.CallView) ([]events.Data, error)) error {
	stream := events.CallStream(id)
	var (
		ds      []events.Data
		refused bool // build refused the request as invalid
	)
	err := s.checkedOnReadSide(r, stream,
		func() (uint64, error) {
			c, err := s.Queries.Call(r.Context(), id)
			if err != nil {
				return 0, err
			}
			ds, err = build(c)
			refused = events.ErrorCode(err) == events.Invalid
			return c.Version, err
		},
		func(read uint64) error { return s.appendEvents(w, r, p, stream, events.Exact(read), extra, ds...) }).run()
	if refused {
		if done, rerr := s.replay(w, r, p, stream, extra); done || rerr != nil {
			return rerr
		}
	}
	return err
}

// ifMatchAhead returns a conflict when r's If-Match names a version of
// stream after read, the version its checks were made on: the read side
// has not reached it, and an append expecting it would follow events no
// check saw.
func ifMatchAhead(r *http.Request, stream string, read uint64) error {
	opt, err := parseWriteOptions(r, events.Any)
	if v, exact := opt.expected.IsExact(); err == nil && opt.ifMatch && exact && v > read {
		e := events.Errorf(events.Conflict, "%s is at version %d here, not yet %d: try again", stream, read, v)
		e.Stream, e.ActualVersion = stream, int64(read)
		return e
	}
	return nil
}

// catchUp waits briefly for the read side to apply the last event of
// stream.
func (s *Server) catchUp(ctx context.Context, stream string) {
	if last, err := s.Store.ReadStream(ctx, stream, events.LastVersion, events.Backward, 1); err == nil && len(last) == 1 {
		s.settle(ctx, last[0].Position)
	}
}

// extraFunc returns the fields a write answers beside the append result,
// from the data of the append's last event (as appended, or as stored
// when a retry is answered).
type extraFunc func(last events.Data) map[string]any

// appendEvents appends ds to stream in one append, expecting def unless
// If-Match says otherwise, and answers 201 with the append result and
// extra's fields. With an Idempotency-Key, the last event's id is the key
// and each earlier one's is derived from it (keyedID), so that the store
// takes a retry's events for the first request's, and a retry is answered
// from the stored events as the first request was (replay).
func (s *Server) appendEvents(w http.ResponseWriter, r *http.Request, p Principal, stream string, def events.ExpectedVersion,
	extra extraFunc, ds ...events.Data) error {
	opt, err := parseWriteOptions(r, def)
	if err != nil {
		return err
	}
	keyed := opt.id != [16]byte{}
	meta := events.Meta{Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	if keyed {
		meta.CausationID = bind(opt.id, p, r, ds[len(ds)-1]).cause
	}
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		m := meta
		if keyed {
			m.ID = keyedID(opt.id, len(ds)-1-i)
		}
		if evs[i], err = events.NewEvent(d, m); err != nil {
			return err
		}
	}
	res, err := s.Store.Append(r.Context(), stream, opt.expected, evs...)
	switch {
	case keyed && idsTaken(err):
		return s.keyReused(r.Context(), stream)
	case err != nil:
		return err
	case res.Duplicate:
		if done, err := s.replay(w, r, p, stream, extra); done || err != nil {
			return err
		}
		return s.keyReused(r.Context(), stream)
	}
	s.settle(r.Context(), res.Position)
	answerWith(w, res, extra, ds[len(ds)-1])
	return nil
}

// keyedID returns the id of the event k places before the last of an
// append keyed by key: key itself for the last; for earlier ones key's
// time and a random part derived from key and k.
func keyedID(key [16]byte, k int) [16]byte {
	if k == 0 {
		return key
	}
	sum := sha256.Sum256(append(key[:], byte(k)))
	id := key
	copy(id[6:], sum[:10])
	return id
}

// idsTaken reports whether err is the store's refusal of event ids used
// by another append: for the API, a key used for another request.
func idsTaken(err error) bool {
	var ee *events.Error
	return errors.As(err, &ee) && ee.Code == events.Invalid &&
		(ee.Field == "events" || strings.HasPrefix(ee.Field, "events[") && strings.HasSuffix(ee.Field, "].id"))
}

// replay answers a request whose Idempotency-Key is the id of the last
// event of an append in stream as appendEvents answered that append, and
// reports whether it did; a key naming an event of another request is the
// key conflict. Handlers call it where the state the first request changed
// now refuses the request.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, p Principal, stream string, extra extraFunc) (bool, error) {
	return s.replayOf(w, r, p, stream, extra, nil)
}

// replayOf is replay for a request that appends d (validated), nil if not
// known: data with personal fields is bound as appendData binds it (the
// body without them, and them compared with the stored event's).
func (s *Server) replayOf(w http.ResponseWriter, r *http.Request, p Principal, stream string, extra extraFunc, d events.Data) (bool, error) {
	opt, err := parseWriteOptions(r, events.Any)
	if err != nil || opt.id == [16]byte{} {
		return false, err
	}
	evs, err := s.Store.ReadStream(r.Context(), stream, events.LastVersion, events.Backward, 1000)
	if events.ErrorCode(err) == events.NotFound {
		return false, nil // nothing was appended yet: a first launch refused, not a retry
	}
	if err != nil {
		return false, err
	}
	for i := range evs {
		if evs[i].ID != opt.id {
			continue
		}
		b := bind(opt.id, p, r, d)
		if pd, ok := d.(events.Personal); ok {
			b.personal = personalFields(pd)
		}
		if same, err := s.sameRequest(r.Context(), &evs[i], b); err != nil || !same {
			if err == nil {
				err = s.keyReused(r.Context(), stream)
			}
			return false, err
		}
		res := events.AppendResult{Stream: evs[i].Stream, Version: evs[i].Version, Position: evs[i].Position,
			EventIDs: []string{evs[i].ID.String()}}
		for k := 1; i+k < len(evs) && evs[i+k].ID == keyedID(opt.id, k); k++ {
			res.EventIDs = append([]string{evs[i+k].ID.String()}, res.EventIDs...)
		}
		var last events.Data
		if extra != nil {
			if last, err = s.decoder()(r.Context(), &evs[i]); err != nil {
				return false, err
			}
		}
		answerWith(w, res, extra, last)
		return true, nil
	}
	return false, nil
}

// answerWith answers 201 with an append's result and extra's fields of the
// data of its last event.
func answerWith(w http.ResponseWriter, res events.AppendResult, extra extraFunc, last events.Data) {
	if extra == nil {
		answerAppended(w, res)
		return
	}
	answerCreated(w, res, "/v1/audit/streams/"+res.Stream, extra(last))
}
