package projections

import (
	"strings"
	"sync"
	"time"
)

// timelineRec is a TimelineEntry as the customer fold keeps it. The view
// shows eight strings an entry, but six of them repeat across millions of
// entries (the kind, the channel, the purpose, the product, the outcome and
// the staff id): kept as numbers into timelineNames, an entry is 96 bytes
// with three pointers (the time's location, nil in UTC, the summary and the
// call id) instead of 168 bytes with nine. In a heap profile of the
// 500,000-customer bank the recent timelines were about a quarter of the
// read models' heap, and every pointer in it is one the collector follows at each
// collection of a catch-up (docs/replay.md).
type timelineRec struct {
	at       time.Time
	position uint64
	summary  string
	callID   string
	duration int
	channel  nameID
	purpose  nameID
	product  nameID
	outcome  nameID
	staff    nameID
	kind     nameID
}

// nameID numbers a string of timelineNames; 0 is "".
type nameID uint32

// timelineNames is the process's table of the strings timeline entries
// repeat. It only grows: a name stays when the last entry naming it goes,
// so its size is the number of distinct kinds, channels, purposes,
// products, outcomes and staff ids the folded logs have named (a bank's
// catalogue and staff, not its customers). One table serves every read
// model of the process, the PostgreSQL read store's decoded records
// included, so it has a lock of its own.
var timelineNames = newNameTable("contact", "pitch", "call", "profile")

type nameTable struct {
	mu    sync.RWMutex
	ids   map[string]nameID
	names []string // names[id]; names[0] is ""
}

func newNameTable(common ...string) *nameTable {
	t := &nameTable{ids: map[string]nameID{}, names: []string{""}}
	for _, s := range common {
		t.ids[s] = nameID(len(t.names))
		t.names = append(t.names, s)
	}
	return t
}

// idsOf returns the numbers of names, adding those not yet in the table
// (each a copy: a name may share the memory of a whole read of the log).
func (t *nameTable) idsOf(names [6]string) [6]nameID {
	var out [6]nameID
	t.mu.RLock()
	missing := false
	for i, s := range names {
		if s == "" {
			continue
		}
		if id, ok := t.ids[s]; ok {
			out[i] = id
		} else {
			missing = true
		}
	}
	t.mu.RUnlock()
	if !missing {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, s := range names {
		if s == "" || out[i] != 0 {
			continue
		}
		id, ok := t.ids[s]
		if !ok {
			id = nameID(len(t.names))
			s = strings.Clone(s)
			t.ids[s] = id
			t.names = append(t.names, s)
		}
		out[i] = id
	}
	return out
}

// rec returns e as the fold keeps it.
func (e TimelineEntry) rec() timelineRec {
	ids := timelineNames.idsOf([6]string{e.Kind, e.Channel, e.Purpose, e.Product, e.Outcome, e.StaffID})
	return timelineRec{at: e.At, position: e.Position, summary: e.Summary, callID: e.CallID, duration: e.DurationSec,
		kind: ids[0], channel: ids[1], purpose: ids[2], product: ids[3], outcome: ids[4], staff: ids[5]}
}

// entries returns recs as the view shows them, in the same order.
func entries(recs []timelineRec) []TimelineEntry {
	out := make([]TimelineEntry, len(recs))
	t := timelineNames
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i, r := range recs {
		out[i] = TimelineEntry{Kind: t.names[r.kind], At: r.at, Channel: t.names[r.channel], Purpose: t.names[r.purpose],
			Summary: r.summary, Product: t.names[r.product], Outcome: t.names[r.outcome], StaffID: t.names[r.staff],
			CallID: r.callID, DurationSec: r.duration, Position: r.position}
	}
	return out
}

// recs returns es as the fold keeps them, in the same order; nil for none
// (a customer without a timeline holds no slice).
func recs(es []TimelineEntry) []timelineRec {
	if len(es) == 0 {
		return nil
	}
	out := make([]timelineRec, len(es))
	for i, e := range es {
		out[i] = e.rec()
	}
	return out
}

// compareRec orders timeline records as compareTimeline orders entries.
func compareRec(a, b timelineRec) int { return timelineOrder(a.at, b.at, a.position, b.position) }
