package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dangol/dangol/events"
)

// mergedTail is how many of a stream's last events are searched for its
// CustomerMergedInto: after it, the API takes only the erasure, the
// importer nothing, and the segmentation job at most the tier decision
// it had pending at the merge (docs/merge.md).
const mergedTail = 8

// refuseMerged sets errs[i] of every record built without error whose
// customer was merged into another (their stream's CustomerMergedInto)
// to an Invalid error naming the survivor, so that the row is rejected
// and appends nothing, and returns the version each other customer's
// stream was at when it was read (events.NoStreamVersion: none yet), for
// appendChecked. Each customer's stream is read once, Parallel at a
// time; a store that cannot be read stops the import. In a dry run
// without a store nothing is checked.
func (im *run) refuseMerged(ctx context.Context, recs []record, errs []error) (map[string]int64, error) {
	if im.store == nil {
		return nil, nil
	}
	var ids []string
	seen := map[string]bool{}
	for i, rec := range recs {
		if errs[i] == nil && !seen[rec.customer] {
			seen[rec.customer] = true
			ids = append(ids, rec.customer)
		}
	}
	looks := im.look(ctx, ids)
	into, heads := map[string]string{}, make(map[string]int64, len(ids))
	for k, id := range ids {
		if looks[k].err != nil {
			return nil, looks[k].err
		}
		if looks[k].survivor != "" {
			into[id] = looks[k].survivor
		}
		heads[events.CustomerStream(id)] = looks[k].version
	}
	for i, rec := range recs {
		if sv := into[rec.customer]; errs[i] == nil && sv != "" {
			errs[i] = mergedInto(rec.customer, sv)
		}
	}
	return heads, nil
}

func mergedInto(customer, survivor string) error {
	return events.Errorf(events.Invalid, "customer %s was merged into customer %s: import their records under %s", customer, survivor, survivor)
}

// looked is what survivorOf found of one customer.
type looked struct {
	survivor string
	version  int64
	err      error
}

// look reads each customer's stream, Parallel at a time.
func (im *run) look(ctx context.Context, ids []string) []looked {
	out := make([]looked, len(ids))
	im.parallel(len(ids), func(k int) { out[k].survivor, out[k].version, out[k].err = im.survivorOf(ctx, ids[k]) })
	return out
}

// maxRechecks bounds how often one customer is looked at again in one
// batch because another writer appended to their stream between the
// importer's look and its append.
const maxRechecks = 8

// appendChecked appends batch so that nothing lands on a customer's
// stream after a CustomerMergedInto written since refuseMerged looked:
// every entry that adds to an existing stream is appended at the exact
// version the importer last saw there (heads, then its own appends), one
// entry per stream per round. A conflict means another writer came
// between: the customer is looked at again — merged, their remaining
// entries are refused (Invalid, naming the survivor); else they go on at
// the new head — at most maxRechecks times. customers names each
// stream's customer. Registrations (NoStream) go in the first round as
// they are: a merge needs a stream.
func (im *run) appendChecked(ctx context.Context, batch []events.StreamAppend, customers map[string]string, heads map[string]int64) ([]events.AppendResult, []error, error) {
	results, errs := make([]events.AppendResult, len(batch)), make([]error, len(batch))
	if heads == nil {
		heads = map[string]int64{}
	}
	var round []int             // the next round's entries, as batch indexes
	queue := map[string][]int{} // each stream's entries still to append, in batch order
	var order []string          // the streams of queue, in batch order
	for j, a := range batch {
		if a.Expected != events.StreamExists {
			round = append(round, j)
			continue
		}
		if _, ok := queue[a.Stream]; !ok {
			order = append(order, a.Stream)
		}
		queue[a.Stream] = append(queue[a.Stream], j)
	}
	rechecks := map[string]int{}
	for {
		for _, s := range order {
			if q := queue[s]; len(q) > 0 {
				round = append(round, q[0])
			}
		}
		if len(round) == 0 {
			return results, errs, nil
		}
		entries := make([]events.StreamAppend, len(round))
		for k, j := range round {
			entries[k] = batch[j]
			if h, ok := heads[batch[j].Stream]; ok && batch[j].Expected == events.StreamExists && h != events.NoStreamVersion {
				entries[k].Expected = events.Exact(uint64(h))
			}
		}
		res, aerrs := im.appendAll(ctx, entries)
		var again []string // streams to look at again
		for k, j := range round {
			s := batch[j].Stream
			var e *events.Error
			switch {
			case batch[j].Expected != events.StreamExists:
				results[j], errs[j] = res[k], aerrs[k]
				continue
			case aerrs[k] != nil && errors.As(aerrs[k], &e) && e.Code == events.Conflict && e.ActualVersion != events.NoStreamVersion:
				if rechecks[s]++; rechecks[s] > maxRechecks {
					return nil, nil, fmt.Errorf("append %s: another writer appended to it between each of %d looks and appends: %w", s, maxRechecks, aerrs[k])
				}
				again = append(again, s) // and the entry stays first in the queue
				continue
			case aerrs[k] == nil && !res[k].Duplicate:
				heads[s] = int64(res[k].Version)
			case aerrs[k] == nil && len(queue[s]) > 1:
				again = append(again, s) // a duplicate says nothing of the head now
			}
			results[j], errs[j] = res[k], aerrs[k]
			queue[s] = queue[s][1:]
		}
		round = round[:0]
		ids := make([]string, len(again))
		for k, s := range again {
			ids[k] = customers[s]
		}
		for k, l := range im.look(ctx, ids) {
			s := again[k]
			switch {
			case l.err != nil:
				return nil, nil, l.err
			case l.survivor != "":
				for _, j := range queue[s] {
					errs[j] = mergedInto(ids[k], l.survivor)
				}
				queue[s] = nil
			default:
				heads[s] = l.version
			}
		}
	}
}

// survivorOf returns the customer id was merged into, "" if none (or no
// such customer yet), and the version of their stream it read
// (events.NoStreamVersion: none).
func (im *run) survivorOf(ctx context.Context, id string) (string, int64, error) {
	stream := events.CustomerStream(id)
	evs, err := im.store.ReadStream(ctx, stream, events.LastVersion, events.Backward, mergedTail)
	if events.ErrorCode(err) == events.NotFound {
		return "", events.NoStreamVersion, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(evs) == 0 {
		return "", events.NoStreamVersion, nil
	}
	version := int64(evs[0].Version)
	for _, e := range evs {
		var d events.CustomerMergedInto
		if e.Type == d.EventType() && json.Unmarshal(e.Data, &d) == nil {
			return d.SurvivorID, version, nil
		}
	}
	return "", version, nil
}
