// Package seal proves the whole log complete and unaltered: a Merkle tree
// over every event's hash in log order (RFC 6962, as in Go's checksum
// database, built with golang.org/x/mod/sumdb/tlog), signed checkpoints of
// it (golang.org/x/mod/sumdb/note, Ed25519) appended as LedgerSealed
// events, inclusion and consistency proofs, and the verifier that checks a
// log or an export against a seal kept outside the system.
//
// Leaf i of the tree is tlog.RecordHash(hash of the i-th event of the log),
// every event included, LedgerSealed events too. A seal of tree size n
// covers leaves 0..n-1, the events before it in the log: a seal never
// covers itself (its own hash depends on the root it carries) but every
// later seal covers it, so a deleted or altered seal is caught by the next.
package seal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
)

// LeafHash is the tree's leaf for e: tlog.RecordHash of its 32-byte hash.
func LeafHash(e *events.Envelope) tlog.Hash { return tlog.RecordHash(e.Hash[:]) }

// Checkpoint is the signed statement of a seal, in the C2SP tlog-checkpoint
// text format: the origin line, the tree size, the base64 root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Body returns the checkpoint's text, the message a seal signs.
func (c Checkpoint) Body() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ParseCheckpoint parses a checkpoint's text (Body's output; further lines
// of extension data are refused). The error is Invalid.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	lines := strings.Split(string(text), "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] == "" {
		return Checkpoint{}, events.Errorf(events.Invalid, "checkpoint: want three lines (origin, size, root)")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return Checkpoint{}, events.Errorf(events.Invalid, "checkpoint: size %q is not a non-negative integer", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, events.Errorf(events.Invalid, "checkpoint: root is not base64 of 32 bytes")
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Root[:], root)
	return c, nil
}

// Key is a sealing key: an Ed25519 key pair named after the log's origin.
// Formatting it prints only its name and public key hash.
type Key struct {
	name string
	priv ed25519.PrivateKey // nil for a verifying key
	pub  ed25519.PublicKey
	hash uint32
	vkey string
}

// NewKey returns the signing key of seed (ed25519.SeedSize bytes) for name,
// the checkpoint origin and note key name (no spaces or '+').
func NewKey(name string, seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, events.Errorf(events.Invalid, "sealing key: seed must be %d bytes, not %d", ed25519.SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	k, err := VerifyingKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	k.priv = priv
	return k, nil
}

// VerifyingKey returns the key that checks name's signatures with pub.
func VerifyingKey(name string, pub ed25519.PublicKey) (*Key, error) {
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, events.Errorf(events.Invalid, "sealing key: %v", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, events.Errorf(events.Invalid, "sealing key: %v", err)
	}
	return &Key{name: name, pub: pub, hash: v.KeyHash(), vkey: vkey}, nil
}

// ParseVerifierKey reads a note verifier key ("name+hash+base64"), as
// /v1/audit/key serves it.
func ParseVerifierKey(vkey string) (*Key, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, events.Errorf(events.Invalid, "verifier key: %v", err)
	}
	_, rest, _ := strings.Cut(strings.TrimSpace(vkey), "+")
	_, b64, _ := strings.Cut(rest, "+")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 1 {
		return nil, events.Errorf(events.Invalid, "verifier key: not an Ed25519 key")
	}
	return VerifyingKey(v.Name(), ed25519.PublicKey(raw[1:]))
}

// Name returns the key's name, the origin of the checkpoints it signs
// (note.Verifier and note.Signer).
func (k *Key) Name() string { return k.name }

// KeyHash returns the note key hash of the name and public key (note.Verifier
// and note.Signer).
func (k *Key) KeyHash() uint32 { return k.hash }

// Public returns the Ed25519 public key.
func (k *Key) Public() ed25519.PublicKey { return k.pub }

// VerifierKey returns the public key in note's verifier key text, as
// /v1/audit/key serves it and ParseVerifierKey reads it.
func (k *Key) VerifierKey() string { return k.vkey }

// CanSign reports whether the key holds its private half.
func (k *Key) CanSign() bool { return k.priv != nil }

// String names the key by its name and key hash, never its private half.
func (k *Key) String() string { return fmt.Sprintf("sealing key %s+%08x", k.name, k.hash) }

// GoString is String, so that %#v prints no private key either.
func (k *Key) GoString() string { return k.String() }

// Verify reports whether sig is the key's Ed25519 signature of msg
// (note.Verifier).
func (k *Key) Verify(msg, sig []byte) bool { return ed25519.Verify(k.pub, msg, sig) }

// Sign signs msg (note.Signer).
func (k *Key) Sign(msg []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, events.Errorf(events.Internal, "%s cannot sign: no private key", k)
	}
	return ed25519.Sign(k.priv, msg), nil
}

// SignCheckpoint returns the signed note of c and its raw Ed25519 signature.
func (k *Key) SignCheckpoint(c Checkpoint) (signedNote string, sig []byte, err error) {
	msg, err := note.Sign(&note.Note{Text: string(c.Body())}, k)
	if err != nil {
		return "", nil, events.Errorf(events.Internal, "sign checkpoint: %v", err)
	}
	sig, err = k.Sign(c.Body())
	return string(msg), sig, err
}

// OpenCheckpoint verifies a signed note with k and parses its checkpoint,
// which must name k's origin. The error is Invalid and says why.
func (k *Key) OpenCheckpoint(signedNote []byte) (Checkpoint, error) {
	n, err := note.Open(signedNote, note.VerifierList(verifier{k}))
	if err != nil {
		return Checkpoint{}, events.Errorf(events.Invalid, "checkpoint signature: %v", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != k.name {
		return Checkpoint{}, events.Errorf(events.Invalid, "checkpoint of %q, not of %q", c.Origin, k.name)
	}
	return c, nil
}

type verifier struct{ k *Key }

func (v verifier) Name() string    { return v.k.name }
func (v verifier) KeyHash() uint32 { return v.k.hash }
func (v verifier) Verify(msg, sig []byte) bool {
	return ed25519.Verify(v.k.pub, msg, sig)
}

// Seal is a LedgerSealed event as the API and the verifier read it.
type Seal struct {
	Seq        uint64          `json:"seal"` // its version in the ledger stream: seal 0 is the first
	Position   events.Position `json:"position"`
	Hash       events.Hash     `json:"hash"` // the seal event's hash: what an auditor keeps
	RecordedAt time.Time       `json:"recordedAt"`
	events.LedgerSealed
	Checkpoint Checkpoint `json:"-"`
}

// SealOf reads a LedgerSealed envelope. The error is Invalid.
func SealOf(e *events.Envelope) (Seal, error) {
	if e.Type != "LedgerSealed" || e.Stream != events.LedgerStream {
		return Seal{}, events.Errorf(events.Invalid, "%s@%d is a %s, not a seal", e.Stream, e.Version, e.Type)
	}
	var d events.LedgerSealed
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Seal{}, events.Errorf(events.Invalid, "seal %d: %v", e.Version, err)
	}
	s := Seal{Seq: e.Version, Position: e.Position, Hash: e.Hash, RecordedAt: e.RecordedAt, LedgerSealed: d}
	c, err := ParseCheckpoint(checkpointBody(d.Checkpoint))
	if err != nil {
		return Seal{}, fmt.Errorf("seal %d: %w", e.Version, err)
	}
	s.Checkpoint = c
	return s, nil
}

// checkpointBody is the text of a signed note, before its signature lines.
func checkpointBody(signedNote string) []byte {
	body, _, _ := strings.Cut(signedNote, "\n\n")
	return []byte(body + "\n")
}

// ReadSeals returns up to limit seals from seal number from on, oldest first.
// A log with no seal returns none.
func ReadSeals(ctx context.Context, store events.Store, from uint64, limit int) ([]Seal, error) {
	evs, err := store.ReadStream(ctx, events.LedgerStream, from, events.Forward, limit)
	if events.ErrorCode(err) == events.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Seal, 0, len(evs))
	for i := range evs {
		s, err := SealOf(&evs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Latest returns the newest seal, or nil if the log has none.
func Latest(ctx context.Context, store events.Store) (*Seal, error) {
	evs, err := store.ReadStream(ctx, events.LedgerStream, events.LastVersion, events.Backward, 1)
	if events.ErrorCode(err) == events.NotFound || err == nil && len(evs) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := SealOf(&evs[0])
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Compact is a Merkle tree of which only the roots of its complete
// subtrees are kept (RFC 6962's compact range from leaf 0): enough to
// append leaves and compute the root in O(log n) memory. Tree.Frontier(n)
// returns the same list, so a verifier can start at any leaf.
type Compact struct {
	size     int64
	frontier []tlog.Hash // roots of the complete subtrees, largest (leftmost) first
}

// NewCompact returns the compact tree of size leaves whose complete
// subtrees' roots are frontier (largest first: one per 1-bit of size, from
// the highest), as Tree.Frontier returns them.
func NewCompact(size int64, frontier []tlog.Hash) (*Compact, error) {
	if size < 0 || countBits(size) != len(frontier) {
		return nil, events.Errorf(events.Invalid, "frontier of %d hashes does not fit a tree of %d leaves", len(frontier), size)
	}
	return &Compact{size: size, frontier: append([]tlog.Hash(nil), frontier...)}, nil
}

func countBits(n int64) int {
	c := 0
	for ; n > 0; n &= n - 1 {
		c++
	}
	return c
}

// emptyRoot is the root of the tree of no leaves.
var emptyRoot = sha256.Sum256(nil)

// Size is the number of leaves.
func (c *Compact) Size() int64 { return c.size }

// Append adds the next leaf (a LeafHash).
func (c *Compact) Append(leaf tlog.Hash) {
	h := leaf
	for n := c.size; n&1 == 1; n >>= 1 {
		last := len(c.frontier) - 1
		h = tlog.NodeHash(c.frontier[last], h)
		c.frontier = c.frontier[:last]
	}
	c.frontier = append(c.frontier, h)
	c.size++
}

// Root is the tree's root hash (tlog.TreeHash of the same leaves); the
// empty tree's is tlog's, RFC 6962's SHA-256 of the empty string.
func (c *Compact) Root() tlog.Hash {
	if len(c.frontier) == 0 {
		return emptyRoot
	}
	h := c.frontier[len(c.frontier)-1]
	for i := len(c.frontier) - 2; i >= 0; i-- {
		h = tlog.NodeHash(c.frontier[i], h)
	}
	return h
}

// Frontier returns a copy of the complete subtrees' roots, largest first.
func (c *Compact) Frontier() []tlog.Hash { return append([]tlog.Hash(nil), c.frontier...) }

// Prover is what the API asks of the stored tree (Tree): its size, roots,
// proofs, and the map between leaves and log positions.
type Prover interface {
	Size() int64
	Root(n int64) (tlog.Hash, error)
	ProveRecord(leaf, size int64) (tlog.RecordProof, error)
	ProveTree(oldSize, newSize int64) (tlog.TreeProof, error)
	Leaf(pos events.Position) (int64, error) // NotFound if no event is at pos
	Position(leaf int64) (events.Position, error)
	Frontier(n int64) ([]tlog.Hash, error)
}

// Status is the sealer's state as /v1/audit/verify and the console show it.
type Status struct {
	Latest    *Seal           `json:"latest"` // nil before the first seal
	Witnesses []WitnessStatus `json:"witnesses"`
	Every     int64           `json:"every"`    // seal after this many events (0: off)
	Interval  time.Duration   `json:"interval"` // and at least this often when events arrived (0: off)
}

// WitnessStatus is where the latest checkpoint was last written or sent.
type WitnessStatus struct {
	Kind      string    `json:"kind"`   // "file" or "url"
	Target    string    `json:"target"` // the path, or the URL without its query
	TreeSize  int64     `json:"treeSize"`
	At        time.Time `json:"at,omitzero"`
	LastError string    `json:"lastError,omitempty"`
}
