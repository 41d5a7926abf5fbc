package importer

import (
	"context"
	"encoding/json"
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
// and appends nothing. Each customer's stream is read once, Parallel at a
// time; a store that cannot be read stops the import. In a dry run
// without a store nothing is checked.
func (im *run) refuseMerged(ctx context.Context, recs []record, errs []error) error {
	if im.store == nil {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for i, rec := range recs {
		if errs[i] == nil && !seen[rec.customer] {
			seen[rec.customer] = true
			ids = append(ids, rec.customer)
		}
	}
	survivors, fails := make([]string, len(ids)), make([]error, len(ids))
	im.parallel(len(ids), func(k int) { survivors[k], fails[k] = im.survivorOf(ctx, ids[k]) })
	into := map[string]string{}
	for k, id := range ids {
		if fails[k] != nil {
			return fails[k]
		}
		if survivors[k] != "" {
			into[id] = survivors[k]
		}
	}
	for i, rec := range recs {
		if sv := into[rec.customer]; errs[i] == nil && sv != "" {
			errs[i] = events.Errorf(events.Invalid, "customer %s was merged into customer %s: import their records under %s", rec.customer, sv, sv)
		}
	}
	return nil
}

// survivorOf returns the customer id was merged into, "" if none (or no
// such customer yet).
func (im *run) survivorOf(ctx context.Context, id string) (string, error) {
	stream := events.CustomerStream(id)
	evs, err := im.store.ReadStream(ctx, stream, events.LastVersion, events.Backward, mergedTail)
	if events.ErrorCode(err) == events.NotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", stream, err)
	}
	for _, e := range evs {
		var d events.CustomerMergedInto
		if e.Type == d.EventType() && json.Unmarshal(e.Data, &d) == nil {
			return d.SurvivorID, nil
		}
	}
	return "", nil
}
