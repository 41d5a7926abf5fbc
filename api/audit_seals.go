package api

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seal"
)

// The seals and their proofs (docs/audit.md, "Proofs"): everything an
// auditor needs to check, with tlog and the public key alone, that an event
// is in a sealed log and that a later seal extends an earlier one.

// AuditKey is the answer of GET /v1/audit/key.
type AuditKey struct {
	Name        string `json:"name"`        // the checkpoints' origin and the note key's name
	Algorithm   string `json:"algorithm"`   // always "ed25519"
	PublicKey   string `json:"publicKey"`   // standard base64 of the 32-byte Ed25519 public key
	VerifierKey string `json:"verifierKey"` // the note verifier key, name+hash+base64
}

// sealsPage is the answer of GET /v1/audit/seals.
type sealsPage struct {
	Seals        []seal.Seal `json:"seals"`
	NextFromSeal *uint64     `json:"nextFromSeal,omitempty"`
}

// LatestSeal is the answer of GET /v1/audit/seals/latest.
type LatestSeal struct {
	Seal            *seal.Seal           `json:"seal"`       // nil before the first seal
	AgeSeconds      *int64               `json:"ageSeconds"` // whole seconds since it was recorded; nil without a seal
	Witnesses       []seal.WitnessStatus `json:"witnesses"`
	Every           int64                `json:"every"`           // the sealer seals after this many events (0: never by count)
	IntervalSeconds int64                `json:"intervalSeconds"` // and at least this often when events arrived (0: never by time)
	TreeSize        int64                `json:"treeSize"`        // leaves in this server's stored tree now
}

// InclusionProof is the answer of GET /v1/audit/proofs/inclusion.
type InclusionProof struct {
	Position  events.Position `json:"position"`
	Stream    string          `json:"stream"`
	Version   uint64          `json:"version"`
	Hash      events.Hash     `json:"hash"`      // the event's hash, as stored
	LeafIndex int64           `json:"leafIndex"` // its leaf in the tree
	LeafHash  string          `json:"leafHash"`  // hex of tlog.RecordHash(hash)
	Seal      seal.Seal       `json:"seal"`
	Proof     []string        `json:"proof"` // hex of tlog.RecordProof(leafIndex, seal.treeSize)
}

// ConsistencyProof is the answer of GET /v1/audit/proofs/consistency.
type ConsistencyProof struct {
	From  seal.Seal `json:"from"`
	To    seal.Seal `json:"to"`
	Proof []string  `json:"proof"` // hex of tlog.TreeProof(from.treeSize, to.treeSize)
}

// getAuditKey serves the sealing key's public half; it needs no token, so
// that anyone holding a checkpoint can check its signature. 503 when this
// server has no sealing key.
func (s *Server) getAuditKey(w http.ResponseWriter, r *http.Request) {
	k := s.SealKey
	if k == nil {
		writeError(w, r, events.Errorf(events.Unavailable, "this server has no sealing key"))
		return
	}
	writeJSON(w, http.StatusOK, AuditKey{Name: k.Name(), Algorithm: "ed25519",
		PublicKey: base64.StdEncoding.EncodeToString(k.Public()), VerifierKey: k.VerifierKey()})
}

// getAuditSeals handles GET /v1/audit/seals?from_seal=&limit=: the seals
// oldest first from seal number from_seal, and the number of the next
// page's first while the page is full. Unavailable with sealing off.
func (s *Server) getAuditSeals(w http.ResponseWriter, r *http.Request, p Principal) error {
	if _, err := s.tree(); err != nil {
		return err
	}
	from, err := uintParam(r, "from_seal", 0)
	if err != nil {
		return err
	}
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	seals, err := seal.ReadSeals(r.Context(), storeReader{s.Store}, from, limit)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "seals", "from_seal", from, "count", len(seals))
	page := sealsPage{Seals: seals}
	if page.Seals == nil {
		page.Seals = []seal.Seal{}
	}
	if len(seals) == limit {
		next := seals[len(seals)-1].Seq + 1
		page.NextFromSeal = &next
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// getAuditSealsLatest handles GET /v1/audit/seals/latest: the latest seal
// (null before the first), its age, the witnesses, the sealer's settings
// and the stored tree's size. Unavailable with sealing off.
func (s *Server) getAuditSealsLatest(w http.ResponseWriter, r *http.Request, p Principal) error {
	tree, err := s.tree()
	if err != nil {
		return err
	}
	latest, err := seal.Latest(r.Context(), storeReader{s.Store})
	if err != nil {
		return err
	}
	res := LatestSeal{Seal: latest, AgeSeconds: s.sealAge(latest), Witnesses: []seal.WitnessStatus{}, TreeSize: tree.Size()}
	if s.SealStatus != nil {
		st := s.SealStatus()
		res.Every, res.IntervalSeconds = st.Every, int64(st.Interval.Seconds())
		if st.Witnesses != nil {
			res.Witnesses = st.Witnesses
		}
	}
	s.auditLog(r, p, "latest seal")
	writeJSON(w, http.StatusOK, res)
	return nil
}

// getInclusionProof handles GET /v1/audit/proofs/inclusion?position=&seal=:
// the proof that the event at position is a leaf of the tree seal (the
// latest if absent) signs. Invalid for an event after that seal, NotFound
// without such an event or seal.
func (s *Server) getInclusionProof(w http.ResponseWriter, r *http.Request, p Principal) error {
	tree, err := s.tree()
	if err != nil {
		return err
	}
	pos, err := positionParam(r, "position")
	if err != nil {
		return err
	}
	sl, err := s.sealParam(r, "seal", tree)
	if err != nil {
		return err
	}
	leaf, err := tree.Leaf(pos)
	if events.ErrorCode(err) == events.NotFound {
		return s.notInTree(r, sl, pos)
	}
	if err != nil {
		return err
	}
	if leaf >= sl.TreeSize {
		return events.InvalidField("seal", "covers the log's first %d events, not position %s (event %d); ask a later seal", sl.TreeSize, pos.String(), leaf)
	}
	e, err := s.eventAtLeaf(r, tree, leaf, pos)
	if err != nil {
		return err
	}
	proof, err := tree.ProveRecord(leaf, sl.TreeSize)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "inclusion proof", "position", pos.String(), "seal", sl.Seq)
	lh := seal.LeafHash(e)
	writeJSON(w, http.StatusOK, InclusionProof{Position: e.Position, Stream: e.Stream, Version: e.Version, Hash: e.Hash,
		LeafIndex: leaf, LeafHash: hex.EncodeToString(lh[:]), Seal: *sl, Proof: hexHashes(proof)})
	return nil
}

// getConsistencyProof handles GET /v1/audit/proofs/consistency?from_seal=
// &to_seal=: the proof that to_seal's tree (the latest if absent) extends
// from_seal's. Invalid if from_seal is missing or after to_seal.
func (s *Server) getConsistencyProof(w http.ResponseWriter, r *http.Request, p Principal) error {
	tree, err := s.tree()
	if err != nil {
		return err
	}
	if r.URL.Query().Get("from_seal") == "" {
		return events.InvalidField("from_seal", "is required")
	}
	from, err := s.sealParam(r, "from_seal", tree)
	if err != nil {
		return err
	}
	to, err := s.sealParam(r, "to_seal", tree)
	if err != nil {
		return err
	}
	if from.Seq > to.Seq {
		return events.InvalidField("from_seal", "must not be after to_seal (%d)", to.Seq)
	}
	proof, err := tree.ProveTree(from.TreeSize, to.TreeSize)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "consistency proof", "from_seal", from.Seq, "to_seal", to.Seq)
	writeJSON(w, http.StatusOK, ConsistencyProof{From: *from, To: *to, Proof: hexHashes(proof)})
	return nil
}

// notInTree says why the tree holds no leaf at pos: an event of the log
// after seal sl that the tree has not followed yet (the seal's own event,
// just appended) is Invalid as any event after sl is; a position past the
// log's head, or one no event holds, is NotFound.
func (s *Server) notInTree(r *http.Request, sl *seal.Seal, pos events.Position) error {
	head, err := s.Store.Head(r.Context())
	if err != nil {
		return err
	}
	if sl.ToPosition.Less(pos) && !head.Less(pos) {
		return events.InvalidField("seal", "covers the log up to position %s, not position %s; ask a later seal", sl.ToPosition.String(), pos.String())
	}
	return events.Errorf(events.NotFound, "no event at position %s", pos)
}

// sealAge returns the whole seconds since l was recorded, by the
// server's clock: 0 if that clock reads earlier (set back since), nil
// without a seal.
func (s *Server) sealAge(l *seal.Seal) *int64 {
	if l == nil {
		return nil
	}
	age := max(0, int64(s.now().Sub(l.RecordedAt).Seconds()))
	return &age
}

// tree is the stored tree, or Unavailable when this server keeps none.
func (s *Server) tree() (seal.Prover, error) {
	if s.Tree == nil {
		return nil, events.Errorf(events.Unavailable, "this server keeps no Merkle tree of the log (sealing is off)")
	}
	return s.Tree, nil
}

// sealParam reads the seal the query parameter name numbers, the latest if
// it is absent: Invalid if it is no number, NotFound if there is no such
// seal, Unavailable if the stored tree has not yet reached its size (the
// tree follows the log; another server may have sealed it).
func (s *Server) sealParam(r *http.Request, name string, tree seal.Prover) (*seal.Seal, error) {
	var sl *seal.Seal
	if r.URL.Query().Get(name) == "" {
		latest, err := seal.Latest(r.Context(), storeReader{s.Store})
		if err != nil {
			return nil, err
		}
		if latest == nil {
			return nil, events.Errorf(events.NotFound, "the log has no seal yet")
		}
		sl = latest
	} else {
		n, err := uintParam(r, name, 0)
		if err != nil {
			return nil, err
		}
		seals, err := seal.ReadSeals(r.Context(), storeReader{s.Store}, n, 1)
		if err != nil {
			return nil, err
		}
		if len(seals) == 0 {
			return nil, events.Errorf(events.NotFound, "no seal %d", n)
		}
		sl = &seals[0]
	}
	if size := tree.Size(); sl.TreeSize > size {
		return nil, events.Errorf(events.Unavailable, "seal %d covers %d events and this server's tree holds %d so far; retry", sl.Seq, sl.TreeSize, size)
	}
	return sl, nil
}

// eventAtLeaf reads the event at pos, leaf of the tree, from the log.
func (s *Server) eventAtLeaf(r *http.Request, tree seal.Prover, leaf int64, pos events.Position) (*events.Envelope, error) {
	before := events.Start
	if leaf > 0 {
		p, err := tree.Position(leaf - 1)
		if err != nil {
			return nil, err
		}
		before = p
	}
	evs, err := s.Store.ReadAll(r.Context(), before, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].Position != pos {
		// The tree holds the leaf, the log no longer the event: an auditor's finding.
		return nil, events.Errorf(events.NotFound, "the tree's leaf %d is at position %s, where the log has no event", leaf, pos)
	}
	return &evs[0], nil
}

// positionParam reads a required log position (not Start) from the query.
func positionParam(r *http.Request, name string) (events.Position, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return events.Start, events.InvalidField(name, "is required")
	}
	pos, err := events.ParsePosition(v)
	if err != nil || pos.IsZero() {
		return events.Start, events.InvalidField(name, "must be a log position")
	}
	return pos, nil
}

func hexHashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

// storeReader lends the API's Store to events/seal's readers, which take an
// events.Store; they only read, and never close it.
type storeReader struct{ Store }

func (storeReader) Close() error { return nil }
