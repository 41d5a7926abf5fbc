package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// Writes to a merged customer (docs/merge.md, "Writes to a merged
// customer"): from the CustomerMergedInto on their stream, the survivor
// stands for them, so a write naming them is refused with the survivor's
// id rather than appended where no view reads it. The check reads the
// stream itself (the read side may lag behind a merge just made), and the
// append then expects the version it read, so a merge landing in between
// makes it conflict and the check is made again.

// codeMerged is the error code of a write to a merged customer (409).
const codeMerged = "merged"

// MergedError refuses a write to the stream of a customer merged into
// another: nothing was appended; the write belongs to SurvivorID.
type MergedError struct {
	CustomerID string // the merged customer the write named
	SurvivorID string // the customer who stands for them
}

// Error names both customers (ids, never personal data).
func (e *MergedError) Error() string {
	return "customer " + e.CustomerID + " was merged into " + e.SurvivorID + ": write to " + e.SurvivorID + " instead"
}

// mergedBody is the answer to a MergedError: 409, code merged, the
// stream and the survivor's id in the details.
func mergedBody(e *MergedError) (int, errorBody) {
	var body errorBody
	body.Error.Code, body.Error.Message = codeMerged, e.Error()
	body.Error.Details = map[string]any{"stream": events.CustomerStream(e.CustomerID), "survivorId": e.SurvivorID}
	return http.StatusConflict, body
}

// mergedAttempts bounds the appends a write without If-Match makes when
// other writes to the customer land between its check and its append
// (each attempt reads the stream again). Four writers hammering one
// customer lost ten attempts in a row now and then (TestMergedWritesRace);
// fifty in a row is about one write in a million at that contention, and
// then the write is answered 409 conflict.
const mergedAttempts = 50

// appendToCustomer appends ev to stream with expected as appendData
// does, refusing it with a MergedError when stream is a customer's that
// was merged into another, unless the stream already holds an event with
// ev's id (a retry of a write made before the merge gets its first
// answer). A registration (NoStream) has no stream to check, and an
// erasure is taken: it removes the merged customer's personal data, which
// erasing the survivor does not. Expecting StreamExists, the append
// expects the version checked, and is checked again after a conflict.
func (s *Server) appendToCustomer(ctx context.Context, stream string, expected events.ExpectedVersion, ev events.Event) (events.AppendResult, error) {
	id, ok := strings.CutPrefix(stream, events.CategoryCustomer+"-")
	if !ok || expected == events.NoStream || ev.Type == (&events.PersonalDataErased{}).EventType() {
		return s.Store.Append(ctx, stream, expected, ev)
	}
	var res events.AppendResult
	err := checkedAppend{attempts: mergedAttempts, pinned: expected != events.StreamExists,
		read: func() (uint64, error) {
			f, err := s.writeFacts(ctx, id, ev.ID)
			if err == nil && f.survivor != "" && f.keyed == nil {
				err = &MergedError{CustomerID: id, SurvivorID: f.survivor}
			}
			return f.version, err
		},
		append: func(version uint64) error {
			exp := expected
			if expected == events.StreamExists {
				exp = events.Exact(version)
			}
			var err error
			res, err = s.Store.Append(ctx, stream, exp, ev)
			return err
		}}.run()
	return res, err
}

// refuseMerged refuses a write to customer id, merged into another, before
// it is checked against the read side (which answers a merged customer
// with the survivor's view); r's Idempotency-Key naming an event of the
// stream lets a retry through to its first answer.
func (s *Server) refuseMerged(r *http.Request, id string) error {
	key, _ := events.ParseID("Idempotency-Key", r.Header.Get("Idempotency-Key"))
	f, err := s.writeFacts(r.Context(), id, key)
	if err != nil || f.survivor == "" || f.keyed != nil {
		return err
	}
	return &MergedError{CustomerID: id, SurvivorID: f.survivor}
}

// mergedTail is how many of a customer stream's last events a write reads
// to tell whether the customer was merged. After a CustomerMergedInto only
// an erasure and the segmentation job's pending tier decision can land
// there (every other write is refused, and a merged customer's tier no
// longer changes), so the merge is always among them.
const mergedTail = 16

// writeFacts is customerFacts for a write to customer id: it reads only
// the stream's last mergedTail events, and the whole stream only when they
// show a merge (to find the event with id key, a retry's first answer).
// An unmerged customer's write thus costs one short read however long
// their history.
func (s *Server) writeFacts(ctx context.Context, id string, key ulid.ULID) (streamFacts, error) {
	tail, err := s.Store.ReadStream(ctx, events.CustomerStream(id), events.LastVersion, events.Backward, mergedTail)
	if events.ErrorCode(err) == events.NotFound || err == nil && len(tail) == 0 {
		return streamFacts{}, events.Errorf(events.NotFound, "customer not found")
	}
	if err != nil {
		return streamFacts{}, err
	}
	for i := range tail {
		if tail[i].Type == (&events.CustomerMergedInto{}).EventType() {
			return s.customerFacts(ctx, id, key)
		}
	}
	return streamFacts{version: tail[0].Version}, nil
}
