package api

import (
	"context"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
)

// Live topics: "log" for every event, "customer:<id>" and "advisor:<id>"
// for customer events and calls, "rep:<id>" for a rep's calls and coaching,
// "qa" for call recording, selection, review, its acknowledgement and
// disputes, scorecard forms, the sampling plan and calibration sessions,
// "coaching" for reviews
// with coaching points and coaching events.
//
// An event's advisor topic names the customer's advisor as of that event,
// not today's: replayed history reaches the advisor who had the customer
// then. AdvisorAssigned reaches both the advisor it names and the one it
// takes the customer from.

// kinds is a set of topic kinds: what a client's topics hold, what a
// message's routing had to look up, what it could not.
type kinds uint8

const (
	kindCustomer kinds = 1 << iota
	kindAdvisor
	kindRep
	kindQA
	kindCoaching
	kindLog
)

func kindOf(topic string) kinds {
	k, _, _ := strings.Cut(topic, ":")
	switch k {
	case "customer":
		return kindCustomer
	case "advisor":
		return kindAdvisor
	case "rep":
		return kindRep
	case "qa":
		return kindQA
	case "coaching":
		return kindCoaching
	}
	return kindLog
}

// routeCacheMax bounds each of a router's maps; past it the map starts
// over (a miss costs one read of the stream).
const routeCacheMax = 1 << 16

// router knows, for the event it is at, each customer's advisor and each
// call's customer and rep, reading the log itself rather than the read
// models (which may be ahead of a replay, or behind the live feed). It must
// see every event in log order, from wherever it starts: what it caches is
// true as of the last event it routed. It is not safe for concurrent use;
// the hub and each replay have their own.
type router struct {
	store    Store
	advisors map[string]string    // customer id → advisor id ("" none)
	calls    map[string]callRoute // call id → its customer and rep
}

type callRoute struct{ customer, rep string }

func newRouter(store Store) *router {
	return &router{store: store, advisors: map[string]string{}, calls: map[string]callRoute{}}
}

// skip is route for an event nobody receives: it only forgets what the
// event may change.
func (rt *router) skip(env *events.Envelope) {
	if cat, id := events.StreamID(env.Stream); cat == events.CategoryCustomer && env.Type == (*events.AdvisorAssigned)(nil).EventType() {
		delete(rt.advisors, id)
	}
}

// advisor returns the customer's advisor just before the event at pos
// (which the router is at).
func (rt *router) advisor(ctx context.Context, customer string, pos events.Position) (string, error) {
	if a, ok := rt.advisors[customer]; ok {
		return a, nil
	}
	a, err := advisorBefore(ctx, rt.store, customer, pos)
	if err != nil {
		return "", err
	}
	rt.setAdvisor(customer, a)
	return a, nil
}

func (rt *router) setAdvisor(customer, advisor string) {
	if len(rt.advisors) >= routeCacheMax {
		clear(rt.advisors)
	}
	rt.advisors[customer] = advisor
}

// advisorBefore reads the customer's stream back from its end for the last
// AdvisorAssigned before pos.
func advisorBefore(ctx context.Context, store Store, customer string, pos events.Position) (string, error) {
	stream := events.CustomerStream(customer)
	from := events.LastVersion
	for {
		evs, err := store.ReadStream(ctx, stream, from, events.Backward, 256)
		if events.ErrorCode(err) == events.NotFound {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		for i := range evs {
			e := &evs[i]
			if !e.Position.Less(pos) || e.Type != (*events.AdvisorAssigned)(nil).EventType() {
				continue
			}
			d, err := events.Decode(e)
			if err != nil {
				return "", err
			}
			return d.(*events.AdvisorAssigned).AdvisorID, nil
		}
		if len(evs) == 0 || evs[len(evs)-1].Version <= 1 {
			return "", nil
		}
		from = evs[len(evs)-1].Version - 1
	}
}

// call returns the customer and rep of a call, from its CallRecorded (a
// call's never change).
func (rt *router) call(ctx context.Context, id string) (callRoute, error) {
	if r, ok := rt.calls[id]; ok {
		return r, nil
	}
	evs, err := rt.store.ReadStream(ctx, events.CallStream(id), 0, events.Forward, 1)
	if err != nil {
		return callRoute{}, err
	}
	if len(evs) == 0 {
		return callRoute{}, events.Errorf(events.NotFound, "call %s has no events", id)
	}
	d, err := events.Decode(&evs[0])
	if err != nil {
		return callRoute{}, err
	}
	rec, ok := d.(*events.CallRecorded)
	if !ok {
		return callRoute{}, events.Errorf(events.Internal, "call %s starts with %s, not CallRecorded", id, evs[0].Type)
	}
	r := callRoute{rec.CustomerID, rec.StaffID}
	rt.setCall(id, r)
	return r, nil
}

func (rt *router) setCall(id string, r callRoute) {
	if len(rt.calls) >= routeCacheMax {
		clear(rt.calls)
	}
	rt.calls[id] = r
}

// message computes an event's topics and opened data. need are the topic
// kinds some receiver holds: routing looks up only what one of them can
// match. When the data cannot be opened, or a look-up fails, the message
// carries the error and the kinds it could not settle (route closes the
// clients it may concern: none may miss an event silently).
func (s *Server) message(ctx context.Context, env *events.Envelope, rt *router, need kinds) liveMsg {
	d, err := s.decoder()(ctx, env)
	if events.ErrorCode(err) == events.NotFound {
		err = nil // an erased customer's event: personal fields read as erased
	}
	msg := liveMsg{Position: env.Position, Stream: env.Stream, Type: env.Type, ID: env.ID.String(),
		RecordedAt: env.RecordedAt, Topics: []string{"log"}, Data: d}
	if err != nil {
		// Every receiver of the event would miss its data.
		msg.Data, msg.noData = nil, true
		msg.fail(err, 0)
	}
	cat, id := events.StreamID(env.Stream)
	customer, rep := "", ""
	switch cat {
	case events.CategoryCustomer:
		customer = id
	case events.CategoryQAForm, events.CategoryCalibration:
		msg.Topics = append(msg.Topics, "qa")
	case events.CategorySettings:
		if env.Stream == events.SamplingSettingsStream {
			msg.Topics = append(msg.Topics, "qa")
		}
	case events.CategoryCall:
		// By type, so that what does not depend on the data holds when it
		// cannot be opened.
		switch env.Type {
		case (*events.CallRecorded)(nil).EventType(), (*events.CallSelectedForReview)(nil).EventType(),
			(*events.ReviewAcknowledged)(nil).EventType(), (*events.ReviewDisputed)(nil).EventType(),
			(*events.DisputeResolved)(nil).EventType():
			msg.Topics = append(msg.Topics, "qa")
		case (*events.CallReviewed)(nil).EventType():
			msg.Topics = append(msg.Topics, "qa")
			if dd, ok := d.(*events.CallReviewed); ok && len(dd.CoachingPoints) > 0 {
				msg.Topics = append(msg.Topics, "coaching")
			} else if !ok {
				msg.fail(err, kindCoaching)
			}
		case (*events.CoachingAcknowledged)(nil).EventType(), (*events.CoachingFollowedUp)(nil).EventType():
			msg.Topics = append(msg.Topics, "coaching")
		default:
			if err != nil {
				msg.fail(err, kindQA|kindCoaching)
			}
		}
		if rec, ok := d.(*events.CallRecorded); ok {
			customer, rep = rec.CustomerID, rec.StaffID
			rt.setCall(id, callRoute{customer, rep})
		} else if env.Type == (*events.CallRecorded)(nil).EventType() {
			msg.fail(err, kindCustomer|kindAdvisor|kindRep)
		} else if need&(kindCustomer|kindAdvisor|kindRep) != 0 {
			r, lerr := rt.call(ctx, id)
			if lerr != nil {
				s.Logger.Error("live: cannot route a call event", "position", env.Position.String(), "err", lerr)
				msg.fail(lerr, kindCustomer|kindAdvisor|kindRep)
			}
			customer, rep = r.customer, r.rep
		}
	}
	if rep != "" {
		msg.Topics = append(msg.Topics, "rep:"+rep)
	}
	if customer == "" {
		return msg
	}
	msg.Topics = append(msg.Topics, "customer:"+customer)
	assigned := cat == events.CategoryCustomer && env.Type == (*events.AdvisorAssigned)(nil).EventType()
	prev := ""
	if need&kindAdvisor != 0 {
		a, lerr := rt.advisor(ctx, customer, env.Position)
		if lerr != nil {
			s.Logger.Error("live: cannot route an event to its advisor", "position", env.Position.String(), "err", lerr)
			msg.fail(lerr, kindAdvisor)
		}
		if prev = a; prev != "" {
			msg.Topics = append(msg.Topics, "advisor:"+prev)
		}
	}
	if assigned {
		if adv, ok := d.(*events.AdvisorAssigned); ok {
			rt.setAdvisor(customer, adv.AdvisorID)
			if adv.AdvisorID != prev {
				msg.Topics = append(msg.Topics, "advisor:"+adv.AdvisorID)
			}
		} else {
			delete(rt.advisors, customer)
			msg.fail(err, kindAdvisor)
		}
	}
	return msg
}

// fail records why a message cannot be delivered as it should, and the
// topic kinds it may have had but could not settle.
func (m *liveMsg) fail(err error, unsettled kinds) {
	if m.err == nil {
		m.err = err
	}
	if m.err == nil {
		m.err = events.Errorf(events.Internal, "%s at %s: unexpected data", m.Type, m.Position)
	}
	m.unsettled |= unsettled
}

// route returns what c receives of msg, and whether c must be closed
// instead: msg cannot be delivered as it should and may concern c.
func (c *client) route(msg liveMsg) (m liveMsg, deliver, fail bool) {
	m, match := c.filter(msg)
	if c.kinds&msg.unsettled != 0 || match && msg.noData {
		return m, false, true
	}
	return m, match, false
}

// filter returns msg with only the client's topics, and whether any matched.
func (c *client) filter(msg liveMsg) (liveMsg, bool) {
	if c.othersQA(msg) {
		return msg, false
	}
	var topics []string
	for _, t := range msg.Topics {
		if c.topics[t] {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return msg, false
	}
	msg.Topics = topics
	if sc, ok := msg.Data.(*events.CalibrationScored); ok && !c.topics["log"] {
		// A calibration is scored blind: the qa topic, which evaluators
		// read, says who scored, never what (the log topic is auditors').
		msg.Data = map[string]string{"sessionId": sc.SessionID, "evaluatorId": sc.EvaluatorID}
	}
	return msg, true
}

// othersQA reports whether msg is the QA of another rep's call (its
// selection, reviews, acknowledgements, disputes, coaching) and c a rep's
// or private banker's: their customer and advisor topics carry only the
// recording of such a call, as GET /v1/calls/{id} shows them none of it.
func (c *client) othersQA(msg liveMsg) bool {
	if c.p.Role != roleRep && c.p.Role != rolePB {
		return false
	}
	if cat, _ := events.StreamID(msg.Stream); cat != events.CategoryCall || msg.Type == (*events.CallRecorded)(nil).EventType() {
		return false
	}
	return !slices.Contains(msg.Topics, "rep:"+c.p.StaffID)
}

// mayRead reports whether a principal may subscribe to topic.
func mayRead(p Principal, topic string) bool {
	kind, id, _ := strings.Cut(topic, ":")
	switch p.Role {
	case roleAuditor:
		return true
	case roleSupervisor, roleCentreHead:
		return kind != "log"
	case roleRep, rolePB:
		return kind == "customer" || (kind == "advisor" || kind == "rep") && id == p.StaffID
	}
	return false
}

func validTopic(t string) bool {
	switch t {
	case "qa", "coaching", "log":
		return true
	}
	kind, id, ok := strings.Cut(t, ":")
	return ok && (kind == "customer" || kind == "advisor" || kind == "rep") && events.ValidID(id)
}
