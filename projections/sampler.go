package projections

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// SamplerPolicy is the server's built-in QA sampling plan (version 0, in
// force until the first SamplingPlanPublished) and the time zone of the
// sampler's days and weeks (docs/qa-sampling.md). Under a plan, a call is
// selected for review when:
//   - new_rep: it is one of the first NewRepCalls calls its rep ever recorded;
//   - long_call: it lasted at least LongCallSec seconds (0: off);
//   - complaint: its customer logged a complaint contact within
//     ComplaintDays−1 days (in Location) before or after the call's day
//     (1: the same day; 0: off), before or after the call in the log;
//   - random_sample: it is among the PerRepWeek calls of its rep in the ISO
//     week it started in (in Location) with the lowest SHA-256 of the call
//     id, drawn when the log reaches the next week; a call recorded after
//     its week was drawn is selected only while that rep-week has fewer
//     than PerRepWeek random samples. So a rep-week never gets more than
//     PerRepWeek, and gets exactly that many once it holds that many
//     eligible calls, however late they arrive.
//
// The plan that judges a call is the one in force where its CallRecorded
// is in the log; the weekly draw takes the plan in force when the log
// reaches the next week. Every selection names that plan's version
// (CallSelectedForReview.planVersion). Every rule and every plan is a
// function of the log alone, so replay decides the same.
type SamplerPolicy struct {
	NewRepCalls   int
	LongCallSec   int
	PerRepWeek    int
	ComplaintDays int
	Location      *time.Location
}

// DefaultSamplerPolicy: first 5 calls, calls of 15 minutes or more, 3 random
// calls per rep per week, complaints of the same day, days in Korea
// Standard Time.
func DefaultSamplerPolicy() SamplerPolicy {
	return SamplerPolicy{NewRepCalls: 5, LongCallSec: 900, PerRepWeek: 3, ComplaintDays: 1, Location: time.FixedZone("KST", 9*3600)}
}

// Plan returns the policy's rules as the built-in sampling plan, version 0
// (what GET /v1/qa/sampling-plan serves before any plan was published).
func (p SamplerPolicy) Plan() SamplingPlan {
	return SamplingPlan{NewRepCalls: p.NewRepCalls, PerRepWeek: p.PerRepWeek, LongCallSec: p.LongCallSec, ComplaintDays: p.ComplaintDays}
}

// Sampler is the reactor that decides CallSelectedForReview. Like every
// Reactor it is driven from one goroutine: Apply, Due and Flush are not
// safe for concurrent use.
type Sampler struct {
	policy SamplerPolicy
	store  Appender // for Flush only

	plan      events.SamplingPlanPublished        // the plan in force (version 0: the policy's)
	widest    int                                 // the largest complaintDays of any plan so far
	repCalls  map[string]int                      // rep → calls recorded
	selected  map[string]bool                     // call ids with a selection in the log
	pending   map[string]pendingSelection         // decided, not yet seen in the log
	handed    map[string]bool                     // handed out by Due, not yet seen
	due       dueQueue                            // call ids for Due to look at
	dayCalls  map[dayKey][]sampledCall            // customer's day → calls that day
	complaint map[dayKey]bool                     // customer's day → a complaint was logged
	pools     map[string]map[string][]sampledCall // open ISO week → rep → calls
	drawn     map[string]int                      // drawn ISO week|rep → random samples decided
	pruneAt   int                                 // dayCalls is pruned when it grows past this
	prunes    int                                 // how many times it was (for tests)
}

// dayKey is a customer's calendar day in the policy's Location, as days
// since 1970-01-01.
type dayKey struct {
	customer string
	day      int64
}

type sampledCall struct {
	id    string
	hash  uint64
	call  ulid.ULID // the CallRecorded event's id
	cause ulid.ULID
	at    time.Time
	plan  int // the version of the plan in force at its CallRecorded
	days  int // that plan's complaintDays
}

type pendingSelection struct {
	reason string
	plan   int       // the version of the plan that chose it
	call   ulid.ULID // the decision's event id derives from it: one per call
	cause  ulid.ULID
	at     time.Time
}

// NewSampler returns a sampler; Flush appends through store (a Runner
// appends through its own RunnerOptions.Appender instead).
func NewSampler(p SamplerPolicy, store Appender) *Sampler {
	if p.Location == nil {
		p.Location = time.UTC
	}
	builtIn := events.SamplingPlanPublished{NewRepCalls: p.NewRepCalls, PerRepWeek: p.PerRepWeek, LongCallSec: p.LongCallSec,
		ComplaintDays: p.ComplaintDays}
	return &Sampler{policy: p, store: store, plan: builtIn, widest: p.ComplaintDays, repCalls: map[string]int{},
		selected: map[string]bool{}, pending: map[string]pendingSelection{}, handed: map[string]bool{},
		dayCalls: map[dayKey][]sampledCall{}, complaint: map[dayKey]bool{}, pools: map[string]map[string][]sampledCall{},
		drawn: map[string]int{}, pruneAt: 4096}
}

// Name returns "sampler".
func (*Sampler) Name() string { return "sampler" }

func callHash(id string) uint64 {
	h := sha256.Sum256([]byte(id))
	return binary.BigEndian.Uint64(h[:8])
}

func isoWeekOf(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// dayOf returns t's calendar day in the policy's Location.
func (s *Sampler) dayOf(t time.Time) int64 {
	y, m, d := t.In(s.policy.Location).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// Apply folds plans, calls, complaints and selections into the sampler's
// decisions.
func (s *Sampler) Apply(e Event) {
	s.closeWeeks(e.RecordedAt)
	switch d := e.Data.(type) {
	case *events.SamplingPlanPublished:
		s.plan = *d
		s.plan.Note = ""
		s.widest = max(s.widest, d.ComplaintDays)
	case *events.CallRecorded:
		s.record(e, d)
	case *events.ContactLogged:
		if d.Purpose == "complaint" {
			s.complain(e, d)
		}
	case *events.CallSelectedForReview:
		_, id := e.StreamID()
		s.selected[strings.Clone(id)] = true
		// Only the sampler's own selection clears its decision: a
		// supervisor's selection of a call already drawn (or decided for
		// another reason) must not take a random sample from its rep-week.
		if e.Actor.ID == events.System("sampler").ID {
			delete(s.pending, id)
			delete(s.handed, id)
		}
	}
}

// record judges a call by the plan in force.
func (s *Sampler) record(e Event, d *events.CallRecorded) {
	p := s.plan
	c := sampledCall{id: d.CallID, hash: callHash(d.CallID), call: e.ID, cause: e.ID, at: e.RecordedAt, plan: p.Version, days: p.ComplaintDays}
	s.repCalls[d.StaffID]++
	day := dayKey{d.CustomerID, s.dayOf(d.StartedAt)}
	s.dayCalls[day] = append(s.dayCalls[day], c)
	switch {
	case s.repCalls[d.StaffID] <= p.NewRepCalls:
		s.decide(c, "new_rep", p.Version)
	case p.LongCallSec > 0 && d.DurationSec >= p.LongCallSec:
		s.decide(c, "long_call", p.Version)
	case s.complainedNear(day, p.ComplaintDays):
		s.decide(c, "complaint", p.Version)
	default:
		week := isoWeekOf(d.StartedAt, s.policy.Location)
		if week < isoWeekOf(e.RecordedAt, s.policy.Location) {
			// Its week was drawn already (or had no call to draw):
			// it fills the rep-week's sample up to its plan's K.
			if k := week + "|" + d.StaffID; s.drawn[k] < p.PerRepWeek {
				s.decide(c, "random_sample", p.Version)
				s.drawn[k]++
			}
			return
		}
		if s.pools[week] == nil {
			s.pools[week] = map[string][]sampledCall{}
		}
		s.pools[week][d.StaffID] = append(s.pools[week][d.StaffID], c)
	}
}

// complainedNear reports whether the customer of day logged a complaint
// within days−1 days of it.
func (s *Sampler) complainedNear(day dayKey, days int) bool {
	for k := 1 - days; k < days; k++ {
		if s.complaint[dayKey{day.customer, day.day + int64(k)}] {
			return true
		}
	}
	return false
}

// complain selects the customer's calls near the complaint's day, each by
// the complaintDays of the plan it was recorded under.
func (s *Sampler) complain(e Event, d *events.ContactLogged) {
	_, customer := e.StreamID()
	day := dayKey{strings.Clone(customer), s.dayOf(d.OccurredAt)}
	s.complaint[day] = true
	for k := 1 - s.widest; k < s.widest; k++ {
		for _, c := range s.dayCalls[dayKey{day.customer, day.day + int64(k)}] {
			if k < c.days && -k < c.days {
				c.cause, c.at = e.ID, e.RecordedAt
				s.decide(c, "complaint", c.plan)
			}
		}
	}
}

// decided reports whether the call is selected in the log or decided for
// another reason and not yet appended: both count, so the draw sees the same
// calls whether or not a selection has come back through the log yet.
func (s *Sampler) decided(id string) bool {
	_, ok := s.pending[id]
	return ok || s.selected[id]
}

func (s *Sampler) decide(c sampledCall, reason string, plan int) {
	if s.decided(c.id) {
		return
	}
	s.pending[c.id] = pendingSelection{reason: reason, plan: plan, call: c.call, cause: c.cause, at: c.at}
	s.due.push(c.id)
}

// closeWeeks draws the random samples of every week before now's week,
// under the plan in force, and forgets per-day state older than the widest
// complaint window needs.
func (s *Sampler) closeWeeks(now time.Time) {
	current := isoWeekOf(now, s.policy.Location)
	k, version := s.plan.PerRepWeek, s.plan.Version
	for week, reps := range s.pools {
		if week >= current {
			continue
		}
		for rep, calls := range reps {
			slices.SortFunc(calls, func(a, b sampledCall) int {
				if a.hash != b.hash {
					if a.hash < b.hash {
						return -1
					}
					return 1
				}
				if a.id < b.id {
					return -1
				}
				return 1
			})
			rw := week + "|" + rep
			for _, c := range calls {
				if s.drawn[rw] >= k {
					break
				}
				if !s.decided(c.id) {
					s.decide(c, "random_sample", version)
					s.drawn[rw]++
				}
			}
		}
		delete(s.pools, week)
	}
	if len(s.dayCalls) > s.pruneAt {
		// A complaint of today can select calls widest−1 days back, and
		// one logged a day late still finds them.
		cutoff := s.dayOf(now) - int64(max(2, s.widest+1))
		for dk := range s.dayCalls {
			if dk.day < cutoff {
				delete(s.dayCalls, dk)
			}
		}
		for dk := range s.complaint {
			if dk.day < cutoff {
				delete(s.complaint, dk)
			}
		}
		// When the last days alone hold more customer-days than the
		// threshold, scanning again at every event would make the fold
		// quadratic: the next scan waits until the map has doubled. The
		// threshold is a function of the log, so a replay prunes alike.
		s.pruneAt = max(4096, 2*len(s.dayCalls))
		s.prunes++
	}
}

// Pending returns the call ids decided but not yet in the log, sorted.
func (s *Sampler) Pending() []string {
	ids := make([]string, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Due hands out up to max CallSelectedForReview decisions (see Reactor).
// Its first call starts on what the replay left pending, in call id order;
// later calls go on with what was decided since, in the order it was
// decided.
func (s *Sampler) Due(max int) []Decision {
	if !s.due.started {
		s.due.start(slices.Collect(maps.Keys(s.pending)))
	}
	var out []Decision
	for len(out) < max {
		id, ok := s.due.pop()
		if !ok {
			break
		}
		p, ok := s.pending[id]
		if !ok || s.handed[id] {
			continue // selected by someone else meanwhile, or handed out
		}
		s.handed[id] = true
		out = append(out, Decision{Stream: events.CallStream(id), Data: &events.CallSelectedForReview{Reason: p.reason, PlanVersion: p.plan},
			Meta: events.Meta{ID: DerivedID("sampler", p.call, p.at), Actor: events.System("sampler"), CausationID: p.cause.String()}})
	}
	return out
}

// Flush appends every decision due through the sampler's store (see the
// package's Flush); for callers that drive the sampler by hand.
func (s *Sampler) Flush(ctx context.Context) error { return Flush(ctx, s.store, s) }
