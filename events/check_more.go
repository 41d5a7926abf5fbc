package events

import (
	"encoding/base64"
	"mime"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// More helpers for the Validate methods of the catalog, next to those of
// validate.go. Like those, each records only the first failure, trims string
// values in place, and names the field by its JSON path inside data.

// Limits shared by several types.
const (
	maxName    = 200  // names of people, campaigns, criteria, rules
	maxText    = 2000 // notes, summaries, comments, request texts
	maxReason  = 500  // short free-text reasons
	maxListIDs = 20   // branches of one staff member
	// maxMoney bounds amounts in the smallest currency unit: 10^15, a
	// thousand trillion won, far above any retail balance and below 2^53,
	// so JavaScript clients read every amount exactly.
	maxMoney = 1_000_000_000_000_000
	// maxRecordingBytes bounds a call recording (64 GiB: a day of
	// uncompressed studio-quality stereo fits).
	maxRecordingBytes = 1 << 36
	// minYear and maxYear bound dates as validate.go's time check bounds
	// times: a year outside is a typo or a placeholder, not a fact.
	minYear, maxYear = 1900, 2200
)

// present checks that a required pointer field was given (JSON null counts
// as missing).
func (c *check) present(field string, ok bool) {
	if !ok {
		c.fail(field, "is required")
	}
}

// line checks single-line text: trimmed, valid UTF-8, at most max
// characters, and no control characters (no line breaks, tabs or NULs),
// which keeps names and labels printable in logs, CSV exports and UIs.
func (c *check) line(field string, s *string, max int, required bool) {
	if c.str0(field, s, max, required) {
		c.noControl(field, *s, "")
	}
}

// text checks free text such as notes and addresses: like line, but line
// breaks and tabs are allowed.
func (c *check) text(field string, s *string, max int, required bool) {
	if c.str0(field, s, max, required) {
		c.noControl(field, *s, "\n\r\t")
	}
}

// str0 runs validate.go's str and reports whether it passed.
func (c *check) str0(field string, s *string, max int, required bool) bool {
	before := c.err
	c.str(field, s, max, required)
	return c.err == before
}

func (c *check) noControl(field, s, allowed string) {
	for _, r := range s {
		if unicode.IsControl(r) && !strings.ContainsRune(allowed, r) {
			c.fail(field, "must not contain control characters (U+%04X)", r)
			return
		}
	}
}

// day checks a calendar date YYYY-MM-DD (validate.go's date) with a year in
// 1900..2200.
func (c *check) day(field string, s *string, required bool) {
	before := c.err
	c.date(field, s, required)
	if c.err != before || *s == "" {
		return
	}
	if y, _ := strconv.Atoi((*s)[:4]); y < minYear || y > maxYear { // date checked the 4 digits
		c.fail(field, "must be a date between years %d and %d", minYear, maxYear)
	}
}

// phone checks a phone number as people write it: digits with optional
// '+' in front and spaces, '-', '.', '/' or parentheses between, 3 to 20
// digits in all ("+82 10-5550-1234", "(02) 555 0100").
func (c *check) phone(field string, s *string, required bool) {
	if !c.str0(field, s, 40, required) || *s == "" {
		return
	}
	digits := 0
	for i, r := range *s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, strings.ContainsRune(" -./()", r):
		default:
			c.fail(field, "must be a phone number: digits, a leading '+', spaces, '-', '.', '/' or parentheses")
			return
		}
	}
	if digits < 3 || digits > 20 {
		c.fail(field, "must have 3 to 20 digits")
	}
}

// ids checks a list of distinct entity ids, at most max of them.
func (c *check) ids(field string, list []string, max int) {
	if len(list) > max {
		c.fail(field, "must have at most %d entries", max)
		return
	}
	for i := range list {
		at := field + "[" + itoa(i) + "]"
		before := c.err
		c.id(at, &list[i], true)
		if c.err == before {
			c.distinct(at, list, i)
		}
	}
}

// enums checks a list of distinct values of allowed.
func (c *check) enums(field string, list []string, allowed []string) {
	if len(list) > len(allowed) {
		c.fail(field, "must have at most %d entries, each one of %s", len(allowed), strings.Join(allowed, ", "))
		return
	}
	for i := range list {
		at := field + "[" + itoa(i) + "]"
		before := c.err
		c.enum(at, &list[i], allowed...)
		if c.err == before {
			c.distinct(at, list, i)
		}
	}
}

// distinct fails if list[i] equals an earlier entry (lists are short).
func (c *check) distinct(field string, list []string, i int) {
	for _, v := range list[:i] {
		if v == list[i] {
			c.fail(field, "appears twice")
			return
		}
	}
}

// hex64 checks a 64-digit lowercase hex string (a SHA-256), trimmed.
func (c *check) hex64(field string, s *string, required bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if len(*s) != 64 || strings.IndexFunc(*s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) >= 0 {
		c.fail(field, "must be 64 lowercase hex digits")
	}
}

// signature checks an optional Ed25519 signature: standard padded base64 of
// exactly 64 bytes.
func (c *check) signature(field string, s *string) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		return
	}
	b, err := base64.StdEncoding.Strict().DecodeString(*s)
	if err != nil || len(b) != 64 {
		c.fail(field, "must be standard base64 of a 64-byte Ed25519 signature")
	}
}

// audioType checks a required media type of audio ("audio/mpeg") and
// rewrites it in canonical form (lowercase type, normalised parameters).
func (c *check) audioType(field string, s *string) {
	if !c.str0(field, s, 100, true) {
		return
	}
	mt, params, err := mime.ParseMediaType(*s)
	if err != nil || !strings.HasPrefix(mt, "audio/") {
		c.fail(field, "must be an audio media type such as audio/mpeg")
		return
	}
	if f := mime.FormatMediaType(mt, params); f != "" {
		*s = f
	}
}

// money checks a required amount in the smallest currency unit.
func (c *check) money(field string, v *int64, min int64) {
	c.present(field, v != nil)
	if v != nil {
		c.rangeInt(field, *v, min, maxMoney)
	}
}

// nonZero reports a required integer that cannot legitimately be 0 as
// missing, rather than as out of range.
func (c *check) nonZero(field string, v int64) {
	if v == 0 {
		c.fail(field, "is required")
	}
}

// iso4217 checks a required ISO 4217 currency code (validate.go's currency
// checks the form, this the code).
func (c *check) iso4217(field string, s *string) {
	before := c.err
	if *s = strings.TrimSpace(*s); *s == "" {
		c.fail(field, "is required")
		return
	}
	c.currency(field, s)
	if c.err == before && !currencies[*s] {
		c.fail(field, "must be an ISO 4217 currency code such as KRW")
	}
}

// instant checks a time like validate.go's time and keeps it to the
// microsecond, the precision of recordedAt and of PostgreSQL's timestamptz,
// for times a read store keeps in a column of its own.
func (c *check) instant(field string, t *time.Time, required bool) {
	c.time(field, t, required)
	*t = t.Truncate(time.Microsecond)
}

// phc checks a required argon2id verifier in the PHC string format
// ("$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>"): at most max
// characters, all printable ASCII without spaces.
func (c *check) phc(field string, s *string, max int) {
	if !c.str0(field, s, max, true) {
		return
	}
	for i := 0; i < len(*s); i++ {
		if b := (*s)[i]; b <= ' ' || b > '~' {
			c.fail(field, "must be printable ASCII without spaces or control characters")
			return
		}
	}
	if !strings.HasPrefix(*s, "$argon2id$") {
		c.fail(field, "must be an argon2id hash in PHC format, starting with $argon2id$")
	}
}

// minSealed is the shortest AEAD ciphertext: a 12-byte nonce and a 16-byte
// tag (AES-GCM) around an empty plaintext. A secret in clear, such as the
// 20 bytes of a TOTP key, is shorter, so it cannot pass for a sealed one.
const minSealed = 12 + 16

// sealed checks a required sealed value: standard padded base64 of at
// least minSealed bytes, at most max characters.
func (c *check) sealed(field string, s *string, max int) {
	if !c.str0(field, s, max, true) {
		return
	}
	b, err := base64.StdEncoding.Strict().DecodeString(*s)
	switch {
	case err != nil:
		c.fail(field, "must be standard padded base64")
	case len(b) < minSealed:
		c.fail(field, "must be a sealed value of at least %d bytes (nonce and tag), not %d", minSealed, len(b))
	}
}

// ip checks an optional IP address (IPv4 or IPv6, without a zone) and
// rewrites it in canonical form, an IPv4-mapped IPv6 address as IPv4, so
// that one client is always spelled the same ("::FFFF:10.0.0.1" is
// "10.0.0.1").
func (c *check) ip(field string, s *string) {
	if !c.str0(field, s, 64, false) || *s == "" {
		return
	}
	a, err := netip.ParseAddr(*s)
	if err != nil || a.Zone() != "" {
		c.fail(field, "must be an IP address such as 203.0.113.7 or 2001:db8::1")
		return
	}
	*s = a.Unmap().String()
}
