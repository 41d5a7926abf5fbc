package projections

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"reflect"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// A read-model snapshot is the fold state of every projection and reactor
// of a runner at one position of the log, so that a start loads it and
// replays only the events after it (the tail) instead of the whole log.
//
// The snapshot names the position and the hash of the event at it (and the
// position before, to find that event again): a snapshot taken on another
// log, or on this one before it was restored from an older backup, does
// not find its event and is refused. It also names the projections, a
// fingerprint of their types and the build that wrote it: another build
// refuses it. Its last 32 bytes are the SHA-256 of the rest: a torn or
// damaged file is refused. Whoever refuses one replays the whole log. What is stored is
// sealed under a key of its own (snapshot_seal.go).

var errChecksum = errors.New("snapshot: checksum mismatch (a torn or damaged file)")

// snapshotMagic begins every snapshot.
const snapshotMagic = "dangol read-model snapshot 1\n"

// SnapshotInfo says where in the log a snapshot was taken.
type SnapshotInfo struct {
	Position events.Position `json:"position"` // the last event folded
	Hash     events.Hash     `json:"hash"`     // that event's hash
	// Before is the position of the event before Position (zero if
	// Position is the first): the log read after Before yields it.
	Before      events.Position `json:"before"`
	RecordedAt  time.Time       `json:"recordedAt"` // that event's: the log's time at the snapshot
	Events      uint64          `json:"events"`     // events folded, at Position.Seq() for a dense log
	Projections []string        `json:"projections"`
	Fingerprint string          `json:"fingerprint"`
	Build       string          `json:"build"`            // the build that wrote it (snapshot_build.go)
	Config      string          `json:"config,omitempty"` // configuration the codec cannot compare (configPrint)
}

// InfoAt returns the SnapshotInfo of a snapshot taken once e, which follows
// the event at before, is folded.
func InfoAt(e *events.Envelope, before events.Position) SnapshotInfo {
	return SnapshotInfo{Position: e.Position, Hash: e.Hash, Before: before, RecordedAt: e.RecordedAt}
}

// SnapshotRoots returns what a snapshot of a runner over projs and
// reactors holds: the projections, then the reactors.
func SnapshotRoots(projs []Projection, reactors []Reactor) []Projection {
	roots := slices.Clone(projs)
	for _, r := range reactors {
		roots = append(roots, r)
	}
	return roots
}

func rootNames(roots []Projection) ([]string, error) {
	names := make([]string, len(roots))
	for i, r := range roots {
		t := reflect.TypeOf(r)
		if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || reflect.ValueOf(r).IsNil() {
			return nil, fmt.Errorf("snapshot: projection %d (%T) is not a pointer to a struct", i, r)
		}
		names[i] = r.Name()
	}
	return names, nil
}

// WriteSnapshot writes the fold state of roots (a runner's projections,
// then its reactors) at info's position to w. The roots must not change
// meanwhile (the runner applies nothing while its AfterBatch hook runs).
// It fails, having written part of a snapshot, on state it cannot carry.
// This is the plain form, personal fields in clear: what is stored goes
// through SealSnapshot, which seals it.
func WriteSnapshot(w io.Writer, info SnapshotInfo, roots []Projection) error {
	names, err := rootNames(roots)
	if err != nil {
		return err
	}
	info.Projections, info.Fingerprint, info.Build, info.Config = names, fingerprint(roots), snapshotBuild(), configPrint(roots)
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
	head, err := json.Marshal(info)
	if err != nil {
		return err
	}
	bw.WriteString(snapshotMagic)
	var n [binary.MaxVarintLen64]byte
	bw.Write(n[:binary.PutUvarint(n[:], uint64(len(head)))])
	bw.Write(head)
	e := &graphEncoder{w: bw, ptrs: make(map[ptrKey]uint64, 1<<16)}
	for i, r := range roots {
		v := reflect.ValueOf(r)
		e.ptrs[ptrKey{v.UnsafePointer(), v.Type()}] = uint64(i) + 2
	}
	for _, r := range roots {
		if err := e.structure(reflect.ValueOf(r).Elem(), names[0]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = w.Write(h.Sum(nil))
	return err
}

// ReadSnapshotInfo reads the header of a snapshot.
func ReadSnapshotInfo(r io.Reader) (SnapshotInfo, error) {
	return readHeader(bufio.NewReader(r))
}

func readHeader(br *bufio.Reader) (SnapshotInfo, error) {
	var info SnapshotInfo
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return info, fmt.Errorf("snapshot: not a read-model snapshot")
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<20 {
		return info, errSnapshotCorrupt
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(br, head); err != nil {
		return info, errSnapshotCorrupt
	}
	if err := json.Unmarshal(head, &info); err != nil {
		return info, fmt.Errorf("snapshot: header: %w", err)
	}
	return info, nil
}

// ReadSnapshot restores into roots — fresh projections and reactors, of
// the types and in the order they were written from — the state a
// snapshot holds, and returns where it was taken. On error the roots hold
// part of it and must be thrown away. A reader with a Size method (a
// bytes.Reader) bounds every length the decoder reads by it.
func ReadSnapshot(r io.Reader, roots []Projection) (SnapshotInfo, error) {
	names, err := rootNames(roots)
	if err != nil {
		return SnapshotInfo{}, err
	}
	h := sha256.New()
	tail := &trailer{h: h}
	br := bufio.NewReaderSize(io.TeeReader(r, tail), 1<<20)
	info, err := readHeader(br)
	if err != nil {
		return info, err
	}
	switch {
	case !slices.Equal(info.Projections, names):
		return info, fmt.Errorf("snapshot: it holds %v, this server folds %v", info.Projections, names)
	case info.Fingerprint != fingerprint(roots):
		return info, fmt.Errorf("snapshot: written by a release whose folds differ (fingerprint %s, this one's %s)", info.Fingerprint, fingerprint(roots))
	case info.Config != configPrint(roots):
		return info, errors.New("snapshot: taken under another search index (configuration): replaying under this one")
	case info.Build != snapshotBuild():
		return info, fmt.Errorf("snapshot: written by another build (%s; this one is %s), whose folds may make other state of the same events", info.Build, snapshotBuild())
	}
	d := &graphDecoder{r: br, ptrs: make(map[uint64]reflect.Value, 1<<16), limit: 1 << 31}
	if sr, ok := r.(interface{ Size() int64 }); ok && sr.Size() >= 0 {
		d.limit = uint64(sr.Size())
	}
	for i, root := range roots {
		d.ptrs[uint64(i)+2] = reflect.ValueOf(root)
	}
	for _, root := range roots {
		if err := d.structure(reflect.ValueOf(root).Elem()); err != nil {
			return info, err
		}
	}
	// What is left in the reader's buffer and the file is the trailer.
	rest, err := io.ReadAll(br)
	if err != nil {
		return info, err
	}
	if len(rest) != sha256.Size || !bytes.Equal(rest, tail.held) || !bytes.Equal(rest, tail.h.Sum(nil)) {
		return info, errChecksum
	}
	return info, nil
}

// trailer hashes what passes through it, keeping the last 32 bytes out of
// the hash until it knows they are not the trailer.
type trailer struct {
	h    hash.Hash
	held []byte
}

func (t *trailer) Write(p []byte) (int, error) {
	t.held = append(t.held, p...)
	if n := len(t.held) - sha256.Size; n > 0 {
		t.h.Write(t.held[:n])
		t.held = append(t.held[:0], t.held[n:]...)
	}
	return len(p), nil
}

// Check tells whether info's event is in src: the event after Before must
// be at Position with Hash. A snapshot of another log, or of this one past
// what it now holds, fails.
func (info SnapshotInfo) Check(ctx context.Context, src Source) error {
	if info.Position.IsZero() {
		return errors.New("snapshot: at no position")
	}
	got, err := src.ReadAll(ctx, info.Before, 1)
	if err != nil {
		return fmt.Errorf("snapshot: read its event: %w", err)
	}
	if len(got) == 0 || got[0].Position != info.Position || got[0].Hash != info.Hash {
		return fmt.Errorf("snapshot: the log holds no event %s with its hash (another log, or one restored from an older copy)", info.Position)
	}
	return nil
}
