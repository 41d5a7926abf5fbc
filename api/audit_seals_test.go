package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seal"
)

// The seals and proofs as an auditor checks them: from the API's JSON
// alone, with tlog and note, never with dangol's own code.

// auditorKey is GET /v1/audit/key's answer.
type auditorKey struct {
	Name        string `json:"name"`
	Algorithm   string `json:"algorithm"`
	PublicKey   string `json:"publicKey"`
	VerifierKey string `json:"verifierKey"`
}

// auditorSeal is a seal as the API serves it.
type auditorSeal struct {
	Seal         uint64          `json:"seal"`
	Position     events.Position `json:"position"`
	Hash         string          `json:"hash"`
	RecordedAt   time.Time       `json:"recordedAt"`
	TreeSize     int64           `json:"treeSize"`
	MerkleRoot   string          `json:"merkleRoot"`
	FromPosition events.Position `json:"fromPosition"`
	ToPosition   events.Position `json:"toPosition"`
	Count        int64           `json:"count"`
	PrevSealHash string          `json:"prevSealHash"`
	Signature    string          `json:"signature"`
	Checkpoint   string          `json:"checkpoint"`
}

type auditorInclusion struct {
	Position  events.Position `json:"position"`
	Stream    string          `json:"stream"`
	Version   uint64          `json:"version"`
	Hash      string          `json:"hash"`
	LeafIndex int64           `json:"leafIndex"`
	LeafHash  string          `json:"leafHash"`
	Seal      auditorSeal     `json:"seal"`
	Proof     []string        `json:"proof"`
}

type auditorConsistency struct {
	From  auditorSeal `json:"from"`
	To    auditorSeal `json:"to"`
	Proof []string    `json:"proof"`
}

// getAs sends a GET as who, requires status 200 and decodes the answer into v.
func getAs[T any](s *stack, who, path string) T {
	s.t.Helper()
	a := s.req(who, "GET", path, nil)
	if a.status != 200 {
		s.t.Fatalf("GET %s as %q: %d %s", path, who, a.status, a.raw)
	}
	var v T
	if err := json.Unmarshal(a.raw, &v); err != nil {
		s.t.Fatalf("GET %s: %v in %s", path, err, a.raw)
	}
	return v
}

func tlogHash(t *testing.T, h string) tlog.Hash {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("%q is not 64 hex digits", h)
	}
	return tlog.Hash(b)
}

func tlogHashes(t *testing.T, hs []string) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlogHash(t, h)
	}
	return out
}

// checkSigned checks a seal's checkpoint as an auditor does: the signed
// note opens with the served verifier key; its text is the key's origin,
// the seal's tree size and its merkleRoot; the raw signature is the
// public key's over that text.
func checkSigned(t *testing.T, k auditorKey, sl auditorSeal) {
	t.Helper()
	v, err := note.NewVerifier(k.VerifierKey)
	if err != nil {
		t.Fatalf("verifier key %q: %v", k.VerifierKey, err)
	}
	n, err := note.Open([]byte(sl.Checkpoint), note.VerifierList(v))
	if err != nil {
		t.Fatalf("seal %d: the checkpoint does not open with the served key: %v", sl.Seal, err)
	}
	root := tlogHash(t, sl.MerkleRoot)
	if want := fmt.Sprintf("%s\n%d\n%s\n", k.Name, sl.TreeSize, base64.StdEncoding.EncodeToString(root[:])); n.Text != want {
		t.Fatalf("seal %d: checkpoint text %q, want %q", sl.Seal, n.Text, want)
	}
	pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("publicKey %q is not base64 of an Ed25519 key", k.PublicKey)
	}
	sig, err := base64.StdEncoding.DecodeString(sl.Signature)
	if err != nil || !ed25519.Verify(pub, []byte(n.Text), sig) {
		t.Fatalf("seal %d: signature %q is not the public key's over the checkpoint", sl.Seal, sl.Signature)
	}
}

// checkInclusion checks an inclusion proof from its JSON: the leaf is
// tlog.RecordHash of the event's hash, and the proof leads to the seal's
// root.
func checkInclusion(t *testing.T, p auditorInclusion) error {
	t.Helper()
	h := tlogHash(t, p.Hash)
	leaf := tlog.RecordHash(h[:])
	if leaf != tlogHash(t, p.LeafHash) {
		t.Fatalf("leafHash %s is not tlog.RecordHash of %s", p.LeafHash, p.Hash)
	}
	return tlog.CheckRecord(tlogHashes(t, p.Proof), p.Seal.TreeSize, tlogHash(t, p.Seal.MerkleRoot), p.LeafIndex, leaf)
}

func checkConsistency(t *testing.T, p auditorConsistency) error {
	t.Helper()
	return tlog.CheckTree(tlogHashes(t, p.Proof), p.To.TreeSize, tlogHash(t, p.To.MerkleRoot), p.From.TreeSize, tlogHash(t, p.From.MerkleRoot))
}

// TestAuditSeals: the key is served without a token and signs every
// seal's checkpoint; the seals are listed oldest first, page by page, and
// chain by prevSealHash; the latest seal with its age, the schedule and
// the tree's size.
func TestAuditSeals(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	key := getAs[auditorKey](s, "", "/v1/audit/key")
	if key.Algorithm != "ed25519" || key.Name == "" || !strings.HasPrefix(key.VerifierKey, key.Name+"+") {
		t.Fatalf("key %+v", key)
	}
	if k := getAs[auditorKey](s, "raw:Bearer nonsense", "/v1/audit/key"); k != key {
		t.Fatalf("the key with a bad token %+v, without one %+v", k, key)
	}

	// No seal yet.
	if page := s.must("U1", "GET", "/v1/audit/seals", nil, 200); len(page["seals"].([]any)) != 0 || page["nextFromSeal"] != nil {
		t.Fatalf("seals of an unsealed log: %v", page)
	}
	if l := s.must("U1", "GET", "/v1/audit/seals/latest", nil, 200); l["seal"] != nil || l["ageSeconds"] != nil {
		t.Fatalf("latest of an unsealed log: %v", l)
	}

	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	first := s.sealNow()
	for i := range 3 {
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprintf("통화 %d", i)), 201)
		s.sealNow()
	}
	log := s.logEvents(0)

	seals := getAs[struct {
		Seals []auditorSeal `json:"seals"`
	}](s, "U1", "/v1/audit/seals").Seals
	if len(seals) != 4 || seals[0].Seal != 0 || seals[0].Hash != first.Hash.String() {
		t.Fatalf("seals %+v", seals)
	}
	prev := strings.Repeat("0", 64)
	var covered int64
	for i, sl := range seals {
		checkSigned(t, key, sl)
		if sl.Seal != uint64(i) || sl.PrevSealHash != prev || sl.Count != sl.TreeSize-covered || sl.TreeSize <= covered {
			t.Fatalf("seal %d: %+v after %d events covered, previous hash %s", i, sl, covered, prev)
		}
		prev, covered = sl.Hash, sl.TreeSize
	}
	// Each seal covers the log up to the event before it.
	for _, sl := range seals {
		before := 0
		for before < len(log) && log[before]["position"].(float64) < float64(sl.Position.Seq()) {
			before++
		}
		if sl.TreeSize != int64(before) || sl.ToPosition.Seq() != uint64(log[before-1]["position"].(float64)) {
			t.Fatalf("seal %+v, the log before it %d events", sl, before)
		}
	}

	// Pages.
	p1 := s.must("U1", "GET", "/v1/audit/seals?limit=3", nil, 200)
	if len(p1["seals"].([]any)) != 3 || p1["nextFromSeal"] != 3.0 {
		t.Fatalf("first page %v", p1)
	}
	p2 := s.must("U1", "GET", "/v1/audit/seals?limit=3&from_seal=3", nil, 200)
	if ss := p2["seals"].([]any); len(ss) != 1 || ss[0].(map[string]any)["seal"] != 3.0 || p2["nextFromSeal"] != nil {
		t.Fatalf("second page %v", p2)
	}
	if p := s.must("U1", "GET", "/v1/audit/seals?from_seal=9", nil, 200); len(p["seals"].([]any)) != 0 {
		t.Fatalf("seals from 9: %v", p)
	}

	clock.Set(clock.Now().Add(90 * time.Second))
	latest := getAs[struct {
		Seal            *auditorSeal `json:"seal"`
		AgeSeconds      *int64       `json:"ageSeconds"`
		Witnesses       []any        `json:"witnesses"`
		Every           int64        `json:"every"`
		IntervalSeconds int64        `json:"intervalSeconds"`
		TreeSize        int64        `json:"treeSize"`
	}](s, "U1", "/v1/audit/seals/latest")
	if latest.Seal == nil || *latest.Seal != seals[3] || latest.AgeSeconds == nil || *latest.AgeSeconds != 90 {
		t.Fatalf("latest %+v, want seal %+v aged 90 s", latest, seals[3])
	}
	if latest.Every != stackSealEvery || latest.IntervalSeconds != 0 || latest.Witnesses == nil || latest.TreeSize < seals[3].TreeSize {
		t.Fatalf("latest %+v", latest)
	}
	s.waitUntil("the tree follows the log to its end", func() bool {
		return s.must("U1", "GET", "/v1/audit/seals/latest", nil, 200)["treeSize"] == float64(len(s.logEvents(0)))
	})
}

// TestAuditProofs: every event of the log has an inclusion proof under
// every seal covering it, and any two seals a consistency proof, each
// checked with tlog against the seals' signed roots; a proof or a root
// altered fails the same check.
func TestAuditProofs(t *testing.T) {
	s := newStack(t, stackOptions{})
	key := getAs[auditorKey](s, "", "/v1/audit/key")
	if a := s.req("U1", "GET", "/v1/audit/proofs/inclusion?position=1", nil); a.status != 404 || a.errCode() != "not_found" {
		t.Fatalf("a proof before any seal: %d %s", a.status, a.raw)
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.sealNow()
	for i := range 5 {
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprintf("통화 %d", i)), 201)
	}
	s.sealNow()
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("마지막 통화"), 201)
	s.sealNow()
	seals := getAs[struct {
		Seals []auditorSeal `json:"seals"`
	}](s, "U1", "/v1/audit/seals").Seals
	if len(seals) != 3 {
		t.Fatalf("%d seals", len(seals))
	}

	log := s.logEvents(0)
	for i, e := range log {
		pos := strconv.FormatFloat(e["position"].(float64), 'f', -1, 64)
		for _, sl := range seals {
			path := "/v1/audit/proofs/inclusion?position=" + pos + "&seal=" + strconv.FormatUint(sl.Seal, 10)
			if int64(i) >= sl.TreeSize {
				a := s.req("U1", "GET", path, nil)
				if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != "seal" {
					t.Fatalf("event %d under seal %d of %d events: %d %s", i, sl.Seal, sl.TreeSize, a.status, a.raw)
				}
				continue
			}
			p := getAs[auditorInclusion](s, "U1", path)
			if p.LeafIndex != int64(i) || p.Hash != e["hash"] || p.Stream != e["stream"] || float64(p.Version) != e["version"] || p.Seal != sl {
				t.Fatalf("proof of event %d (%v) under seal %d: %+v", i, e, sl.Seal, p)
			}
			if err := checkInclusion(t, p); err != nil {
				t.Fatalf("event %d under seal %d: %v", i, sl.Seal, err)
			}
		}
	}
	// The seal defaults to the latest; what an auditor checks it against is
	// the signed checkpoint.
	p := getAs[auditorInclusion](s, "U1", fmt.Sprintf("/v1/audit/proofs/inclusion?position=%v", log[1]["position"]))
	if p.Seal != seals[2] || p.LeafIndex != 1 {
		t.Fatalf("default seal: %+v", p)
	}
	checkSigned(t, key, p.Seal)
	// The check can fail: another event's hash, another root, a proof hash
	// altered, another leaf index.
	other := p
	other.Hash = log[0]["hash"].(string)
	other.LeafHash = hex.EncodeToString(func() []byte { h := tlogHash(t, other.Hash); r := tlog.RecordHash(h[:]); return r[:] }())
	forged := p
	forged.Seal.MerkleRoot = seals[1].MerkleRoot
	altered := p
	altered.Proof = append([]string(nil), p.Proof...)
	altered.Proof[0] = strings.Repeat("ab", 32)
	moved := p
	moved.LeafIndex = 2
	for name, bad := range map[string]auditorInclusion{"another event": other, "another root": forged, "an altered proof": altered, "another leaf": moved} {
		if checkInclusion(t, bad) == nil {
			t.Errorf("an inclusion proof with %s checks", name)
		}
	}

	for _, from := range seals {
		for _, to := range seals[from.Seal:] {
			c := getAs[auditorConsistency](s, "U1", fmt.Sprintf("/v1/audit/proofs/consistency?from_seal=%d&to_seal=%d", from.Seal, to.Seal))
			if c.From != from || c.To != to {
				t.Fatalf("consistency %d→%d names %+v → %+v", from.Seal, to.Seal, c.From, c.To)
			}
			if err := checkConsistency(t, c); err != nil {
				t.Fatalf("consistency %d→%d: %v", from.Seal, to.Seal, err)
			}
		}
	}
	c := getAs[auditorConsistency](s, "U1", "/v1/audit/proofs/consistency?from_seal=0")
	if c.To != seals[2] || len(c.Proof) == 0 {
		t.Fatalf("to_seal defaults to the latest: %+v", c)
	}
	c.From.MerkleRoot = seals[1].MerkleRoot
	if checkConsistency(t, c) == nil {
		t.Fatal("a consistency proof from another root checks")
	}
}

// TestAuditProofsRefuseBadInput: every malformed or impossible request is
// 400 naming its parameter or 404, and appends nothing.
func TestAuditProofsRefuseBadInput(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.sealNow()
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("통화"), 201)
	last := s.sealNow()
	head := s.head()
	for _, c := range []struct {
		query  string
		status int
		field  string
	}{
		{"/v1/audit/proofs/inclusion", 400, "position"},
		{"/v1/audit/proofs/inclusion?position=abc", 400, "position"},
		{"/v1/audit/proofs/inclusion?position=-1", 400, "position"},
		{"/v1/audit/proofs/inclusion?position=0", 400, "position"},
		{"/v1/audit/proofs/inclusion?position=1.5", 400, "position"},
		{"/v1/audit/proofs/inclusion?position=1&seal=abc", 400, "seal"},
		{"/v1/audit/proofs/inclusion?position=1&seal=-1", 400, "seal"},
		{"/v1/audit/proofs/inclusion?position=1&seal=2", 404, ""},
		{"/v1/audit/proofs/inclusion?position=" + strconv.Itoa(int(head)+5), 404, ""},
		{"/v1/audit/proofs/inclusion?position=" + last.Position.String() + "&seal=0", 400, "seal"}, // seal 1, after seal 0
		{"/v1/audit/proofs/consistency", 400, "from_seal"},
		{"/v1/audit/proofs/consistency?from_seal=x", 400, "from_seal"},
		{"/v1/audit/proofs/consistency?from_seal=-1", 400, "from_seal"},
		{"/v1/audit/proofs/consistency?from_seal=1&to_seal=0", 400, "from_seal"},
		{"/v1/audit/proofs/consistency?from_seal=0&to_seal=x", 400, "to_seal"},
		{"/v1/audit/proofs/consistency?from_seal=0&to_seal=7", 404, ""},
		{"/v1/audit/proofs/consistency?from_seal=5", 404, ""},
		{"/v1/audit/seals?from_seal=-1", 400, "from_seal"},
		{"/v1/audit/seals?limit=0", 400, "limit"},
		{"/v1/audit/seals?limit=1001", 400, "limit"},
	} {
		a := s.req("U1", "GET", c.query, nil)
		want := map[int]string{400: "invalid", 404: "not_found"}[c.status]
		if a.status != c.status || a.errCode() != want || c.field != "" && a.errDetails()["field"] != c.field {
			t.Errorf("%s: %d %s, want %d %s naming %q", c.query, a.status, a.raw, c.status, want, c.field)
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("bad requests appended %v", evs)
	}
}

// TestAuditSealsOff: a server without a tree or a key answers the seals'
// and proofs' routes 503, and the key's too.
func TestAuditSealsOff(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Tree, c.SealKey, c.SealStatus = nil, nil, nil }})
	for _, path := range []string{"/v1/audit/seals", "/v1/audit/seals/latest", "/v1/audit/proofs/inclusion?position=1",
		"/v1/audit/proofs/consistency?from_seal=0", "/v1/audit/key"} {
		who := "U1"
		if path == "/v1/audit/key" {
			who = ""
		}
		if a := s.req(who, "GET", path, nil); a.status != 503 || a.errCode() != "unavailable" || !bytes.Contains(a.raw, []byte("seal")) && !bytes.Contains(a.raw, []byte("tree")) {
			t.Errorf("%s with sealing off: %d %s", path, a.status, a.raw)
		}
	}
}

// treeBehind is the server's tree as if it had not yet followed the log
// past its first known leaves: the log's latest events are not in it yet.
type treeBehind struct {
	seal.Prover
	known *atomic.Int64 // leaves the tree shows; 0: all of them
}

func (t treeBehind) Size() int64 {
	if n := t.known.Load(); n > 0 {
		return min(n, t.Prover.Size())
	}
	return t.Prover.Size()
}

func (t treeBehind) Leaf(pos events.Position) (int64, error) {
	leaf, err := t.Prover.Leaf(pos)
	if n := t.known.Load(); err == nil && n > 0 && leaf >= n {
		return 0, events.Errorf(events.NotFound, "tree: no event at position %s", pos)
	}
	return leaf, err
}

// TestAuditProofAfterTheSeal: the proof of an event after the seal asked
// is refused as the seal's (ask a later seal) whether or not the tree has
// followed the log to that event yet: the seal's own event, right after
// it is appended, is no "no such event".
func TestAuditProofAfterTheSeal(t *testing.T) {
	known := new(atomic.Int64)
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Tree = treeBehind{c.Tree, known} }})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	sl := s.sealNow()
	known.Store(sl.TreeSize) // the tree has not taken the seal's own event yet
	a := s.req("U1", "GET", "/v1/audit/proofs/inclusion?position="+sl.Position.String()+"&seal=0", nil)
	if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != "seal" {
		t.Errorf("the proof of seal 0's own event under seal 0, the tree behind: %d %s, want 400 invalid naming seal", a.status, a.raw)
	}
	if a := s.req("U1", "GET", "/v1/audit/proofs/inclusion?position="+events.At(sl.Position.Seq()+5).String(), nil); a.status != 404 {
		t.Errorf("the proof of an event the log does not have: %d %s, want 404", a.status, a.raw)
	}
}
