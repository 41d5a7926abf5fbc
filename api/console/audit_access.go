package console

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/seal"
)

// The auditor's export builder and access record. Both are thin over the
// API: the builder previews a range with the export's manifest (GET
// /v1/audit/export/manifest) and downloads the export itself (GET
// /v1/audit/export) straight into the browser's answer (api.Server.
// DispatchTo), in constant memory; the access record shows GET
// /v1/audit/access and its monthly check, and signs the month off through
// POST /v1/audit/access/check/sign-off. The download is a POST with the
// session's form token, though it changes nothing in the plain case: an
// export in clear is itself recorded, with its reason, in the access
// record, and that must not happen from a link another site planted.

// auditorRoles may open these screens.
var auditorRoles = []string{"auditor"}

// accessPageSize is how many access entries a page of the record shows.
const accessPageSize = 50

// auditAccessRoutes registers the export builder and the access record,
// the auditor's alone.
func (c *Console) auditAccessRoutes() {
	c.page("GET /audit/export", auditorRoles, c.getExport)
	c.page("POST /audit/export", auditorRoles, c.postExport)
	c.page("GET /audit/access", auditorRoles, c.getAccess)
	c.page("POST /audit/access/sign-off", auditorRoles, c.postSignOff)
}

// ── the export builder ───────────────────────────────────────────────────

// exportPage is the export builder's data: the range as typed, its
// preview, and the download form.
type exportPage struct {
	From, To string // the range as typed ("" from: the start)
	Latest   *seal.Seal
	Preview  *exportPreview
	Clear    bool
	Reason   string
	Fields   map[string]string // input → the refusal shown next to it
	Error    string            // a refusal about no one input
}

// exportPreview is what the export of the range holds: its manifest's
// range and count, and the seal that covers it (nil if none does yet).
type exportPreview struct {
	FromPosition, ToPosition events.Position
	Count                    int64
	Seal                     *seal.Seal
}

// CountText is the count with thousands separators.
func (p *exportPreview) CountText() string { return groupDigits(strconv.FormatInt(p.Count, 10)) }

// SealWhen is the covering seal's time in KST, to the second.
func (p *exportPreview) SealWhen() string { return kstSeconds(p.Seal.RecordedAt) }

// previewOf reads the export's manifest m; its covering seal is a line of
// the export, read back as the seal event it is.
func previewOf(m *export.Manifest) (*exportPreview, error) {
	p := &exportPreview{FromPosition: m.FromPosition, ToPosition: m.ToPosition, Count: m.Count}
	if len(m.CoveringSeal) == 0 || string(m.CoveringSeal) == "null" {
		return p, nil
	}
	env, err := export.Decode(m.CoveringSeal)
	if err != nil {
		return nil, err
	}
	sl, err := seal.SealOf(&env)
	if err != nil {
		return nil, err
	}
	p.Seal = &sl
	return p, nil
}

// getExport is the export builder: by default the range the latest seal
// covers, told from the seal; with ?from= or ?to= the preview of that range
// from its manifest, or the API's refusal next to its input.
func (c *Console) getExport(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := &exportPage{Fields: map[string]string{}}
	latest, err := c.latestSeal(r.Context(), s)
	if err != nil {
		return err
	}
	p.Latest = latest
	p.From, p.To = q.Get("from"), q.Get("to")
	status := http.StatusOK
	switch {
	case q.Has("from") || q.Has("to"):
		status = c.preview(r, s, p)
	case latest != nil:
		// By default, what the latest seal covers: its own numbers say
		// what the export holds, without reading the log as the manifest
		// does (a large log takes a while).
		p.To, p.Preview = latest.ToPosition.String(), sealPreview(latest)
	}
	c.render(w, r, status, "audit_export", "export.title", p)
	return nil
}

// sealPreview is the preview of the export from the start up to what
// latest covers: every event before it, the latest seal covering them.
func sealPreview(latest *seal.Seal) *exportPreview {
	return &exportPreview{ToPosition: latest.ToPosition, Count: latest.TreeSize, Seal: latest}
}

// preview fills p's preview from the manifest of its range, or the
// refusal of the range next to its input; it returns the page's status.
func (c *Console) preview(r *http.Request, s *Session, p *exportPage) int {
	d := c.API.Dispatch(r.Context(), s.Principal(), http.MethodGet, "/v1/audit/export/manifest?"+exportQuery(p, false).Encode(), nil, nil)
	if d.Status != http.StatusOK {
		return c.exportRefused(r, p, d.Status, dispatchError(d))
	}
	var m export.Manifest
	err := json.Unmarshal(d.Body, &m)
	if err == nil {
		p.Preview, err = previewOf(&m)
	}
	if err != nil {
		p.Error = c.cat.errorText(language(r), &events.Error{Code: events.Internal, Message: "read the manifest", Err: err})
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// latestSeal is the newest seal (GET /v1/audit/seals/latest), nil if the
// log has none or this server keeps no tree (the API then serves no seal,
// and exports all the same).
func (c *Console) latestSeal(ctx context.Context, s *Session) (*seal.Seal, error) {
	var st api.LatestSeal
	switch err := c.apiJSON(ctx, s, "/v1/audit/seals/latest", &st); events.ErrorCode(err) {
	case "":
		return st.Seal, nil
	case events.Unavailable:
		return nil, nil
	default:
		return nil, err
	}
}

// exportRefused shows err next to the input it is about (from_position,
// to_position, reason), or above the form; it returns the status.
func (c *Console) exportRefused(r *http.Request, p *exportPage, status int, err error) int {
	msg := c.cat.errorText(language(r), err)
	var ee *events.Error
	switch field := ""; {
	case errors.As(err, &ee) && ee.Code == events.Invalid:
		field = strings.TrimSuffix(ee.Field, "_position")
		if field == "from" || field == "to" || field == "reason" {
			p.Fields[field] = msg
			break
		}
		fallthrough
	default:
		p.Error = msg
	}
	if status < 400 {
		status = statusOf(err)
	}
	return status
}

// exportQuery is the API's query of p's export (in clear, with the
// reason, if clear).
func exportQuery(p *exportPage, clear bool) url.Values {
	q := url.Values{}
	if p.From != "" {
		q.Set("from_position", p.From)
	}
	if p.To != "" {
		q.Set("to_position", p.To)
	}
	if clear {
		q.Set("clear", "true")
		q.Set("reason", p.Reason)
	}
	return q
}

// postExport downloads the export (what=events) or its manifest
// (what=manifest) of the form's range, in clear if asked. A refusal (a
// range the API refuses, a clear export without a reason) shows the
// builder again with the message next to its input; nothing is exported.
func (c *Console) postExport(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := r.ParseForm(); err != nil {
		return events.InvalidField("body", "could not read the request body")
	}
	f := r.PostForm
	p := &exportPage{From: strings.TrimSpace(f.Get("from")), To: strings.TrimSpace(f.Get("to")), Clear: f.Get("clear") == "1",
		Reason: strings.TrimSpace(f.Get("reason")), Fields: map[string]string{}}
	path, name := "/v1/audit/export", "dangol-export"+rangeName(p)+".jsonl"
	if f.Get("what") == "manifest" {
		path, name = "/v1/audit/export/manifest", "dangol-export"+rangeName(p)+".manifest.json"
	}
	if p.Clear {
		name = strings.Replace(name, "dangol-export", "dangol-export-clear", 1)
	}
	h := w.Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	out := &exportAnswer{w: w}
	err := c.API.DispatchTo(r.Context(), out, s.Principal(), http.MethodGet, path+"?"+exportQuery(p, p.Clear).Encode(), nil)
	if !out.refused {
		return nil // sent, or cut short by the client
	}
	h.Del("Content-Disposition")
	h.Del("Content-Type")
	p.Latest, _ = c.latestSeal(r.Context(), s)
	if err == nil {
		err = events.Errorf(events.Internal, "the API answered %d", out.status)
	}
	status := c.exportRefused(r, p, out.status, err)
	if status >= 500 {
		return err
	}
	if p.Fields["from"] == "" && p.Fields["to"] == "" {
		c.preview(r, s, p) // the range itself was fine: show what it holds
	}
	c.render(w, r, status, "audit_export", "export.title", p)
	return nil
}

// rangeName is the part of the download's file name that says its range
// ("-0-1234"), "" for a range that is no pair of positions (the API
// refuses it; nothing typed reaches the header).
func rangeName(p *exportPage) string {
	from, ferr := events.ParsePosition(p.From)
	to, terr := events.ParsePosition(p.To)
	if ferr != nil || terr != nil {
		return ""
	}
	end := "end"
	if p.To != "" {
		end = to.String()
	}
	return strings.ReplaceAll("-"+from.String()+"-"+end, "/", "_")
}

// exportAnswer passes a successful answer on to the browser as the
// handler writes it, and keeps a refusal to itself, for the builder to
// show instead.
type exportAnswer struct {
	w       http.ResponseWriter
	status  int
	refused bool
	header  http.Header // a refusal's own header, kept from the browser's
}

func (a *exportAnswer) Header() http.Header {
	if a.refused {
		return a.header
	}
	return a.w.Header()
}

func (a *exportAnswer) WriteHeader(status int) {
	if a.status != 0 {
		return
	}
	a.status = status
	if status >= 400 {
		a.refused, a.header = true, http.Header{}
		return
	}
	a.w.WriteHeader(status)
}

func (a *exportAnswer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	if a.refused {
		return len(b), nil
	}
	return a.w.Write(b)
}

// Unwrap lets the handler flush through to the browser.
func (a *exportAnswer) Unwrap() http.ResponseWriter { return a.w }

// ── the access record ────────────────────────────────────────────────────

// accessPage is the access record's data: the month's check per staff
// member, its sign-off, and a page of its entries.
type accessPage struct {
	Month, Prev, Next string // yyyy-mm; Next "" after the current month
	Staff, Customer   string // the entries' filters
	Cursor            string
	Check             api.AccessCheck
	Lines             []staffLine // the check's lines
	SignOff           *signOff    // the check's sign-off, nil before it
	Entries           []accessEntry
	NextCursor        string
	Signed            bool   // just signed off (this answer's notice)
	Note              string // the sign-off's note as typed, shown again with its refusal
	NoteErr           string
	Error             string // the API's refusal of the filters or the cursor
	MonthErr          string // the API's refusal of the month, next to its input
	Key               string // the sign-off form's Idempotency-Key

	auditFormat // Num for the check's counts
}

// staffLine is a member's line of the monthly check, with their flags
// in the page's language.
type staffLine struct {
	api.StaffAccess
	FlagLabels []label
}

// label is a code the API answers and its text in the page's language.
type label struct{ Code, Text string }

// UsualText is the member's usual count of customers a month, to one
// decimal; a dash without months before to tell.
func (m staffLine) UsualText() string {
	if m.Usual == 0 {
		return "–"
	}
	return strconv.FormatFloat(m.Usual, 'f', 1, 64)
}

// signOff is a month's sign-off, and the name of who signed it.
type signOff struct {
	*api.AccessSignOff
	ByName string
}

// When is the sign-off's time in KST, to the second.
func (so signOff) When() string { return kstSeconds(so.At) }

// accessEntry is one read of the record, its action in the page's
// language.
type accessEntry struct {
	events.AccessRead
	ActionLabel string `json:"-"`
}

// When is the entry's time in KST, to the second: reads come many a minute.
func (e accessEntry) When() string { return kstSeconds(e.At) }

// getAccess is the access record of ?month= (default last month), its
// check and sign-off, and a page of its entries filtered by ?staff= and
// ?customer= from ?cursor= on.
func (c *Console) getAccess(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := &accessPage{Month: q.Get("month"), Staff: strings.TrimSpace(q.Get("staff")), Customer: strings.TrimSpace(q.Get("customer")),
		Cursor: q.Get("cursor"), Signed: q.Get("done") == "signed"}
	return c.renderAccess(w, r, s, p, http.StatusOK)
}

// renderAccess reads p's month and entries through the API and shows them.
func (c *Console) renderAccess(w http.ResponseWriter, r *http.Request, s *Session, p *accessPage, status int) error {
	now := c.now()
	if p.Month == "" {
		p.Month = now.AddDate(0, 0, -now.Day()+1).AddDate(0, -1, 0).Format("2006-01") // last month (UTC, as the record's streams)
	}
	if m, err := time.Parse("2006-01", p.Month); err == nil {
		p.Prev = m.AddDate(0, -1, 0).Format("2006-01")
		if next := m.AddDate(0, 1, 0); !next.After(now) {
			p.Next = next.Format("2006-01")
		}
	}
	p.Key = newKey()
	ctx := r.Context()
	if err := c.apiJSON(ctx, s, "/v1/audit/access/check?"+url.Values{"month": {p.Month}}.Encode(), &p.Check); err != nil {
		return c.accessRefused(w, r, p, err)
	}
	lang := language(r)
	if so := p.Check.SignOff; so != nil {
		p.SignOff = &signOff{AccessSignOff: so, ByName: c.staffNames(lang).name(ctx, so.By)}
	}
	for _, m := range p.Check.Staff {
		line := staffLine{StaffAccess: m}
		for _, f := range m.Flags {
			line.FlagLabels = append(line.FlagLabels, label{f, c.codeText(lang, "access.flag.", f)})
		}
		p.Lines = append(p.Lines, line)
	}
	q := url.Values{"month": {p.Month}, "limit": {strconv.Itoa(accessPageSize)}}
	for k, v := range map[string]string{"staff": p.Staff, "customer": p.Customer, "cursor": p.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list struct {
		Entries    []accessEntry `json:"entries"`
		NextCursor string        `json:"nextCursor"`
	}
	if err := c.apiJSON(ctx, s, "/v1/audit/access?"+q.Encode(), &list); err != nil {
		return c.accessRefused(w, r, p, err)
	}
	p.Entries, p.NextCursor = list.Entries, list.NextCursor
	for i := range p.Entries {
		p.Entries[i].ActionLabel = c.codeText(lang, "access.action.", p.Entries[i].Action)
	}
	c.render(w, r, status, "audit_access", "access.title", p)
	return nil
}

// codeText is the text of the API's code under prefix in the catalog, or
// the code itself where the catalog has none (a flag or an action newer
// than this console).
func (c *Console) codeText(lang, prefix, code string) string {
	if c.cat.has(lang, prefix+code) {
		return c.cat.text(lang, prefix+code)
	}
	return code
}

// PageHref is the link to the entries' page from cursor ("" the newest),
// with the page's month and filters.
func (p *accessPage) PageHref(cursor string) template.URL {
	q := url.Values{"month": {p.Month}}
	if p.Staff != "" {
		q.Set("staff", p.Staff)
	}
	if p.Customer != "" {
		q.Set("customer", p.Customer)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return template.URL("/audit/access?" + q.Encode() + "#entries") // a query encoded here, not again
}

// accessRefused shows the record's page with the API's refusal of its
// month or filters (a malformed month, an unknown cursor), or fails.
func (c *Console) accessRefused(w http.ResponseWriter, r *http.Request, p *accessPage, err error) error {
	if events.ErrorCode(err) != events.Invalid {
		return err
	}
	msg := c.cat.errorText(language(r), err)
	if e := (*events.Error)(nil); errors.As(err, &e) && e.Field == "month" {
		p.MonthErr = msg
	} else {
		p.Error = msg
	}
	p.Check, p.Lines, p.SignOff, p.Entries, p.NextCursor = api.AccessCheck{Month: p.Month}, nil, nil, nil, ""
	c.render(w, r, http.StatusBadRequest, "audit_access", "access.title", p)
	return nil
}

// apiJSON runs the API read path as s and decodes its answer into v.
func (c *Console) apiJSON(ctx context.Context, s *Session, path string, v any) error {
	d := c.API.Dispatch(ctx, s.Principal(), http.MethodGet, path, nil, nil)
	if d.Status != http.StatusOK {
		return dispatchError(d)
	}
	if err := json.Unmarshal(d.Body, v); err != nil {
		return &events.Error{Code: events.Internal, Message: "decode " + path, Err: err}
	}
	return nil
}

// postSignOff signs the form's month off with its note; a refusal (the
// month not over yet, a note too long) shows next to the note, a month
// signed already says by whom.
func (c *Console) postSignOff(w http.ResponseWriter, r *http.Request, s *Session) error {
	month, note := r.PostFormValue("month"), lineBreaks([]string{r.PostFormValue("note")})[0]
	_, status, err := c.dispatch(r, s, http.MethodPost, "/v1/audit/access/check/sign-off", "_key", map[string]string{"month": month, "note": note})
	if err == nil {
		http.Redirect(w, r, "/audit/access?"+url.Values{"month": {month}, "done": {"signed"}}.Encode(), http.StatusSeeOther)
		return nil
	}
	switch events.ErrorCode(err) {
	case events.Invalid, events.Conflict:
	default:
		return err
	}
	p := &accessPage{Month: month, Note: note, NoteErr: c.cat.errorText(language(r), err)}
	if events.ErrorCode(err) == events.Conflict {
		p.NoteErr = c.cat.text(language(r), "access.signoff.already")
	}
	if _, perr := time.Parse("2006-01", month); perr != nil {
		p.Month = "" // the page of last month, the message with it
	}
	return c.renderAccess(w, r, s, p, max(status, http.StatusBadRequest))
}
