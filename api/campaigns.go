package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Campaigns (docs/campaigns.md): campaigners launch, amend and close them
// on campaign-<id>; the read side keeps their target lists, which reach
// the advisors' worklists; reps and private bankers read the part of a
// list that is their book.

// kst is the zone of a campaign's days (startsOn, endsOn).
var kst = time.FixedZone("KST", 9*60*60)

// today returns the server's day in KST ("2026-12-01").
func (s *Server) today() string { return s.now().In(kst).Format(time.DateOnly) }

// postCampaign handles POST /v1/campaigns: CampaignLaunched on a new
// stream (an existing id is a conflict), starting and ending no earlier
// than the server's today (KST). A retry with the same Idempotency-Key
// gets the first answer, even on a later day.
func (s *Server) postCampaign(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.CampaignLaunched
	if err := s.readData(w, r, &d); err != nil {
		return err
	}
	if r.Header.Get("If-Match") != "" { // it would replace NoStream: a second launch of a campaign
		return events.InvalidField("If-Match", "is not taken: a launch makes a new campaign")
	}
	stream := events.CampaignStream(d.CampaignID)
	if today := s.today(); d.StartsOn < today { // YYYY-MM-DD sorts as it reads
		if done, err := s.replay(w, r, p, stream, campaignIDOf); done || err != nil {
			return err
		}
		return events.InvalidField("startsOn", "must not be before today (%s, KST)", today)
	}
	return s.appendEvents(w, r, p, stream, events.NoStream, campaignIDOf, &d)
}

// readData reads r's body into d and validates it.
func (s *Server) readData(w http.ResponseWriter, r *http.Request, d events.Data) error {
	if err := s.readBody(w, r, d); err != nil {
		return err
	}
	return d.Validate()
}

// campaignIDOf is the field a launch answers beside the append result.
func campaignIDOf(last events.Data) map[string]any {
	return map[string]any{"campaignId": last.(*events.CampaignLaunched).CampaignID}
}

// postAmendment handles POST /v1/campaigns/{id}/amendments:
// CampaignAmended of a campaign neither closed nor ended, its new end not
// before its start nor today.
func (s *Server) postAmendment(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.CampaignAmended
	if err := s.readData(w, r, &d); err != nil {
		return err
	}
	return s.campaignWrite(w, r, p, func(c projections.Campaign) (events.Data, error) {
		if err := writable(c); err != nil {
			return nil, err
		}
		if today := s.today(); d.EndsOn != "" && (d.EndsOn < c.StartsOn || d.EndsOn < today) {
			return nil, events.InvalidField("endsOn", "must not be before the campaign's start (%s) nor today (%s, KST)", c.StartsOn, today)
		}
		return &d, nil
	})
}

// postCampaignClosure handles POST /v1/campaigns/{id}/closure:
// CampaignClosed, once.
func (s *Server) postCampaignClosure(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.CampaignClosed
	if err := s.readData(w, r, &d); err != nil {
		return err
	}
	return s.campaignWrite(w, r, p, func(c projections.Campaign) (events.Data, error) {
		if c.Status == projections.CampaignIsClosed {
			return nil, events.InvalidField("id", "campaign %s is closed already", c.ID)
		}
		return &d, nil
	})
}

// writable refuses to amend a campaign that is closed or has ended.
func writable(c projections.Campaign) error {
	switch c.Status {
	case projections.CampaignIsClosed:
		return events.InvalidField("id", "campaign %s is closed", c.ID)
	case projections.CampaignEnded:
		return events.InvalidField("id", "campaign %s ended on %s", c.ID, c.EndsOn)
	}
	return nil
}

// campaignWrite appends to the path's campaign the event build makes of
// the campaign as read (appendAsRead); when build refuses the request as
// invalid, a retry of the request that did the work gets the first
// answer.
func (s *Server) campaignWrite(w http.ResponseWriter, r *http.Request, p Principal,
	build func(c projections.Campaign) (events.Data, error)) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	stream := events.CampaignStream(id)
	err = s.appendAsRead(w, r, p, stream, "", "campaign", func() (uint64, events.Data, error) {
		c, err := s.Queries.Campaign(r.Context(), id, s.now())
		if err != nil {
			return 0, nil, err
		}
		d, err := build(c)
		return c.Version, d, err
	})
	if events.ErrorCode(err) == events.Invalid {
		return s.retryOr(w, r, p, stream, err)
	}
	return err
}

// appendAsRead appends to stream the event build makes of its entity as
// the read side has it, expecting the version build read; If-Match names
// a version the read side has not reached: 409. An append that lost a
// race (If-Match absent) waits for the read side, reads again and builds
// again (a checkedAppend), so that build's checks hold against the events
// the append follows.
func (s *Server) appendAsRead(w http.ResponseWriter, r *http.Request, p Principal, stream, customerID, what string,
	build func() (read uint64, d events.Data, err error)) error {
	var d events.Data
	loop := s.checkedOnReadSide(r, stream,
		func() (read uint64, err error) {
			read, d, err = build()
			return read, err
		},
		func(read uint64) error { return s.appendData(w, r, p, stream, events.Exact(read), customerID, what, d) })
	loop.waitAhead = false // the read side has not seen the version the caller has: 409 at once
	return loop.run()
}

// previewRequest is the body of POST /v1/campaigns/preview: the criteria
// being built, judged as a launch's.
type previewRequest struct {
	CampaignID     string                   `json:"campaignId"` // the hold-out of this campaign (a launch's id, or one launched)
	Criteria       *events.CampaignCriteria `json:"criteria"`
	Channel        string                   `json:"channel"`
	HoldOutPercent int                      `json:"holdOutPercent"`
}

// postPreview handles POST /v1/campaigns/preview: what the criteria would
// select now; nothing is appended.
func (s *Server) postPreview(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req previewRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	// Validated as a launch: the fields a preview has no need of are
	// stand-ins that pass.
	d := events.CampaignLaunched{CampaignID: req.CampaignID, Name: "preview", Product: "preview", Criteria: req.Criteria,
		Channel: req.Channel, StartsOn: s.today(), HoldOutPercent: req.HoldOutPercent}
	if d.CampaignID == "" {
		d.CampaignID = "preview"
	}
	if err := d.Validate(); err != nil {
		return err
	}
	pv, err := s.Queries.CampaignPreview(r.Context(), &d, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pv)
	return nil
}

// campaignStatuses are the values of GET /v1/campaigns?status=.
var campaignStatuses = []string{projections.CampaignScheduled, projections.CampaignRunning, projections.CampaignEnded, projections.CampaignIsClosed}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, p Principal) error {
	f := projections.CampaignFilter{Status: r.URL.Query().Get("status")}
	if f.Status != "" && !slices.Contains(campaignStatuses, f.Status) {
		return events.InvalidField("status", "must be one of scheduled, running, ended, closed")
	}
	cs, err := s.Queries.Campaigns(r.Context(), f, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cs})
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.Queries.Campaign(r.Context(), id, s.now())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+strconv.FormatUint(c.Version, 10)+`"`)
	writeJSON(w, http.StatusOK, c)
	return nil
}

// getTargets handles GET /v1/campaigns/{id}/targets; a rep or private
// banker reads their own book's targets only. Each target listed is in
// the access record, as on a customer list.
func (s *Server) getTargets(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := targetFilter(r, p)
	if err != nil {
		return err
	}
	ts, next, err := s.Queries.CampaignTargets(r.Context(), id, f)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []projections.CampaignTarget{}
	}
	if !slices.Contains(readers, p.Role) { // a marketer reads no customer's data
		for i := range ts {
			ts[i].Matched = matchedKinds(ts[i].Matched)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ts, "next": next})
	for _, t := range ts { // each customer listed, with what they matched (docs/audit.md)
		s.recordRead(r, p, "list", t.CustomerID, "campaign "+id+" targets")
	}
	return nil
}

// matchedKinds is a target's matched list without the customer's own
// values (a life event's date, a balance, the last contact's day): what
// the campaign's criteria say, for a reader of no customer's data.
func matchedKinds(matched []string) []string {
	out := make([]string, len(matched))
	for i, m := range matched {
		kind, value, _ := strings.Cut(m, ":")
		switch kind {
		case "lifeEvent":
			value, _, _ = strings.Cut(value, ":")
			out[i] = kind + ":" + value
		case "balance", "noContactSince":
			out[i] = kind
		default: // tier, notHolding, branch: the criterion's own values
			out[i] = m
		}
	}
	return out
}

// targetFilter reads the query of GET /v1/campaigns/{id}/targets.
func targetFilter(r *http.Request, p Principal) (projections.TargetFilter, error) {
	q := r.URL.Query()
	f := projections.TargetFilter{Group: q.Get("group"), Status: q.Get("status"), Advisor: q.Get("advisor"), After: q.Get("after")}
	var err error
	if f.Limit, err = intParam(r, "limit", 100, 1, 1000); err != nil {
		return f, err
	}
	switch {
	case f.Group != "" && f.Group != projections.GroupTarget && f.Group != projections.GroupHoldOut:
		return f, events.InvalidField("group", "must be target or holdout")
	case f.Status != "" && f.Status != "active" && f.Status != "removed":
		return f, events.InvalidField("status", "must be active or removed")
	case f.Advisor != "" && !events.ValidID(f.Advisor):
		return f, events.InvalidField("advisor", "must be a staff id")
	case f.After != "" && !events.ValidID(f.After):
		return f, events.InvalidField("after", "must be the customer id of the previous page's last target")
	}
	if bookBound(p) {
		if f.Advisor != "" && f.Advisor != p.StaffID {
			return f, forbidden("a rep or private banker reads only their own book's targets")
		}
		f.Advisor = p.StaffID
	}
	return f, nil
}

// getCampaignReport handles GET /v1/reports/campaigns/{id}.
func (s *Server) getCampaignReport(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.Queries.CampaignReport(r.Context(), id, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// getTierMigration handles GET /v1/reports/tier-migration, the named
// report that marketers may read too (docs/api.md).
func (s *Server) getTierMigration(w http.ResponseWriter, r *http.Request, p Principal) error {
	r.SetPathValue("name", "tier-migration")
	return s.getReport(w, r, p)
}
