package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
)

// testLog is a real embedded log with seals appended as the sealer
// appends them.
type testLog struct {
	t      testing.TB
	store  *bolt.Store
	key    *Key
	sealer *Sealer
	n      int
}

func newTestLog(t testing.TB) *testLog {
	dir := t.TempDir()
	s, err := bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tree, err := OpenTree(filepath.Join(dir, "seals"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Close() })
	l := &testLog{t: t, store: s, key: seededKey(t, 7)}
	l.sealer, err = NewSealer(Config{Store: s, Tree: tree, Key: l.key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func seededKey(t testing.TB, b byte) *Key {
	k, err := NewKey("dangol.test", bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// appendEvents appends n events over three customer streams, one by one.
func (l *testLog) appendEvents(n int) {
	for range n {
		l.appendBatch(fmt.Sprintf("customer-C%d", l.n%3), 1)
	}
}

// appendBatch appends n events to stream in one append.
func (l *testLog) appendBatch(stream string, n int) {
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, Actor: events.Actor{ID: "R1", Role: "rep"},
			Data: json.RawMessage(fmt.Sprintf(`{"note":"contact %d"}`, l.n))}
		l.n++
	}
	if _, err := l.store.Append(context.Background(), stream, events.Any, evs...); err != nil {
		l.t.Fatal(err)
	}
}

// seal appends a seal of every event of the log so far.
func (l *testLog) seal() {
	l.t.Helper()
	if _, err := l.sealer.SealNow(context.Background()); err != nil {
		l.t.Fatal(err)
	}
}

func (l *testLog) read() []events.Envelope {
	var out []events.Envelope
	for {
		from := events.Start
		if len(out) > 0 {
			from = out[len(out)-1].Position
		}
		evs, err := l.store.ReadAll(context.Background(), from, 4096)
		if err != nil {
			l.t.Fatal(err)
		}
		if out = append(out, evs...); len(evs) < 4096 {
			return out
		}
	}
}

// sealedLog is 3 seals over 30 events, then 4 events no seal covers yet.
func sealedLog(t testing.TB) *testLog {
	l := newTestLog(t)
	for range 3 {
		l.appendEvents(10)
		l.seal()
	}
	l.appendEvents(4)
	return l
}

// sizesOf is the first pass of an offline check: every seal's tree size.
func sizesOf(t testing.TB, evs []events.Envelope) []int64 {
	var out []int64
	for i := range evs {
		if evs[i].Stream == events.LedgerStream {
			s, err := SealOf(&evs[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s.TreeSize)
		}
	}
	return out
}

// verify checks evs with opt, the seal sizes learnt from evs unless given.
func verify(t testing.TB, evs []events.Envelope, opt VerifyOptions) (Report, error) {
	if opt.SealSizes == nil {
		opt.SealSizes = sizesOf(t, evs)
	}
	v, err := NewLogVerifier(opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := v.Add(&evs[i]); err != nil {
			r, ferr := v.Finish()
			if ferr != err {
				t.Fatalf("Finish after a failure returned %v, not Add's %v", ferr, err)
			}
			return r, err
		}
	}
	return v.Finish()
}

// TestLogVerifierIntact verifies a sealed log whole and reports what it
// checked; a verifier without a key says it checked no signature.
func TestLogVerifierIntact(t *testing.T) {
	l := sealedLog(t)
	evs := l.read()
	r, err := verify(t, evs, VerifyOptions{Key: l.key})
	if err != nil {
		t.Fatal(err)
	}
	// 30 events, 3 seals (leaves 10, 21, 32), 4 more: 37 events.
	if r.Events != 37 || r.Seals != 3 || r.VerifiedThrough != 32 || r.Leaves != 37 || !r.Signed || r.Anchored {
		t.Fatalf("report %+v", r)
	}
	if r.Latest == nil || r.Latest.Seq != 2 || r.Latest.TreeSize != 32 || r.Head != evs[36].Position {
		t.Fatalf("latest %+v, head %v", r.Latest, r.Head)
	}
	c, _ := NewCompact(0, nil)
	for i := range evs {
		c.Append(LeafHash(&evs[i]))
	}
	if r.Root != c.Root() {
		t.Fatal("the report's root is not the log's")
	}
	if r, err := verify(t, evs, VerifyOptions{}); err != nil || r.Signed || r.Seals != 3 {
		t.Fatalf("without a key: %+v %v", r, err)
	}
}

// tamper is one way to alter a log read out of the store, as an attacker
// with write access to the database could.
type tamper struct {
	name   string
	change func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope
	opt    func(l *testLog, opt *VerifyOptions) // adjusts the check (an anchor, seal sizes read first)
	want   string                               // in the error
}

// TestLogVerifierTamperMatrix alters a sealed log in every way the issue
// names and expects each to be detected with a reason that says what.
// Events after the last seal are covered by no seal: cutting them is
// detected only against an anchor of a later tree (the last case shows it
// passes without one).
func TestLogVerifierTamperMatrix(t *testing.T) {
	for _, tc := range tamperMatrix {
		t.Run(tc.name, func(t *testing.T) {
			l := sealedLog(t)
			evs := tc.change(t, l, l.read())
			opt := VerifyOptions{Key: l.key}
			if tc.opt != nil {
				tc.opt(l, &opt)
			}
			_, err := verify(t, evs, opt)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want no failure, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want a failure saying %q, got %v", tc.want, err)
			}
			if _, ok := err.(*Failure); !ok {
				t.Fatalf("error %T, want *Failure", err)
			}
			t.Log(err)
		})
	}
}

var tamperMatrix = []tamper{
	{name: "flipped byte in data", want: "position 8, customer-C1@2: hash does not match the event's content",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			i := indexOf(t, evs, "customer-C1", 2)
			evs[i].Data[bytes.IndexByte(evs[i].Data, 'c')] ^= 0x20
			return evs
		}},
	{name: "event deleted", want: "customer-C1@5: version gap in the stream, expected version 4",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return remove(evs, indexOf(t, evs, "customer-C1", 4))
		}},
	{name: "two events swapped", want: "seal 1: merkle root does not match the log (tree size 21)",
		// Two events of different streams trade places (and positions):
		// each chain still holds; only the tree sees the order.
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			i := indexOf(t, evs, "customer-C0", 5)
			evs[i], evs[i+1] = evs[i+1], evs[i]
			evs[i].Position, evs[i+1].Position = evs[i+1].Position, evs[i].Position
			return evs
		}},
	{name: "two events swapped with their positions", want: "position does not increase",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			i := indexOf(t, evs, "customer-C0", 5)
			evs[i], evs[i+1] = evs[i+1], evs[i]
			return evs
		}},
	{name: "whole stream dropped", want: "seal 0: tree size 10 is beyond the 7 events before the seal: events before it are missing",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return dropStream(evs, "customer-C1")
		}},
	{name: "tail cut through a seal's events", want: "seal 2: tree size 32 is beyond the 30 events before the seal: events before it are missing",
		// The last seal kept, two of the events it covers removed.
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			last := indexOf(t, evs, events.LedgerStream, 2)
			return append(evs[:last-2:last-2], evs[last:]...)
		}},
	{name: "tail cut with the last seal, against the kept seal hash", want: "the anchor seal",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return evs[:indexOf(t, evs, events.LedgerStream, 2)-3]
		},
		opt: func(l *testLog, opt *VerifyOptions) {
			latest, _ := Latest(context.Background(), l.store)
			opt.Anchor = &Anchor{SealHash: latest.Hash}
		}},
	{name: "tail cut with the last seal, against the seals read first", want: "the seal of tree size 32 was announced but is not in the log",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return evs[:indexOf(t, evs, events.LedgerStream, 2)-3]
		},
		opt: func(l *testLog, opt *VerifyOptions) { opt.SealSizes = []int64{10, 21, 32} }},
	{name: "tail after the last seal cut, against a later checkpoint", want: "the anchor checkpoint (tree size 37) is beyond the log's 35 leaves: the log was cut",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope { return evs[:len(evs)-2] },
		opt:    func(l *testLog, opt *VerifyOptions) { opt.Anchor = anchorOf(l, l.read()) }},
	{name: "tail after the last seal cut, no anchor: not detectable", want: "",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope { return evs[:len(evs)-2] }},
	{name: "seal re-signed with another key", want: "seal 2: checkpoint signature",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return reseal(t, evs, 2, seededKey(t, 9), nil)
		}},
	{name: "seal root changed and re-signed with the key", want: "seal 2: merkle root does not match the log (tree size 32)",
		// Even the key's holder cannot make the log match another root.
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return reseal(t, evs, 2, l.key, func(c *Checkpoint) { c.Root[0] ^= 1 })
		}},
	{name: "seal root changed, checkpoint kept", want: "seal 1: checkpoint (tree size 21) does not match the seal's treeSize 21 and merkleRoot",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return rewriteSeal(t, evs, 1, func(d *events.LedgerSealed) { d.MerkleRoot = strings.Repeat("ab", 32) })
		}},
	{name: "seal checkpoint changed", want: "seal 2: checkpoint signature",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return rewriteSeal(t, evs, 2, func(d *events.LedgerSealed) {
				d.Checkpoint = strings.Replace(d.Checkpoint, "\n32\n", "\n33\n", 1)
				d.TreeSize = 33
			})
		}},
	{name: "seal raw signature changed", want: "seal 2: signature does not verify",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return rewriteSeal(t, evs, 2, func(d *events.LedgerSealed) {
				d.Signature = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64))
			})
		}},
	{name: "seal count changed", want: "seal 1: count 10 is not the 11 leaves since the previous seal's tree size 10",
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			return rewriteSeal(t, evs, 1, func(d *events.LedgerSealed) { d.Count = 10 })
		}},
	{name: "middle seal forged", want: "position 22, ledger@1: prevHash",
		// Seal 0 rewritten to the same fields (a space added): its hash
		// changes, and the next seal's chain breaks.
		change: func(t *testing.T, l *testLog, evs []events.Envelope) []events.Envelope {
			i := indexOf(t, evs, events.LedgerStream, 0)
			evs[i].Data = append(bytes.Clone(evs[i].Data), ' ')
			events.EncodeRecord(&evs[i])
			return evs
		}},
}

// indexOf is the index in evs of stream@version.
func indexOf(t *testing.T, evs []events.Envelope, stream string, version uint64) int {
	for i := range evs {
		if evs[i].Stream == stream && evs[i].Version == version {
			return i
		}
	}
	t.Fatalf("no %s@%d", stream, version)
	return -1
}

func remove(evs []events.Envelope, i int) []events.Envelope {
	return append(evs[:i:i], evs[i+1:]...)
}

func dropStream(evs []events.Envelope, stream string) []events.Envelope {
	var out []events.Envelope
	for _, e := range evs {
		if e.Stream != stream {
			out = append(out, e)
		}
	}
	return out
}

// anchorOf is the checkpoint of the whole of evs, as a witness keeps it.
func anchorOf(l *testLog, evs []events.Envelope) *Anchor {
	c, _ := NewCompact(0, nil)
	for i := range evs {
		c.Append(LeafHash(&evs[i]))
	}
	signed, _, err := l.key.SignCheckpoint(Checkpoint{Origin: l.key.Name(), Size: c.Size(), Root: c.Root()})
	if err != nil {
		l.t.Fatal(err)
	}
	a, err := OpenAnchor([]byte(signed), l.key)
	if err != nil {
		l.t.Fatal(err)
	}
	return a
}

// rewriteSeal changes seal seq's data and recomputes its hash, as an
// attacker who rewrites a stored event would.
func rewriteSeal(t *testing.T, evs []events.Envelope, seq uint64, change func(*events.LedgerSealed)) []events.Envelope {
	i := indexOf(t, evs, events.LedgerStream, seq)
	var d events.LedgerSealed
	if err := json.Unmarshal(evs[i].Data, &d); err != nil {
		t.Fatal(err)
	}
	change(&d)
	data, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	e := evs[i]
	e.Data = data
	events.EncodeRecord(&e)
	evs[i] = e
	return evs
}

// reseal signs seal seq's checkpoint again with k, changed by change.
func reseal(t *testing.T, evs []events.Envelope, seq uint64, k *Key, change func(*Checkpoint)) []events.Envelope {
	return rewriteSeal(t, evs, seq, func(d *events.LedgerSealed) {
		c, err := ParseCheckpoint(checkpointBody(d.Checkpoint))
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			change(&c)
		}
		signed, sig, err := k.SignCheckpoint(c)
		if err != nil {
			t.Fatal(err)
		}
		d.Checkpoint, d.Signature, d.MerkleRoot = signed, base64.StdEncoding.EncodeToString(sig), hex.EncodeToString(c.Root[:])
	})
}

// TestLogVerifierAnchors: a kept seal hash or checkpoint inside the log
// is matched; a checkpoint whose root differs, one before the verified
// range, and a seal hash not in the log are failures.
func TestLogVerifierAnchors(t *testing.T) {
	l := sealedLog(t)
	evs := l.read()
	latest, _ := Latest(context.Background(), l.store)
	if r, err := verify(t, evs, VerifyOptions{Key: l.key, Anchor: &Anchor{SealHash: latest.Hash}}); err != nil || !r.Anchored {
		t.Fatalf("seal hash anchor: %+v %v", r, err)
	}
	a := anchorOf(l, evs[:25])
	if r, err := verify(t, evs, VerifyOptions{Key: l.key, Anchor: a}); err != nil || !r.Anchored || r.VerifiedThrough != 32 {
		t.Fatalf("checkpoint anchor: %+v %v", r, err)
	}
	bad := *a.Checkpoint
	bad.Root[3] ^= 1
	_, err := verify(t, evs, VerifyOptions{Key: l.key, Anchor: &Anchor{Checkpoint: &bad}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("position %s, %s@%d: the anchor checkpoint (tree size 25): its root does not match", evs[24].Position, evs[24].Stream, evs[24].Version)) {
		t.Fatalf("a checkpoint of another root: %v", err)
	}
	_, err = verify(t, evs, VerifyOptions{Key: l.key, Anchor: &Anchor{SealHash: evs[0].Hash}})
	if err == nil || !strings.Contains(err.Error(), "is not in the verified log") {
		t.Fatalf("a seal hash not in the log: %v", err)
	}
	other := anchorOf(&testLog{t: t, key: seededKey(t, 9)}, evs)
	signed, _, _ := seededKey(t, 9).SignCheckpoint(*other.Checkpoint)
	if _, err := OpenAnchor([]byte(signed), l.key); err == nil {
		t.Fatal("a checkpoint signed by another key opened")
	}
	if a, err := OpenAnchor([]byte(signed), nil); err != nil || a.Checkpoint.Size != 37 {
		t.Fatalf("a checkpoint without a key to check it: %v", err)
	}
	if _, err := OpenAnchor([]byte("not a note"), nil); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("a bad note: %v", err)
	}
}

// TestLogVerifierMidLog starts at a leaf with the frontier an export's
// manifest gives, streams starting midway: the seals after it verify; a
// wrong frontier fails the first seal; a checkpoint before the range
// cannot anchor it.
func TestLogVerifierMidLog(t *testing.T) {
	l := sealedLog(t)
	evs := l.read()
	start := 15
	c, _ := NewCompact(0, nil)
	for i := range evs[:start] {
		c.Append(LeafHash(&evs[i]))
	}
	opt := VerifyOptions{Key: l.key, StartLeaf: int64(start), Frontier: c.Frontier(), MidStream: true}
	r, err := verify(t, evs[start:], opt)
	if err != nil || r.Seals != 2 || r.Unrooted != 0 || r.VerifiedThrough != 32 || r.Events != int64(len(evs)-start) {
		t.Fatalf("mid-log: %+v %v", r, err)
	}
	if _, err := verify(t, evs[start:], VerifyOptions{Key: l.key, StartLeaf: int64(start), Frontier: c.Frontier()}); err == nil || !strings.Contains(err.Error(), "version gap") {
		t.Fatalf("streams starting midway without MidStream: %v", err)
	}
	wrong := c.Frontier()
	wrong[0][0] ^= 1
	opt.Frontier = wrong
	if _, err := verify(t, evs[start:], opt); err == nil || !strings.Contains(err.Error(), "seal 1: merkle root does not match the log (tree size 21)") {
		t.Fatalf("a wrong frontier: %v", err)
	}
	opt.Frontier, opt.Anchor = c.Frontier(), anchorOf(l, evs[:12])
	if _, err := verify(t, evs[start:], opt); err == nil || !strings.Contains(err.Error(), "is before the verified range (from leaf 15)") {
		t.Fatalf("an anchor before the range: %v", err)
	}
	// Starting at seal 0's own leaf: its tree is the frontier's.
	c, _ = NewCompact(0, nil)
	for i := range evs[:10] {
		c.Append(LeafHash(&evs[i]))
	}
	r, err = verify(t, evs[10:], VerifyOptions{Key: l.key, StartLeaf: 10, Frontier: c.Frontier(), MidStream: true})
	if err != nil || r.Seals != 3 || r.Unrooted != 0 || r.VerifiedThrough != 32 {
		t.Fatalf("from seal 0's leaf: %+v %v", r, err)
	}
	if _, err := NewLogVerifier(VerifyOptions{StartLeaf: 15, Frontier: make([]tlog.Hash, 2)}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("a frontier that does not fit: %v", err)
	}
}

// BenchmarkLogVerifier measures the verify rate of a sealed log read
// into memory from the embedded store: 100,000 events over 100 streams, a
// seal after every 1,000.
//
//	go test ./events/seal -run '^$' -bench LogVerifier -benchtime 5x
func BenchmarkLogVerifier(b *testing.B) {
	l := newTestLog(b)
	for i := range 100 {
		l.appendBatch(fmt.Sprintf("customer-C%d", i), 1000)
		l.seal()
	}
	evs := l.read()
	sizes := sizesOf(b, evs)
	b.ResetTimer()
	for range b.N {
		if r, err := verify(b, evs, VerifyOptions{Key: l.key, SealSizes: sizes}); err != nil || r.Seals != 100 {
			b.Fatal(r, err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// rechain rewrites evs[i]'s data and hashes it and every later event of
// its stream again, as an attacker who rewrites stored events would.
func rechain(evs []events.Envelope, i int, data string) {
	evs[i].Data = json.RawMessage(data)
	events.EncodeRecord(&evs[i])
	prev := evs[i].Hash
	for j := i + 1; j < len(evs); j++ {
		if evs[j].Stream == evs[i].Stream {
			evs[j].PrevHash = prev
			events.EncodeRecord(&evs[j])
			prev = evs[j].Hash
		}
	}
}

// TestLogVerifierWithoutKeyProvesOnlyTheAnchor: without a key anyone can
// write a seal whose root matches a log they altered, so only the anchor
// proves anything. An event after the anchor seal's tree altered and the
// later seal written again over it passes (nothing shows it), but
// VerifiedThrough stays at the anchor's tree size; with no anchor either,
// nothing is proved. With the key, the rewritten seal fails.
func TestLogVerifierWithoutKeyProvesOnlyTheAnchor(t *testing.T) {
	l := sealedLog(t)
	evs := l.read()
	anchor := &Anchor{SealHash: evs[indexOf(t, evs, events.LedgerStream, 1)].Hash} // tree size 21
	rechain(evs, 25, `{"note":"altered"}`)
	c, _ := NewCompact(0, nil)
	for i := range evs[:32] {
		c.Append(LeafHash(&evs[i]))
	}
	evs = reseal(t, evs, 2, seededKey(t, 9), func(cp *Checkpoint) { cp.Root = c.Root() })

	r, err := verify(t, evs, VerifyOptions{Anchor: anchor})
	if err != nil || !r.Anchored || r.Seals != 3 || r.VerifiedThrough != 21 {
		t.Fatalf("without a key: %+v %v; want ok, verified through the anchor's 21 only", r, err)
	}
	if r, err := verify(t, evs, VerifyOptions{}); err != nil || r.VerifiedThrough != 0 {
		t.Fatalf("without a key or an anchor: %+v %v; want ok, nothing proved", r, err)
	}
	cp := anchorOf(l, evs[:25])
	if r, err := verify(t, evs, VerifyOptions{Anchor: &Anchor{Checkpoint: cp.Checkpoint}}); err != nil || r.VerifiedThrough != 25 {
		t.Fatalf("without a key, a checkpoint of 25: %+v %v; want verified through 25", r, err)
	}
	if _, err := verify(t, evs, VerifyOptions{Key: l.key, Anchor: anchor}); err == nil || !strings.Contains(err.Error(), "seal 2: checkpoint signature") {
		t.Fatalf("with the key: %v", err)
	}
}
