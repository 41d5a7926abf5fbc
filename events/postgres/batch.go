package postgres

import (
	"context"

	"github.com/dangol/dangol/events"
)

var _ events.BatchAppender = (*Store)(nil)

// AppendBatch applies each entry as Append would, every entry that passes
// its checks in one transaction with the appends queued beside it (one
// round trip when the store holds the heads of all its streams or starts
// them, see doc.go). An entry with invalid events is refused before
// anything is sent; a conflict or reused id refuses that entry only. A
// lost database fails every entry with Unavailable; as with Append, the
// outcome is then unknown and a retry with the same event ids is safe.
func (s *Store) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	results := make([]events.AppendResult, len(batch))
	errs := make([]error, len(batch))
	if err := s.alive(ctx); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return results, errs
	}
	reqs := make([]*appendReq, 0, len(batch))
	at := make([]int, 0, len(batch)) // reqs[k] answers entry at[k]
	for i, a := range batch {
		if errs[i] = events.CheckAppend(a.Stream, a.Events); errs[i] == nil {
			reqs = append(reqs, &appendReq{stream: a.Stream, expected: a.Expected, evs: a.Events})
			at = append(at, i)
		}
	}
	if len(reqs) == 0 {
		return results, errs
	}
	err := s.q.Do(ctx, reqs)
	for k, req := range reqs {
		if err != nil {
			errs[at[k]] = err
		} else {
			results[at[k]], errs[at[k]] = req.res, req.err
		}
	}
	return results, errs
}
