package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The kinds of blind-index terms. A term is kind + ":" + its tag, and the
// kind is also inside the HMAC, so equal values of two kinds (a name that
// is all digits, the last four digits of a phone and a whole phone of four
// digits) give unrelated tags.
const (
	TermName   = "name"   // the whole normalised name, or one of its parts
	TermPhone  = "phone"  // all the digits of a phone number
	TermPhone4 = "phone4" // the last four digits of a phone number
)

// blindLabel names the blind index's key among the keys derived from the
// master key (MasterKey.Derive); a new scheme takes a new label.
const blindLabel = "search index v1"

// tagSize is how many bytes of the HMAC-SHA256 a term keeps: 128 bits, so
// two different values collide with negligible probability and a lookup
// never finds a customer for a value they do not have.
const tagSize = 16

// BlindIndex turns customers' names and phone numbers into search terms:
// the HMAC-SHA256 of the normalised value under a key derived from the
// master key, so a read store can find a customer by name or phone without
// holding either in clear, and an erasure removes the customer's terms
// (docs/personal-data.md, "Search"). Without the master key a term cannot
// be computed from a guessed value, so a copy of the index alone does not
// allow a dictionary attack on it.
//
// A BlindIndex is a value; it is safe for concurrent use by multiple
// goroutines. Formatting it prints no key material. The zero BlindIndex has
// no key and gives no terms.
type BlindIndex struct {
	key  []byte     // 32 bytes derived from the master key; never modified
	macs *sync.Pool // of HMAC-SHA256 under key: Reset is cheaper than keying anew
}

// NewBlindIndex returns the blind index keyed by a key derived from master
// with HKDF-SHA256 under a label of its own: neither the key nor a term
// reveals the master key or any other key derived from it. It panics on the
// zero MasterKey, as MasterKey.Derive does.
func NewBlindIndex(master MasterKey) BlindIndex {
	key := master.Derive(blindLabel)
	return BlindIndex{key: key, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// String returns "blind index", never the key.
func (b BlindIndex) String() string { return "blind index" }

// GoString returns the same as String.
func (b BlindIndex) GoString() string { return b.String() }

// Format prints String for every verb, so no verb can print the key.
func (b BlindIndex) Format(f fmt.State, _ rune) { io.WriteString(f, b.String()) }

// LogValue returns String for log/slog.
func (b BlindIndex) LogValue() slog.Value { return slog.StringValue(b.String()) }

// Terms returns the terms a customer whose field holds value is found by,
// distinct, in no particular order; nil for an empty value, the Erased
// marker, and any field other than "name" and "phone".
//
// A name is normalised to Unicode NFC, case-folded, and its whitespace
// collapsed; its terms are the whole name without spaces and each
// whitespace-separated part of two or more characters ("Kim Min-jun":
// "kimmin-jun", "kim", "min-jun"). A phone number keeps its digits only, a
// leading +82 country code becoming the trunk prefix 0 ("+82 10-5550-1234"
// and "010 5550 1234" are both 01055501234); its terms are all the digits
// and, for four digits or more, the last four as a kind of their own.
func (b BlindIndex) Terms(field, value string) []string {
	if b.key == nil || value == "" || value == Erased {
		return nil
	}
	switch field {
	case "name":
		return b.nameTerms(value)
	case "phone":
		d := PhoneDigits(value)
		if d == "" {
			return nil
		}
		terms := []string{b.term(TermPhone, d)}
		if len(d) >= 4 {
			terms = append(terms, b.term(TermPhone4, d[len(d)-4:]))
		}
		return terms
	}
	return nil
}

// Query returns the terms to look up for what a person typed in a search
// box, distinct; none (an empty slice) if it can match nothing. Input made
// of digits and the punctuation of phone numbers (space, +, -, (, ), .) is
// a phone number: seven digits or more are looked up as the whole number,
// exactly four as its last four digits, any other count matches nothing.
// Anything else with a letter or a digit is a name: its terms as Terms
// gives them, so a customer matching more of them (the whole name and each
// part) is a better hit.
func (b BlindIndex) Query(q string) []string {
	if b.key == nil {
		return []string{}
	}
	if phoneLike(q) {
		d := PhoneDigits(q)
		switch {
		case len(d) >= 7:
			return []string{b.term(TermPhone, d)}
		case len(d) == 4:
			return []string{b.term(TermPhone4, d)}
		}
		return []string{}
	}
	if !strings.ContainsFunc(q, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
		return []string{} // punctuation alone names no one
	}
	if t := b.nameTerms(q); t != nil {
		return t
	}
	return []string{}
}

func (b BlindIndex) nameTerms(value string) []string {
	parts := NameParts(value)
	if len(parts) == 0 {
		return nil
	}
	terms := []string{b.term(TermName, strings.Join(parts, ""))}
	for _, p := range parts {
		if utf8.RuneCountInString(p) < 2 {
			continue
		}
		if t := b.term(TermName, p); !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	return terms
}

// term returns kind:base64url(HMAC-SHA256(key, kind NUL value)[:tagSize]).
func (b BlindIndex) term(kind, value string) string {
	m := b.macs.Get().(hash.Hash)
	defer b.macs.Put(m)
	m.Reset()
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	return kind + ":" + b64.EncodeToString(m.Sum(sum[:0])[:tagSize])
}

// NameParts returns the normalised parts of a name, the form Terms indexes:
// NFC, case-folded (so "KIM", "Kim" and "kim" are one name, and "Straße"
// is "strasse"), split at whitespace. It returns nil for a name of only
// whitespace.
func NameParts(name string) []string {
	// A Caser keeps state: one per call, so concurrent calls share none.
	s := norm.NFC.String(cases.Fold().String(norm.NFC.String(name)))
	parts := strings.Fields(s)
	if len(parts) == 0 {
		return nil
	}
	return parts
}

// PhoneDigits returns the normalised form of a phone number Terms indexes:
// its ASCII digits (full-width digits count, through NFKC), with a leading
// +82 (South Korea's country code) replaced by the trunk prefix 0, and
// dropped if a 0 follows already ("+82 010…", a common mistake).
func PhoneDigits(phone string) string {
	s := strings.TrimSpace(norm.NFKC.String(phone))
	intl := strings.HasPrefix(s, "+82")
	var d []byte
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	if intl {
		d = d[2:] // the "82"
		if len(d) == 0 || d[0] != '0' {
			d = append([]byte{'0'}, d...)
		}
	}
	return string(d)
}

// phoneLike reports whether q holds at least one digit and nothing but
// digits and the punctuation phone numbers are written with.
func phoneLike(q string) bool {
	digit := false
	for _, r := range norm.NFKC.String(q) {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r == ' ' || r == '\t' || r == '+' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digit
}
