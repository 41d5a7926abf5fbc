package projections

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStaleTimes: the blocked multiset counts what a sorted slice counts
// after random adds and removes, duplicates and block splits included.
func TestStaleTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s staleTimes
	var ref []int64
	for i := range 20000 {
		if len(ref) > 0 && rng.IntN(3) == 0 {
			x := ref[rng.IntN(len(ref))]
			s.remove(x)
			j, _ := slices.BinarySearch(ref, x)
			ref = slices.Delete(ref, j, j+1)
		} else {
			x := rng.Int64N(3000) - 1000
			s.add(x)
			j, _ := slices.BinarySearch(ref, x)
			ref = slices.Insert(ref, j, x)
		}
		if i%97 == 0 || i > 19900 {
			for _, cut := range []int64{-2000, -1000, 0, 1, rng.Int64N(3000) - 1000, 1999, 5000} {
				want, _ := slices.BinarySearch(ref, cut)
				if got := s.before(cut); got != want {
					t.Fatalf("step %d: before(%d) = %d, want %d (%d values, %d blocks)", i, cut, got, want, len(ref), len(s.blocks))
				}
			}
		}
	}
	if len(s.blocks) < 2 {
		t.Fatalf("%d blocks: the test never split one", len(s.blocks))
	}
	for len(ref) > 0 {
		s.remove(ref[len(ref)-1])
		ref = ref[:len(ref)-1]
	}
	if len(s.blocks) != 0 || s.before(1<<40) != 0 {
		t.Fatalf("emptied, still %d blocks", len(s.blocks))
	}
}
