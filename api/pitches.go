package api

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// postPitch handles POST /v1/customers/{id}/pitches. A gated pitch (for a
// campaign, or of purpose marketing: events.ProductPitched.Gated) needs the
// customer's marketing consent for its channel when it is appended
// (docs/campaigns.md); the server records the consent it relied on. The
// append expects the customer's version the check read, so a consent
// withdrawn meanwhile (appended, not yet read) makes it conflict; the
// check is then made again on the customer as it now stands. An ungated
// pitch is appended as any other interaction.
func (s *Server) postPitch(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var d events.ProductPitched
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if err := serverSet(&d); err != nil {
		return err
	}
	if d.CampaignID != "" && d.Purpose == "" {
		d.Purpose = "marketing"
	}
	if err := d.Validate(); err != nil {
		return err
	}
	if err := events.CheckOccurred(&d, s.now()); err != nil {
		return err // an interaction dated in the future
	}
	stream := events.CustomerStream(id)
	if !d.Gated() {
		return s.appendData(w, r, p, stream, events.StreamExists, id, "customer", &d)
	}
	if err := s.refuseMerged(r, id); err != nil { // the read side answers with the survivor
		return err
	}
	err = s.appendAsRead(w, r, p, stream, id, "customer", func() (uint64, events.Data, error) {
		c, err := s.Queries.Customer(r.Context(), id, s.now())
		if err != nil {
			return 0, nil, err
		}
		// A copy each attempt: the append seals the personal fields in place.
		checked := d
		return c.Version, &checked, s.checkPitch(r, c, &checked)
	})
	if events.ErrorCode(err) == events.Invalid {
		// A retry of a pitch appended before the consent changed gets
		// the first answer: the pitch is in the log.
		if done, rerr := s.replayOf(w, r, p, stream, nil, &d); done || rerr != nil {
			return rerr
		}
	}
	return err
}

// serverSet refuses a client's consentChannel or consentVersion: the
// server records what it checked.
func serverSet(d *events.ProductPitched) error {
	switch {
	case d.ConsentChannel != "":
		return events.InvalidField("consentChannel", "is set by the server")
	case d.ConsentVersion != 0:
		return events.InvalidField("consentVersion", "is set by the server")
	}
	return nil
}

// checkPitch checks gated pitch d against customer c as read (consent,
// and for a campaign's pitch the campaign and c's place on its list) and
// records in d the consent it relied on.
func (s *Server) checkPitch(r *http.Request, c projections.CustomerView, d *events.ProductPitched) error {
	if c.Erased {
		return events.InvalidField("channel", "the customer's personal data was erased")
	}
	ch, versions, err := consentFor(c, d.Channel)
	if err != nil {
		return err
	}
	version, err := s.givenBy(r, c.ID, versions, d.OccurredAt)
	if err != nil {
		return err
	}
	if d.CampaignID != "" {
		if err := s.checkCampaignPitch(r, c.ID, d); err != nil {
			return err
		}
	}
	d.ConsentChannel, d.ConsentVersion = ch, version
	return nil
}

// consentFor returns the marketing consents a pitch over contact channel
// ch may rely on, newest first: the grant for its consent channel, or for
// a channel without one (events.ConsentChannelFor) every marketing grant
// in force; Invalid on channel naming the consent missing.
func consentFor(c projections.CustomerView, ch string) (string, []uint64, error) {
	if c.DoNotContact {
		return "", nil, events.InvalidField("channel", "the customer is do-not-contact")
	}
	want := events.ConsentChannelFor(ch)
	var versions []uint64
	for _, g := range c.Consents {
		if g.Purpose != "marketing" || !g.Granted {
			continue
		}
		if want != "" && g.Channel == want {
			return want, []uint64{g.Version}, nil
		}
		versions = append(versions, g.Version)
	}
	if want == "" {
		slices.Sort(versions)
		slices.Reverse(versions)
		return "", versions, nil
	}
	return "", nil, events.InvalidField("channel", "needs the customer's marketing consent by %s", want)
}

// givenBy returns the newest of customer's consents versions (newest
// first) given by a pitch's occurredAt (zero: now, after every one):
// a pitch dated before the consent it needs was given happened without
// it. A version 0 (a PostgreSQL row of an earlier release) is taken as
// given.
func (s *Server) givenBy(r *http.Request, customer string, versions []uint64, occurred time.Time) (uint64, error) {
	for _, v := range versions {
		if occurred.IsZero() || v == 0 {
			return v, nil
		}
		evs, err := s.Store.ReadStream(r.Context(), events.CustomerStream(customer), v, events.Forward, 1)
		if err != nil {
			return 0, err
		}
		if len(evs) == 1 && !occurred.Before(cmp.Or(evs[0].OccurredAt, evs[0].RecordedAt)) {
			return v, nil
		}
	}
	return 0, events.InvalidField("occurredAt", "is before the customer gave the marketing consent the pitch needs")
}

// checkCampaignPitch refuses a campaign's pitch unless the campaign is
// running, pitches d's product and has customer on its target group's
// list.
func (s *Server) checkCampaignPitch(r *http.Request, customer string, d *events.ProductPitched) error {
	c, err := s.campaignAsLogged(r, d.CampaignID)
	if events.ErrorCode(err) == events.NotFound {
		return events.InvalidField("campaignId", "no campaign %s was launched", d.CampaignID)
	}
	if err != nil {
		return err
	}
	if c.Status != projections.CampaignRunning {
		return events.InvalidField("campaignId", "campaign %s is %s, not running", c.ID, c.Status)
	}
	if d.Product != c.Product {
		return events.InvalidField("product", "must be %s, campaign %s's product", c.Product, c.ID)
	}
	t, err := s.Queries.CampaignTarget(r.Context(), c.ID, customer)
	switch {
	case events.ErrorCode(err) == events.NotFound || err == nil && !t.RemovedAt.IsZero():
		return events.InvalidField("campaignId", "the customer is not on campaign %s's target list", c.ID)
	case err != nil:
		return err
	case t.Group == projections.GroupHoldOut:
		return events.InvalidField("campaignId", "the customer is in campaign %s's hold-out group, which is not contacted", c.ID)
	}
	return nil
}

// campaignAsLogged returns campaign id as the read side has it once it has
// applied the campaign stream's last event: a closure or amendment
// appended but not yet read must refuse a pitch (the pitch's append
// expects the customer's version, not the campaign's). A read side that
// does not catch up is a conflict.
func (s *Server) campaignAsLogged(r *http.Request, id string) (projections.Campaign, error) {
	c, err := s.Queries.Campaign(r.Context(), id, s.now())
	if err != nil {
		return c, err
	}
	stream := events.CampaignStream(id)
	last, err := s.Store.ReadStream(r.Context(), stream, events.LastVersion, events.Backward, 1)
	if err != nil || len(last) == 0 || last[0].Version <= c.Version {
		return c, err
	}
	s.settle(r.Context(), last[0].Position)
	if c, err = s.Queries.Campaign(r.Context(), id, s.now()); err == nil && c.Version < last[0].Version {
		e := events.Errorf(events.Conflict, "%s is at version %d here, not yet %d: try again", stream, c.Version, last[0].Version)
		e.Stream, e.ActualVersion = stream, int64(c.Version)
		return c, e
	}
	return c, err
}
