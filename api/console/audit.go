package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seal"
)

// The auditor's screens over the log (docs/console.md, "The auditor's
// screens"): the seals (/audit: the latest seal, its witnesses, the
// sealer's settings, a verification on request, the recent seals and each
// one's proofs), the whole log in position order (/audit/log, audit_log.go)
// and any stream at any version, as of any point and between two points
// (/audit/streams, audit_stream.go). Like every page they read through the
// API: each one runs the /v1/audit routes in process as the signed-in
// auditor (apiJSON), so the API's checks and its record of the read apply.

// recentSeals is how many seals the seal page lists.
const recentSeals = 20

// auditRoutes registers the seal, log and stream screens, the auditor's alone.
func (c *Console) auditRoutes() {
	c.page("GET /audit", auditorRoles, c.sealsPage)
	c.page("GET /audit/verify", auditorRoles, c.sealsPage) // the seal page with a verification of the log
	c.page("GET /audit/seals/{seal}", auditorRoles, c.sealPage)
	c.page("GET /audit/log", auditorRoles, c.logPage)
	c.page("GET /audit/streams", auditorRoles, c.streamPicker)
	c.page("GET /audit/streams/{stream}", auditorRoles, c.streamPage)
}

// sealsView is the seal page's data.
type sealsView struct {
	auditFormat
	Status    *api.LatestSeal // nil: this server does not seal (keeps no tree)
	Key       *api.AuditKey   // nil: no sealing key
	Recent    []seal.Seal     // newest first
	Unsealed  int64           // leaves of the tree the latest seal does not cover yet
	Age       string          // the latest seal's age, in words
	Interval  string          // the sealer's interval, in words ("" when off)
	Overdue   bool            // events wait and the latest seal is older than twice the interval
	Verified  bool            // a verification ran (/audit/verify)
	Verify    api.VerifyResult
	VerifyAge string
}

// sealsPage is the seal status (/audit): the latest seal, its witnesses,
// the sealer's schedule and key, the recent seals, and at /audit/verify the
// answer of GET /v1/audit/verify. A server without a tree shows sealing off.
func (c *Console) sealsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	lang := language(r)
	v := &sealsView{}
	var st api.LatestSeal
	switch err := c.apiJSON(r.Context(), s, "/v1/audit/seals/latest", &st); events.ErrorCode(err) {
	case "":
		v.Status = &st
		v.Age = c.duration(lang, seconds(st.AgeSeconds))
		if st.IntervalSeconds > 0 {
			v.Interval = c.duration(lang, float64(st.IntervalSeconds))
		}
		if st.Seal != nil {
			// A tree behind the latest seal (another server sealed
			// events this one has not read yet) has none waiting.
			v.Unsealed = max(0, st.TreeSize-st.Seal.TreeSize)
			// The sealer seals within an interval (and a poll) of an
			// event arriving: twice that is a sealer stopped or failing.
			// The latest seal's own leaf is no reason to seal (the next
			// seal covers it when other events come).
			waiting := v.Unsealed - 1
			v.Overdue = st.IntervalSeconds > 0 && waiting > 0 && seconds(st.AgeSeconds) > 2*float64(st.IntervalSeconds)
			if v.Recent, err = c.sealsBefore(r, s, st.Seal.Seq); err != nil {
				return err
			}
		}
	case events.Unavailable: // this server keeps no tree: the page says sealing is off
	default:
		return err
	}
	var key api.AuditKey
	switch err := c.apiJSON(r.Context(), s, "/v1/audit/key", &key); events.ErrorCode(err) {
	case "":
		v.Key = &key
	case events.NotFound, events.Unavailable:
	default:
		return err
	}
	if r.URL.Path == "/audit/verify" {
		if err := c.apiJSON(r.Context(), s, "/v1/audit/verify", &v.Verify); err != nil {
			return err
		}
		v.Verified = true
		if v.Verify.Seals.Latest != nil {
			v.VerifyAge = c.duration(lang, seconds(v.Verify.Seals.AgeSeconds))
		}
	}
	c.render(w, r, http.StatusOK, "audit_seals", "audit.seals.title", v)
	return nil
}

// sealsBefore returns the recentSeals seals up to seal number last, newest first.
func (c *Console) sealsBefore(r *http.Request, s *Session, last uint64) ([]seal.Seal, error) {
	from := uint64(0)
	if last >= recentSeals {
		from = last - recentSeals + 1
	}
	seals, err := c.seals(r, s, from, recentSeals)
	if err != nil {
		return nil, err
	}
	slices.Reverse(seals)
	return seals, nil
}

// seals returns up to limit seals from seal number from on, oldest first
// (GET /v1/audit/seals).
func (c *Console) seals(r *http.Request, s *Session, from uint64, limit int) ([]seal.Seal, error) {
	var page struct {
		Seals []seal.Seal `json:"seals"`
	}
	q := "from_seal=" + strconv.FormatUint(from, 10) + "&limit=" + strconv.Itoa(limit)
	if err := c.apiJSON(r.Context(), s, "/v1/audit/seals?"+q, &page); err != nil {
		return nil, err
	}
	return page.Seals, nil
}

// duration says secs in words, in whole seconds, minutes, hours or days.
// seconds is an age the API gives in whole seconds (nil: none) as
// duration takes it.
func seconds(n *int64) float64 {
	if n == nil {
		return 0
	}
	return float64(*n)
}

func (c *Console) duration(lang string, secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Minute:
		return c.cat.text(lang, "audit.dur.s", int(d/time.Second))
	case d < time.Hour:
		return c.cat.text(lang, "audit.dur.min", int(d/time.Minute))
	case d < 48*time.Hour:
		return c.cat.text(lang, "audit.dur.h", int(d/time.Hour))
	}
	return c.cat.text(lang, "audit.dur.d", int(d/(24*time.Hour)))
}

// sealView is the page of one seal and its proofs.
type sealView struct {
	auditFormat
	Seal   seal.Seal
	Latest uint64 // the latest seal's number
	// Consistency proves this seal's tree an extension of the previous
	// seal's, and the latest seal's an extension of this one's (where there
	// are such seals).
	Consistency []*api.ConsistencyProof
	// Inclusion is the proof of the event at Position under this seal;
	// PositionErr says why there is none.
	Position    string
	Inclusion   *api.InclusionProof
	PositionErr string
}

// sealPage is one seal's page (/audit/seals/{seal}): its fields, its
// consistency with the previous and the latest seal, and the inclusion
// proof of the event at ?position= (by default the last it covers), or
// why there is none next to the field. A seal that does not exist is 404.
func (c *Console) sealPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	n, err := strconv.ParseUint(r.PathValue("seal"), 10, 63)
	if err != nil {
		return errNoPage
	}
	seals, err := c.seals(r, s, n, 1)
	if err != nil {
		return err
	}
	if len(seals) == 0 || seals[0].Seq != n {
		return events.Errorf(events.NotFound, "no seal %d", n)
	}
	v := &sealView{Seal: seals[0], Latest: n}
	latest, err := c.latestSeal(r.Context(), s)
	if err != nil {
		return err
	}
	if latest != nil {
		v.Latest = latest.Seq
	}
	for _, pair := range [][2]uint64{{n - 1, n}, {n, v.Latest}} {
		if pair[0] >= pair[1] { // no seal before the first, none after the latest
			continue
		}
		p, err := c.consistency(r, s, pair[0], pair[1])
		if err != nil {
			return err
		}
		v.Consistency = append(v.Consistency, p)
	}
	v.Position = strings.TrimSpace(r.URL.Query().Get("position"))
	if v.Position == "" {
		v.Position = v.Seal.ToPosition.String()
	}
	var inc api.InclusionProof
	q := url.Values{"position": {v.Position}, "seal": {strconv.FormatUint(n, 10)}}
	switch err := c.apiJSON(r.Context(), s, "/v1/audit/proofs/inclusion?"+q.Encode(), &inc); events.ErrorCode(err) {
	case "":
		v.Inclusion = &inc
	case events.Invalid, events.NotFound, events.Conflict:
		v.PositionErr = c.cat.errorText(language(r), err)
	default:
		return err
	}
	c.render(w, r, http.StatusOK, "audit_seal", "audit.seal.title", v)
	return nil
}

// consistency asks for the proof that seal to's tree extends seal from's.
func (c *Console) consistency(r *http.Request, s *Session, from, to uint64) (*api.ConsistencyProof, error) {
	var p api.ConsistencyProof
	q := "from_seal=" + strconv.FormatUint(from, 10) + "&to_seal=" + strconv.FormatUint(to, 10)
	if err := c.apiJSON(r.Context(), s, "/v1/audit/proofs/consistency?"+q, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// auditFormat gives the audit pages' templates their formats (embedded in
// each page's data).
type auditFormat struct{}

// Sec shows t in KST to the second.
func (auditFormat) Sec(t time.Time) string { return kstSeconds(t) }

// Day and Clock show t's KST date and time of day to the second, for a
// cell that may wrap between them.
func (auditFormat) Day(t time.Time) string   { return t.In(kst).Format(time.DateOnly) }
func (auditFormat) Clock(t time.Time) string { return t.In(kst).Format(time.TimeOnly) }

// Num groups the digits of a count (1,234,567), as the catalogs write numbers.
func (auditFormat) Num(n any) string { return groupDigits(fmt.Sprint(n)) }

// Short is the first 12 digits of a hex hash, the whole of it in a title.
func (auditFormat) Short(hex string) string {
	if len(hex) <= 12 {
		return hex
	}
	return hex[:12] + "…"
}

// kstSeconds shows t in KST to the second ("2026-11-25 18:00:05"): the log's
// screens tell apart events a minute holds many of.
func kstSeconds(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kst).Format(time.DateTime)
}
