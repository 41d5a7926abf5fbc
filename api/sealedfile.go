package api

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// BlobSealer seals and opens blobs under a customer's data key
// (*pii.Sealer): the API seals call recordings with it.
type BlobSealer interface {
	// SealBlob seals plain for customerID and purpose; a customer whose key
	// was destroyed wraps pii.ErrErased.
	SealBlob(ctx context.Context, customerID, purpose string, plain []byte) ([]byte, error)
	// OpenBlob opens what SealBlob sealed with the same customer and purpose.
	OpenBlob(ctx context.Context, customerID, purpose string, sealed []byte) ([]byte, error)
}

// A sealed recording is a header and the audio in segments of segmentSize
// bytes (the last one shorter), each sealed on its own with
// BlobSealer.SealBlob, so that neither sealing nor a Range request ever
// holds more than a segment in memory:
//
//	magic "dangolr1" | plain size (uint64 BE) | segment size (uint32 BE) | seal overhead (uint32 BE)
//	sealed segment 0 | sealed segment 1 | ...
//
// Every sealed segment but the last is segment size + overhead bytes long,
// so segment i starts at a computed offset. The purpose sealed with each
// segment names the recording's digest, its size and the segment's index:
// a segment moved within or between recordings, a truncated file or an
// altered header fails to open.
const (
	sealedMagic     = "dangolr1"
	sealedHeaderLen = 8 + 8 + 4 + 4
	segmentSize     = 64 << 10
)

type sealedHeader struct {
	size     int64
	segment  int64
	overhead int64
}

func (h sealedHeader) segments() int64 { return (h.size + h.segment - 1) / h.segment }

// sealedLen is the length of the sealed file h describes.
func (h sealedHeader) sealedLen() int64 {
	return sealedHeaderLen + h.segments()*h.overhead + h.size
}

func segmentPurpose(digest string, size, i int64) string {
	return "recording\x00" + digest + "\x00" + strconv.FormatInt(size, 10) + "\x00" + strconv.FormatInt(i, 10)
}

// segmentSealer seals the segments of one recording for one customer.
func segmentSealer(ctx context.Context, s BlobSealer, customerID, digest string, size int64) func(int64, []byte) ([]byte, error) {
	return func(i int64, plain []byte) ([]byte, error) {
		return s.SealBlob(ctx, customerID, segmentPurpose(digest, size, i), plain)
	}
}

// segmentOpener opens the segments of one recording of one customer.
func segmentOpener(ctx context.Context, s BlobSealer, customerID, digest string) func(int64, int64, []byte) ([]byte, error) {
	return func(size, i int64, sealed []byte) ([]byte, error) {
		return s.OpenBlob(ctx, customerID, segmentPurpose(digest, size, i), sealed)
	}
}

// writeSealed writes src (size bytes, which must hash to digest) sealed to
// dst, one segment at a time.
func writeSealed(dst io.Writer, src io.Reader, size int64, digest string, seal func(int64, []byte) ([]byte, error)) error {
	if size <= 0 {
		return events.Errorf(events.Internal, "recording %s is empty", digest)
	}
	buf := make([]byte, segmentSize)
	h := sha256.New()
	var hdr [sealedHeaderLen]byte
	copy(hdr[:], sealedMagic)
	binary.BigEndian.PutUint64(hdr[8:], uint64(size))
	binary.BigEndian.PutUint32(hdr[16:], segmentSize)
	overhead := -1
	var written int64
	for i := int64(0); written < size; i++ {
		n, err := io.ReadFull(src, buf[:min(segmentSize, size-written)])
		if err != nil {
			return fmt.Errorf("recordings: reading the upload: %w", err)
		}
		h.Write(buf[:n])
		sealed, err := seal(i, buf[:n])
		if err != nil {
			return err
		}
		if overhead < 0 {
			overhead = len(sealed) - n
			binary.BigEndian.PutUint32(hdr[20:], uint32(overhead))
			if _, err := dst.Write(hdr[:]); err != nil {
				return fmt.Errorf("recordings: %w", err)
			}
		} else if len(sealed)-n != overhead {
			return events.Errorf(events.Internal, "recordings: the sealer's overhead changed within a recording")
		}
		if _, err := dst.Write(sealed); err != nil {
			return fmt.Errorf("recordings: %w", err)
		}
		written += int64(n)
	}
	clear(buf)
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return events.Errorf(events.Internal, "the staged upload %s hashes to %s: not sealed", digest, got)
	}
	return nil
}

func readSealedHeader(path string) (sealedHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return sealedHeader{}, err
	}
	defer f.Close()
	return parseSealedHeader(f, path)
}

func parseSealedHeader(f *os.File, path string) (sealedHeader, error) {
	var hdr [sealedHeaderLen]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:8]) != sealedMagic {
		return sealedHeader{}, events.Errorf(events.Internal, "sealed recording %s has no valid header", path)
	}
	h := sealedHeader{size: int64(binary.BigEndian.Uint64(hdr[8:])), segment: int64(binary.BigEndian.Uint32(hdr[16:])),
		overhead: int64(binary.BigEndian.Uint32(hdr[20:]))}
	if h.size <= 0 || h.size > 1<<40 || h.segment <= 0 || h.segment > 64<<20 || h.overhead > 1<<10 {
		return sealedHeader{}, events.Errorf(events.Internal, "sealed recording %s has an invalid header", path)
	}
	return h, nil
}

// sealedReader reads the plaintext of a sealed recording, opening one
// segment at a time: an io.ReadSeeker for http.ServeContent.
type sealedReader struct {
	f      *os.File
	h      sealedHeader
	open   func(size, i int64, sealed []byte) ([]byte, error)
	off    int64
	cur    int64 // index of the segment in plain, -1 for none
	plain  []byte
	sealed []byte
}

// openSealed opens the sealed recording at path and its first segment, so
// that a shredded key (pii.ErrErased, wrapped) or a damaged file is known
// before any byte is answered.
func openSealed(ctx context.Context, path, digest string, open func(size, i int64, sealed []byte) ([]byte, error)) (*sealedReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	h, err := parseSealedHeader(f, path)
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil && fi.Size() != h.sealedLen() {
			err = events.Errorf(events.Internal, "sealed recording %s has %d bytes, its header says %d", path, fi.Size(), h.sealedLen())
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &sealedReader{f: f, h: h, open: open, cur: -1, sealed: make([]byte, h.segment+h.overhead)}
	if err := r.load(0); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *sealedReader) load(i int64) error {
	plainLen := min(r.h.segment, r.h.size-i*r.h.segment)
	buf := r.sealed[:plainLen+r.h.overhead]
	if _, err := r.f.ReadAt(buf, sealedHeaderLen+i*(r.h.segment+r.h.overhead)); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	plain, err := r.open(r.h.size, i, buf)
	switch {
	case errors.Is(err, pii.ErrErased):
		return err
	case err != nil || int64(len(plain)) != plainLen:
		// ErrNoKey (keys.db lost) or a segment that does not authenticate:
		// an incident, never "not found".
		return &events.Error{Code: events.Internal, Err: err,
			Message: fmt.Sprintf("segment %d of sealed recording %s does not open", i, r.f.Name())}
	}
	clear(r.plain)
	r.plain, r.cur = plain, i
	return nil
}

// Read reads plaintext at the current offset.
func (r *sealedReader) Read(p []byte) (int, error) {
	if r.off >= r.h.size {
		return 0, io.EOF
	}
	i := r.off / r.h.segment
	if i != r.cur {
		if err := r.load(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.plain[r.off-i*r.h.segment:])
	r.off += int64(n)
	return n, nil
}

// Seek sets the plaintext offset.
func (r *sealedReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.h.size
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	r.off = offset
	return offset, nil
}

// Close closes the file and wipes the plaintext held.
func (r *sealedReader) Close() error {
	clear(r.plain)
	return r.f.Close()
}
