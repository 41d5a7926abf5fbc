package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the whole log. The embedded and PostgreSQL stores
// use a single sequence number (Commit == Prepare); KurrentDB's $all
// positions are a commit/prepare pair, which this type carries unchanged.
// The zero Position is before the first event: reading or subscribing from it
// delivers the whole log.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event of the log.
var Start = Position{}

// At returns the single-sequence position n.
func At(n uint64) Position { return Position{Commit: n, Prepare: n} }

// Seq returns the single-sequence number of p (its commit part).
func (p Position) Seq() uint64 { return p.Commit }

// IsZero reports whether p is Start.
func (p Position) IsZero() bool { return p == Position{} }

// Less reports whether p comes before q in the log.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Prepare < q.Prepare
}

// String returns "n" for a single-sequence position, "commit/prepare" otherwise.
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return strconv.FormatUint(p.Commit, 10)
	}
	return strconv.FormatUint(p.Commit, 10) + "/" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition parses the output of String. An empty string is Start.
// The error has code Invalid.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Start, nil
	}
	c, p, pair := strings.Cut(s, "/")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, Errorf(Invalid, "position %q is not a number or commit/prepare pair", s)
	}
	if !pair {
		return At(commit), nil
	}
	prepare, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return Position{}, Errorf(Invalid, "position %q is not a number or commit/prepare pair", s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

// MarshalJSON encodes a single-sequence position as a JSON number and a
// commit/prepare pair as a string.
func (p Position) MarshalJSON() ([]byte, error) {
	if p.Commit == p.Prepare {
		return strconv.AppendUint(nil, p.Commit, 10), nil
	}
	return json.Marshal(p.String())
}

// UnmarshalJSON accepts a number or a "commit/prepare" string.
func (p *Position) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	q, err := ParsePosition(s)
	if err != nil {
		return fmt.Errorf("position: %w", err)
	}
	*p = q
	return nil
}
