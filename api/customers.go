package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

func (s *Server) postCustomer(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.CustomerRegistered
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	return s.appendData(w, r, p, events.CustomerStream(d.CustomerID), events.NoStream, d.CustomerID, "customer", &d)
}

// customerWrite handles POST /v1/customers/{id}/<thing>: the body is the
// event's data; the customer must exist.
func (s *Server) customerWrite(newData func() events.Data, fill func(d events.Data, p Principal, now time.Time)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		d := newData()
		if err := s.readBody(w, r, d); err != nil {
			return err
		}
		if fill != nil {
			fill(d, p, s.now())
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := events.CheckOccurred(d, s.now()); err != nil {
			return err // an interaction dated in the future
		}
		return s.appendData(w, r, p, events.CustomerStream(id), events.StreamExists, id, "customer", d)
	}
}

func fillContact(d events.Data, p Principal, now time.Time) {
	c := d.(*events.ContactLogged)
	if c.StaffID == "" {
		c.StaffID = p.StaffID
	}
}

func (s *Server) postAssignment(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d events.AdvisorAssigned
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	adv, err := s.Queries.StaffMember(r.Context(), d.AdvisorID)
	if err != nil || (adv.Role != roleRep && adv.Role != rolePB) {
		return events.InvalidField("advisorId", "must be a registered rep or private banker")
	}
	return s.appendData(w, r, p, events.CustomerStream(id), events.StreamExists, "", "customer", &d)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var v projections.CustomerView
	detail := "" // the access record's: which past view was read
	if q.Has("as_of") || q.Has("at_position") {
		var a projections.AsOf
		if t := q.Get("as_of"); t != "" {
			if a.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
				return events.InvalidField("as_of", "must be an RFC 3339 time")
			}
		}
		if ps := q.Get("at_position"); ps != "" {
			if a.Position, err = events.ParsePosition(ps); err != nil || a.Position.IsZero() {
				return events.InvalidField("at_position", "must be a log position")
			}
		}
		v, err = projections.CustomerAsOf(r.Context(), s.Store, s.decoder(), id, a, s.now())
		detail = "as of " + strings.TrimSpace(q.Get("as_of")+" "+q.Get("at_position"))
	} else {
		v, err = s.Queries.Customer(r.Context(), id, s.now())
	}
	if err != nil {
		return err
	}
	if v.ID != id { // merged: the survivor's view (docs/merge.md)
		w.Header().Set("Content-Location", "/v1/customers/"+v.ID)
		detail = strings.TrimSpace(detail + " via merged " + id) // the entry names whose data was sent
	}
	etag := `"` + strconv.FormatUint(v.Version, 10) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.Header().Set("Cache-Control", "no-store") // as the 200 it stands for
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeJSON(w, http.StatusOK, v)
	advisor := ""
	if detail != "" {
		advisor = s.advisorOf(r, p, id) // the book is today's
	} else if v.Advisor != nil {
		advisor = v.Advisor.ID
	}
	s.recordRead(r, p, ReadAction(p, advisor, "customer_view"), v.ID, detail)
	return nil
}

func (s *Server) decoder() projections.Decoder {
	if s.Sealer != nil {
		return s.Sealer.OpenEnvelope
	}
	return func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
}

// TimelineItem is one event of a customer's full timeline.
type TimelineItem struct {
	Version    uint64          `json:"version"`
	Position   events.Position `json:"position"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recordedAt"`
	OccurredAt time.Time       `json:"occurredAt,omitzero"`
	Actor      events.Actor    `json:"actor"`
	Data       events.Data     `json:"data"`
}

func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	// In the order things happened (projections.TimelinePage): before
	// names the last event of the previous page, not a version range.
	var after *uint64
	if b := r.URL.Query().Get("before"); b != "" {
		v, err := strconv.ParseUint(b, 10, 63)
		if err != nil {
			return events.InvalidField("before", "must be the version of the last event of the previous page")
		}
		after = &v
	}
	evs, more, err := projections.TimelinePage(r.Context(), s.Store, events.CustomerStream(id), after, limit)
	if events.ErrorCode(err) == events.NotFound {
		return events.Errorf(events.NotFound, "customer not found")
	}
	if err != nil {
		return err
	}
	items := make([]TimelineItem, 0, len(evs))
	dec := s.decoder()
	for i := range evs {
		e := &evs[i]
		d, err := dec(r.Context(), e)
		if err != nil {
			return err
		}
		items = append(items, TimelineItem{Version: e.Version, Position: e.Position, Type: e.Type, RecordedAt: e.RecordedAt,
			OccurredAt: e.OccurredAt, Actor: e.Actor, Data: d})
	}
	resp := map[string]any{"items": items}
	if n := len(evs); more {
		resp["next"] = "before=" + strconv.FormatUint(evs[n-1].Version, 10)
	}
	writeJSON(w, http.StatusOK, resp)
	action, detail := ReadAction(p, s.advisorOf(r, p, id), "timeline_view"), ""
	if action == "lookup" {
		detail = "timeline" // a lookup's entry says what was looked at
	}
	s.recordRead(r, p, action, id, detail)
	return nil
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	f := projections.CustomerFilter{Advisor: q.Get("advisor"), Tier: q.Get("tier"), After: q.Get("cursor"), Limit: limit}
	if f.Advisor != "" && !events.ValidID(f.Advisor) {
		return events.InvalidField("advisor", "must be a staff id")
	}
	if bookBound(p) { // their own book only
		if f.Advisor != "" && f.Advisor != p.StaffID {
			return forbidden("a rep or private banker lists only their own book")
		}
		f.Advisor = p.StaffID
	}
	if f.Tier != "" && !contains(events.Tiers, f.Tier) {
		return events.InvalidField("tier", "must be one of vip, potential_vip, general")
	}
	if st := q.Get("stale"); st != "" {
		b, err := strconv.ParseBool(st)
		if err != nil {
			return events.InvalidField("stale", "must be true or false")
		}
		f.Stale = &b
	}
	page, next, err := s.Queries.CustomerList(r.Context(), f, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": page, "nextCursor": next})
	for _, c := range page { // one entry per customer listed (docs/audit.md)
		s.recordRead(r, p, "list", c.ID, "")
	}
	return nil
}

func (s *Server) getWorklist(w http.ResponseWriter, r *http.Request, p Principal) error {
	advisor := p.StaffID
	if a := r.URL.Query().Get("advisor"); a != "" && a != p.StaffID {
		if p.Role != roleSupervisor && p.Role != roleCentreHead && p.Role != roleAuditor {
			return forbidden("only supervisors, centre heads and auditors may read another advisor's worklist")
		}
		if !events.ValidID(a) {
			return events.InvalidField("advisor", "must be a staff id")
		}
		advisor = a
	}
	var opt projections.WorklistOptions
	var err error
	if opt.LifeEventWithinDays, err = intParam(r, "life_event_days", 60, 1, 366); err != nil {
		return err
	}
	if opt.NoContactDays, err = intParam(r, "no_contact_days", 90, 1, 3660); err != nil {
		return err
	}
	items, err := s.Queries.Worklist(r.Context(), advisor, s.now(), opt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"advisor": advisor, "items": items})
	s.recordRead(r, p, "worklist", "", WorklistReadDetail(advisor, len(items)))
	return nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, events.InvalidField(name, "must be an integer from %d to %d", lo, hi)
	}
	return n, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// postErasure handles POST /v1/customers/{id}/erasure (admin): it appends
// PersonalDataErased, then destroys the customer's data key. The event goes
// first: if the process dies between the two, the event is on record and a
// retry completes the destruction. A customer already erased is answered
// with the erasure on record and nothing is appended (the key is destroyed
// again, which is idempotent): an erasure is done once.
func (s *Server) postErasure(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d events.PersonalDataErased
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	erased := func(e *events.Envelope) bool { return e.Type == d.EventType() }
	if err := s.appendOnce(w, r, p, events.CustomerStream(id), "customer", &d, erased); err != nil {
		return err
	}
	if s.Sealer != nil {
		if err := s.Sealer.Erase(r.Context(), id); err != nil {
			s.Logger.Error("erasure recorded but the key was not destroyed; retry the request", "err", err)
		}
	}
	return nil
}
