package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// The whole-log browser: pages of auditPage events in position order, from
// a position the auditor types or after the last one of the page before.

// auditPage is how many events a page of the log or of a stream shows.
const auditPage = 50

// auditEvent is one event as the log and stream browsers show it: as
// stored, its data's fields in their stored order, personal fields as the
// ciphertext they are stored as.
type auditEvent struct {
	events.Envelope
	Fields []dataField
	// Sound: the hash matches the event's content. Chain is "ok" when its
	// prevHash is the hash of the stream's previous event (zero for the
	// first), "bad" when not, "" when that event is not on the page.
	Sound bool
	Chain string
}

// dataField is a top-level field of an event's stored data: a string as
// is, any other value as its JSON.
type dataField struct {
	Name, Value string
	Sealed      bool // a personal field's ciphertext (pii.Prefix)
}

// KST is a timestamp's value in KST (the cell's title: the data shows as
// stored, in UTC), or "" for a value that is not one.
func (f dataField) KST() string {
	if k := kstValue(f.Value); k != f.Value {
		return k
	}
	return ""
}

// newAuditEvent prepares e for the page.
func newAuditEvent(e events.Envelope) auditEvent {
	a := auditEvent{Envelope: e, Fields: dataFields(e.Data)}
	a.Sound = e.Verify(e.PrevHash) == nil
	return a
}

// dataFields lists the fields of a stored data object in their order; data
// that is not an object is one field without a name.
func dataFields(data json.RawMessage) []dataField {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []dataField{{Value: string(data)}}
	}
	var out []dataField
	for dec.More() {
		k, err := dec.Token()
		name, ok := k.(string)
		var raw json.RawMessage
		if err != nil || !ok || dec.Decode(&raw) != nil {
			return append(out, dataField{Value: string(data)})
		}
		f := dataField{Name: name, Value: string(raw)}
		var str string
		if raw[0] == '"' && json.Unmarshal(raw, &str) == nil {
			f.Value, f.Sealed = str, strings.HasPrefix(str, pii.Prefix)
		}
		out = append(out, f)
	}
	return out
}

// logView is the log browser's data.
type logView struct {
	auditFormat
	From, FromErr string // the position typed, and why it cannot be read
	Events        []auditEvent
	Next          string // after= of the next page; "" at the log's head
	Prev          string // from= of the page before; "" at the start, or where positions are commit/prepare pairs
	Head          bool   // the page reaches the log's head
	Start         bool   // the page starts at the log's start
}

// logPage is the whole log (/audit/log), a page of auditPage events from
// the position typed (?from=, included) or after a page's last (?after=);
// a position that is none is said next to the field (400).
func (c *Console) logPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	v := &logView{From: strings.TrimSpace(q.Get("from"))}
	after, err := logStart(v.From, q.Get("after"))
	if err != nil {
		v.FromErr = c.cat.errorText(language(r), err)
		c.render(w, r, http.StatusBadRequest, "audit_log", "audit.log.title", v)
		return nil
	}
	v.Start = after.IsZero()
	var page struct {
		Events           []events.Envelope `json:"events"`
		NextFromPosition *events.Position  `json:"nextFromPosition"`
	}
	api := url.Values{"from_position": {after.String()}, "limit": {strconv.Itoa(auditPage)}}
	if after.IsZero() {
		api.Del("from_position")
	}
	if err := c.apiJSON(r.Context(), s, "/v1/audit/log?"+api.Encode(), &page); err != nil {
		return err
	}
	for _, e := range page.Events {
		v.Events = append(v.Events, newAuditEvent(e))
	}
	if page.NextFromPosition != nil {
		v.Next = page.NextFromPosition.String()
	} else {
		v.Head = true
	}
	if len(page.Events) > 0 {
		if first := page.Events[0].Position; first.Commit == first.Prepare && first.Commit > 1 {
			v.Prev = strconv.FormatUint(max(1, first.Commit-auditPage), 10)
		}
	}
	c.render(w, r, http.StatusOK, "audit_log", "audit.log.title", v)
	return nil
}

// logStart is the position a page of the log starts after: the one before
// from (the position typed, included), else after (a page's link), else the
// log's start.
func logStart(from, after string) (events.Position, error) {
	if from == "" {
		p, err := events.ParsePosition(after)
		if err != nil {
			return p, events.InvalidField("from", "must be a log position")
		}
		return p, nil
	}
	p, err := events.ParsePosition(from)
	if err != nil {
		return p, events.InvalidField("from", "must be a log position")
	}
	switch {
	case p.IsZero():
		return p, nil
	case p.Commit == p.Prepare: // a single sequence (the embedded store, PostgreSQL)
		return events.At(p.Commit - 1), nil
	case p.Prepare > 0:
		return events.Position{Commit: p.Commit, Prepare: p.Prepare - 1}, nil
	}
	return events.Position{Commit: p.Commit - 1, Prepare: p.Commit - 1}, nil
}
