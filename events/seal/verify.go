package seal

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
)

// VerifyOptions configure a LogVerifier.
type VerifyOptions struct {
	// Key checks every seal's signatures. Nil: they are not checked,
	// Report.Signed says so, and only the anchor proves a tree size
	// (Report.VerifiedThrough): a seal without a checked signature is
	// anyone's.
	Key *Key

	// StartLeaf and Frontier start the tree mid-log: the leaf index of the
	// first event to be added and Tree.Frontier(StartLeaf), as an export's
	// manifest gives them. Zero and nil start at the log's first event.
	StartLeaf int64
	Frontier  []tlog.Hash

	// SealSizes are the tree sizes of every seal that will be added, learnt
	// before the log is read (the ledger stream, or a first pass over an
	// export): a seal's tree is smaller than its own leaf index, so the
	// verifier must remember the root at that size when it passes it.
	SealSizes []int64

	// Anchor is what the auditor kept outside the system; nil for none.
	Anchor *Anchor

	// MidStream accepts the first event seen of a stream at any version,
	// with its prevHash as given (a partial export starts streams midway);
	// false requires every stream to start at version 0.
	MidStream bool
}

// Anchor is a seal the auditor kept outside the system: the hash of its
// LedgerSealed event, or its checkpoint (see OpenAnchor). The verified log
// must contain the seal, or match the checkpoint's root at its size.
type Anchor struct {
	SealHash   events.Hash
	Checkpoint *Checkpoint // nil for a seal hash
}

// String names the anchor in messages.
func (a *Anchor) String() string {
	if a.Checkpoint != nil {
		return fmt.Sprintf("the anchor checkpoint (tree size %d)", a.Checkpoint.Size)
	}
	return "the anchor seal " + a.SealHash.String()[:12]
}

// OpenAnchor reads an anchor kept as a signed note (a witness's file or a
// seal's checkpoint): opened with key, or, if key is nil, only parsed (its
// root is what the auditor kept; the signature is then not checked). The
// error is Invalid.
func OpenAnchor(text []byte, key *Key) (*Anchor, error) {
	var c Checkpoint
	var err error
	if key != nil {
		c, err = key.OpenCheckpoint(text)
	} else {
		c, err = ParseCheckpoint(checkpointBody(string(text)))
	}
	if err != nil {
		return nil, err
	}
	return &Anchor{Checkpoint: &c}, nil
}

// Report is what a LogVerifier checked.
type Report struct {
	Events          int64           // events checked
	Seals           int             // seals whose root was checked against the log
	Unrooted        int             // seals of a tree below StartLeaf: signature checked, root not checkable here
	VerifiedThrough int64           // the largest tree size the anchor or a seal whose signature verified proved (without a key, the anchor's alone)
	Leaves          int64           // the tree size of the log read (StartLeaf + Events)
	Root            tlog.Hash       // the root of those leaves
	Head            events.Position // the last event's position
	Latest          *Seal           // the last seal seen, nil if none
	Signed          bool            // seals' signatures were checked with a key
	Anchored        bool            // the anchor was found and matched
}

// Failure is the first check a log failed: at which event (Stream is ""
// for a check of the log's end), and why. LogVerifier's errors are
// Failures (code Internal).
type Failure struct {
	Position events.Position
	Stream   string
	Version  uint64
	ID       string
	Reason   string
}

// Error names the event and the reason.
func (f *Failure) Error() string {
	if f.Stream == "" {
		return fmt.Sprintf("end of log (position %s): %s", f.Position, f.Reason)
	}
	return fmt.Sprintf("position %s, %s@%d: %s", f.Position, f.Stream, f.Version, f.Reason)
}

// LogVerifier checks a log read in position order, whole or from a leaf
// on: each event's hash, the per-stream chains and versions, the order of
// positions, and every seal against the Merkle tree of the events before
// it. It keeps the tree's frontier (O(log n) hashes), each stream's head,
// the set of announced seal sizes not yet met, and the root at a seal's
// size until that seal is passed (one or two at a time). It reimplements
// events.ChainVerifier's chain check, which cannot start a stream midway.
// It is not safe for concurrent use.
type LogVerifier struct {
	opt   VerifyOptions
	tree  *Compact
	heads map[string]head
	last  events.Position

	sizes []int64        // announced tree sizes not reached yet, ascending
	marks map[int64]mark // what was seen at each announced size reached
	due   map[int64]bool // announced sizes whose seal has not been seen

	prev   *Seal // the last seal seen
	report Report
	failed error
}

type head struct {
	version uint64
	hash    events.Hash
}

// mark is what the verifier remembers of the tree at an announced size:
// its root, the position of its last leaf and of the next one.
type mark struct {
	root       tlog.Hash
	last, next events.Position
	hasNext    bool
}

// NewLogVerifier returns a verifier that has seen nothing. The error is
// Invalid if the frontier does not fit StartLeaf.
func NewLogVerifier(opt VerifyOptions) (*LogVerifier, error) {
	tree, err := NewCompact(opt.StartLeaf, opt.Frontier)
	if err != nil {
		return nil, err
	}
	v := &LogVerifier{opt: opt, tree: tree, heads: map[string]head{}, marks: map[int64]mark{}, due: map[int64]bool{}}
	for _, n := range opt.SealSizes {
		v.due[n] = true
	}
	sizes := slices.Clone(opt.SealSizes)
	if a := opt.Anchor; a != nil && a.Checkpoint != nil {
		sizes = append(sizes, a.Checkpoint.Size)
	}
	if opt.StartLeaf == 0 {
		sizes = append(sizes, 0) // the first seal's fromPosition is leaf 0's
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	for len(sizes) > 0 && sizes[0] < opt.StartLeaf {
		sizes = sizes[1:]
	}
	v.sizes = sizes
	v.report.Leaves, v.report.Signed = opt.StartLeaf, opt.Key != nil
	v.reach() // a seal of size StartLeaf is checked against the frontier
	return v, nil
}

// Add checks the next event of the log. The error is a *Failure naming
// e; after a failure every call returns the same error.
func (v *LogVerifier) Add(e *events.Envelope) error {
	if v.failed != nil {
		return v.failed
	}
	reason := v.check(e)
	if reason == "" {
		v.accept(e)
		reason = v.reach()
	}
	if reason != "" {
		v.failed = &Failure{Position: e.Position, Stream: e.Stream, Version: e.Version, ID: e.ID.String(), Reason: reason}
		return v.failed
	}
	return nil
}

// accept adds e, checked, to the chains and the tree.
func (v *LogVerifier) accept(e *events.Envelope) {
	v.heads[e.Stream] = head{version: e.Version, hash: e.Hash}
	v.last = e.Position
	v.report.Events++
	v.report.Head = e.Position
	if m, ok := v.marks[v.tree.Size()]; ok && !m.hasNext {
		m.next, m.hasNext = e.Position, true
		v.marks[v.tree.Size()] = m
	}
	v.tree.Append(LeafHash(e))
	v.report.Leaves = v.tree.Size()
}

// check returns why e fails, or "".
func (v *LogVerifier) check(e *events.Envelope) string {
	if v.report.Events > 0 && !v.last.Less(e.Position) {
		return fmt.Sprintf("position does not increase after %s", v.last)
	}
	prev, want := events.Hash{}, uint64(0)
	if h, seen := v.heads[e.Stream]; seen {
		prev, want = h.hash, h.version+1
	} else if v.opt.MidStream && e.Version > 0 {
		prev, want = e.PrevHash, e.Version
	}
	if e.Version != want {
		return fmt.Sprintf("version gap in the stream, expected version %d", want)
	}
	if err := e.Verify(prev); err != nil {
		return strings.TrimPrefix(reasonOf(err), fmt.Sprintf("%s@%d: ", e.Stream, e.Version))
	}
	if e.Type == "LedgerSealed" && e.Stream == events.LedgerStream {
		return v.checkSeal(e)
	}
	return ""
}

// reach remembers the tree at the next announced size once the tree has
// grown to it, and checks an anchor checkpoint of that size; it returns
// why the anchor does not match, or "".
func (v *LogVerifier) reach() string {
	for len(v.sizes) > 0 && v.sizes[0] == v.tree.Size() {
		n := v.sizes[0]
		v.sizes = v.sizes[1:]
		root := v.tree.Root()
		v.marks[n] = mark{root: root, last: v.last}
		a := v.opt.Anchor
		if a == nil || a.Checkpoint == nil || a.Checkpoint.Size != n || v.report.Events == 0 {
			continue
		}
		if root != a.Checkpoint.Root {
			return a.String() + ": its root does not match the log's"
		}
		v.report.Anchored = true
		v.report.VerifiedThrough = max(v.report.VerifiedThrough, n)
	}
	return ""
}

// reasonOf is the message of an events.Error without its code.
func reasonOf(err error) string {
	if e, ok := err.(*events.Error); ok {
		return e.Message
	}
	return err.Error()
}

// checkSeal checks a LedgerSealed event against the tree of the events
// before it and the previous seal; it returns why it fails, or "".
func (v *LogVerifier) checkSeal(e *events.Envelope) string {
	s, err := SealOf(e)
	if err != nil {
		return reasonOf(err)
	}
	name := fmt.Sprintf("seal %d", s.Seq)
	if reason := v.checkSignature(&s); reason != "" {
		return name + ": " + reason
	}
	if reason := v.checkTree(&s); reason != "" {
		return name + ": " + reason
	}
	if reason := v.checkChain(&s); reason != "" {
		return name + ": " + reason
	}
	if v.prev != nil {
		delete(v.marks, v.prev.TreeSize)
	}
	delete(v.due, s.TreeSize)
	v.prev = &s
	v.report.Latest = &s
	if a := v.opt.Anchor; a != nil && a.Checkpoint == nil && a.SealHash == s.Hash {
		if s.TreeSize < v.opt.StartLeaf {
			return fmt.Sprintf("%s: its tree (size %d) is before the verified range (from leaf %d)", name, s.TreeSize, v.opt.StartLeaf)
		}
		v.report.Anchored = true
		v.report.VerifiedThrough = max(v.report.VerifiedThrough, s.TreeSize)
	}
	return ""
}

// checkSignature checks the seal's checkpoint against its fields and,
// with a key, both of its signatures.
func (v *LogVerifier) checkSignature(s *Seal) string {
	if s.Checkpoint.Size != s.TreeSize || hex.EncodeToString(s.Checkpoint.Root[:]) != s.MerkleRoot {
		return fmt.Sprintf("checkpoint (tree size %d) does not match the seal's treeSize %d and merkleRoot", s.Checkpoint.Size, s.TreeSize)
	}
	k := v.opt.Key
	if k == nil {
		return ""
	}
	c, err := k.OpenCheckpoint([]byte(s.LedgerSealed.Checkpoint))
	if err != nil {
		return reasonOf(err)
	}
	if c != s.Checkpoint {
		return "the signed checkpoint is not the seal's checkpoint"
	}
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !k.Verify(c.Body(), sig) {
		return "signature does not verify with " + k.String()
	}
	return ""
}

// checkTree checks the seal's tree size and root against the log.
func (v *LogVerifier) checkTree(s *Seal) string {
	n := s.TreeSize
	if n > v.tree.Size() {
		return fmt.Sprintf("tree size %d is beyond the %d events before the seal: events before it are missing", n, v.tree.Size())
	}
	if !v.due[n] {
		return fmt.Sprintf("tree size %d was not announced (the seals read first did not include it)", n)
	}
	if n < v.opt.StartLeaf {
		v.report.Unrooted++
		return ""
	}
	m, ok := v.marks[n]
	if !ok {
		return fmt.Sprintf("tree size %d: the root at that size was not kept", n)
	}
	if hex.EncodeToString(m.root[:]) != s.MerkleRoot {
		return fmt.Sprintf("merkle root does not match the log (tree size %d)", n)
	}
	if !m.last.IsZero() && m.last != s.ToPosition {
		return fmt.Sprintf("toPosition %s is not the position %s of leaf %d", s.ToPosition, m.last, n-1)
	}
	v.report.Seals++
	if v.opt.Key != nil {
		// Without a key anyone can write a seal whose root matches a log
		// they altered: only the anchor then proves a tree size.
		v.report.VerifiedThrough = max(v.report.VerifiedThrough, n)
	}
	return ""
}

// checkChain checks the seal's link to the previous seal and the range of
// leaves it says it adds.
func (v *LogVerifier) checkChain(s *Seal) string {
	if v.prev == nil {
		if s.Seq > 0 && v.opt.StartLeaf > 0 {
			return "" // the previous seal is before the range: taken as given
		}
		if s.PrevSealHash != (events.Hash{}).String() {
			return "prevSealHash is not zero, but no seal precedes it"
		}
		return v.checkRange(s, 0)
	}
	if s.PrevSealHash != v.prev.Hash.String() {
		return fmt.Sprintf("prevSealHash %s is not the hash of seal %d", s.PrevSealHash, v.prev.Seq)
	}
	return v.checkRange(s, v.prev.TreeSize)
}

// checkRange checks count and fromPosition against the previous seal's
// tree size from.
func (v *LogVerifier) checkRange(s *Seal, from int64) string {
	if s.Count != s.TreeSize-from {
		return fmt.Sprintf("count %d is not the %d leaves since the previous seal's tree size %d", s.Count, s.TreeSize-from, from)
	}
	if m, ok := v.marks[from]; ok && m.hasNext && m.next != s.FromPosition {
		return fmt.Sprintf("fromPosition %s is not the position %s of leaf %d", s.FromPosition, m.next, from)
	}
	return ""
}

// Finish checks what only the end of the log can show: every announced
// seal was seen, and the anchor was found and matched. It returns the
// report, with the error (a *Failure) of Add's first failure or its own.
func (v *LogVerifier) Finish() (Report, error) {
	r := v.report
	r.Root = v.tree.Root()
	if v.failed != nil {
		return r, v.failed
	}
	if len(v.due) > 0 {
		missing := slices.Sorted(func(yield func(int64) bool) {
			for n := range v.due {
				if !yield(n) {
					return
				}
			}
		})
		return r, v.end(fmt.Sprintf("the seal of tree size %d was announced but is not in the log (%d seals missing)", missing[0], len(missing)))
	}
	if a := v.opt.Anchor; a != nil && !r.Anchored {
		switch {
		case a.Checkpoint == nil:
			return r, v.end(a.String() + " is not in the verified log")
		case a.Checkpoint.Size <= v.opt.StartLeaf:
			return r, v.end(fmt.Sprintf("%s is before the verified range (from leaf %d)", a, v.opt.StartLeaf))
		default:
			return r, v.end(fmt.Sprintf("%s is beyond the log's %d leaves: the log was cut", a, r.Leaves))
		}
	}
	return r, nil
}

func (v *LogVerifier) end(reason string) error {
	v.failed = &Failure{Position: v.last, Reason: reason}
	return v.failed
}
