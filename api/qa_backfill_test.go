package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dangol/dangol/events/eventstest"
)

// TestBackfilledCallsSampling is the backfill the issue measured through
// the API: 32 calls of one rep from 4 past weeks (8 short calls a week),
// posted now in shuffled order, then one current call. The first 5 are
// new_rep selections; each past week gets exactly 3 random samples, never
// every late call.
func TestBackfilledCallsSampling(t *testing.T) {
	s := newStack(t, stackOptions{newRepCalls: 5})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	type planned struct {
		id      string
		week    int
		started time.Time
	}
	var calls []planned
	for w := 1; w <= 4; w++ {
		for k := range 8 {
			calls = append(calls, planned{fmt.Sprintf("W%dK%d", w, k), w, eventstest.Epoch.AddDate(0, 0, -7*w).Add(time.Duration(k) * time.Hour)})
		}
	}
	rand.New(rand.NewPCG(48, 2026)).Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	calls = append(calls, planned{"NOW", 0, s.now().Add(-time.Minute)})
	week := map[string]int{}
	for i, c := range calls {
		audio := fmt.Appendf(nil, "RIFF backfilled call %d", i)
		body := newCall(c.id, "C1", s.upload("R1", audio), len(audio))
		body["startedAt"] = c.started.Format(time.RFC3339)
		s.must("R1", "POST", "/v1/calls", body, 201)
		week["call-"+c.id] = c.week
	}
	idle, ok := s.progress.(interface{ WaitReactorsIdle(context.Context) error })
	if !ok {
		t.Fatalf("the read side %T cannot tell when its reactors are idle", s.progress)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := idle.WaitReactorsIdle(ctx); err != nil {
		t.Fatal(err)
	}

	reasons, random := map[string]int{}, map[int]int{}
	for _, e := range s.logEvents(0) {
		if e["type"] != "CallSelectedForReview" {
			continue
		}
		reason := e["data"].(map[string]any)["reason"].(string)
		reasons[reason]++
		if reason == "random_sample" {
			random[week[e["stream"].(string)]]++
		}
	}
	if reasons["new_rep"] != 5 || reasons["random_sample"] != 12 {
		t.Errorf("selections %v; want 5 new_rep and 12 random_sample (3 in each of 4 past weeks)", reasons)
	}
	for w := 1; w <= 4; w++ {
		if random[w] != 3 {
			t.Errorf("%d weeks ago: %d random samples, want 3", w, random[w])
		}
	}
	if random[0] != 0 {
		t.Errorf("the current week was drawn before it ended: %d", random[0])
	}
}
