package importer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"unicode/utf8"
)

// Rejects is the rejects file of an import: one JSON line per rejected
// row, {"line": N, "raw": "<the row as the file holds it>", "reason":
// "..."}; a row that is not UTF-8 has its bytes in "rawBase64" instead
// (a JSON string cannot hold them). The raw row may hold personal data, so the file is created mode
// 0600 and nothing else (logs, errors, the summary) repeats it. It is safe
// for concurrent use.
type Rejects struct {
	mu   sync.Mutex
	path string
	f    *os.File
	w    *bufio.Writer
	n    int
}

// CreateRejects creates (or empties) the rejects file at path, mode 0600;
// the error is the file system's.
func CreateRejects(path string) (*Rejects, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rejects file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode through O_TRUNC
		f.Close()
		return nil, fmt.Errorf("rejects file: %w", err)
	}
	return &Rejects{path: path, f: f, w: bufio.NewWriter(f)}, nil
}

// reject is one line of the rejects file.
type reject struct {
	Line      int    `json:"line"`
	Raw       string `json:"raw,omitempty"`
	RawBase64 []byte `json:"rawBase64,omitempty"`
	Reason    string `json:"reason"`
}

// Reject writes one rejected row; the error is the file's.
func (r *Rejects) Reject(line int, raw []byte, reason string) error {
	rj := reject{Line: line, Raw: string(raw), Reason: reason}
	if !utf8.Valid(raw) {
		rj.Raw, rj.RawBase64 = "", raw
	}
	b, err := json.Marshal(rj)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if _, err := r.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("rejects file: %w", err)
	}
	return nil
}

// Path returns the file's path.
func (r *Rejects) Path() string { return r.path }

// Close flushes and fsyncs the file; with no row rejected it removes it,
// so that a rejects file beside an input always means rejected rows.
func (r *Rejects) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	f := r.f
	r.f = nil
	err := r.w.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && r.n == 0 {
		err = os.Remove(r.path)
	}
	if err != nil {
		return fmt.Errorf("rejects file: %w", err)
	}
	return nil
}
