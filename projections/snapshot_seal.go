package projections

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/dangol/dangol/events"
)

// A stored snapshot is sealed: the fold state holds customers' personal
// fields in clear, so what reaches a file or a row is that state encrypted
// under a data key of the snapshot's own, created in the key store the
// customers' keys live in (wrapped by the master key like theirs) under
// an id no customer id can take ("snapshot:" then a ULID). Destroying that
// key crypto-shreds the snapshot wherever a copy of it survives: disk
// blocks, PostgreSQL's old row versions, WAL, backups.
//
// The layout: sealedMagic, the clear header (a uvarint length, then
// SealedHeader as JSON: the key's id and where the snapshot was taken),
// then the snapshot WriteSnapshot writes, in chunks of at most sealChunk
// bytes, each a uint32 (its length, the top bit set on the last chunk)
// and AES-256-GCM of the chunk. A chunk's nonce is its number (a key seals
// one snapshot only); its additional data is the SHA-256 of everything
// before the first chunk (so the header, position, hash and fingerprint
// included, cannot be changed), the chunk's number and whether it is the
// last (so chunks cannot be reordered, dropped or the stream cut short).

// SnapshotKeys is where stored snapshots' data keys are created, read and
// destroyed: the customers' key store (a pii.KeyStore satisfies it).
type SnapshotKeys interface {
	DataKey(ctx context.Context, id string, create bool) ([]byte, error)
	Destroy(ctx context.Context, id string) error
}

// SealedHeader is the clear header of a stored snapshot.
type SealedHeader struct {
	Key  string       `json:"key"` // the data key's id in the key store
	Info SnapshotInfo `json:"info"`
	// ShredOlder is set on a snapshot written after an erasure: the keys
	// of every older snapshot must be destroyed (a load that finds one
	// left, after a crash, destroys it).
	ShredOlder bool `json:"shredOlder,omitempty"`
}

const (
	sealedMagic       = "dangol sealed read-model snapshot 1\n"
	snapshotKeyPrefix = "snapshot:" // a customer id is a ULID: no colon
	sealChunk         = 1 << 20
	lastChunk         = 1 << 31 // the top bit of a chunk's length
)

var errSealed = errors.New("snapshot: a chunk does not authenticate under its key (damaged, tampered with, or another key)")

// SealSnapshot writes the snapshot of roots at info to w, sealed under a
// new data key created in keys, and returns its header. On error the key
// is destroyed and what w holds must be thrown away.
func SealSnapshot(ctx context.Context, w io.Writer, info SnapshotInfo, roots []Projection, keys SnapshotKeys, shredOlder bool) (h SealedHeader, err error) {
	if keys == nil {
		return h, errors.New("snapshot: no key store to seal it under")
	}
	names, err := rootNames(roots)
	if err != nil {
		return h, err
	}
	info.Projections, info.Fingerprint, info.Build, info.Config = names, fingerprint(roots), snapshotBuild(), configPrint(roots)
	h = SealedHeader{Key: snapshotKeyPrefix + events.NewID().String(), Info: info, ShredOlder: shredOlder}
	key, err := keys.DataKey(ctx, h.Key, true)
	if err != nil {
		return h, fmt.Errorf("snapshot: create its data key: %w", err)
	}
	defer clear(key)
	defer func() {
		if err != nil {
			keys.Destroy(context.WithoutCancel(ctx), h.Key)
		}
	}()
	head, err := json.Marshal(h)
	if err != nil {
		return h, err
	}
	prefix := binary.AppendUvarint([]byte(sealedMagic), uint64(len(head)))
	prefix = append(prefix, head...)
	if _, err = w.Write(prefix); err != nil {
		return h, err
	}
	sw, err := newSealWriter(w, key, prefix)
	if err != nil {
		return h, err
	}
	if err = WriteSnapshot(sw, info, roots); err != nil {
		return h, err
	}
	err = sw.seal(true)
	return h, err
}

// ReadSealedHeader reads the clear header of a stored snapshot.
func ReadSealedHeader(r io.Reader) (SealedHeader, error) {
	h, _, err := readSealedHeader(bufio.NewReader(r))
	return h, err
}

func readSealedHeader(br *bufio.Reader) (h SealedHeader, prefix []byte, err error) {
	magic := make([]byte, len(sealedMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != sealedMagic {
		return h, nil, errors.New("snapshot: not a sealed read-model snapshot")
	}
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<20 {
		return h, nil, errSnapshotCorrupt
	}
	prefix = binary.AppendUvarint(magic, n)
	head := make([]byte, n)
	if _, err := io.ReadFull(br, head); err != nil {
		return h, nil, errSnapshotCorrupt
	}
	if err := json.Unmarshal(head, &h); err != nil {
		return h, nil, fmt.Errorf("snapshot: header: %w", err)
	}
	return h, append(prefix, head...), nil
}

// OpenSnapshot restores into roots (fresh, as for ReadSnapshot) the
// snapshot SealSnapshot wrote to r, size bytes long, once src holds the
// event it names and keys gives its data key; it returns the header. A
// snapshot whose key was destroyed (after an erasure) or does not open it,
// or whose header, chunks or order were changed, is refused; on error the
// roots must be thrown away.
func OpenSnapshot(ctx context.Context, r io.Reader, size int64, src Source, roots []Projection, keys SnapshotKeys) (SealedHeader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	h, prefix, err := readSealedHeader(br)
	if err != nil {
		return h, err
	}
	if err := h.Info.Check(ctx, src); err != nil { // before the long read
		return h, err
	}
	if keys == nil {
		return h, errors.New("snapshot: no key store to open it with")
	}
	key, err := keys.DataKey(ctx, h.Key, false)
	if err != nil {
		return h, fmt.Errorf("snapshot: its data key: %w", err)
	}
	defer clear(key)
	or, err := newOpenReader(br, key, prefix, size)
	if err != nil {
		return h, err
	}
	info, err := ReadSnapshot(or, roots)
	switch {
	case or.err != nil:
		return h, or.err
	case err != nil:
		return h, err
	case !or.last:
		return h, errSnapshotCorrupt
	case info.Position != h.Info.Position || info.Hash != h.Info.Hash || info.Fingerprint != h.Info.Fingerprint || info.Build != h.Info.Build ||
		info.Config != h.Info.Config:
		return h, errors.New("snapshot: its header and its sealed content name different positions")
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return h, errors.New("snapshot: bytes after its last chunk")
	}
	return h, nil
}

// chunkCipher is AES-256-GCM under a snapshot's key, with the chunks'
// additional data bound to the clear prefix.
type chunkCipher struct {
	gcm    cipher.AEAD
	digest [sha256.Size]byte // of the clear prefix
	n      uint64            // the next chunk's number
	nonce  [12]byte
	ad     [sha256.Size + 9]byte
}

func newChunkCipher(key, prefix []byte) (chunkCipher, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return chunkCipher{}, fmt.Errorf("snapshot: its data key: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return chunkCipher{}, err
	}
	return chunkCipher{gcm: gcm, digest: sha256.Sum256(prefix)}, nil
}

// next returns the nonce and additional data of the next chunk.
func (c *chunkCipher) next(last bool) (nonce, ad []byte) {
	binary.BigEndian.PutUint64(c.nonce[4:], c.n)
	copy(c.ad[:], c.digest[:])
	binary.BigEndian.PutUint64(c.ad[sha256.Size:], c.n)
	c.ad[sha256.Size+8] = 0
	if last {
		c.ad[sha256.Size+8] = 1
	}
	c.n++
	return c.nonce[:], c.ad[:]
}

// sealWriter seals what is written to it, in chunks, to w.
type sealWriter struct {
	chunkCipher
	w   io.Writer
	buf []byte // the chunk being filled
	out []byte
}

func newSealWriter(w io.Writer, key, prefix []byte) (*sealWriter, error) {
	c, err := newChunkCipher(key, prefix)
	if err != nil {
		return nil, err
	}
	return &sealWriter{chunkCipher: c, w: w, buf: make([]byte, 0, sealChunk)}, nil
}

func (s *sealWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf, p = s.buf[:len(s.buf)+k], p[k:]
		if len(s.buf) == cap(s.buf) {
			if err := s.seal(false); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// seal writes the chunk filled so far; last marks the stream's end.
func (s *sealWriter) seal(last bool) error {
	length := uint32(len(s.buf) + s.gcm.Overhead())
	if last {
		length |= lastChunk
	}
	nonce, ad := s.next(last)
	s.out = s.gcm.Seal(binary.BigEndian.AppendUint32(s.out[:0], length), nonce, s.buf, ad)
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

// openReader reads the chunks a sealWriter wrote, each opened before any
// of it is handed on.
type openReader struct {
	chunkCipher
	r      io.Reader
	size   int64
	sealed []byte
	plain  []byte
	cur    []byte
	last   bool  // the last chunk was read
	err    error // why the stream stopped short
}

func newOpenReader(r io.Reader, key, prefix []byte, size int64) (*openReader, error) {
	c, err := newChunkCipher(key, prefix)
	if err != nil {
		return nil, err
	}
	return &openReader{chunkCipher: c, r: r, size: size}, nil
}

// Size returns the stored snapshot's size, which bounds every length the
// decoder reads.
func (o *openReader) Size() int64 { return o.size }

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.cur) == 0 {
		if o.last {
			return 0, io.EOF
		}
		if o.err == nil {
			o.err = o.open()
		}
		if o.err != nil {
			return 0, o.err
		}
	}
	n := copy(p, o.cur)
	o.cur = o.cur[n:]
	return n, nil
}

func (o *openReader) open() error {
	var l [4]byte
	if _, err := io.ReadFull(o.r, l[:]); err != nil {
		return errors.New("snapshot: cut short before its last chunk")
	}
	length := binary.BigEndian.Uint32(l[:])
	last := length&lastChunk != 0
	n := int(length &^ lastChunk)
	if n < o.gcm.Overhead() || n > sealChunk+o.gcm.Overhead() {
		return errSnapshotCorrupt
	}
	if cap(o.sealed) < n {
		o.sealed = make([]byte, n)
	}
	o.sealed = o.sealed[:n]
	if _, err := io.ReadFull(o.r, o.sealed); err != nil {
		return errors.New("snapshot: cut short before its last chunk")
	}
	nonce, ad := o.next(last)
	plain, err := o.gcm.Open(o.plain[:0], nonce, o.sealed, ad)
	if err != nil {
		return errSealed
	}
	o.plain, o.cur, o.last = plain, plain, last
	return nil
}
