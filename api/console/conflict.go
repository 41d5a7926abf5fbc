package console

import (
	"context"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Optimistic concurrency made humane: every form carries the stream version
// the page was rendered at (If-Match). When someone else wrote to the
// customer in between, the API answers 409 and nothing is appended; the
// page comes back with the user's input, a list of what changed since that
// version (the type, who and when of each event: never its content, which
// the page's own sections show), and the form's version moved to the
// current one, so that submitting again appends.

// conflictLines bounds the changes listed (ReadStream's limit).
const conflictLines = 50

// conflict is what changed on a customer's stream since a form's version.
type conflict struct {
	From    uint64 // the version the form was opened at
	To      uint64 // the stream's version now
	Changes []change
	More    bool // more changed than are listed
}

// change is one event since the form's version.
type change struct {
	At    time.Time // recorded
	Type  string    // translated event type
	Actor string    // the member's name, or the system component
}

// changesSince reads the customer's stream after version and describes
// it. saved reports that one of those events has the form's key as its id:
// this form was already saved (submitted twice, changed in between). last
// is the position of the latest event read, for the read side to reach
// before the page is shown again.
func (c *Console) changesSince(ctx context.Context, id string, version uint64, key, lang string, names *staffNames) (cf *conflict, saved bool, last events.Position, err error) {
	evs, err := c.Store.ReadStream(ctx, events.CustomerStream(id), version+1, events.Forward, conflictLines+1)
	if err != nil {
		return nil, false, events.Position{}, err
	}
	cf = &conflict{From: version, To: version}
	if len(evs) > conflictLines {
		cf.More = true
		evs = evs[:conflictLines]
	}
	keyID, keyErr := events.ParseID(keyField, key)
	for i := range evs {
		e := &evs[i]
		if keyErr == nil && e.ID == keyID {
			saved = true
		}
		cf.Changes = append(cf.Changes, change{At: e.RecordedAt, Type: c.typeLabel(lang, e.Type),
			Actor: names.actor(ctx, e.Actor)})
		cf.To, last = e.Version, e.Position
	}
	return cf, saved, last, nil
}

// typeLabel is an event type as people read it; a type the catalog does
// not name (a newer release's) shows as it is.
func (c *Console) typeLabel(lang, typ string) string {
	if k := "cust.type." + typ; c.cat.has(lang, k) {
		return c.cat.text(lang, k)
	}
	return typ
}

// staffNames looks up the names of the members a page mentions, once each.
type staffNames struct {
	c     *Console
	lang  string
	names map[string]string
}

func (c *Console) staffNames(lang string) *staffNames {
	return &staffNames{c: c, lang: lang, names: map[string]string{}}
}

// maxNameLookups bounds the lookups of one page: past it, ids are shown.
const maxNameLookups = 16

// name returns staff member id's name, or the id if there is none.
func (n *staffNames) name(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	if v, ok := n.names[id]; ok {
		return v
	}
	v := id
	if len(n.names) < maxNameLookups {
		if m, err := n.c.Queries.StaffMember(ctx, id); err == nil && m.Name != "" {
			v = m.Name
		}
	}
	n.names[id] = v
	return v
}

// actor returns who appended an event: a member's name, or "system" and
// the component ("system: segmentation").
func (n *staffNames) actor(ctx context.Context, a events.Actor) string {
	if comp, ok := strings.CutPrefix(a.ID, "system:"); ok {
		return n.c.cat.text(n.lang, "cust.actor.system", comp)
	}
	return n.name(ctx, a.ID)
}
