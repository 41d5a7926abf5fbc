package api_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// between is the server's store with one append made in between: right
// after the first CustomerMerged lands on the survivor's stream, it appends
// what to stream, as another writer whose append lands between a merge's
// two steps would.
type between struct {
	api.Store
	stream string
	what   events.Data
	once   sync.Once
	err    error
}

func (b *between) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	res, err := b.Store.Append(ctx, stream, expected, evs...)
	if err == nil && len(evs) == 1 && evs[0].Type == (&events.CustomerMerged{}).EventType() {
		b.once.Do(func() {
			ev, nerr := events.NewEvent(b.what, events.Meta{Actor: events.Actor{ID: "S1", Role: "supervisor"}})
			if nerr == nil {
				_, nerr = b.Store.Append(ctx, b.stream, events.StreamExists, ev)
			}
			b.err = nerr
		})
	}
	return res, err
}

// TestMergeSecondStepRetried: an assignment of C2 landing between the
// merge's CustomerMerged on C1 and its CustomerMergedInto on C2 (which
// then conflicts) does not leave a lone CustomerMerged: the merge reads C2
// again, finds nothing that refuses it, and completes (201, one event on
// each stream). A merge event or an erasure landing there instead makes
// it stop, 409, with no CustomerMergedInto: the fence that keeps merges
// from forming a cycle or merging an erased customer.
func TestMergeSecondStepRetried(t *testing.T) {
	for _, tc := range []struct {
		what   string
		d      events.Data
		status int
	}{
		{"an assignment", &events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"}, 201},
		{"a merge into C2", &events.CustomerMerged{MergedID: "C3", Reason: "same person"}, 409},
		{"an erasure", &events.PersonalDataErased{Reason: "customer request", RequestedBy: "customer"}, 409},
	} {
		t.Run(tc.what, func(t *testing.T) {
			b := &between{stream: events.CustomerStream("C2"), what: tc.d}
			s := newStack(t, stackOptions{configure: func(c *api.Config) { b.Store = c.Store; c.Store = b }})
			s.seedPair()
			a := s.req("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"},
				"If-Match", `"0"`)
			if b.err != nil {
				t.Fatalf("the append in between: %v", b.err)
			}
			if a.status != tc.status {
				t.Fatalf("the merge answered %d %s, want %d", a.status, a.raw, tc.status)
			}
			c2 := s.customerLog("C2")
			last := c2[len(c2)-1].Type
			switch n := s.countTypes(); {
			case tc.status == 201 && (last != "CustomerMergedInto" || n["CustomerMergedInto"] != 1 || n["CustomerMerged"] != 1):
				t.Errorf("C2's stream ends with %s; the log holds %d CustomerMerged and %d CustomerMergedInto, want it to end with the one CustomerMergedInto",
					last, n["CustomerMerged"], n["CustomerMergedInto"])
			case tc.status == 409 && n["CustomerMergedInto"] != 0:
				t.Errorf("a refused merge appended a CustomerMergedInto")
			}
			if tc.status == 201 {
				s.awaitApplied()
				if v := s.must("R1", "GET", "/v1/customers/C2", nil, 200); v["id"] != "C1" {
					t.Errorf("the view of C2 is %v's, want C1's", v["id"])
				}
			}
		})
	}
}
