// Package seed generates a deterministic synthetic bank shaped like the
// case in shared/DESIGN.md, appended through the ordinary Store API.
package seed

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// Sink is where generated events go (an events.Store).
type Sink interface {
	Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error)
}

// Config sizes the bank. The same Config always generates the same events.
type Config struct {
	Customers int       // 1,000 to 4,000,000
	Seed      uint64    // the generator's seed
	Months    int       // months of financials and activity (default 3)
	End       time.Time // the simulated "today" (default 2026-11-01 UTC)
	Workers   int       // customers generated at once (default 16)
	// Seal encrypts a customer's personal fields (pii.Sealer.SealFor); nil
	// stores them in clear.
	Seal func(customerID string) func(events.Personal) error
	// Progress, if set, is called with the customers done so far.
	Progress func(done int)
	// Phase, if set, is called before each phase of the campaigns that
	// follows the customers' history (PhaseLaunch, PhaseActivity,
	// PhaseAmend, PhaseLater), so that a test whose store clock it moves
	// records them on different days (docs/campaigns.md); without it
	// everything is recorded as it is appended.
	Phase func(name string)
}

// Stats tell what was generated.
type Stats struct {
	Events, Streams                        int64
	Reps, PrivateBankers, VIPs, Potentials int
}

// Proportions from the case at 4M customers: ~52,000 VIPs managed by PBs,
// ~40,000 potential VIPs managed by ~70 call-centre reps (≈600 each over
// 6–7 branches); the top 7% by profit bring ≈90% of it.
const (
	vipShare       = 0.013
	potentialShare = 0.010
	topShare       = 0.07
	perRep         = 600
	perPB          = 300
	branches       = 200
)

// coreSystem is core banking's name as a source system: the registrations'
// source.system and the actor (system:core) of what core sends. It is the
// name `dangol import --source core` gives core's records and the default
// survivorship priority ranks after the CRM (docs/provenance.md), so a
// seeded customer's registration claim survives as core's would.
const coreSystem = "core"

var family = []string{"김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황", "안", "송", "류", "홍"}
var given = []string{"민", "서", "준", "지", "현", "우", "수", "영", "하", "윤", "도", "예", "진", "은", "성", "재", "연", "희", "호", "경"}
var cities = []string{"서울특별시 강남구 테헤란로", "서울특별시 종로구 종로", "부산광역시 해운대구 해운대로", "대구광역시 수성구 동대구로",
	"인천광역시 남동구 인하로", "광주광역시 서구 상무대로", "대전광역시 유성구 대학로", "경기도 성남시 분당구 판교로"}
var products = []string{"DEPOSIT_PLUS", "FUND_GLOBAL", "LOAN_WEDDING", "LOAN_HOME", "PENSION_IRP", "CARD_PLATINUM", "ISA"}

// Generate appends the bank to sink and returns what it made.
func Generate(ctx context.Context, cfg Config, sink Sink) (Stats, error) {
	if cfg.Customers < 1 {
		return Stats{}, fmt.Errorf("seed: customers must be positive")
	}
	if cfg.Months <= 0 {
		cfg.Months = 3
	}
	if cfg.End.IsZero() {
		cfg.End = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	n := cfg.Customers
	st := Stats{Reps: max(2, int(math.Ceil(float64(n)*potentialShare/perRep))), PrivateBankers: max(1, int(math.Ceil(float64(n)*vipShare/perPB)))}
	g := &gen{cfg: cfg, sink: sink, st: &st}
	if b, ok := sink.(events.BatchAppender); ok {
		g.batch = newBatcher(b, &st)
	}
	err := g.generate(ctx)
	if g.batch != nil {
		g.batch.wg.Wait() // also after an error: no batch still counts into st once it is returned
	}
	return st, err
}

// generate appends the bank: its staff, forms, customers, calibration and
// marketing, then waits for what is queued (Generate's work).
func (g *gen) generate(ctx context.Context) error {
	cfg, n := g.cfg, g.cfg.Customers
	if err := g.staff(ctx); err != nil {
		return err
	}
	if err := g.forms(ctx); err != nil {
		return err
	}
	var done atomic.Int64
	err := g.parallel(ctx, n, func(i int) error {
		if err := g.customer(ctx, i); err != nil {
			return err
		}
		if d := done.Add(1); cfg.Progress != nil && d%10000 == 0 {
			cfg.Progress(int(d))
		}
		return nil
	})
	if err == nil {
		err = g.calibration(ctx)
	}
	if err == nil {
		g.sortProfiles()
		err = g.marketing(ctx)
	}
	if err == nil {
		err = g.drain(ctx)
	}
	return err
}

// drain waits until every stream flushed so far is on the log (a no-op
// where each flush is its own append).
func (g *gen) drain(ctx context.Context) error {
	if g.batch == nil {
		return nil
	}
	return g.batch.drain(ctx)
}

// parallel calls f for 0..n-1 from the configured number of workers and
// returns the first error (or the context's).
func (g *gen) parallel(ctx context.Context, n int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for range g.cfg.Workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first == nil {
		first = g.drain(ctx)
	}
	return first
}

type gen struct {
	cfg  Config
	sink Sink
	// batch, where sink is an events.BatchAppender, gathers the flushed
	// streams into batches of many (see batcher); nil: one Append each.
	batch *batcher
	st    *Stats
	mu    sync.Mutex
	// reviewedCalls are the ids of the calls reviewed (guarded by mu).
	reviewedCalls []string
	// profiles are the customers with campaign activity planned (guarded
	// by mu while the customers are generated).
	profiles []*profile
}

// stream collects one stream's events, with deterministic ids.
type stream struct {
	rng *rand.Rand
	evs []events.Event
	err error
}

// add adds d, entered at at (the time of its id), to the stream.
func (s *stream) add(d events.Data, at time.Time, actor events.Actor, seal func(events.Personal) error) {
	if s.err != nil {
		return
	}
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(at))
	for i := 6; i < 16; i++ {
		id[i] = byte(s.rng.Uint32())
	}
	e, err := events.NewEvent(d, events.Meta{ID: id, Actor: actor, Seal: seal})
	if err != nil {
		s.err = fmt.Errorf("seed: %T: %w", d, err)
		return
	}
	s.evs = append(s.evs, e)
}

// entry is an event of a stream before it is appended: when it happened
// and when it was entered, which orders the stream and dates its id.
type entry struct {
	d           events.Data
	at, entered time.Time
	actor       events.Actor
	seal        func(events.Personal) error
}

// entries are a stream's events in the making.
type entries []entry

// add adds d, which happened at at and is entered then.
func (es *entries) add(d events.Data, at time.Time, actor events.Actor, seal func(events.Personal) error) {
	*es = append(*es, entry{d: d, at: at, entered: at, actor: actor, seal: seal})
}

// late marks one event of type typ, picked with r, as entered one to thirty
// days after it happened, and never after end.
func (es entries) late(r *rand.Rand, typ string, end time.Time) {
	var of []int
	for i, e := range es {
		if e.d.EventType() == typ {
			of = append(of, i)
		}
	}
	if len(of) == 0 {
		return
	}
	e := &es[of[r.IntN(len(of))]]
	e.entered = e.at.AddDate(0, 0, 1+r.IntN(30))
	if e.entered.After(end) {
		e.entered = end
	}
}

// appendTo adds the entries to s in the order they were entered; entries
// of the same moment keep the order they were made in.
func (es entries) appendTo(s *stream) {
	slices.SortStableFunc(es, func(a, b entry) int { return a.entered.Compare(b.entered) })
	for _, e := range es {
		s.add(e.d, e.entered, e.actor, e.seal)
	}
}

// flush appends s's events to stream name, expecting the version given.
func (g *gen) flush(ctx context.Context, name string, expected events.ExpectedVersion, s *stream) error {
	if s.err != nil {
		return s.err
	}
	if len(s.evs) == 0 {
		return nil
	}
	if g.batch != nil {
		return g.batch.add(ctx, name, expected, s.evs)
	}
	if _, err := g.sink.Append(ctx, name, expected, s.evs...); err != nil {
		return fmt.Errorf("seed: %s: %w", name, err)
	}
	g.mu.Lock()
	g.st.Events += int64(len(s.evs))
	g.st.Streams++
	g.mu.Unlock()
	return nil
}

func (g *gen) rng(kind string, i int) *rand.Rand {
	h := uint64(i)*0x9E3779B97F4A7C15 ^ uint64(len(kind))<<56 ^ uint64(kind[0])<<48
	return rand.New(rand.NewPCG(g.cfg.Seed, h))
}

func repID(i int) string { return fmt.Sprintf("R%03d", i) }
func pbID(i int) string  { return fmt.Sprintf("PB%03d", i) }

func (g *gen) staff(ctx context.Context) error {
	start := g.cfg.End.AddDate(0, -g.cfg.Months-12, 0)
	sys := events.System("seed")
	add := func(i int, id, name, role string, branchIDs []string) error {
		s := &stream{rng: g.rng("staff", i)}
		s.add(&events.StaffRegistered{StaffID: id, Name: name, Role: role, BranchIDs: branchIDs}, start, sys, nil)
		return g.flush(ctx, events.StaffStream(id), events.NoStream, s)
	}
	k := 0
	for i := range g.st.Reps {
		var bs []string
		for b := range 6 + i%2 {
			bs = append(bs, fmt.Sprintf("B%03d", (i*7+b)%branches+1))
		}
		if err := add(k, repID(i), koreanName(g.rng("repname", i)), "rep", bs); err != nil {
			return err
		}
		k++
	}
	for i := range g.st.PrivateBankers {
		if err := add(k, pbID(i), koreanName(g.rng("pbname", i)), "private_banker", []string{fmt.Sprintf("B%03d", i%branches+1)}); err != nil {
			return err
		}
		k++
	}
	for i := range max(2, g.st.Reps/10) { // two at least: a calibration has three evaluators
		if err := add(k, fmt.Sprintf("S%02d", i), koreanName(g.rng("sup", i)), "supervisor", nil); err != nil {
			return err
		}
		k++
	}
	for i, r := range []string{"centre_head", "auditor", "admin"} {
		if err := add(k+i, fmt.Sprintf("X%d", i), koreanName(g.rng("x", i)), r, nil); err != nil {
			return err
		}
	}
	return add(k+3, marketer.ID, koreanName(g.rng("marketer", 0)), marketer.Role, nil)
}

func koreanName(r *rand.Rand) string {
	return family[r.IntN(len(family))] + given[r.IntN(len(given))] + given[r.IntN(len(given))]
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
