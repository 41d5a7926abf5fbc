package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// Blobs stores call recordings under a directory, in two places:
//
//	staging/<sha256>.<uploader>    an upload (PUT /v1/recordings) no call references yet, in clear
//	sealed/<ab>/<sha256>/<customer> the recording of a customer's call, sealed under their data key
//	tmp/                           files being written, named with the server clock's time
//
// An upload does not know its customer, so it waits in staging until the
// call that references it is recorded (POST /v1/calls): then it is sealed
// into the customer's file and its staged copies are deleted, so no clear
// audio stays at rest and the customer's erasure (destroying their key)
// shreds it. Staging is bounded (uploads per uploader, bytes in all) and
// swept of uploads older than a time to live. Every file is written to tmp,
// fsynced and renamed, so it is complete or absent.
//
// Blobs is safe for concurrent use by multiple goroutines of one process;
// the staging caps are enforced per process (several servers sharing the
// directory each enforce their own).
type Blobs struct {
	dir string
	mu  sync.Mutex // staging admissions and sweeps, so that the caps hold under concurrent uploads

	// Uploads being received count against the caps before they land:
	// otherwise any number of concurrent uploads, each up to the size
	// limit, could fill the disk far past maxBytes before the final check.
	receiving map[string]int // uploader → uploads being received
	reserved  int64          // bytes reserved by uploads being received
}

// stagingLimits bound what uploads no call references may hold.
type stagingLimits struct {
	ttl        time.Duration // a staged upload older than this is deleted
	maxUploads int           // staged uploads per uploader
	maxBytes   int64         // staged bytes of all uploaders together
	maxSize    int64         // the largest upload: what one of unknown length reserves
}

// Defaults of Config's Staging fields.
const (
	DefaultStagingTTL        = 24 * time.Hour
	DefaultStagingMaxUploads = 16
	DefaultStagingMaxBytes   = 8 << 30
)

var digestRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// OpenBlobs returns the recording store under dir, creating it.
func OpenBlobs(dir string) (*Blobs, error) {
	for _, sub := range []string{"tmp", "staging", "sealed"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("recordings: %w", err)
		}
	}
	return &Blobs{dir: dir}, nil
}

func checkDigest(digest string) error {
	if !digestRe.MatchString(digest) {
		return events.InvalidField("sha256", "must be 64 lowercase hex digits")
	}
	return nil
}

func (b *Blobs) stagedPath(digest, uploader string) string {
	return filepath.Join(b.dir, "staging", digest+"."+uploader)
}

func (b *Blobs) sealedDir(digest string) string {
	return filepath.Join(b.dir, "sealed", digest[:2], digest)
}

func (b *Blobs) sealedPath(digest, customerID string) string {
	return filepath.Join(b.sealedDir(digest), customerID)
}

// createTemp creates a file in tmp whose name carries now, so that a sweep
// can tell an abandoned one (a crash mid-upload) from one being written.
func (b *Blobs) createTemp(now time.Time) (*os.File, error) {
	return os.CreateTemp(filepath.Join(b.dir, "tmp"), strconv.FormatInt(now.UnixNano(), 10)+"-*")
}

// Stage stores r's content as an upload of uploader at now, in clear until
// a call takes it (Seal). If want is not empty, the content's SHA-256 must
// equal it. declared is the body's announced length (-1 if unknown): an
// upload that cannot fit is refused before it is read. Errors: Invalid
// (digest, empty body), *http.MaxBytesError (over the size limit),
// errStagingFull; nothing is stored on error. It returns the digest and size.
func (b *Blobs) Stage(r io.Reader, want, uploader string, declared int64, now time.Time, lim stagingLimits) (string, int64, error) {
	if want != "" {
		if err := checkDigest(want); err != nil {
			return "", 0, err
		}
	}
	reserve := declared
	if reserve < 0 || lim.maxSize > 0 && reserve > lim.maxSize {
		reserve = lim.maxSize
	}
	release, err := b.reserve(uploader, want, reserve, now, lim)
	if err != nil {
		return "", 0, err
	}
	defer func() { b.mu.Lock(); release(); b.mu.Unlock() }()
	tmp, err := b.createTemp(now)
	if err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return "", 0, err // a body over the limit arrives here as *http.MaxBytesError
	}
	if n == 0 {
		return "", 0, events.InvalidField("body", "recording is empty")
	}
	digest := hex.EncodeToString(h.Sum(nil))
	if want != "" && want != digest {
		return "", 0, events.InvalidField("sha256", "content digest %s does not match the declared %s", digest, want)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	// The staged file's modification time is its upload time by the
	// server's clock: the sweep judges its age with the same clock.
	if err := os.Chtimes(tmp.Name(), now, now); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	release() // this upload is judged by its real size now (a second release is a no-op)
	if err := b.admitLocked(uploader, digest, n, now, lim); err != nil {
		return "", 0, err
	}
	dst := b.stagedPath(digest, uploader)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	syncDir(filepath.Dir(dst))
	return digest, n, nil
}

// errStagingFull is answered when an upload would take staging over a cap.
func errStagingFull(msg string) error {
	return &apiError{http.StatusTooManyRequests, codeStagingFull, msg}
}

// codeStagingFull is the error code of an upload refused by a staging cap.
const codeStagingFull = "staging_full"

// reserve admits an upload of uploader that may take n bytes and counts it
// against the caps while it is received; release (called with b.mu held)
// gives the reservation back.
func (b *Blobs) reserve(uploader, digest string, n int64, now time.Time, lim stagingLimits) (release func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.admitLocked(uploader, digest, n, now, lim); err != nil {
		return nil, err
	}
	if b.receiving == nil {
		b.receiving = map[string]int{}
	}
	b.receiving[uploader]++
	b.reserved += n
	done := false
	return func() {
		if done {
			return
		}
		done = true
		if b.receiving[uploader]--; b.receiving[uploader] == 0 {
			delete(b.receiving, uploader)
		}
		b.reserved -= n
	}, nil
}

// admitLocked sweeps staging and reports whether uploader may stage n more
// bytes of digest; an upload replacing the same digest of the same uploader
// does not count twice. With digest unknown (""), only the bytes are checked.
func (b *Blobs) admitLocked(uploader, digest string, n int64, now time.Time, lim stagingLimits) error {
	uploads, total, _, err := b.sweepLocked(now, lim.ttl, uploader, digest)
	if err != nil {
		return err
	}
	uploads += b.receiving[uploader]
	total += b.reserved
	if digest != "" && uploads+1 > lim.maxUploads {
		return errStagingFull(fmt.Sprintf("you have %d uploads that no call references yet (the limit): record their calls or wait until they expire, %s after upload",
			uploads, lim.ttl))
	}
	if total+n > lim.maxBytes {
		return errStagingFull(fmt.Sprintf("uploads that no call references yet fill the staging area (%d of %d bytes): retry later", total, lim.maxBytes))
	}
	return nil
}

// Sweep deletes the staged uploads staged more than ttl before now and the
// temporary files as old (abandoned by a crash). It returns how many files
// it deleted.
func (b *Blobs) Sweep(now time.Time, ttl time.Duration) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, _, removed, err := b.sweepLocked(now, ttl, "", "")
	return removed, err
}

// sweepLocked deletes what is older than ttl and returns what stays in
// staging: the uploads of uploader (but the one of digest) and the bytes of
// all (but that one).
func (b *Blobs) sweepLocked(now time.Time, ttl time.Duration, uploader, digest string) (uploads int, total int64, removed int, err error) {
	cutoff := now.Add(-ttl)
	tmps, err := os.ReadDir(filepath.Join(b.dir, "tmp"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("recordings: %w", err)
	}
	for _, e := range tmps {
		at, _, _ := strings.Cut(e.Name(), "-")
		if ns, err := strconv.ParseInt(at, 10, 64); err == nil && time.Unix(0, ns).Before(cutoff) {
			if os.Remove(filepath.Join(b.dir, "tmp", e.Name())) == nil {
				removed++
			}
		}
	}
	staged, err := os.ReadDir(filepath.Join(b.dir, "staging"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("recordings: %w", err)
	}
	for _, e := range staged {
		fi, err := e.Info()
		if err != nil {
			continue // deleted meanwhile (a call took it)
		}
		if fi.ModTime().Before(cutoff) {
			if os.Remove(filepath.Join(b.dir, "staging", e.Name())) == nil {
				removed++
			}
			continue
		}
		d, who, _ := strings.Cut(e.Name(), ".")
		if d == digest && who == uploader {
			continue
		}
		total += fi.Size()
		if who == uploader {
			uploads++
		}
	}
	return uploads, total, removed, nil
}

// staged returns the paths of the staged copies of digest (one per uploader).
func (b *Blobs) staged(digest string) []string {
	paths, _ := filepath.Glob(filepath.Join(b.dir, "staging", digest+".*"))
	return paths
}

// Unstage deletes every staged copy of digest: a call took it.
func (b *Blobs) Unstage(digest string) {
	for _, p := range b.staged(digest) {
		_ = os.Remove(p)
	}
}

// Size returns the size of the recording a call of customerID would hold
// for digest: the customer's sealed copy, a staged upload or another
// customer's sealed copy. Errors: Invalid (digest), NotFound.
func (b *Blobs) Size(digest, customerID string) (int64, error) {
	if err := checkDigest(digest); err != nil {
		return 0, err
	}
	if h, err := readSealedHeader(b.sealedPath(digest, customerID)); err == nil {
		return h.size, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	for _, p := range b.staged(digest) {
		if fi, err := os.Stat(p); err == nil {
			return fi.Size(), nil
		}
	}
	copies, _ := os.ReadDir(b.sealedDir(digest))
	for _, c := range copies {
		if h, err := readSealedHeader(b.sealedPath(digest, c.Name())); err == nil {
			return h.size, nil
		}
	}
	return 0, events.Errorf(events.NotFound, "no recording with that digest")
}

// Seal makes the recording of digest a sealed recording of customerID,
// unless the customer has it already. Its source is what Open returns: a
// staged upload, or the copy of another customer whose call named the same
// audio (who may download a recording may upload it again, so that copy
// gives away nothing; the erasure of either customer shreds their own copy
// only). Staged copies stay until Unstage, so that a call that fails to
// append can be retried. Errors: NotFound (nothing readable: never
// uploaded, swept, or shredded), pii.ErrErased (wrapped) for a customer
// whose key was destroyed, Internal (the source does not hash to digest).
func (b *Blobs) Seal(ctx context.Context, s BlobSealer, digest, customerID string, now time.Time) error {
	dst := b.sealedPath(digest, customerID)
	if _, err := os.Stat(dst); err == nil {
		// The copy of an erased customer stays on disk, shredded: it holds
		// no audio for a new call of theirs.
		rec, err := openSealed(ctx, dst, digest, segmentOpener(ctx, s, customerID, digest))
		if errors.Is(err, pii.ErrErased) {
			return err
		}
		if err == nil {
			rec.Close()
		}
		return nil
	}
	src, err := b.Open(ctx, s, digest)
	if errors.Is(err, pii.ErrErased) {
		return events.Errorf(events.NotFound, "the recording with that digest was shredded with its customer's data")
	}
	if err != nil {
		return err
	}
	defer src.Close()
	return b.sealFrom(ctx, s, src, digest, customerID, now)
}

// sealFrom writes src, the plain audio of digest, sealed under
// customerID's data key to the customer's sealed path, through a temporary
// file that is fsynced and renamed, so the copy is complete or absent.
// Errors: pii.ErrErased (wrapped) for a customer whose key was destroyed,
// Internal if src does not hash to digest; nothing is stored on error.
func (b *Blobs) sealFrom(ctx context.Context, s BlobSealer, src io.ReadSeeker, digest, customerID string, now time.Time) error {
	dst := b.sealedPath(digest, customerID)
	size, err := src.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = src.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	tmp, err := b.createTemp(now)
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := writeSealed(tmp, src, size, digest, segmentSealer(ctx, s, customerID, digest, size)); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	syncDir(filepath.Dir(dst))
	return nil
}

// Recording is an opened recording: its plaintext, seekable for Range
// requests. Close it.
type Recording interface {
	io.ReadSeekCloser
}

// Open returns the recording of digest for reading: a sealed copy whose
// customer's key is alive, else a staged upload. Errors: Invalid (digest),
// pii.ErrErased (wrapped) if every sealed copy was shredded and nothing is
// staged, NotFound, Internal (a sealed copy that does not open).
func (b *Blobs) Open(ctx context.Context, s BlobSealer, digest string) (Recording, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	copies, err := os.ReadDir(b.sealedDir(digest))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	erased := false
	for _, c := range copies {
		if s == nil {
			return nil, events.Errorf(events.Internal, "recordings are sealed but the server has no sealer")
		}
		rec, err := openSealed(ctx, b.sealedPath(digest, c.Name()), digest, segmentOpener(ctx, s, c.Name(), digest))
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, pii.ErrErased):
			erased = true
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, err
		}
	}
	for _, p := range b.staged(digest) {
		if f, err := os.Open(p); err == nil {
			return f, nil
		}
	}
	if erased {
		return nil, fmt.Errorf("recording %s: %w", digest, pii.ErrErased)
	}
	return nil, events.Errorf(events.NotFound, "no recording with that digest")
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
