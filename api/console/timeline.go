package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The timeline is the customer's stream in the order things happened
// (projections.TimelinePage), newest first, read as the API's
// GET /v1/customers/{id}/timeline reads it and paged by its cursor (before=<the
// version of the last entry shown>): a "more" link at the end that
// customer.js follows when it scrolls into view, and that works as a plain
// link without script. Calls are on streams of their own; the view's
// recent timeline has the latest of them, merged into the first page.

// timeline is one page of a customer's timeline.
type timeline struct {
	ID      string // the customer
	Entries []entry
	Next    string // the cursor of the next page, "" at the end
	Recent  bool   // only the view's recent entries (as of a date)
}

// entry is one event of the timeline.
type entry struct {
	Version  uint64 // its version on the customer's stream (0 for a call)
	Position uint64
	Type     string // the event type
	Label    string // the type, translated
	At       time.Time
	Entered  time.Time // when it was recorded, if that was well after it happened
	Actor    string
	Data     events.Data                // the event's data (nil for a call)
	Call     *projections.TimelineEntry // a call
	New      bool                       // marked: just saved
	Parts    []part                     // what it says (describe)
	Note     string                     // its free text
}

// enteredLate is how much later than it happened an entry must have been
// recorded for the timeline to say when it was.
const enteredLate = time.Hour

// timelineFrom reads the page of customer id's timeline after cursor
// before ("" for the newest) as the API's GET /v1/customers/{id}/timeline
// answers it (the same page, the same errors), read directly: through the
// route the page spent as long encoding and decoding its JSON as reading
// it. The route's roles are the page's (readerRoles), so s may read it.
func (c *Console) timelineFrom(ctx context.Context, s *Session, id, before, lang string, names *staffNames) (timeline, error) {
	var after *uint64
	if before != "" {
		v, err := strconv.ParseUint(before, 10, 63)
		if err != nil {
			return timeline{}, events.InvalidField("before", "must be the version of the last event of the previous page")
		}
		after = &v
	}
	evs, more, err := projections.TimelinePage(ctx, c.API.Store, events.CustomerStream(id), after, timelineLimit)
	if events.ErrorCode(err) == events.NotFound {
		return timeline{}, errNoCustomer
	}
	if err != nil {
		return timeline{}, err
	}
	t := timeline{ID: id}
	if n := len(evs); more {
		t.Next = strconv.FormatUint(evs[n-1].Version, 10)
	}
	for i := range evs {
		it := &evs[i]
		// Opened (personal fields) and upcast, as the API answers it.
		data, err := c.openEvent(ctx, it)
		if err != nil {
			return timeline{}, err
		}
		e := entry{Version: it.Version, Position: it.Position.Seq(), Type: it.Type, Label: c.typeLabel(lang, it.Type),
			At: it.RecordedAt, Actor: names.actor(ctx, it.Actor), Data: data}
		if !it.OccurredAt.IsZero() {
			e.At = it.OccurredAt
			if it.RecordedAt.Sub(it.OccurredAt) > enteredLate {
				e.Entered = it.RecordedAt
			}
		}
		c.describe(ctx, &e, lang, names)
		t.Entries = append(t.Entries, e)
	}
	return t, nil
}

// openEvent is the data of e as the API's timeline shows it: opened by
// its Sealer, if it has one.
func (c *Console) openEvent(ctx context.Context, e *events.Envelope) (events.Data, error) {
	if c.API.Sealer != nil {
		return c.API.Sealer.OpenEnvelope(ctx, e)
	}
	return events.Decode(e)
}

// mergeCalls puts the calls of the view's recent timeline into the first
// page, where they fall in it.
func (c *Console) mergeCalls(ctx context.Context, t *timeline, v *projections.CustomerView, names *staffNames) {
	var oldest time.Time
	if n := len(t.Entries); n > 0 && t.Next != "" {
		oldest = t.Entries[n-1].At
	}
	lang := names.lang
	added := false
	for i := range v.Timeline {
		te := v.Timeline[i]
		if te.Kind != "call" || te.At.Before(oldest) {
			continue
		}
		e := entry{Position: te.Position, Type: "CallRecorded", Label: c.typeLabel(lang, "CallRecorded"),
			At: te.At, Actor: names.name(ctx, te.StaffID), Call: &te}
		c.describe(ctx, &e, lang, names)
		t.Entries = append(t.Entries, e)
		added = true
	}
	if added {
		slices.SortStableFunc(t.Entries, func(a, b entry) int {
			if d := b.At.Compare(a.At); d != 0 {
				return d
			}
			switch {
			case a.Position > b.Position:
				return -1
			case a.Position < b.Position:
				return 1
			}
			return 0
		})
	}
}

// recentTimeline is the timeline of a view as of a date: its recent
// entries, as the fold kept them.
func (c *Console) recentTimeline(ctx context.Context, v *projections.CustomerView, names *staffNames) timeline {
	t := timeline{ID: v.ID, Recent: true}
	lang := names.lang
	for i := range v.Timeline {
		te := v.Timeline[i]
		e := entry{Position: te.Position, At: te.At, Actor: names.name(ctx, te.StaffID)}
		switch te.Kind {
		case "contact":
			e.Type = "ContactLogged"
			e.Data = &events.ContactLogged{Channel: te.Channel, Purpose: te.Purpose, Summary: te.Summary, OccurredAt: te.At,
				DurationSec: te.DurationSec, StaffID: te.StaffID, CallID: te.CallID}
		case "pitch":
			e.Type = "ProductPitched"
			e.Data = &events.ProductPitched{Product: te.Product, Channel: te.Channel, Outcome: te.Outcome}
		case "profile":
			e.Type = "ProfileChanged"
			e.Data = &events.ProfileChanged{Source: te.Channel}
		case "call":
			e.Type, e.Call = "CallRecorded", &te
		default:
			e.Type = te.Kind
		}
		e.Label = c.typeLabel(lang, e.Type)
		c.describe(ctx, &e, lang, names)
		t.Entries = append(t.Entries, e)
	}
	return t
}

// timelinePage serves GET /customers/{id}/timeline?before=<version>: the
// next entries, as a fragment for customer.js, or as a page of their own.
func (c *Console) timelinePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	id := r.PathValue("id")
	if !events.ValidID(id) {
		return errNoCustomer
	}
	lang := language(r)
	t, err := c.timelineFrom(r.Context(), s, id, r.URL.Query().Get("before"), lang, c.staffNames(lang))
	if err != nil {
		return err
	}
	p := &customerPage{Timeline: t}
	if p.V, err = c.Queries.Customer(r.Context(), id, c.now()); err != nil {
		return err
	}
	c.recordRead(r, s, &p.V, "timeline_view")
	if r.Header.Get(fragmentHeader) == "entries" {
		return c.renderWorkFragment(w, r, "customer", "cust_entries", "entries", p)
	}
	if p.V.Erased {
		p.V.Name = c.cat.text(lang, "cust.erasedValue")
	}
	c.render(w, r, http.StatusOK, "customer_timeline", "cust.timeline", p)
	return nil
}
