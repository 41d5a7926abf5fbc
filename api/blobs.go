package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/dangol/dangol/events"
)

// Blobs is the content-addressed store of call recordings: files named by
// the SHA-256 of their content under a directory, written via a temp file,
// fsynced and renamed, so a recording is either complete or absent.
type Blobs struct {
	dir string
}

var digestRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// OpenBlobs returns the blob store under dir, creating it.
func OpenBlobs(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	return &Blobs{dir: dir}, nil
}

func (b *Blobs) path(digest string) string {
	return filepath.Join(b.dir, digest[:2], digest)
}

// Put stores r's content. If want is not empty, the content's SHA-256 must
// equal it (Invalid otherwise, nothing stored). It returns the digest and size.
func (b *Blobs) Put(r io.Reader, want string) (digest string, n int64, err error) {
	if want != "" && !digestRe.MatchString(want) {
		return "", 0, events.InvalidField("sha256", "must be 64 lowercase hex digits")
	}
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return "", 0, err // a body over the limit arrives here as *http.MaxBytesError
	}
	if n == 0 {
		return "", 0, events.InvalidField("body", "recording is empty")
	}
	digest = hex.EncodeToString(h.Sum(nil))
	if want != "" && want != digest {
		return "", 0, events.InvalidField("sha256", "content digest %s does not match the declared %s", digest, want)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	dst := b.path(digest)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("recordings: %w", err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return digest, n, nil
}

// Stat returns the size of the blob with digest; NotFound if absent.
func (b *Blobs) Stat(digest string) (int64, error) {
	if !digestRe.MatchString(digest) {
		return 0, events.InvalidField("sha256", "must be 64 lowercase hex digits")
	}
	fi, err := os.Stat(b.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return 0, events.Errorf(events.NotFound, "no recording with that digest")
	}
	if err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	return fi.Size(), nil
}

// Open returns the blob for reading (with Seek, for Range requests).
func (b *Blobs) Open(digest string) (*os.File, error) {
	if _, err := b.Stat(digest); err != nil {
		return nil, err
	}
	return os.Open(b.path(digest))
}
