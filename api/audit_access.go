package api

import (
	"cmp"
	"context"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
)

// The auditor's routes of the access record (docs/audit.md, "Who read
// whose data"): the entries of a month, newest first; the monthly check,
// which flags per staff member what an auditor must look at; and its
// sign-off, the one event an auditor appends.

// Thresholds of the monthly check: a member is flagged for many_customers
// when they read the data of more than usualFactor times their usual
// number of distinct customers and more than minUnusual of them, or, with
// no reads in the three months before (no history), more than
// maxWithoutHistory. Their usual number is the average of the distinct
// customers they read in those of the three previous months in which they
// read any.
const (
	usualFactor       = 3
	minUnusual        = 50
	maxWithoutHistory = 200
	historyMonths     = 3
)

// The flags of the monthly check.
const (
	flagManyCustomers  = "many_customers"   // far more distinct customers than usual
	flagOutsideBook    = "outside_book"     // a rep or private banker looked customers up outside their book
	flagExportsInClear = "exports_in_clear" // personal data exported in clear
)

// accessEntry is one entry of GET /v1/audit/access: a read and the log
// position of the batch that recorded it.
type accessEntry struct {
	StaffID    string          `json:"staffId"`
	Role       string          `json:"role"`
	At         time.Time       `json:"at"`
	From       string          `json:"from"`
	CustomerID string          `json:"customerId"`
	Action     string          `json:"action"`
	Detail     string          `json:"detail"`
	Position   events.Position `json:"position"`
}

// getAccess handles GET /v1/audit/access?month=&staff=&customer=&limit=
// &cursor=: the month's entries, newest first, those of one member and/or
// one customer if asked, limit a page (default 100, at most 1000), and
// the cursor of the next page while there may be more.
func (s *Server) getAccess(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	month, err := monthParam(r)
	if err != nil {
		return err
	}
	staff, customer := strings.TrimSpace(q.Get("staff")), strings.TrimSpace(q.Get("customer"))
	if staff != "" && !events.ValidID(staff) {
		return events.InvalidField("staff", "must be a staff id")
	}
	if customer != "" && !events.ValidID(customer) {
		return events.InvalidField("customer", "must be a customer id")
	}
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	cur, err := parseAccessCursor(q.Get("cursor"))
	if err != nil {
		return err
	}
	if err := s.flushForAudit(r.Context()); err != nil {
		return err
	}
	match := func(a *events.AccessRead) bool {
		return (staff == "" || a.StaffID == staff) && (customer == "" || a.CustomerID == customer)
	}
	entries, next, err := s.accessPage(r.Context(), month, cur, limit, match)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "access", "month", month, "count", len(entries))
	resp := map[string]any{"month": month, "entries": entries}
	if next != nil {
		resp["nextCursor"] = next.String()
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// accessCursor names an entry of a month's record: the version of its
// batch and its index in it. A page goes on with the entries before it.
type accessCursor struct {
	version uint64
	index   int
}

func (c accessCursor) String() string {
	return strconv.FormatUint(c.version, 10) + "." + strconv.Itoa(c.index)
}

// parseAccessCursor reads a nextCursor; nil for none.
func parseAccessCursor(v string) (*accessCursor, error) {
	if v == "" {
		return nil, nil
	}
	bad := events.InvalidField("cursor", "must be the nextCursor of a previous page")
	ver, idx, ok := strings.Cut(v, ".")
	if !ok {
		return nil, bad
	}
	c := accessCursor{}
	var err error
	if c.version, err = strconv.ParseUint(ver, 10, 63); err != nil {
		return nil, bad
	}
	if c.index, err = strconv.Atoi(idx); err != nil || c.index < 0 || c.index >= events.MaxAccessReads {
		return nil, bad
	}
	return &c, nil
}

// accessPage reads month's record backwards from cur (the end if nil) and
// returns up to limit entries that match, newest first, and the cursor of
// the next page (nil at the start of the record).
func (s *Server) accessPage(ctx context.Context, month string, cur *accessCursor, limit int, match func(*events.AccessRead) bool) ([]accessEntry, *accessCursor, error) {
	out := []accessEntry{}
	from := events.LastVersion
	if cur != nil {
		from = cur.version
	}
	for {
		evs, err := s.Store.ReadStream(ctx, events.AccessStream(month), from, events.Backward, 100)
		if events.ErrorCode(err) == events.NotFound {
			return out, nil, nil // no read that month
		}
		if err != nil {
			return nil, nil, err
		}
		for i := range evs {
			e := &evs[i]
			batch, err := decodeReads(e)
			if err != nil {
				return nil, nil, err
			}
			end := len(batch.Reads)
			if cur != nil && e.Version == cur.version {
				end = min(cur.index, end)
			}
			for j := end - 1; j >= 0; j-- {
				a := &batch.Reads[j]
				if !match(a) {
					continue
				}
				out = append(out, accessEntry{StaffID: a.StaffID, Role: a.Role, At: a.At, From: a.From, CustomerID: a.CustomerID,
					Action: a.Action, Detail: a.Detail, Position: e.Position})
				if len(out) == limit {
					if e.Version == 0 && j == 0 {
						return out, nil, nil
					}
					return out, &accessCursor{e.Version, j}, nil
				}
			}
		}
		if len(evs) < 100 || evs[len(evs)-1].Version == 0 {
			return out, nil, nil
		}
		from = evs[len(evs)-1].Version - 1
	}
}

// decodeReads decodes a batch of the record; anything else in an access
// stream (only a raw append could put it there) is an internal error.
func decodeReads(e *events.Envelope) (*events.PersonalDataRead, error) {
	d, err := events.Decode(e)
	if err != nil {
		return nil, err
	}
	batch, ok := d.(*events.PersonalDataRead)
	if !ok {
		return nil, events.Errorf(events.Internal, "%s@%d is a %s, not a PersonalDataRead", e.Stream, e.Version, e.Type)
	}
	return batch, nil
}

// monthParam reads the required month query parameter.
func monthParam(r *http.Request) (string, error) {
	m := strings.TrimSpace(r.URL.Query().Get("month"))
	if !events.ValidMonth(m) {
		return "", events.InvalidField("month", "must be a month YYYY-MM between years %d and %d", 1900, 2200)
	}
	return m, nil
}

// flushForAudit appends the reads still queued, so that the auditor sees
// every read made until now; a store that cannot take them is Unavailable.
func (s *Server) flushForAudit(ctx context.Context) error {
	if err := s.FlushAccess(ctx); err != nil {
		return &events.Error{Code: events.Unavailable, Message: "the access record's latest reads cannot be appended yet; retry", Err: err}
	}
	return nil
}

// AccessCheck is the answer of GET /v1/audit/access/check.
type AccessCheck struct {
	Month   string         `json:"month"`
	Staff   []StaffAccess  `json:"staff"`
	Flagged int            `json:"flagged"` // members with at least one flag
	SignOff *AccessSignOff `json:"signOff"`
}

// StaffAccess is one member's line of the monthly check.
type StaffAccess struct {
	StaffID        string   `json:"staffId"`
	Name           string   `json:"name"`
	Role           string   `json:"role"`
	Reads          int      `json:"reads"`          // entries
	Customers      int      `json:"customers"`      // distinct customers read
	Usual          float64  `json:"usual"`          // distinct customers in a month usually (0: no history)
	OutsideBook    int      `json:"outsideBook"`    // distinct customers looked up outside their book
	Lookups        int      `json:"lookups"`        // lookup entries
	ExportsInClear int      `json:"exportsInClear"` // exports in clear
	Flags          []string `json:"flags"`
}

// AccessSignOff is a month's sign-off: who, when, their note, and how many
// members the check flagged then.
type AccessSignOff struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Note    string    `json:"note"`
	Flagged int64     `json:"flagged"`
}

// getAccessCheck handles GET /v1/audit/access/check?month=.
func (s *Server) getAccessCheck(w http.ResponseWriter, r *http.Request, p Principal) error {
	month, err := monthParam(r)
	if err != nil {
		return err
	}
	if err := s.flushForAudit(r.Context()); err != nil {
		return err
	}
	c, err := s.accessCheck(r.Context(), month)
	if err != nil {
		return err
	}
	if c.SignOff, err = s.signOffOf(r.Context(), month); err != nil {
		return err
	}
	s.auditLog(r, p, "access check", "month", month, "flagged", c.Flagged)
	writeJSON(w, http.StatusOK, c)
	return nil
}

// monthTally is what the check counts of one member in one month.
type monthTally struct {
	role      string
	reads     int
	customers map[string]struct{}
	outside   map[string]struct{}
	lookups   int
	exports   int
}

// accessTallies keeps the monthly check's counts of the months it read,
// each up to the stream version it read: a month's record only grows, so
// the next check reads only the batches appended since. Safe for
// concurrent use; checks run one at a time (they are the auditor's).
type accessTallies struct {
	mu     sync.Mutex
	months map[string]*monthTallies
}

// monthTallies are a month's counts per member, from the batches before
// version next.
type monthTallies struct {
	next  uint64
	staff map[string]*monthTally
}

// maxTalliedMonths bounds the months kept (two years: a check reads four).
const maxTalliedMonths = 24

// tallyMonth brings month's counts up to the end of its record and
// returns them, valid while t.mu is held.
func (t *accessTallies) tallyMonth(ctx context.Context, store Store, month string) (map[string]*monthTally, error) {
	m := t.months[month]
	if m == nil {
		if t.months == nil {
			t.months = map[string]*monthTallies{}
		}
		if len(t.months) >= maxTalliedMonths { // the oldest goes: an earlier check's history
			delete(t.months, slices.Min(slices.Collect(maps.Keys(t.months))))
		}
		m = &monthTallies{staff: map[string]*monthTally{}}
		t.months[month] = m
	}
	for {
		evs, err := store.ReadStream(ctx, events.AccessStream(month), m.next, events.Forward, 200)
		if events.ErrorCode(err) == events.NotFound {
			return m.staff, nil
		}
		if err != nil {
			return nil, err
		}
		for i := range evs {
			batch, err := decodeReads(&evs[i])
			if err != nil {
				return nil, err
			}
			m.add(batch.Reads)
			m.next = evs[i].Version + 1
		}
		if len(evs) < 200 {
			return m.staff, nil
		}
	}
}

// add counts reads.
func (m *monthTallies) add(reads []events.AccessRead) {
	for _, a := range reads {
		t := m.staff[a.StaffID]
		if t == nil {
			t = &monthTally{customers: map[string]struct{}{}, outside: map[string]struct{}{}}
			m.staff[a.StaffID] = t
		}
		t.role = a.Role
		t.reads++
		if a.CustomerID != "" {
			t.customers[a.CustomerID] = struct{}{}
		}
		switch a.Action {
		case "lookup":
			t.lookups++
			t.outside[a.CustomerID] = struct{}{}
		case "export_clear":
			t.exports++
		}
	}
}

// accessCheck runs the monthly check of month: its record, and the three
// months before it for what is usual.
func (s *Server) accessCheck(ctx context.Context, month string) (AccessCheck, error) {
	c := AccessCheck{Month: month, Staff: []StaffAccess{}}
	tallies := &s.access.tallies
	tallies.mu.Lock()
	defer tallies.mu.Unlock()
	checked, err := tallies.tallyMonth(ctx, s.Store, month)
	if err != nil {
		return c, err
	}
	start, _ := events.MonthStart(month)
	history := map[string][]int{} // distinct customers per earlier month with reads
	for i := 1; i <= historyMonths; i++ {
		before, err := tallies.tallyMonth(ctx, s.Store, events.AccessMonth(start.AddDate(0, -i, 0)))
		if err != nil {
			return c, err
		}
		for id, tally := range before {
			history[id] = append(history[id], len(tally.customers))
		}
	}
	for id, tally := range checked {
		m := StaffAccess{StaffID: id, Name: s.staffName(ctx, id), Role: tally.role, Reads: tally.reads, Customers: len(tally.customers),
			Usual: usual(history[id]), OutsideBook: len(tally.outside), Lookups: tally.lookups, ExportsInClear: tally.exports, Flags: []string{}}
		m.Flags = checkFlags(m, len(history[id]) > 0)
		if len(m.Flags) > 0 {
			c.Flagged++
		}
		c.Staff = append(c.Staff, m)
	}
	slices.SortFunc(c.Staff, func(a, b StaffAccess) int { // the flagged first, then by id
		return cmp.Or(flaggedFirst(a, b), strings.Compare(a.StaffID, b.StaffID))
	})
	return c, nil
}

// flaggedFirst orders a member with a flag before one without.
func flaggedFirst(a, b StaffAccess) int {
	switch fa, fb := len(a.Flags) > 0, len(b.Flags) > 0; {
	case fa && !fb:
		return -1
	case fb && !fa:
		return 1
	}
	return 0
}

// usual is the average of the distinct customers of the earlier months
// with reads, to one decimal; 0 without history.
func usual(months []int) float64 {
	if len(months) == 0 {
		return 0
	}
	sum := 0
	for _, n := range months {
		sum += n
	}
	return math.Round(float64(sum)*10/float64(len(months))) / 10
}

// checkFlags returns m's flags (see the thresholds above).
func checkFlags(m StaffAccess, hasHistory bool) []string {
	flags := []string{}
	many := m.Customers > maxWithoutHistory
	if hasHistory {
		many = float64(m.Customers) > usualFactor*m.Usual && m.Customers > minUnusual
	}
	if many {
		flags = append(flags, flagManyCustomers)
	}
	if m.OutsideBook > 0 {
		flags = append(flags, flagOutsideBook)
	}
	if m.ExportsInClear > 0 {
		flags = append(flags, flagExportsInClear)
	}
	return flags
}

// staffName is the member's name, "" if unknown (the read side behind, or
// a member's id that was never registered).
func (s *Server) staffName(ctx context.Context, id string) string {
	m, err := s.Queries.StaffMember(ctx, id)
	if err != nil {
		return ""
	}
	return m.Name
}

// signOffOf returns month's sign-off, nil if it has none yet.
func (s *Server) signOffOf(ctx context.Context, month string) (*AccessSignOff, error) {
	evs, err := s.Store.ReadStream(ctx, events.AccessCheckStream(month), 0, events.Forward, 1)
	if events.ErrorCode(err) == events.NotFound || err == nil && len(evs) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := events.Decode(&evs[0])
	if err != nil {
		return nil, err
	}
	so, ok := d.(*events.AccessCheckSignedOff)
	if !ok {
		return nil, events.Errorf(events.Internal, "%s@0 is a %s", evs[0].Stream, evs[0].Type)
	}
	return &AccessSignOff{By: evs[0].Actor.ID, At: evs[0].RecordedAt, Note: so.Note, Flagged: so.Flagged}, nil
}

// signOffRequest is the body of POST /v1/audit/access/check/sign-off.
type signOffRequest struct {
	Month string `json:"month"`
	Note  string `json:"note"`
}

// postSignOff handles POST /v1/audit/access/check/sign-off: the auditor
// signs a month's check off, once, for a month that has ended (by the
// server's clock), with the number of members the check flags now. A
// second sign-off of the month is a conflict. It is the one write of an
// auditor.
func (s *Server) postSignOff(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req signOffRequest
	if err := s.readBody(w, r, &req); err != nil {
		return err
	}
	if r.Header.Get("If-Match") != "" {
		return events.InvalidField("If-Match", "must not be set: a month is signed off once")
	}
	d := events.AccessCheckSignedOff{Month: req.Month, Note: req.Note}
	if err := d.Validate(); err != nil {
		return err
	}
	start, _ := events.MonthStart(d.Month)
	if now := s.now(); start.AddDate(0, 1, 0).After(now) {
		return events.InvalidField("month", "must be a month that has ended (this month is %s)", events.AccessMonth(now))
	}
	if err := s.flushForAudit(r.Context()); err != nil {
		return err
	}
	c, err := s.accessCheck(r.Context(), d.Month)
	if err != nil {
		return err
	}
	d.Flagged = int64(c.Flagged)
	return s.appendData(w, r, p, events.AccessCheckStream(d.Month), events.NoStream, "", "access check", &d)
}
