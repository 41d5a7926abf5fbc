package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The stream browser: any stream from any version with every event's
// hashes and whether its chain holds; the stream as of a date or a
// position (for a customer, the customer as the bank knew them then: the
// API's as-of view, as the customer page's ?asOf= shows it); and what
// changed between two versions, with the events between them.

// maxBetween bounds the events a comparison lists (the API's largest page).
const maxBetween = 1000

// streamView is the stream browser's data.
type streamView struct {
	auditFormat
	Stream   string
	Customer string // the customer's id, on a customer stream
	From     uint64
	Events   []auditEvent
	Prev     string // from= of the page before, "" on the first
	Next     string // from= of the page after, "" at the stream's end
	Broken   int    // events of the page whose hash or chain does not hold

	// The as-of form: a KST date or a log position, and the stream at that
	// point (Events then ends there).
	AsOfDate, AsOfPos, AsOfErr string
	AsOf                       *asOfView
	// The comparison form: two versions, and what changed between them
	// (Events is then the events after A up to B).
	DiffA, DiffB, DiffErr string
	Diff                  *diffView
}

// asOfView is a stream as it stood at a point.
type asOfView struct {
	Date     string // the KST date, or
	Position string // the log position
	Last     *auditEvent
	// Fields is the customer as of the point (customer streams), flattened;
	// CustomerErr says why it cannot be shown.
	Fields      []viewField
	CustomerErr string
}

// viewField is one field of a flattened view.
type viewField struct{ Name, Value string }

// diffView is what changed between versions A and B of a stream.
type diffView struct {
	A, B    auditEvent
	Changes []fieldChange
	// Customer: Changes compare the customer's views at A and at B; else
	// the latest value of each event field (type.field) up to A and up to B.
	Customer bool
	More     bool // more events lie between than Events shows
}

// fieldChange is a field whose value differs between two points ("" absent).
type fieldChange struct{ Field, From, To string }

// streamPicker is /audit/streams: the name typed (?stream=) opens its
// stream's page; one that is no stream name is said next to the field.
func (c *Console) streamPicker(w http.ResponseWriter, r *http.Request, s *Session) error {
	name := strings.TrimSpace(r.URL.Query().Get("stream"))
	if name == "" {
		c.render(w, r, http.StatusOK, "audit_streams", "audit.streams.title", &streamPick{})
		return nil
	}
	if !events.ValidStream(name) {
		c.render(w, r, http.StatusBadRequest, "audit_streams", "audit.streams.title",
			&streamPick{Stream: name, Err: c.cat.errorText(language(r), events.InvalidField("stream", "is not a stream name"))})
		return nil
	}
	http.Redirect(w, r, "/audit/streams/"+url.PathEscape(name), http.StatusSeeOther)
	return nil
}

// streamPick is the stream picker's data: the name typed and why it is not one.
type streamPick struct{ Stream, Err string }

// streamPage is a stream's page (/audit/streams/{stream}): a page of its
// events from ?from=, each checked against the one before; the stream as of
// a date or position (?asOf=, ?at=); or what changed between versions ?a=
// and ?b=. Bad input is said next to its field (400); an unknown stream is
// 404.
func (c *Console) streamPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	v := &streamView{Stream: r.PathValue("stream"), AsOfDate: strings.TrimSpace(q.Get("asOf")), AsOfPos: strings.TrimSpace(q.Get("at")),
		DiffA: strings.TrimSpace(q.Get("a")), DiffB: strings.TrimSpace(q.Get("b"))}
	if !events.ValidStream(v.Stream) {
		return events.Errorf(events.NotFound, "no such stream")
	}
	if cat, id := events.StreamID(v.Stream); cat == events.CategoryCustomer {
		v.Customer = id
	}
	lang, status := language(r), http.StatusOK
	var err error
	switch {
	case v.DiffA != "" || v.DiffB != "":
		err = c.streamDiff(r, s, v)
		if events.ErrorCode(err) == events.Invalid {
			v.DiffErr, err = c.cat.errorText(lang, err), nil
			status = http.StatusBadRequest
		}
	case v.AsOfDate != "" || v.AsOfPos != "":
		err = c.streamAsOf(r, s, v)
		if events.ErrorCode(err) == events.Invalid {
			v.AsOfErr, err = c.cat.errorText(lang, err), nil
			status = http.StatusBadRequest
		}
	}
	if err != nil {
		return streamError(err)
	}
	if v.AsOf == nil && v.Diff == nil {
		if v.From, err = uintValue(q.Get("from"), "from"); err != nil {
			return err
		}
		if err := c.streamFrom(r, s, v); err != nil {
			return streamError(err)
		}
	}
	c.render(w, r, status, "audit_stream", "audit.stream.title", v)
	return nil
}

// streamError is the page's error for a failed read: a stream that does not
// exist is the page's own 404.
func streamError(err error) error {
	if events.ErrorCode(err) == events.NotFound {
		return events.Errorf(events.NotFound, "no such stream")
	}
	return err
}

// uintValue reads a version typed in field; "" is 0.
func uintValue(s, field string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, events.InvalidField(field, "must be a non-negative integer")
	}
	return n, nil
}

// readStream returns up to limit events of stream from version from on.
func (c *Console) readStream(r *http.Request, s *Session, stream string, from uint64, limit int) ([]events.Envelope, error) {
	var page struct {
		Events []events.Envelope `json:"events"`
	}
	q := url.Values{"from_version": {strconv.FormatUint(from, 10)}, "limit": {strconv.Itoa(limit)}}
	err := c.apiJSON(r.Context(), s, "/v1/audit/streams/"+url.PathEscape(stream)+"?"+q.Encode(), &page)
	return page.Events, err
}

// streamFrom fills the page of v.From on: the events, each checked against
// the one before it (read too, for the first).
func (c *Console) streamFrom(r *http.Request, s *Session, v *streamView) error {
	from, limit := v.From, auditPage+1
	if from == 0 {
		limit = auditPage
	} else {
		from--
	}
	evs, err := c.readStream(r, s, v.Stream, from, limit)
	if err != nil {
		return err
	}
	if len(evs) == limit {
		v.Next = strconv.FormatUint(evs[len(evs)-1].Version+1, 10)
	}
	if v.From > 0 {
		v.Prev = strconv.FormatUint(v.From-min(v.From, auditPage), 10)
	}
	withPrev := v.From > 0 && len(evs) > 0 && evs[0].Version == v.From-1
	v.setEvents(evs, withPrev)
	if v.From > 0 && !withPrev && len(v.Events) > 0 { // the version before the page's first is missing
		v.Events[0].Chain = "bad"
		if v.Events[0].Sound { // else counted already
			v.Broken++
		}
	}
	return nil
}

// setEvents shows evs, checked; the first is the predecessor of the rest
// and not shown if withPrev.
func (v *streamView) setEvents(evs []events.Envelope, withPrev bool) {
	v.Events, v.Broken = nil, 0
	for i, e := range evs {
		if withPrev && i == 0 {
			continue
		}
		a := newAuditEvent(e)
		switch {
		case i > 0:
			a.Chain = chainState(e.PrevHash == evs[i-1].Hash && e.Version == evs[i-1].Version+1)
		case e.Version == 0:
			a.Chain = chainState(e.PrevHash == events.Hash{})
		}
		if !a.Sound || a.Chain == "bad" {
			v.Broken++
		}
		v.Events = append(v.Events, a)
	}
}

// chainState is an event's chain cell: "ok" when it links to the one
// before, "bad" when not.
func chainState(ok bool) string {
	if ok {
		return "ok"
	}
	return "bad"
}

// streamAsOf fills v with the stream as it stood at the typed date (the end
// of that KST day, or now if it is today) or position: the last auditPage
// events up to it and, for a customer, the customer's view then.
func (c *Console) streamAsOf(r *http.Request, s *Session, v *streamView) error {
	now := c.now()
	var in func(e *events.Envelope) bool
	a := &asOfView{}
	switch {
	case v.AsOfDate != "" && v.AsOfPos != "":
		return events.InvalidField("at", "give a date or a position, not both")
	case v.AsOfDate != "":
		end, err := dayEnd(v.AsOfDate, now)
		if err != nil {
			return err
		}
		a.Date = v.AsOfDate
		in = func(e *events.Envelope) bool { return !e.RecordedAt.After(end) }
	default:
		p, err := events.ParsePosition(v.AsOfPos)
		if err != nil || p.IsZero() {
			return events.InvalidField("at", "must be a log position")
		}
		a.Position = p.String()
		in = func(e *events.Envelope) bool { return !p.Less(e.Position) }
	}
	window, err := c.streamUpTo(r, s, v.Stream, in)
	if err != nil {
		return err
	}
	v.AsOf = a
	if len(window) == 0 {
		return nil
	}
	v.setEvents(window, len(window) > auditPage)
	last := v.Events[len(v.Events)-1]
	a.Last = &last
	if n := len(window); n > auditPage {
		v.Prev = strconv.FormatUint(window[1].Version-min(window[1].Version, auditPage), 10)
	}
	if v.Customer != "" {
		var view projections.CustomerView
		if a.Date != "" {
			view, err = c.customerAsOf(r.Context(), s, v.Customer, a.Date, now)
		} else {
			view, err = c.customerAt(r, s, v.Customer, last.Position)
		}
		switch events.ErrorCode(err) {
		case "":
			a.Fields = flattenView(view)
		case events.NotFound:
			a.CustomerErr = c.cat.text(language(r), "audit.asOf.noCustomer")
		default:
			return err
		}
	}
	return nil
}

// dayEnd is the last instant of the KST day date (YYYY-MM-DD), or now if
// that day is today; a day after today is refused (as the customer page's
// as-of date).
func dayEnd(date string, now time.Time) (time.Time, error) {
	day, err := time.ParseInLocation(time.DateOnly, date, kst)
	if err != nil {
		return time.Time{}, events.InvalidField("asOf", "must be a date YYYY-MM-DD")
	}
	if day.After(now) {
		return time.Time{}, events.InvalidField("asOf", "must not be after today (%s)", now.In(kst).Format(time.DateOnly))
	}
	if end := day.AddDate(0, 0, 1).Add(-time.Nanosecond); end.Before(now) {
		return end, nil
	}
	return now, nil
}

// streamUpTo reads stream from its start while in holds, and returns the
// last auditPage+1 events it held for (the first of them the predecessor of
// the rest).
func (c *Console) streamUpTo(r *http.Request, s *Session, stream string, in func(*events.Envelope) bool) ([]events.Envelope, error) {
	var window []events.Envelope
	for from := uint64(0); ; {
		evs, err := c.readStream(r, s, stream, from, maxBetween)
		if err != nil {
			return nil, err
		}
		for i := range evs {
			if !in(&evs[i]) {
				return window, nil
			}
			if window = append(window, evs[i]); len(window) > auditPage+1 {
				window = slices.Delete(window, 0, 1)
			}
		}
		if len(evs) < maxBetween {
			return window, nil
		}
		from = evs[len(evs)-1].Version + 1
	}
}

// customerAt is the API's view of customer id as of log position p.
func (c *Console) customerAt(r *http.Request, s *Session, id string, p events.Position) (projections.CustomerView, error) {
	var v projections.CustomerView
	err := c.apiJSON(r.Context(), s, "/v1/customers/"+url.PathEscape(id)+"?at_position="+url.QueryEscape(p.String()), &v)
	return v, err
}

// streamDiff fills v with what changed from version DiffA to DiffB.
func (c *Console) streamDiff(r *http.Request, s *Session, v *streamView) error {
	a, err := uintValue(v.DiffA, "a")
	if err != nil {
		return err
	}
	b, err := uintValue(v.DiffB, "b")
	if err != nil {
		return err
	}
	if v.DiffA == "" || v.DiffB == "" || a == b {
		return events.InvalidField("b", "give two different versions")
	}
	if a > b {
		a, b = b, a
		v.DiffA, v.DiffB = v.DiffB, v.DiffA
	}
	evs, err := c.readStream(r, s, v.Stream, a, int(min(b-a+1, maxBetween+1)))
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Version != a {
		return events.InvalidField("a", "is not a version of this stream")
	}
	d := &diffView{A: newAuditEvent(evs[0]), Customer: v.Customer != ""}
	if evs[len(evs)-1].Version == b {
		d.B = newAuditEvent(evs[len(evs)-1])
	} else if d.B, err = c.streamEvent(r, s, v.Stream, b); err != nil {
		return err
	}
	d.More = b-a > maxBetween
	v.setEvents(evs, true)
	if d.Customer {
		if d.Changes, err = c.customerChanges(r, s, v.Customer, d.A.Position, d.B.Position); err != nil {
			return err
		}
	} else if d.Changes, err = c.fieldChanges(r, s, v.Stream, a, b); err != nil {
		return err
	}
	v.Diff = d
	return nil
}

// streamEvent reads version n of stream; a version it does not have is invalid.
func (c *Console) streamEvent(r *http.Request, s *Session, stream string, n uint64) (auditEvent, error) {
	evs, err := c.readStream(r, s, stream, n, 1)
	if err != nil {
		return auditEvent{}, err
	}
	if len(evs) == 0 {
		return auditEvent{}, events.InvalidField("b", "is not a version of this stream")
	}
	return newAuditEvent(evs[0]), nil
}

// customerChanges compares customer id's views at positions a and b.
func (c *Console) customerChanges(r *http.Request, s *Session, id string, a, b events.Position) ([]fieldChange, error) {
	va, err := c.customerAt(r, s, id, a)
	if err != nil {
		return nil, err
	}
	vb, err := c.customerAt(r, s, id, b)
	if err != nil {
		return nil, err
	}
	return changes(flattenView(va), flattenView(vb)), nil
}

// fieldChanges compares the latest value of each event field (type.field)
// of stream up to version a and up to version b.
func (c *Console) fieldChanges(r *http.Request, s *Session, stream string, a, b uint64) ([]fieldChange, error) {
	at := map[string]string{}
	var before []viewField
	for from := uint64(0); from <= b; {
		evs, err := c.readStream(r, s, stream, from, int(min(b-from+1, maxBetween)))
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			for _, f := range dataFields(e.Data) {
				at[e.Type+"."+f.Name] = f.Value
			}
			if e.Version == a {
				before = sortedFields(at)
			}
		}
		if len(evs) == 0 {
			break
		}
		from = evs[len(evs)-1].Version + 1
	}
	return changes(before, sortedFields(at)), nil
}

// sortedFields lists m's fields by name.
func sortedFields(m map[string]string) []viewField {
	out := make([]viewField, 0, len(m))
	for k, v := range m {
		out = append(out, viewField{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// changes lists the fields whose values differ between a and b (both
// sorted by name), in name order.
func changes(a, b []viewField) []fieldChange {
	from, to := map[string]string{}, map[string]string{}
	var names []string
	for _, f := range a {
		from[f.Name] = f.Value
		names = append(names, f.Name)
	}
	for _, f := range b {
		to[f.Name] = f.Value
		if _, ok := from[f.Name]; !ok {
			names = append(names, f.Name)
		}
	}
	sort.Strings(names)
	var out []fieldChange
	for _, n := range names {
		if from[n] != to[n] {
			out = append(out, fieldChange{Field: n, From: from[n], To: to[n]})
		}
	}
	return out
}

// viewSkipped are the customer view's fields a comparison leaves out: its
// id and version, and the recent timeline (the events are listed instead).
var viewSkipped = []string{"id", "version", "recentTimeline"}

// viewKeys name the elements of the customer view's lists by their
// identifying fields, so that a comparison pairs the same consent, holding,
// pitch, life event or request at both points.
var viewKeys = map[string][]string{
	"consents": {"channel", "purpose"}, "holdings": {"product", "accountRef"}, "lastPitchPerProduct": {"product"},
	"upcomingLifeEvents": {"kind", "recordedAt"}, "openRequests": {"eventId"},
}

// flattenView lists the customer view's fields by path
// ("consents[phone/marketing].granted"), sorted.
func flattenView(v projections.CustomerView) []viewField {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range viewSkipped {
		delete(m, k)
	}
	out := map[string]string{}
	flatten("", "", m, out)
	return sortedFields(out)
}

// flatten adds value x at path to out: an object's fields as path.name, a
// list's elements as path[key] (viewKeys of list, else the index).
func flatten(path, list string, x any, out map[string]string) {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, k, v, out)
		}
	case []any:
		for i, e := range x {
			flatten(path+"["+elementKey(list, i, e)+"]", "", e, out)
		}
	case nil:
	case string:
		out[path] = kstValue(x)
	default:
		b, _ := json.Marshal(x)
		out[path] = string(b)
	}
}

// elementKey names element i of list by its identifying fields.
func elementKey(list string, i int, e any) string {
	m, ok := e.(map[string]any)
	keys := viewKeys[list]
	if !ok || len(keys) == 0 {
		return strconv.Itoa(i)
	}
	parts := make([]string, len(keys))
	for j, k := range keys {
		parts[j] = fmt.Sprint(m[k])
	}
	return strings.Join(parts, "/")
}

// kstValue shows a timestamp of the view (RFC 3339, as the API writes them
// in UTC) in KST to the second, as every time on the auditor's screens, its
// fraction kept so that two instants never look alike; any other string as
// it is.
func kstValue(s string) string {
	if len(s) < len("2006-01-02T15:04:05Z") || s[10] != 'T' {
		return s
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.In(kst).Format("2006-01-02 15:04:05.999999999") + " KST"
}
