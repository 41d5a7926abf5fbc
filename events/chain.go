package events

import "fmt"

// ChainVerifier checks the per-stream hash chains of a log read in position
// order: each event's hash matches its content, its prevHash is the previous
// event's hash in its stream (zero for the first), versions have no gap, and
// positions strictly increase.
type ChainVerifier struct {
	heads   map[string]chainHead
	last    Position
	checked uint64
}

type chainHead struct {
	version uint64
	hash    Hash
}

// NewChainVerifier returns a verifier that has seen nothing.
func NewChainVerifier() *ChainVerifier {
	return &ChainVerifier{heads: make(map[string]chainHead)}
}

// Checked returns how many events were verified.
func (v *ChainVerifier) Checked() uint64 { return v.checked }

// Add verifies the next event of the log. The error has code Internal and
// names the event.
func (v *ChainVerifier) Add(e *Envelope) error {
	if v.checked > 0 && !v.last.Less(e.Position) {
		return Errorf(Internal, "%s@%d at position %s: position does not increase after %s", e.Stream, e.Version, e.Position, v.last)
	}
	head, seen := v.heads[e.Stream]
	var prev Hash
	want := uint64(0)
	if seen {
		prev, want = head.hash, head.version+1
	}
	if e.Version != want {
		return Errorf(Internal, "%s@%d at position %s: version gap, expected %d", e.Stream, e.Version, e.Position, want)
	}
	if err := e.Verify(prev); err != nil {
		return fmt.Errorf("position %s: %w", e.Position, err)
	}
	v.heads[e.Stream] = chainHead{version: e.Version, hash: e.Hash}
	v.last = e.Position
	v.checked++
	return nil
}

// VerifyStream checks one stream's events, read forward from version 0.
func VerifyStream(evs []Envelope) error {
	var prev Hash
	for i := range evs {
		if evs[i].Version != uint64(i) {
			return Errorf(Internal, "%s@%d: version gap, expected %d", evs[i].Stream, evs[i].Version, i)
		}
		if err := evs[i].Verify(prev); err != nil {
			return err
		}
		prev = evs[i].Hash
	}
	return nil
}
