package projections

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDueQueueOrder: the backlog comes out in id order, then later
// decisions in the order they were pushed; pushes before start are left to
// the backlog.
func TestDueQueueOrder(t *testing.T) {
	var q dueQueue
	q.push("ignored: the backlog will hold it")
	var ids []string
	for i := range 3000 {
		ids = append(ids, fmt.Sprintf("C%05d", i))
	}
	want := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	q.start(ids)
	for i := range 2000 {
		q.push(fmt.Sprintf("L%04d", i))
		want = append(want, fmt.Sprintf("L%04d", i))
	}
	var got []string
	for {
		id, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, id)
		if len(got) == 4000 { // more pushed while draining go last
			q.push("Z")
			want = append(want, "Z")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order: got %d ids, want %d; first difference at %d", len(got), len(want), diffAt(got, want))
	}
}

func diffAt(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
