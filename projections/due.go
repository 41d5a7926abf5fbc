package projections

// dueQueue is the order in which a reactor's Due looks at its decisions:
// first the backlog its replay left, smallest id first, then what it
// decides later, in the order it decides it. Ids may be stale (decided
// again, or no longer due): Due checks each one it pops.
//
// The backlog goes in id order because a stream's id is its key in the
// store: a backlog appended in key order dirties a few adjacent pages per
// group commit instead of one page per append, about six times the rate on
// the embedded store. It is a heap rather than a sorted slice so that the
// first Due after a start does not sort a million ids on the runner's
// goroutine at once: building the heap is linear, and each pop costs a few
// comparisons, spread over the hand-outs.
type dueQueue struct {
	started bool
	backlog []string // a min-heap
	fresh   []string // FIFO from next
	next    int
}

// start takes the backlog; decisions made from now on are pushed.
func (q *dueQueue) start(ids []string) {
	q.started, q.backlog = true, ids
	for i := len(ids)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// push queues an id decided after start; before start the backlog will
// hold it.
func (q *dueQueue) push(id string) {
	if q.started {
		q.fresh = append(q.fresh, id)
	}
}

// pop returns the next id to look at.
func (q *dueQueue) pop() (string, bool) {
	if n := len(q.backlog); n > 0 {
		id := q.backlog[0]
		q.backlog[0] = q.backlog[n-1]
		q.backlog[n-1] = ""
		q.backlog = q.backlog[:n-1]
		q.down(0)
		if len(q.backlog) == 0 {
			q.backlog = nil
		}
		return id, true
	}
	if q.next == len(q.fresh) {
		q.fresh, q.next = q.fresh[:0], 0
		return "", false
	}
	id := q.fresh[q.next]
	q.fresh[q.next] = ""
	q.next++
	if q.next > 1024 && q.next > len(q.fresh)/2 { // never drained: drop the consumed head
		q.fresh, q.next = append(q.fresh[:0], q.fresh[q.next:]...), 0
	}
	return id, true
}

func (q *dueQueue) down(i int) {
	h := q.backlog
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[i] <= h[m] {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
