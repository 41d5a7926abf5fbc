package events

import (
	"regexp"
	"strconv"
	"time"
)

// Event types of the access record (issue 12): who read whose personal
// data, kept in one stream per UTC month (AccessStream), and the auditor's
// monthly check of it (AccessCheckStream). Korea's personal-information
// safety standard asks for an access record of each read (account, time,
// where from, whose data, what was done), kept at least two years and
// checked at least monthly; the streams are part of the sealed log, so
// nothing in them can be altered or removed unseen, and nothing deletes
// them. An entry names the customer by id only: ids are not personal data
// here (they are in clear in every stream name), and no name, phone or
// query typed is ever written into the record.

func init() {
	Register(func() Data { return new(PersonalDataRead) })
	Register(func() Data { return new(AccessCheckSignedOff) })
}

// Access actions: what a read of a customer's personal data was.
var AccessActions = []string{
	"customer_view",  // the customer's 360 view (API or console page)
	"timeline_view",  // a page of the customer's timeline
	"lookup",         // a rep or private banker reached a customer outside their book by an exact id or phone
	"search_hit",     // the customer was in a search's results
	"list",           // the customer was in a list page
	"worklist",       // an advisor's worklist was read: one entry without a customer, detail the advisor and the count
	"recording_play", // a call recording of the customer was played
	"export_clear",   // personal data left in clear in an export: one entry without a customer, detail the range and the reason
	"api_read",       // any other read of the customer's data through the API
}

// MaxAccessReads is the most reads one PersonalDataRead holds: the
// recorder's batch size.
const MaxAccessReads = 500

// MaxAccessDetail bounds an entry's detail (an export's range and reason,
// a count, a call id).
const MaxAccessDetail = 700

// PersonalDataRead is a batch of reads of customers' personal data, in the
// order they happened, appended by the API's access recorder (actor
// system:access) to the stream of their UTC month.
type PersonalDataRead struct {
	Reads []AccessRead `json:"reads"`
}

// AccessRead is one entry of the access record: who (staffId, role), when
// (at), where from (the client's IP address), whose data (customerId) and
// what was done (action, detail). Every action names its customer except
// worklist and export_clear, which read many at once, said in detail.
type AccessRead struct {
	StaffID    string    `json:"staffId"`
	Role       string    `json:"role"`
	At         time.Time `json:"at"`
	From       string    `json:"from,omitempty"`
	CustomerID string    `json:"customerId,omitempty"`
	Action     string    `json:"action"`
	Detail     string    `json:"detail,omitempty"`
}

// EventType returns "PersonalDataRead".
func (*PersonalDataRead) EventType() string { return "PersonalDataRead" }

// Validate checks the catalog rules; errors are Invalid naming the field
// ("reads[3].from").
func (d *PersonalDataRead) Validate() error {
	c := check{}
	switch {
	case len(d.Reads) == 0:
		c.fail("reads", "is required (1 to %d entries)", MaxAccessReads)
	case len(d.Reads) > MaxAccessReads:
		c.fail("reads", "must have at most %d entries", MaxAccessReads)
	}
	if c.err != nil {
		return c.err
	}
	for i := range d.Reads {
		d.Reads[i].check(&c, "reads["+strconv.Itoa(i)+"].")
	}
	return c.errOrNil()
}

func (a *AccessRead) check(c *check, at string) {
	c.id(at+"staffId", &a.StaffID, true)
	c.enum(at+"role", &a.Role, Roles...)
	c.time(at+"at", &a.At, true)
	c.ip(at+"from", &a.From)
	c.id(at+"customerId", &a.CustomerID, false)
	c.enum(at+"action", &a.Action, AccessActions...)
	if a.CustomerID == "" && !bulkAction(a.Action) {
		c.fail(at+"customerId", "is required")
	}
	c.line(at+"detail", &a.Detail, MaxAccessDetail, false)
}

// bulkAction reports whether action reads many customers at once, named
// in detail, so that its entry names no one customer: a worklist (an
// advisor's book) and an export in clear (a range of the log).
func bulkAction(action string) bool { return action == "worklist" || action == "export_clear" }

// AccessCheckSignedOff is the auditor's sign-off of a month's access check
// (GET /v1/audit/access/check): the month, how many staff members the
// check flagged, and the auditor's note. It is the first and only event of
// AccessCheckStream(month); the auditor is the envelope's actor.
type AccessCheckSignedOff struct {
	Month   string `json:"month"`
	Flagged int64  `json:"flagged"`
	Note    string `json:"note,omitempty"`
}

// EventType returns "AccessCheckSignedOff".
func (*AccessCheckSignedOff) EventType() string { return "AccessCheckSignedOff" }

// maxAccessNote bounds a sign-off's note.
const maxAccessNote = 2000

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *AccessCheckSignedOff) Validate() error {
	c := check{}
	c.month("month", &d.Month)
	c.rangeInt("flagged", d.Flagged, 0, 1_000_000)
	c.text("note", &d.Note, maxAccessNote, false)
	return c.errOrNil()
}

var monthRe = regexp.MustCompile(`^\d{4}-\d{2}$`)

// ValidMonth reports whether s is a month "YYYY-MM" (01-12) of a year in
// 1900..2200: the id of an access stream.
func ValidMonth(s string) bool {
	if !monthRe.MatchString(s) {
		return false
	}
	t, err := time.Parse(monthLayout, s)
	return err == nil && t.Year() >= minYear && t.Year() <= maxYear
}

const monthLayout = "2006-01"

// AccessMonth returns the UTC month of t, "YYYY-MM": the access stream a
// read at t belongs to.
func AccessMonth(t time.Time) string { return t.UTC().Format(monthLayout) }

// MonthStart returns the first instant (UTC) of month "YYYY-MM"; ok is
// false if month is not ValidMonth.
func MonthStart(month string) (start time.Time, ok bool) {
	if !ValidMonth(month) {
		return time.Time{}, false
	}
	t, _ := time.Parse(monthLayout, month)
	return t, true
}

// month checks a required month "YYYY-MM".
func (c *check) month(field string, s *string) {
	if !c.str0(field, s, 7, true) {
		return
	}
	if !ValidMonth(*s) {
		c.fail(field, "must be a month YYYY-MM between years %d and %d", minYear, maxYear)
	}
}
