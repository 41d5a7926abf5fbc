package events

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	dateRe    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	currencyR = regexp.MustCompile(`^[A-Z]{3}$`)
)

// The names every append checks are matched by hand, not by regexp (7% of
// an import's CPU was the three regexps). Each function accepts exactly
// the language of the pattern in its comment; validate_test.go compares
// them with those patterns.

// Byte classes, one bit each, for the name checkers.
const (
	cLower  = 1 << iota // a-z
	cUpper              // A-Z
	cDigit              // 0-9
	cUnder              // _
	cDash               // -
	cDotCol             // . :
)

var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	t['_'], t['-'], t['.'], t[':'] = cUnder, cDash, cDotCol, cDotCol
	return t
}()

// span reports whether s is one byte of class first followed by 0 to max
// bytes of class rest.
func span(s string, first, rest uint8, max int) bool {
	if len(s) == 0 || len(s) > 1+max || class[s[0]]&first == 0 {
		return false
	}
	for i := 1; i < len(s); i++ {
		if class[s[i]]&rest == 0 {
			return false
		}
	}
	return true
}

// ValidStream reports whether name is a well-formed stream name:
// "<category>-<id>" or a bare category such as "ledger", that is
// ^[a-z][a-z0-9_]{0,31}(-[A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$.
func ValidStream(name string) bool {
	cat, id, dashed := strings.Cut(name, "-") // a category has no '-': the first one ends it
	const alnum = cLower | cUpper | cDigit
	return span(cat, cLower, cLower|cDigit|cUnder, 31) &&
		(!dashed || span(id, alnum, alnum|cUnder|cDotCol|cDash, 127))
}

// ValidID reports whether s is a well-formed entity id (customer, call,
// staff, campaign, branch, coaching point): 1-64 letters, digits, '_' or '-',
// starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$).
func ValidID(s string) bool {
	const alnum = cLower | cUpper | cDigit
	return span(s, alnum, alnum|cUnder|cDash, 63)
}

// validType reports whether s is an event type name: ^[A-Z][A-Za-z0-9]{0,63}$.
func validType(s string) bool { return span(s, cUpper, cLower|cUpper|cDigit, 63) }

// CheckAppend validates what every backend checks before writing: the stream
// name and each event's envelope fields. Data is checked to be a JSON object
// of valid UTF-8; catalog rules are applied earlier, by Encode or Parse.
// The error has code Invalid and names the field.
func CheckAppend(stream string, evs []Event) error {
	if !ValidStream(stream) {
		return InvalidField("stream", "must look like <category>-<id> (got %d bytes)", len(stream))
	}
	if len(evs) == 0 {
		return InvalidField("events", "at least one event is required")
	}
	seen := make(map[[16]byte]bool, len(evs))
	for i := range evs {
		e := &evs[i]
		at := func(f string) string { return "events[" + itoa(i) + "]." + f }
		switch {
		case e.ID == [16]byte{}:
			return InvalidField(at("id"), "is required")
		case seen[e.ID]:
			return InvalidField(at("id"), "appears twice in one append")
		case !validType(e.Type):
			return InvalidField(at("type"), "must be an event type name")
		case e.Schema < 1:
			return InvalidField(at("schema"), "must be >= 1")
		case e.Actor.ID == "" || len(e.Actor.ID) > 128 || !utf8.ValidString(e.Actor.ID):
			return InvalidField(at("actor.id"), "is required (at most 128 bytes)")
		case len(e.Actor.Role) > 32 || len(e.CorrelationID) > 64 || len(e.CausationID) > 64:
			return InvalidField(at("actor"), "role, correlationId or causationId too long")
		case len(e.Data) < 2 || e.Data[0] != '{' || !utf8.Valid(e.Data):
			return InvalidField(at("data"), "must be a JSON object of valid UTF-8")
		case len(e.Data)+len(stream)+256 > MaxEventSize:
			return InvalidField(at("data"), "event exceeds %d bytes", MaxEventSize)
		}
		seen[e.ID] = true
	}
	return nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// fieldCheck validates catalog data, remembering the first failure.
// Catalog types use it in their Validate methods:
//
//	c := check{}
//	c.required("name", &d.Name, 200)
//	c.enum("channel", d.Channel, channels...)
//	return c.err
type check struct{ err *Error }

func (c *check) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = InvalidField(field, format, args...)
	}
}

// str trims *s and checks its length in characters and its encoding.
func (c *check) str(field string, s *string, max int, required bool) {
	*s = strings.TrimSpace(*s)
	switch {
	case !utf8.ValidString(*s):
		c.fail(field, "must be valid UTF-8")
	case required && *s == "":
		c.fail(field, "is required")
	case utf8.RuneCountInString(*s) > max:
		c.fail(field, "must be at most %d characters", max)
	}
}

func (c *check) required(field string, s *string, max int) { c.str(field, s, max, true) }
func (c *check) optional(field string, s *string, max int) { c.str(field, s, max, false) }

// id checks a required (or, if !required, optional) entity id.
func (c *check) id(field string, s *string, required bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if !ValidID(*s) {
		c.fail(field, "must be 1-64 letters, digits, '_' or '-'")
	}
}

// enum checks that s is one of allowed (required unless allowed includes "").
func (c *check) enum(field string, s *string, allowed ...string) {
	*s = strings.TrimSpace(*s)
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	if *s == "" {
		c.fail(field, "is required")
		return
	}
	c.fail(field, "must be one of %s", strings.Join(allowed, ", "))
}

// date checks an optional (or required) calendar date YYYY-MM-DD.
func (c *check) date(field string, s *string, required bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if !dateRe.MatchString(*s) {
		c.fail(field, "must be a date YYYY-MM-DD")
		return
	}
	if _, err := time.Parse(time.DateOnly, *s); err != nil {
		c.fail(field, "must be a valid date YYYY-MM-DD")
	}
}

// time checks that t is set (if required) and normalises it to UTC.
func (c *check) time(field string, t *time.Time, required bool) {
	if t.IsZero() {
		if required {
			c.fail(field, "is required (RFC 3339)")
		}
		return
	}
	if t.Year() < 1900 || t.Year() > 2200 {
		c.fail(field, "must be between years 1900 and 2200")
	}
	*t = t.UTC()
}

func (c *check) currency(field string, s *string) {
	*s = strings.TrimSpace(*s)
	if !currencyR.MatchString(*s) {
		c.fail(field, "must be an ISO 4217 code such as KRW")
	}
}

func (c *check) rangeInt(field string, v, min, max int64) {
	if v < min || v > max {
		c.fail(field, "must be between %d and %d", min, max)
	}
}

// errOrNil returns the first failure as an error, or a nil error (not a
// typed nil pointer).
func (c *check) errOrNil() error {
	if c.err == nil {
		return nil
	}
	return c.err
}
