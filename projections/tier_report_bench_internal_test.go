package projections

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
)

// walkedTierReport is Customers.TierReport as it was before the counts
// were kept as the customers change: a walk of byID and a sort, all of
// which ran under the runner's read lock.
func walkedTierReport(cs *Customers, tops []float64) TierReport {
	byTier := map[string]int{}
	profits := make([]int64, 0, len(cs.byID))
	for _, c := range cs.byID {
		if c.mergedInto() == "" {
			byTier[c.tier]++
			if c.fin != nil {
				profits = append(profits, c.fin.ProfitContribution)
			}
		}
	}
	return OldTierReportFrom(byTier, profits, tops)
}

// OldTierReportFrom is TierReportFrom as it was (profits sorted largest
// first, the top n summed from the start), the reference the tests
// compare the report with.
func OldTierReportFrom(byTier map[string]int, profits []int64, tops []float64) TierReport {
	r := TierReport{ByTier: map[string]int{}, WithFinancial: len(profits)}
	for t, n := range byTier {
		r.Customers += n
		r.ByTier[cmp.Or(t, "unassigned")] += n
	}
	sort.Slice(profits, func(i, j int) bool { return profits[i] > profits[j] })
	prefix := make([]int64, len(profits)+1) // prefix[n]: the sum of the top n
	for i, p := range profits {
		prefix[i+1] = prefix[i] + p
	}
	r.TotalProfit = prefix[len(profits)]
	if len(tops) == 0 {
		tops = []float64{1, 7, 20, 50}
	}
	for _, pct := range tops {
		top := prefix[min(int(math.Ceil(float64(len(profits))*pct/100)), len(profits))]
		s := ShareOfTop{Percent: pct}
		if r.TotalProfit != 0 {
			s.Share = math.Round(float64(top)/float64(r.TotalProfit)*10000) / 10000
		}
		r.Concentration = append(r.Concentration, s)
	}
	return r
}

var (
	tierBenchOnce sync.Once
	tierBenchCS   *Customers
)

// tierBenchCustomers returns 1,000,000 synthetic customers: a quarter
// without a tier, 85% with financials, 1% merged.
func tierBenchCustomers() *Customers {
	tierBenchOnce.Do(func() {
		cs := NewCustomers()
		rng := rand.New(rand.NewPCG(7, 14))
		tiers := []string{"", "general", "general", "potential_vip", "vip"}
		for i := range 1_000_000 {
			c := &customer{id: fmt.Sprintf("C%07d", i+1), tier: tiers[rng.IntN(len(tiers))]}
			if rng.IntN(100) < 85 {
				c.fin = &Financials{ProfitContribution: rng.Int64N(50_000_000) - 5_000_000}
			}
			if i > 0 && rng.IntN(100) == 0 {
				c.merge = &mergeLink{Into: fmt.Sprintf("C%07d", i)}
			}
			cs.byID[c.id] = c
		}
		cs.recountTiers()
		tierBenchCS = cs
	})
	return tierBenchCS
}

// BenchmarkTierReportLock: what the tiers report holds the runner's read
// lock for at 1,000,000 customers, before (walk-locked: the walk and the
// sort) and now (copy-locked: the counts and the profits copied), and the
// whole report now (copy-total). Run with -count to alternate them.
func BenchmarkTierReportLock(b *testing.B) {
	cs := tierBenchCustomers()
	if w, g := walkedTierReport(cs, nil), cs.TierReport(nil); fmt.Sprint(w) != fmt.Sprint(g) {
		b.Fatalf("reports differ:\n%+v\n%+v", w, g)
	}
	b.Run("walk-locked", func(b *testing.B) {
		for range b.N {
			_ = walkedTierReport(cs, nil)
		}
	})
	b.Run("copy-locked", func(b *testing.B) {
		for range b.N {
			_, _ = cs.tierCounts(), cs.tierProfits()
		}
	})
	b.Run("copy-total", func(b *testing.B) {
		for range b.N {
			_ = TierReportFrom(cs.tierCounts(), cs.tierProfits(), nil)
		}
	})
}

// TestTierCountsSwap: removing profits from the middle, the end and the
// only slot keeps every slot pointing at its owner.
func TestTierCountsSwap(t *testing.T) {
	cs := NewCustomers()
	cs2 := make([]*customer, 5)
	for i := range cs2 {
		cs2[i] = &customer{id: fmt.Sprint(i)}
		cs.setProfit(cs2[i], int64(i))
	}
	for _, i := range []int{1, 4, 0, 3, 2} {
		cs.dropProfit(cs2[i])
		cs.dropProfit(cs2[i]) // twice: nothing more
		for j, c := range cs.profOf {
			if int(c.pslot) != j+1 || fmt.Sprint(cs.profits[j]) != c.id {
				t.Fatalf("after dropping %d: slot %d holds %s with pslot %d, profit %d", i, j, c.id, c.pslot, cs.profits[j])
			}
		}
	}
	if len(cs.profits) != 0 || len(cs.profOf) != 0 {
		t.Fatalf("left %v", cs.profits)
	}
}
