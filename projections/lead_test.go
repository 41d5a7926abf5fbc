package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

var leadNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func leadDecode(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }

func leadStore(t testing.TB) *bolt.Store {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(leadNow)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func leadAppend(t testing.TB, s events.Store, stream string, exp events.ExpectedVersion, ds ...events.Data) {
	t.Helper()
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}})
		if err != nil {
			t.Fatalf("%T: %v", d, err)
		}
		evs[i] = e
	}
	if _, err := s.Append(context.Background(), stream, exp, evs...); err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
}

func i64(v int64) *int64 { return &v }
func pint(v int) *int    { return &v }

// leadLog appends a seeded, varied log: customers with every kind of
// customer event, and calls with reviews and coaching.
func leadLog(t testing.TB, s events.Store, seed uint64, customers int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	day := func(n int) time.Time { return leadNow.AddDate(0, 0, -n) }
	for c := range customers {
		id := fmt.Sprintf("C%04d", c)
		leadAppend(t, s, events.CustomerStream(id), events.NoStream,
			&events.CustomerRegistered{CustomerID: id, Name: fmt.Sprintf("고객%d", c), BranchID: "B001", Source: events.Source{System: "core"}},
			&events.AdvisorAssigned{AdvisorID: fmt.Sprintf("R%d", c%4), Kind: "call_centre_rep"})
		for range rng.IntN(8) {
			var d events.Data
			switch rng.IntN(7) {
			case 0:
				d = &events.ContactLogged{Channel: "phone_outbound", Purpose: events.ContactPurposes[rng.IntN(6)], Summary: "s", OccurredAt: day(rng.IntN(200))}
			case 1:
				d = &events.ProductPitched{Product: fmt.Sprintf("P%d", rng.IntN(3)), Channel: "branch",
					Outcome: events.PitchOutcomes[rng.IntN(4)], FollowUpOn: day(rng.IntN(30) - 15).Format(time.DateOnly)}
			case 2:
				d = &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(rng.Int64N(200_000_000)),
					ProfitContribution: i64(rng.Int64N(3_000_000) - 100_000), Currency: "KRW"}
			case 3:
				d = &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: day(-rng.IntN(90)).Format(time.DateOnly)}
			case 4:
				d = &events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: &[]bool{rng.IntN(2) == 0}[0]}
			case 5:
				d = &events.ProfileVerified{Channel: "branch"}
			case 6:
				d = &events.CustomerRequestNoted{Text: "요청", Category: "mobile"}
			}
			leadAppend(t, s, events.CustomerStream(id), events.Any, d)
		}
	}
	for k := range customers / 2 {
		call := fmt.Sprintf("K%04d", k)
		leadAppend(t, s, events.CallStream(call), events.NoStream, &events.CallRecorded{CallID: call,
			CustomerID: fmt.Sprintf("C%04d", k), StaffID: fmt.Sprintf("R%d", k%4), Direction: "outbound", StartedAt: day(k % 20),
			DurationSec: 60 + k, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", k), ContentType: "audio/wav", Bytes: 100}})
		if k%3 == 0 {
			items := []events.ReviewItem{{Criterion: "a", Weight: 1, Score: pint(k % 6), Max: 5}}
			leadAppend(t, s, events.CallStream(call), events.Any,
				&events.CallSelectedForReview{Reason: "requested", SupervisorID: "S1"},
				&events.CallReviewed{ReviewerID: "S1", FormID: "F1", Items: items, Total: events.ReviewTotal(items),
					CoachingPoints: []events.CoachingPointRaised{{PointID: "PT" + call, Criterion: "a", Note: "n", FollowUpDue: day(k%40).AddDate(0, 1, 0)}}},
				&events.CoachingAcknowledged{PointID: "PT" + call, StaffID: fmt.Sprintf("R%d", k%4)})
			if k%2 == 0 {
				leadAppend(t, s, events.CallStream(call), events.Any, &events.CoachingFollowedUp{PointID: "PT" + call, CheckerID: "H1",
					Outcome: "not_improved", NextFollowUpDue: day(-10)})
			}
		}
	}
}

// leadState renders every query of a read store at leadNow as JSON.
func leadState(t testing.TB, m *projections.Memory) string {
	ctx := context.Background()
	var parts []any
	after := ""
	for {
		page, next, _ := m.CustomerList(ctx, projections.CustomerFilter{After: after, Limit: 100}, leadNow)
		for _, c := range page {
			v, _ := m.Customer(ctx, c.ID, leadNow)
			parts = append(parts, v)
		}
		if next == "" {
			break
		}
		after = next
	}
	for a := range 4 {
		w, _ := m.Worklist(ctx, fmt.Sprintf("R%d", a), leadNow, projections.WorklistOptions{})
		parts = append(parts, w)
	}
	q, _ := m.QAQueue(ctx, "")
	co, _ := m.Coaching(ctx, projections.CoachingFilter{}, leadNow)
	parts = append(parts, q, co)
	for _, name := range projections.ReportNames {
		r, _ := m.Report(ctx, name, leadNow)
		parts = append(parts, r)
	}
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func leadReplay(t testing.TB, s events.Store, batch int) *projections.Memory {
	m := projections.NewMemory()
	r := projections.NewRunner(s, leadDecode, m.Projections(), nil, projections.RunnerOptions{MaxBatch: batch})
	m.Attach(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.CaughtUp():
	case <-time.After(60 * time.Second):
		t.Fatal("hang: replay did not catch up")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReplayIsDeterministic(t *testing.T) {
	s := leadStore(t)
	leadLog(t, s, 42, 300)
	one := leadState(t, leadReplay(t, s, 1))
	big := leadState(t, leadReplay(t, s, 1000))
	again := leadState(t, leadReplay(t, s, 37))
	if one != big || one != again {
		t.Fatal("replays with batch sizes 1, 1000 and 37 gave different read models")
	}
	// A direct single-pass fold without the runner gives the same too.
	m := projections.NewMemory()
	all, _ := s.ReadAll(context.Background(), events.Start, 1<<20)
	for i := range all {
		d, _ := events.Decode(&all[i])
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
	}
	if leadState(t, m) != one {
		t.Fatal("a direct fold differs from the runner's")
	}
	if len(one) < 10000 {
		t.Fatalf("state suspiciously small (%d bytes): the generator made nothing", len(one))
	}
}

func TestAsOfEqualsLiveAtSamePoint(t *testing.T) {
	s := leadStore(t)
	leadLog(t, s, 7, 40)
	ctx := context.Background()
	all, _ := s.ReadAll(ctx, events.Start, 1<<20)
	m := projections.NewMemory()
	checked := 0
	for i := range all {
		d, _ := events.Decode(&all[i])
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
		cat, id := events.StreamID(all[i].Stream)
		if cat != events.CategoryCustomer {
			continue
		}
		live, err := m.Customer(ctx, id, leadNow)
		if err != nil {
			t.Fatal(err)
		}
		past, err := projections.CustomerAsOf(ctx, s, leadDecode, id, projections.AsOf{Position: all[i].Position}, leadNow)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(live)
		b, _ := json.Marshal(past)
		if string(a) != string(b) {
			t.Fatalf("as of %v customer %s:\n live %s\n asof %s", all[i].Position, id, a, b)
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d points checked", checked)
	}
}

func leadCount(t testing.TB, s events.Store, typ string) int {
	all, err := s.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestReactorsIdempotentOnRestart runs the sampler and segmentation, then
// "restarts" with fresh reactors over the same log: nothing is appended twice.
func TestReactorsIdempotentOnRestart(t *testing.T) {
	s := leadStore(t)
	for k := range 12 {
		call := fmt.Sprintf("K%02d", k)
		leadAppend(t, s, events.CallStream(call), events.NoStream, &events.CallRecorded{CallID: call, CustomerID: "C1",
			StaffID: fmt.Sprintf("R%d", k%2), Direction: "inbound", StartedAt: leadNow.Add(-time.Duration(k) * time.Hour),
			DurationSec: 100, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", k), ContentType: "audio/wav", Bytes: 1}})
	}
	for c, dep := range []int64{500_000_000, 40_000_000, 1_000} {
		id := fmt.Sprintf("C%d", c)
		leadAppend(t, s, events.CustomerStream(id), events.NoStream,
			&events.CustomerRegistered{CustomerID: id, Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
			&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(dep), ProfitContribution: i64(0), Currency: "KRW"})
	}
	run := func() {
		pol := projections.DefaultSamplerPolicy()
		reactors := []projections.Reactor{projections.NewSampler(pol, s), projections.NewSegmenter(projections.DefaultTierRule(), s)}
		r := projections.NewRunner(s, leadDecode, nil, reactors, projections.RunnerOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		// Idle: nothing left to append, and the reactors' own events came
		// back through the runner. The bound only detects a hang.
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if err := r.WaitReactorsIdle(wctx); err != nil {
			t.Fatalf("reactors never idle: %v", err)
		}
		if h, _ := s.Head(ctx); r.Position() != h {
			t.Fatalf("idle at %v, head %v", r.Position(), h)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run()
	sel, tiers := leadCount(t, s, "CallSelectedForReview"), leadCount(t, s, "TierAssigned")
	// 5 first calls of each of the 2 reps are new_rep selections.
	if sel != 10 || tiers != 3 {
		t.Fatalf("first run: %d selections, %d tier assignments; want 10 and 3", sel, tiers)
	}
	run()
	run()
	if s2, t2 := leadCount(t, s, "CallSelectedForReview"), leadCount(t, s, "TierAssigned"); s2 != sel || t2 != tiers {
		t.Fatalf("restarts appended again: %d→%d selections, %d→%d tiers", sel, s2, tiers, t2)
	}
	// Same financials again: the tier does not change, nothing is written.
	leadAppend(t, s, events.CustomerStream("C0"), events.Any,
		&events.FinancialsReported{AsOf: "2026-11-30", DepositBalance: i64(600_000_000), ProfitContribution: i64(0), Currency: "KRW"})
	run()
	if t3 := leadCount(t, s, "TierAssigned"); t3 != tiers {
		t.Fatalf("an unchanged tier was assigned again: %d→%d", tiers, t3)
	}
}

func TestCoachingLifecycleAndOverdue(t *testing.T) {
	c := projections.NewCalls()
	at := func(v uint64, d events.Data, when time.Time) {
		env := &events.Envelope{ID: events.NewID(), Stream: "call-K1", Version: v, Position: events.At(v + 1), RecordedAt: when,
			Actor: events.Actor{ID: "x"}}
		c.Apply(projections.Event{Envelope: env, Data: d})
	}
	t0 := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	due := events.AddOneMonth(t0)
	items := []events.ReviewItem{{Criterion: "a", Weight: 1, Score: pint(2), Max: 5}}
	at(0, &events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R1", Direction: "inbound", StartedAt: t0, DurationSec: 60}, t0)
	at(1, &events.CallSelectedForReview{Reason: "random_sample"}, t0)
	if q := c.Queue(""); len(q) != 1 {
		t.Fatalf("queue %v", q)
	}
	at(2, &events.CallReviewed{ReviewerID: "S1", FormID: "F", Items: items, Total: 40,
		CoachingPoints: []events.CoachingPointRaised{{PointID: "P1", Criterion: "a", Note: "n", FollowUpDue: due}}}, t0)
	for _, tc := range []struct {
		step    func()
		now     time.Time
		status  string
		overdue bool
		due     time.Time
	}{
		{func() {}, t0, "open", false, time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)},
		{func() { at(3, &events.CoachingAcknowledged{PointID: "P1", StaffID: "R1"}, t0.Add(time.Hour)) }, due.Add(time.Hour), "acknowledged", true, due},
		{func() {
			at(4, &events.CoachingFollowedUp{PointID: "P1", CheckerID: "H1", Outcome: "not_improved", NextFollowUpDue: events.AddOneMonth(due)}, due)
		}, due.Add(time.Hour), "not_improved", false, events.AddOneMonth(due)},
		{func() {
			at(5, &events.CoachingFollowedUp{PointID: "P1", CheckerID: "H1", Outcome: "improved"}, due.AddDate(0, 2, 0))
		},
			due.AddDate(1, 0, 0), "improved", false, events.AddOneMonth(due)},
	} {
		tc.step()
		p, ok := c.Point("P1", tc.now)
		if !ok || p.Status != tc.status || p.Overdue != tc.overdue || !p.FollowUpDue.Equal(tc.due) {
			t.Fatalf("point %+v; want status %s overdue %v due %v", p, tc.status, tc.overdue, tc.due)
		}
	}
	if q := c.Queue(""); len(q) != 0 {
		t.Fatalf("reviewed call still queued: %v", q)
	}
	if r := c.CoachingReport(t0); r.Checks != 2 || r.Improved != 1 || r.Rate != 0.5 {
		t.Fatalf("coaching report %+v", r)
	}
}

func TestStaleAndWorklistReasons(t *testing.T) {
	cs := projections.NewCustomers()
	v := uint64(0)
	apply := func(d events.Data, when time.Time) {
		env := &events.Envelope{ID: events.NewID(), Stream: "customer-C1", Version: v, Position: events.At(v + 1), RecordedAt: when, Actor: events.Actor{ID: "R1"}}
		v++
		cs.Apply(projections.Event{Envelope: env, Data: d})
	}
	reg := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	apply(&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1"}, reg)
	apply(&events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"}, reg)
	for _, tc := range []struct {
		now   time.Time
		stale bool
	}{{reg.AddDate(0, 2, 0), false}, {reg.AddDate(0, 2, 0).Add(time.Second), true}} {
		if got, _ := cs.Customer("C1", tc.now); got.Stale != tc.stale {
			t.Fatalf("at %v stale=%v, want %v", tc.now, got.Stale, tc.stale)
		}
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	apply(&events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2026-06-20"}, now)
	apply(&events.ProductPitched{Product: "LOAN", Channel: "branch", Outcome: "considering", FollowUpOn: "2026-05-30"}, now)
	w := cs.Worklist("R1", now, projections.WorklistOptions{LifeEventWithinDays: 30, NoContactDays: 90})
	if len(w) != 1 || fmt.Sprint(w[0].Reasons) != "[stale_data life_event_soon pitch_follow_up_due no_recent_contact]" {
		t.Fatalf("worklist %+v", w)
	}
	apply(&events.ProfileVerified{Channel: "branch"}, now)
	apply(&events.ContactLogged{Channel: "branch", Purpose: "advice", OccurredAt: now}, now)
	apply(&events.ProductPitched{Product: "LOAN", Channel: "branch", Outcome: "accepted"}, now)
	w = cs.Worklist("R1", now.AddDate(0, 0, 1), projections.WorklistOptions{LifeEventWithinDays: 10, NoContactDays: 90})
	if len(w[0].Reasons) != 0 {
		t.Fatalf("reasons after verification, contact and acceptance: %v", w[0].Reasons)
	}
	apply(&events.AdvisorAssigned{AdvisorID: "R2", Kind: "call_centre_rep"}, now)
	if len(cs.Worklist("R1", now, projections.WorklistOptions{})) != 0 || len(cs.Worklist("R2", now, projections.WorklistOptions{})) != 1 {
		t.Fatal("reassignment did not move the customer between books")
	}
	apply(&events.PersonalDataErased{Reason: "request", RequestedBy: "C1"}, now)
	if got, _ := cs.Customer("C1", now); got.Name != projections.Erased {
		t.Fatalf("after erasure name=%q", got.Name)
	}
}

func TestTierReportConcentration(t *testing.T) {
	cs := projections.NewCustomers()
	for i := range 100 {
		id := fmt.Sprintf("C%03d", i)
		profit := int64(10) // 93 customers share 10% of profit
		if i < 7 {
			profit = 1196 // 7 customers hold ~90%
		}
		for v, d := range []events.Data{
			&events.CustomerRegistered{CustomerID: id, Name: "x", BranchID: "B1"},
			&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(1), ProfitContribution: i64(profit), Currency: "KRW"},
		} {
			cs.Apply(projections.Event{Envelope: &events.Envelope{Stream: "customer-" + id, Version: uint64(v)}, Data: d})
		}
	}
	r := cs.TierReport([]float64{7})
	if r.Customers != 100 || r.Concentration[0].Share < 0.89 || r.Concentration[0].Share > 0.91 {
		t.Fatalf("tier report %+v", r)
	}
}
