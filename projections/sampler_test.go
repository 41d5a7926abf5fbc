package projections_test

import (
	"context"
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

// samplerLog is a real store with a clock the test moves, and the sampler
// driven over it exactly as the runner drives a reactor: fold every new
// event, flush, until the log stops growing.
type samplerLog struct {
	t     *testing.T
	store *bolt.Store
	clock *eventstest.ManualClock
	week  map[string]string // call id → "ISO week|rep" it started in
	plans int               // sampling plan versions published
}

func newSamplerLog(t *testing.T, now time.Time) *samplerLog {
	l := &samplerLog{t: t, clock: eventstest.NewManualClock(now), week: map[string]string{}}
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: l.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l.store = s
	return l
}

// call records a short call of rep that started at started.
func (l *samplerLog) call(id, rep string, started time.Time) {
	y, w := started.In(time.FixedZone("KST", 9*3600)).ISOWeek()
	l.week[id] = fmt.Sprintf("%04d-W%02d|%s", y, w, rep)
	leadAppend(l.t, l.store, events.CallStream(id), events.NoStream, &events.CallRecorded{CallID: id, CustomerID: "C1",
		StaffID: rep, Direction: "outbound", StartedAt: started, DurationSec: 60,
		Recording: events.Recording{SHA256: fmt.Sprintf("%064x", len(l.week)), ContentType: "audio/wav", Bytes: 1}})
}

// drive folds the log after *from into sm, flushing after each read, until
// nothing new arrives.
func (l *samplerLog) drive(sm *projections.Sampler, from *events.Position, flush bool) {
	ctx := context.Background()
	for {
		evs, err := l.store.ReadAll(ctx, *from, 1<<20)
		if err != nil {
			l.t.Fatal(err)
		}
		for i := range evs {
			d, err := events.Decode(&evs[i])
			if err != nil {
				l.t.Fatal(err)
			}
			sm.Apply(projections.Event{Envelope: &evs[i], Data: d})
			*from = evs[i].Position
		}
		if !flush || len(evs) == 0 {
			return
		}
		if err := sm.Flush(ctx); err != nil {
			l.t.Fatal(err)
		}
	}
}

// restartAppendsNothing folds the whole log into a fresh sampler, as a
// restart does, and fails if it would append anything.
func (l *samplerLog) restartAppendsNothing(pol projections.SamplerPolicy) {
	l.t.Helper()
	again := projections.NewSampler(pol, l.store)
	var from events.Position
	l.drive(again, &from, false)
	if p := again.Pending(); len(p) != 0 {
		l.t.Fatalf("after a restart the sampler would append again: %v", p)
	}
}

// selections counts the log's CallSelectedForReview by reason, and the
// random samples per rep-week.
func (l *samplerLog) selections() (byReason map[string]int, random map[string]int) {
	all, err := l.store.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		l.t.Fatal(err)
	}
	byReason, random = map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for i := range all {
		if all[i].Type != "CallSelectedForReview" {
			continue
		}
		_, call := events.StreamID(all[i].Stream)
		if seen[call] {
			l.t.Fatalf("call %s selected twice", call)
		}
		seen[call] = true
		d, err := events.Decode(&all[i])
		if err != nil {
			l.t.Fatal(err)
		}
		reason := d.(*events.CallSelectedForReview).Reason
		byReason[reason]++
		if reason == "random_sample" {
			random[l.week[call]]++
		}
	}
	return byReason, random
}

// TestSamplerLateCalls is the backfill that used to select every late call:
// 32 calls of one rep from 4 past weeks (8 a week), recorded now in shuffled
// order, then one current call. Each past rep-week gets exactly K random
// samples; calls recorded later still, after a restart, change nothing.
func TestSamplerLateCalls(t *testing.T) {
	now := leadNow // Wednesday of ISO week 48
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("shuffle", seed), func(t *testing.T) {
			l := newSamplerLog(t, now)
			type planned struct {
				id      string
				started time.Time
			}
			var calls []planned
			for w := 1; w <= 4; w++ {
				for k := range 8 {
					calls = append(calls, planned{fmt.Sprintf("W%dK%d", w, k), now.AddDate(0, 0, -7*w).Add(time.Duration(k) * time.Hour)})
				}
			}
			rng := rand.New(rand.NewPCG(seed, 9))
			rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
			for _, c := range calls {
				l.call(c.id, "R1", c.started)
			}
			l.call("NOW", "R1", now)

			pol := projections.DefaultSamplerPolicy()
			sm := projections.NewSampler(pol, l.store)
			var pos events.Position
			l.drive(sm, &pos, true)
			byReason, random := l.selections()
			if byReason["new_rep"] != 5 || byReason["random_sample"] > 4*pol.PerRepWeek {
				t.Fatalf("selections %v; want 5 new_rep and at most %d random_sample", byReason, 4*pol.PerRepWeek)
			}
			for w := 1; w <= 4; w++ {
				wk := l.week[fmt.Sprintf("W%dK0", w)]
				if random[wk] != pol.PerRepWeek {
					t.Errorf("rep-week %s: %d random samples, want %d (it holds 8 calls)", wk, random[wk], pol.PerRepWeek)
				}
			}
			if random[l.week["NOW"]] != 0 {
				t.Errorf("the current week was drawn before it ended: %v", random)
			}

			// Restart: a fresh sampler folds the same log and has nothing
			// left to append.
			again := projections.NewSampler(pol, l.store)
			var from events.Position
			l.drive(again, &from, false)
			if p := again.Pending(); len(p) != 0 {
				t.Fatalf("after a restart the sampler would append again: %v", p)
			}

			// A week later, 8 more late calls for each past week and for
			// week 48, which has now ended.
			l.clock.Set(now.AddDate(0, 0, 7))
			for w := 0; w <= 4; w++ {
				for k := 8; k < 16; k++ {
					l.call(fmt.Sprintf("W%dK%d", w, k), "R1", now.AddDate(0, 0, -7*w).Add(time.Duration(k)*time.Hour))
				}
			}
			l.drive(again, &from, true)
			_, random = l.selections()
			for w := 0; w <= 4; w++ {
				wk := l.week[fmt.Sprintf("W%dK8", w)]
				if random[wk] != pol.PerRepWeek {
					t.Errorf("after more late calls, rep-week %s has %d random samples, want %d", wk, random[wk], pol.PerRepWeek)
				}
			}
		})
	}
}

// TestSamplerWeekWithFewCalls: a rep-week with fewer eligible calls than K
// has all of them drawn, and never more than K once more arrive late.
func TestSamplerWeekWithFewCalls(t *testing.T) {
	l := newSamplerLog(t, leadNow)
	pol := projections.SamplerPolicy{NewRepCalls: 0, LongCallSec: 900, PerRepWeek: 3}
	sm := projections.NewSampler(pol, l.store)
	var pos events.Position
	l.call("A1", "R2", leadNow.Add(-time.Hour))
	l.call("A2", "R2", leadNow.Add(-2*time.Hour))
	l.drive(sm, &pos, true)
	if _, random := l.selections(); len(random) != 0 {
		t.Fatalf("drawn before the week ended: %v", random)
	}
	l.clock.Set(leadNow.AddDate(0, 0, 7)) // the next week: the draw of week 48
	l.call("B1", "R2", leadNow.AddDate(0, 0, 7))
	l.drive(sm, &pos, true)
	wk := l.week["A1"]
	if _, random := l.selections(); random[wk] != 2 {
		t.Fatalf("week with 2 eligible calls: %d drawn, want 2", random[wk])
	}
	for k := range 5 {
		l.call(fmt.Sprintf("A%d", 3+k), "R2", leadNow.Add(-time.Duration(3+k)*time.Hour))
	}
	l.drive(sm, &pos, true)
	if _, random := l.selections(); random[wk] != 3 {
		t.Fatalf("after 5 late calls the week has %d random samples, want 3", random[wk])
	}
}
