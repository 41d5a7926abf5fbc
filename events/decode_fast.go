package events

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// decodeFast decodes the data of the catalog's most frequent event types
// (a replay meets them for 97% of a bank's log) without reflection, when
// raw is in the plain form json.Marshal writes: an object whose keys are
// exactly the struct's JSON names, strings without escapes in valid UTF-8,
// integers without fraction or exponent, no null. Anything else (an unknown
// or case-folded key, an escape, null, a type mismatch, trailing bytes)
// reports false and Decode falls back to encoding/json, so the result is
// always the one encoding/json gives: FuzzDecodeFast checks that.
//
// Common enumeration values (channels, purposes, outcomes, tiers, the
// currency) come back as shared constant strings instead of a fresh
// allocation each: fewer and smaller objects for the read models to keep,
// the same values.
func decodeFast(typ string, raw []byte) (Data, bool) {
	s := jsonScan{b: raw}
	var d Data
	var ok bool
	switch typ {
	case "FinancialsReported":
		v := new(FinancialsReported)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "asOf":
				return s.str(&v.AsOf)
			case "depositBalance":
				return s.int64p(&v.DepositBalance)
			case "profitContribution":
				return s.int64p(&v.ProfitContribution)
			case "currency":
				return s.str(&v.Currency)
			}
			return false
		})
	case "ProductPitched":
		v := new(ProductPitched)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "product":
				return s.str(&v.Product)
			case "channel":
				return s.str(&v.Channel)
			case "outcome":
				return s.str(&v.Outcome)
			case "reason":
				return s.str(&v.Reason)
			case "campaignId":
				return s.str(&v.CampaignID)
			case "followUpOn":
				return s.str(&v.FollowUpOn)
			case "purpose":
				return s.str(&v.Purpose)
			case "consentChannel":
				return s.str(&v.ConsentChannel)
			case "consentVersion":
				return s.uint64(&v.ConsentVersion)
			case "occurredAt":
				return s.time(&v.OccurredAt)
			}
			return false
		})
	case "ContactLogged":
		v := new(ContactLogged)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "channel":
				return s.str(&v.Channel)
			case "purpose":
				return s.str(&v.Purpose)
			case "summary":
				return s.str(&v.Summary)
			case "occurredAt":
				return s.time(&v.OccurredAt)
			case "durationSec":
				var n int64
				ok := s.int64(&n)
				v.DurationSec = int(n)
				return ok && strconv.IntSize == 64
			case "staffId":
				return s.str(&v.StaffID)
			case "callId":
				return s.str(&v.CallID)
			}
			return false
		})
	case "ConsentChanged":
		v := new(ConsentChanged)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "channel":
				return s.str(&v.Channel)
			case "purpose":
				return s.str(&v.Purpose)
			case "granted":
				return s.boolp(&v.Granted)
			}
			return false
		})
	case "CustomerRegistered":
		v := new(CustomerRegistered)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "customerId":
				return s.str(&v.CustomerID)
			case "name":
				return s.str(&v.Name)
			case "birthDate":
				return s.str(&v.BirthDate)
			case "phone":
				return s.str(&v.Phone)
			case "email":
				return s.str(&v.Email)
			case "address":
				return s.str(&v.Address)
			case "branchId":
				return s.str(&v.BranchID)
			case "source":
				return s.object(func(k []byte) bool {
					switch string(k) {
					case "system":
						return s.str(&v.Source.System)
					case "ref":
						return s.str(&v.Source.Ref)
					}
					return false
				})
			}
			return false
		})
	case "ProfileVerified":
		v := new(ProfileVerified)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "channel":
				return s.str(&v.Channel)
			case "fields":
				return s.strings(&v.Fields)
			case "occurredAt":
				return s.time(&v.OccurredAt)
			}
			return false
		})
	case "TierAssigned":
		v := new(TierAssigned)
		d, ok = v, s.object(func(k []byte) bool {
			switch string(k) {
			case "tier":
				return s.str(&v.Tier)
			case "basis":
				return s.object(func(k []byte) bool {
					switch string(k) {
					case "depositBalance":
						return s.int64p(&v.Basis.DepositBalance)
					case "profitContribution":
						return s.int64p(&v.Basis.ProfitContribution)
					case "rule":
						return s.str(&v.Basis.Rule)
					}
					return false
				})
			}
			return false
		})
	default:
		return nil, false
	}
	if !ok || !s.end() {
		return nil, false
	}
	return d, true
}

// jsonScan reads the plain subset of JSON decodeFast accepts; every method
// reports false on anything outside it.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScan) byte(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (s *jsonScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads {"key": value, ...}, calling field with each key, positioned
// at its value, which field reads (false: not in the subset). Keys must
// match a field's name exactly; encoding/json would also take case-folded
// ones and skip unknown ones, which the fallback does.
func (s *jsonScan) object(field func(key []byte) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		k, ok := s.raw()
		if !ok || !s.byte(':') || !field(k) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// raw returns the bytes of a string without escapes or control characters,
// in valid UTF-8, without its quotes.
func (s *jsonScan) raw() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start, ascii := s.i, true
	for s.i < len(s.b) {
		if plainByte[s.b[s.i]] { // the common case: one load and a branch a byte
			s.i++
			continue
		}
		switch c := s.b[s.i]; {
		case c == '"':
			b := s.b[start:s.i]
			s.i++
			return b, ascii || utf8.Valid(b)
		case c == '\\' || c < 0x20:
			return nil, false
		default: // c >= utf8.RuneSelf
			ascii = false
			s.i++
		}
	}
	return nil, false
}

// plainByte holds the ASCII bytes a string takes as they are: not a
// control character, a quote or a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *jsonScan) str(dst *string) bool {
	b, ok := s.raw()
	if !ok {
		return false
	}
	if c, ok := commonValues[string(b)]; ok {
		*dst = c
	} else {
		*dst = string(b)
	}
	return true
}

func (s *jsonScan) strings(dst *[]string) bool {
	if !s.byte('[') {
		return false
	}
	out := []string{}
	if !s.byte(']') {
		for {
			var v string
			if !s.str(&v) {
				return false
			}
			out = append(out, v)
			if s.byte(']') {
				break
			}
			if !s.byte(',') {
				return false
			}
		}
	}
	*dst = out
	return true
}

// digits returns an integer literal: an optional minus, then 0 or digits
// not starting with 0, not followed by a fraction or an exponent.
func (s *jsonScan) digits() ([]byte, bool) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	d := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	switch {
	case s.i == d, s.b[d] == '0' && s.i > d+1:
		return nil, false
	case s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E'):
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *jsonScan) int64(dst *int64) bool {
	b, ok := s.digits()
	if !ok {
		return false
	}
	if len(b) <= 18 { // no overflow: no call, no allocation
		n, neg := int64(0), b[0] == '-'
		if neg {
			b = b[1:]
		}
		for _, c := range b {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		*dst = n
		return true
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*dst = n
	return err == nil
}

func (s *jsonScan) int64p(dst **int64) bool {
	var n int64
	if !s.int64(&n) {
		return false
	}
	*dst = &n
	return true
}

func (s *jsonScan) uint64(dst *uint64) bool {
	b, ok := s.digits()
	if !ok || b[0] == '-' {
		return false
	}
	if len(b) <= 19 {
		n := uint64(0)
		for _, c := range b {
			n = n*10 + uint64(c-'0')
		}
		*dst = n
		return true
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	*dst = n
	return err == nil
}

func (s *jsonScan) boolp(dst **bool) bool {
	s.ws()
	var v bool
	switch rest := s.b[s.i:]; {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		v, s.i = true, s.i+4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.i += 5
	default:
		return false
	}
	*dst = &v
	return true
}

// time reads a string as encoding/json does for a time.Time: through its
// UnmarshalJSON, given the quoted literal.
func (s *jsonScan) time(dst *time.Time) bool {
	s.ws()
	start := s.i
	if _, ok := s.raw(); !ok {
		return false
	}
	return dst.UnmarshalJSON(s.b[start:s.i]) == nil
}

// commonValues are the enumeration values decodeFast hands out shared.
var commonValues = func() map[string]string {
	m := map[string]string{"KRW": "KRW", "USD": "USD", "EUR": "EUR", "JPY": "JPY", "CNY": "CNY"}
	for _, list := range [][]string{Channels, ContactPurposes, PitchOutcomes, Tiers, ConsentChannels, ConsentPurposes, ProfileFields} {
		for _, v := range list {
			m[v] = v
		}
	}
	return m
}()
