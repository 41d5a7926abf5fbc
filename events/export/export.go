package export

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

// Log is what an export reads of the store (events.Store and the API's
// Store have it).
type Log interface {
	ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error)
	ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error)
	Head(ctx context.Context) (events.Position, error)
}

// Tree is what a manifest needs of the stored Merkle tree (seal.Prover
// has it): the leaf of a position and the frontier before a leaf.
type Tree interface {
	Leaf(pos events.Position) (int64, error)
	Frontier(n int64) ([]tlog.Hash, error)
}

// Opener decrypts a stored event's personal fields: pii.Sealer.OpenEnvelope.
type Opener func(ctx context.Context, e *events.Envelope) (events.Data, error)

// Request is one export: the events after From up to To (included), in
// clear if Open is set (Reason then says why), as the log of Origin whose
// seals VerifierKey checks (empty if unknown).
type Request struct {
	From, To    events.Position
	Open        Opener // nil: personal fields stay ciphertext
	Reason      string
	Origin      string
	VerifierKey string
	// Tree gives the manifest's startLeaf and frontier; nil, or a tree
	// that does not hold the first event yet: computed by reading the log
	// from its start up to From (seal.Compact).
	Tree Tree
	// Page is called after each page of events is written, with the count
	// so far (an HTTP flush, a progress line); its error ends the export.
	Page func(count int64) error
}

// AccessDetail is the access record's detail of req in clear, count
// events sent: its range, the count and the reason, whole (a reason is at
// most 500 characters, an entry's detail events.MaxAccessDetail).
func (req Request) AccessDetail(count int64) string {
	d := fmt.Sprintf("positions %s..%s, %d events; reason: ", req.From, req.To, count)
	reason := req.Reason
	for utf8.RuneCountInString(d)+utf8.RuneCountInString(reason) > events.MaxAccessDetail {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	return d + reason
}

// pageSize is how many events an export reads at a time: its memory.
const pageSize = 1000

// Manifest describes an export for its verifier: the range, the count and
// SHA-256 of the body, where in the seals' tree it starts (startLeaf, and
// frontier: the roots of the complete subtrees of the tree of the startLeaf
// leaves before it, largest first, hex), and the first seal that covers its
// last event, as a CloudEvent (null if none does yet). fromPosition and
// toPosition are the first and last exported events' positions (Start for
// an empty export).
type Manifest struct {
	FromPosition events.Position `json:"fromPosition"`
	ToPosition   events.Position `json:"toPosition"`
	Count        int64           `json:"count"`
	SHA256       string          `json:"sha256"`
	StartLeaf    int64           `json:"startLeaf"`
	Frontier     []string        `json:"frontier"`
	Origin       string          `json:"origin"`
	VerifierKey  string          `json:"verifierKey"`
	CoveringSeal json.RawMessage `json:"coveringSeal"`
	Clear        bool            `json:"clear"`
	Reason       string          `json:"reason"`
}

// CoveringSealHash returns the hex hash of the covering seal event (the
// Dangol-Covering-Seal trailer), or "" if no seal covers the export yet.
func (m *Manifest) CoveringSealHash() string {
	var ce struct {
		Hash string `json:"hash"`
	}
	if len(m.CoveringSeal) == 0 || json.Unmarshal(m.CoveringSeal, &ce) != nil {
		return ""
	}
	return ce.Hash
}

// Start returns the compact tree of the startLeaf leaves before the
// export, from the frontier: appending seal.LeafHash of each exported
// event in order gives the tree up to the export's last event, whose root
// the covering seal holds when the export ends at its tree size. The
// error is Invalid for a frontier that is not hex of 32-byte hashes or
// does not fit startLeaf.
func (m *Manifest) Start() (*seal.Compact, error) {
	frontier := make([]tlog.Hash, len(m.Frontier))
	for i, h := range m.Frontier {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			return nil, events.Errorf(events.Invalid, "manifest: frontier[%d] is not 64 hex digits", i)
		}
		frontier[i] = tlog.Hash(b)
	}
	return seal.NewCompact(m.StartLeaf, frontier)
}

// DefaultTo is the end of an export that names none: the last position
// the latest seal covers, or the log's head if there is no seal or from is
// not before that position.
func DefaultTo(ctx context.Context, log Log, from events.Position) (events.Position, error) {
	latest, err := sealAt(ctx, log, events.LastVersion, events.Backward)
	if err != nil {
		return events.Position{}, err
	}
	if latest != nil && from.Less(latest.ToPosition) {
		return latest.ToPosition, nil
	}
	return log.Head(ctx)
}

// Export writes the events of req to out, one CloudEvents line each, and
// returns their manifest. Errors: Invalid for a range whose To is before
// From; those of the store, of req.Open, of req.Page and of out. On an
// error out holds the lines written until then.
func Export(ctx context.Context, log Log, out io.Writer, req Request) (Manifest, error) {
	if req.To.Less(req.From) {
		return Manifest{}, events.InvalidField("to_position", "must not be before from_position")
	}
	w := NewWriter(out, req.Origin)
	first, last, err := copyRange(ctx, log, w, req)
	if err != nil {
		return Manifest{}, err
	}
	sum := w.Sum()
	m := Manifest{FromPosition: first, ToPosition: last, Count: w.Count(), SHA256: hex.EncodeToString(sum[:]),
		Frontier: []string{}, Origin: req.Origin, VerifierKey: req.VerifierKey, Clear: req.Open != nil}
	if m.Clear {
		m.Reason = req.Reason
	}
	if m.Count == 0 {
		return m, nil
	}
	leaf, frontier, err := startOf(ctx, log, req.Tree, first)
	if err != nil {
		return Manifest{}, err
	}
	m.StartLeaf = leaf
	for _, h := range frontier {
		m.Frontier = append(m.Frontier, hex.EncodeToString(h[:]))
	}
	env, err := coveringSeal(ctx, log, leaf+m.Count-1)
	if err != nil || env == nil {
		return m, err
	}
	m.CoveringSeal = Event(req.Origin, env)
	return m, nil
}

// copyRange writes the events after req.From up to req.To to w, a page at
// a time, and returns the first and last positions written.
func copyRange(ctx context.Context, log Log, w *Writer, req Request) (first, last events.Position, err error) {
	for pos := req.From; ; {
		evs, err := log.ReadAll(ctx, pos, pageSize)
		if err != nil {
			return first, last, err
		}
		done := len(evs) < pageSize
		for i := range evs {
			e := &evs[i]
			if req.To.Less(e.Position) {
				done = true
				break
			}
			if err := writeOne(ctx, w, e, req.Open); err != nil {
				return first, last, err
			}
			if first.IsZero() {
				first = e.Position
			}
			last, pos = e.Position, e.Position
		}
		if req.Page != nil {
			if err := req.Page(w.Count()); err != nil {
				return first, last, err
			}
		}
		if done {
			return first, last, nil
		}
	}
}

// writeOne writes e, with its personal fields decrypted if open is set.
func writeOne(ctx context.Context, w *Writer, e *events.Envelope, open Opener) error {
	if open == nil {
		return w.Write(e, nil)
	}
	clear, erased, err := clearData(ctx, open, e)
	switch {
	case err != nil:
		return err
	case erased:
		return w.WriteErased(e)
	}
	return w.Write(e, clear)
}

// clearData returns e's data with its sealed personal fields decrypted by
// open, or nil if it holds none (or open leaves them sealed: they are not
// a customer's); erased if the customer's key was destroyed.
func clearData(ctx context.Context, open Opener, e *events.Envelope) (json.RawMessage, bool, error) {
	if !bytes.Contains(e.Data, []byte(pii.Prefix)) {
		return nil, false, nil
	}
	d, err := open(ctx, e)
	if err != nil {
		return nil, false, err
	}
	p, ok := d.(events.Personal)
	if !ok {
		return nil, false, nil
	}
	sealed, erased := false, false
	p.EachPersonal(func(_ string, v *string) {
		sealed = sealed || strings.HasPrefix(*v, pii.Prefix)
		erased = erased || *v == pii.Erased
	})
	switch {
	case erased:
		return nil, true, nil
	case sealed:
		return nil, false, nil
	}
	clear, err := json.Marshal(d)
	if err != nil {
		return nil, false, fmt.Errorf("export %s@%d in clear: %w", e.Stream, e.Version, err)
	}
	return clear, false, nil
}

// startOf returns the leaf index of the event at first and the frontier
// of the tree of the leaves before it: from tree if it holds first, else
// by reading the log from its start.
func startOf(ctx context.Context, log Log, tree Tree, first events.Position) (int64, []tlog.Hash, error) {
	if tree != nil {
		leaf, err := tree.Leaf(first)
		if err == nil {
			f, err := tree.Frontier(leaf)
			return leaf, f, err
		}
		if events.ErrorCode(err) != events.NotFound {
			return 0, nil, err
		}
	}
	c, _ := seal.NewCompact(0, nil)
	for pos := events.Start; ; {
		evs, err := log.ReadAll(ctx, pos, pageSize)
		if err != nil {
			return 0, nil, err
		}
		for i := range evs {
			if !evs[i].Position.Less(first) {
				return c.Size(), c.Frontier(), nil
			}
			c.Append(seal.LeafHash(&evs[i]))
			pos = evs[i].Position
		}
		if len(evs) == 0 {
			return 0, nil, events.Errorf(events.Internal, "export: position %s is no longer in the log", first)
		}
	}
}

// coveringSeal returns the envelope of the first seal whose tree covers
// leaf, or nil if none does yet. Seals' tree sizes grow with their version
// in the ledger stream, so it is a binary search: a few reads.
func coveringSeal(ctx context.Context, log Log, leaf int64) (*events.Envelope, error) {
	found, err := sealAt(ctx, log, events.LastVersion, events.Backward)
	if err != nil || found == nil || found.TreeSize <= leaf {
		return nil, err
	}
	for lo, hi := uint64(0), found.Seq; lo < hi; { // the answer is in [lo, hi]
		mid := lo + (hi-lo)/2
		s, err := sealAt(ctx, log, mid, events.Forward)
		switch {
		case err != nil:
			return nil, err
		case s == nil:
			return nil, events.Errorf(events.Internal, "export: seal %d is missing from the ledger stream", mid)
		case s.TreeSize > leaf:
			hi, found = mid, s
		default:
			lo = mid + 1
		}
	}
	return &found.env, nil
}

// sealEvent is a seal and its envelope.
type sealEvent struct {
	seal.Seal
	env events.Envelope
}

// sealAt reads the seal at version v of the ledger stream (LastVersion
// with Backward: the latest), or nil if the log has none.
func sealAt(ctx context.Context, log Log, v uint64, dir events.Direction) (*sealEvent, error) {
	evs, err := log.ReadStream(ctx, events.LedgerStream, v, dir, 1)
	if events.ErrorCode(err) == events.NotFound || err == nil && len(evs) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := seal.SealOf(&evs[0])
	if err != nil {
		return nil, err
	}
	return &sealEvent{Seal: s, env: evs[0]}, nil
}
