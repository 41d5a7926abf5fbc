package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Merges (docs/merge.md): a centre head, the bank's data steward for the
// centre, lists the likely duplicates and merges one customer into
// another. The merge appends CustomerMerged to the survivor's stream
// (against its If-Match) and then CustomerMergedInto to the merged one
// (against the version read just before), so that two merges racing on
// either customer cannot both land; views follow CustomerMergedInto.

// stewards may list likely duplicates and merge customers.
var stewards = []string{roleCentreHead}

// MergeRequest is the body of POST /v1/customers/{id}/merges.
type MergeRequest struct {
	MergedID string `json:"mergedId"`
	Reason   string `json:"reason"`
}

// MergeResult answers a merge: the two appends.
type MergeResult struct {
	Survivor events.AppendResult `json:"survivor"`
	Merged   events.AppendResult `json:"merged"`
}

// DuplicateCustomer is one side of a likely duplicate pair, as the
// duplicates list shows it.
type DuplicateCustomer struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	BranchID     string    `json:"branchId"`
	Tier         string    `json:"tier,omitempty"`
	AdvisorID    string    `json:"advisorId,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
	Version      uint64    `json:"version"`
}

// DuplicatePair is a likely duplicate pair with both customers.
type DuplicatePair struct {
	Customers [2]DuplicateCustomer `json:"customers"`
	Matched   []string             `json:"matched"`
}

// DuplicatePage is a page of GET /v1/duplicates.
type DuplicatePage struct {
	Items      []DuplicatePair `json:"items"`
	NextCursor string          `json:"nextCursor"` // "" at the end
}

// streamFacts is what a merge must know of a customer stream, read from
// the log itself (the read models may lag).
type streamFacts struct {
	version    uint64
	erased     bool
	mergedInto bool
	survivor   string           // the survivorId of its CustomerMergedInto, if any (merged_writes.go)
	keyed      *events.Envelope // the event whose id is the request's key, if any
}

// customerFacts reads customer id's stream, noting the event with id key
// (none if key is zero); NotFound if the stream has no events.
func (s *Server) customerFacts(ctx context.Context, id string, key ulid.ULID) (streamFacts, error) {
	var f streamFacts
	for from := uint64(0); ; {
		evs, err := s.Store.ReadStream(ctx, events.CustomerStream(id), from, events.Forward, 500)
		if events.ErrorCode(err) == events.NotFound || err == nil && len(evs) == 0 && from == 0 {
			return f, events.Errorf(events.NotFound, "customer not found")
		}
		if err != nil {
			return f, err
		}
		for i := range evs {
			e := &evs[i]
			f.version = e.Version
			f.erased = f.erased || e.Type == "PersonalDataErased"
			f.mergedInto = f.mergedInto || e.Type == "CustomerMergedInto"
			if into := (events.CustomerMergedInto{}); e.Type == into.EventType() && json.Unmarshal(e.Data, &into) == nil {
				f.survivor = into.SurvivorID
			}
			if key != (ulid.ULID{}) && e.ID == key {
				f.keyed = e
			}
		}
		if len(evs) < 500 {
			return f, nil
		}
		from = f.version + 1
	}
}

// mergeFacts reads both streams of a merge of merged into survivor; key
// (zero: none) is the survivor's event id, partnerKey(key) the merged one's.
func (s *Server) mergeFacts(ctx context.Context, survivor, merged string, key ulid.ULID) (sf, mf streamFacts, err error) {
	if survivor == merged {
		return sf, mf, events.InvalidField("mergedId", "must name another customer than the survivor")
	}
	if sf, err = s.customerFacts(ctx, survivor, key); err != nil {
		return sf, mf, err
	}
	mf, err = s.customerFacts(ctx, merged, partnerKey(key))
	if events.ErrorCode(err) == events.NotFound {
		return sf, mf, events.InvalidField("mergedId", "names no customer")
	}
	return sf, mf, err
}

// mergeRefusal says why the rules (docs/merge.md) refuse a merge of the
// streams sf and mf describe, or nil.
func mergeRefusal(sf, mf streamFacts) error {
	switch {
	case sf.erased || mf.erased:
		return events.Errorf(events.Conflict, "an erased customer is not merged")
	case sf.mergedInto:
		return events.Errorf(events.Conflict, "the survivor was merged into another customer: merge into that one")
	case mf.mergedInto:
		return events.Errorf(events.Conflict, "that customer was merged already")
	}
	return nil
}

// partnerKey derives the id of a merge's CustomerMergedInto from its
// Idempotency-Key (the CustomerMerged's id): zero stays zero.
func partnerKey(key ulid.ULID) ulid.ULID {
	if key != (ulid.ULID{}) {
		key[15] ^= 0xff
	}
	return key
}

// postMerge handles POST /v1/customers/{id}/merges: {id} survives,
// mergedId is merged into it. If-Match (the survivor's version the steward
// looked at) is required. With an Idempotency-Key, a retry of a merge that
// was done gets its first answer.
func (s *Server) postMerge(w http.ResponseWriter, r *http.Request, p Principal) error {
	survivor, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req MergeRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	linked := &events.CustomerMerged{MergedID: req.MergedID, Reason: req.Reason}
	if err := linked.Validate(); err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.StreamExists)
	if err != nil {
		return err
	}
	if !opt.ifMatch {
		return events.InvalidField("If-Match", "is required: the survivor's version you merge into")
	}
	sf, mf, err := s.mergeFacts(r.Context(), survivor, linked.MergedID, opt.id)
	if err != nil {
		return err
	}
	if sf.keyed != nil {
		return answerMergedBefore(w, p, sf.keyed, mf.keyed, linked)
	}
	if err := mergeRefusal(sf, mf); err != nil {
		return err
	}
	if want, _ := opt.expected.IsExact(); want != sf.version {
		return events.ConflictError(events.CustomerStream(survivor), opt.expected, int64(sf.version))
	}
	into := &events.CustomerMergedInto{SurvivorID: survivor, Reason: linked.Reason}
	var res MergeResult
	meta := events.Meta{ID: opt.id, Actor: events.Actor{ID: p.StaffID, Role: p.Role}, CorrelationID: correlationID(r)}
	if res.Survivor, err = s.appendOne(r.Context(), events.CustomerStream(survivor), events.Exact(sf.version), linked, meta); err != nil {
		return err
	}
	meta.ID, meta.CausationID = partnerKey(opt.id), res.Survivor.EventIDs[0]
	if res.Merged, err = s.appendMergedInto(r.Context(), linked.MergedID, mf.version, into, meta); err != nil {
		// The survivor's CustomerMerged records the attempt and changes
		// no view (docs/merge.md).
		return err
	}
	s.settle(r.Context(), res.Merged.Position)
	answerMerged(w, res)
	return nil
}

// mergedIntoAttempts bounds the appends of a merge's second step while
// writes to the merged customer keep landing before it.
const mergedIntoAttempts = 50

// appendMergedInto is a merge's second step: it appends into to merged's
// stream, expecting read, the version the merge's checks read before its
// first step. The survivor's CustomerMerged is already in the log and the
// store cannot take it back (an AppendBatch is atomic per stream, not
// across them), so when another write landed on the merged stream since
// (an assignment, a tier decision, a write checked just before the merge)
// it does not give up with a lone CustomerMerged: it reads what landed,
// and if none of it is a merge event or an erasure, appends again at the
// stream's new version (a checkedAppend). A merge event there (the merged
// customer absorbed or merged meanwhile) or an erasure refuses it 409 as
// before, the fence that keeps racing merges from making a cycle.
func (s *Server) appendMergedInto(ctx context.Context, merged string, read uint64, into *events.CustomerMergedInto, meta events.Meta) (events.AppendResult, error) {
	stream := events.CustomerStream(merged)
	var (
		res  events.AppendResult
		lost error // the last append's conflict
	)
	err := checkedAppend{attempts: mergedIntoAttempts,
		read: func() (uint64, error) {
			for lost != nil { // what landed since read
				evs, err := s.Store.ReadStream(ctx, stream, read+1, events.Forward, 500)
				if err != nil {
					return 0, err
				}
				for i := range evs {
					switch evs[i].Type {
					case (&events.CustomerMerged{}).EventType(), (&events.CustomerMergedInto{}).EventType(), (&events.PersonalDataErased{}).EventType():
						return 0, lost
					}
					read = evs[i].Version
				}
				if len(evs) < 500 {
					break
				}
			}
			return read, nil
		},
		append: func(version uint64) error {
			var err error
			res, err = s.appendOne(ctx, stream, events.Exact(version), into, meta)
			lost = err
			return err
		}}.run()
	return res, err
}

// answerMergedBefore answers a retry by p whose Idempotency-Key names the
// survivor's event first (and the merged one's partner, if it was
// appended) as the first request was answered; a key first used by
// another caller or for another merge or reason is a conflict.
func answerMergedBefore(w http.ResponseWriter, p Principal, first, partner *events.Envelope, req *events.CustomerMerged) error {
	var was events.CustomerMerged
	if first.Type != req.EventType() || json.Unmarshal(first.Data, &was) != nil || was != *req || first.Actor.ID != p.StaffID {
		return events.Errorf(events.Conflict, "this Idempotency-Key was used for another request")
	}
	if partner == nil {
		return events.Errorf(events.Conflict, "the merge with this Idempotency-Key stopped after its first append; merge again with a new key")
	}
	answerMerged(w, MergeResult{Survivor: appendedAs(first), Merged: appendedAs(partner)})
	return nil
}

// appendedAs returns the append result of stored event e.
func appendedAs(e *events.Envelope) events.AppendResult {
	return events.AppendResult{Stream: e.Stream, Version: e.Version, Position: e.Position, EventIDs: []string{e.ID.String()}}
}

// answerMerged answers 201 with a merge's appends, the survivor's version
// as the ETag.
func answerMerged(w http.ResponseWriter, res MergeResult) {
	w.Header().Set("ETag", `"`+strconv.FormatUint(res.Survivor.Version, 10)+`"`)
	writeJSON(w, http.StatusCreated, res)
}

// appendOne appends d to stream as one event.
func (s *Server) appendOne(ctx context.Context, stream string, expected events.ExpectedVersion, d events.Data, meta events.Meta) (events.AppendResult, error) {
	ev, err := events.NewEvent(d, meta)
	if err != nil {
		return events.AppendResult{}, err
	}
	return s.Store.Append(ctx, stream, expected, ev)
}

// getDuplicates handles GET /v1/duplicates: the likely duplicate pairs
// with both customers, at most limit of them (default 100) after the
// cursor (the last pair's "firstId+secondId").
func (s *Server) getDuplicates(w http.ResponseWriter, r *http.Request, p Principal) error {
	limit, err := intParam(r, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("cursor")
	pairs, err := s.Queries.Duplicates(r.Context())
	if err != nil {
		return err
	}
	items := []DuplicatePair{}
	next := ""
	for _, pr := range pairs {
		key := pr.CustomerIDs[0] + "+" + pr.CustomerIDs[1]
		if key <= after {
			continue
		}
		if len(items) == limit {
			next = items[len(items)-1].Customers[0].ID + "+" + items[len(items)-1].Customers[1].ID
			break
		}
		item, err := s.duplicatePair(r.Context(), pr)
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	writeJSON(w, http.StatusOK, DuplicatePage{Items: items, NextCursor: next})
	for _, it := range items { // one entry per customer listed (docs/audit.md)
		for _, c := range it.Customers {
			s.recordRead(r, p, "list", c.ID, "duplicates")
		}
	}
	return nil
}

// getWithheldValues answers what the pairs leave out: counts and customer
// ids, no personal data (so no entry of the access record).
func (s *Server) getWithheldValues(w http.ResponseWriter, r *http.Request, _ Principal) error {
	v, err := s.Queries.WithheldValues(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// duplicatePair fills in both customers of pr from their views.
func (s *Server) duplicatePair(ctx context.Context, pr projections.DuplicatePair) (DuplicatePair, error) {
	out := DuplicatePair{Matched: pr.Matched}
	for i, id := range pr.CustomerIDs {
		v, err := s.Queries.Customer(ctx, id, s.now())
		if err != nil {
			return out, err
		}
		c := DuplicateCustomer{ID: v.ID, Name: v.Name, BranchID: v.BranchID, Tier: v.Tier, RegisteredAt: v.RegisteredAt, Version: v.Version}
		if v.Advisor != nil {
			c.AdvisorID = v.Advisor.ID
		}
		out.Customers[i] = c
	}
	return out, nil
}
