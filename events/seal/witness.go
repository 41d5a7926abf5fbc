package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// Witness keeps a copy of each new checkpoint outside dangol's control.
// The sealer calls it after each seal it appends, from one goroutine; a
// failing witness is logged and shown in Status, and sealing goes on.
type Witness interface {
	// Witness stores or sends signedNote, the signed checkpoint of a tree
	// of treeSize leaves.
	Witness(ctx context.Context, signedNote []byte, treeSize int64) error
	// Describe returns the witness's kind ("file" or "url") and target, as
	// WitnessStatus shows them.
	Describe() (kind, target string)
}

// FileWitness writes the latest signed checkpoint to a file, replacing the
// previous one atomically: a reader (a backup job, a copy to another
// machine) sees the old note or the new, never a part.
type FileWitness struct {
	Path string
}

var _ Witness = FileWitness{}

// Describe returns "file" and the path.
func (w FileWitness) Describe() (string, string) { return "file", w.Path }

// Witness writes signedNote to a temporary file beside Path, syncs it,
// renames it over Path and syncs the directory. Errors are Unavailable.
func (w FileWitness) Witness(_ context.Context, signedNote []byte, _ int64) error {
	dir := filepath.Dir(w.Path)
	// 0644: a public statement, meant to be copied.
	tmp, err := writeTemp(dir, "."+filepath.Base(w.Path)+"-*.tmp", signedNote, 0o644)
	if err != nil {
		return witnessError("write a temporary file in "+dir, err)
	}
	if err := os.Rename(tmp, w.Path); err != nil {
		os.Remove(tmp)
		return witnessError("rename to "+w.Path, err)
	}
	if err := pii.SyncDir(dir); err != nil {
		return witnessError("sync directory "+dir, err)
	}
	return nil
}

func witnessError(op string, err error) error {
	return &events.Error{Code: events.Unavailable, Message: "witness: " + op, Err: err}
}

// URLTimeout bounds each POST of a URLWitness.
const URLTimeout = 10 * time.Second

// URLWitness POSTs each signed checkpoint to a URL as text/plain.
type URLWitness struct {
	URL    string
	Client *http.Client // default http.DefaultClient; each POST is bounded by URLTimeout anyway
}

var _ Witness = URLWitness{}

// Describe returns "url" and the URL without its query or user
// information, which may hold a token.
func (w URLWitness) Describe() (string, string) {
	u, err := url.Parse(w.URL)
	if err != nil {
		return "url", "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return "url", u.String()
}

// Witness POSTs signedNote. A response other than 2xx (a redirect that
// would not POST the note again among them), a timeout or a failed
// connection is an Unavailable error.
func (w URLWitness) Witness(ctx context.Context, signedNote []byte, _ int64) error {
	ctx, cancel := context.WithTimeout(ctx, URLTimeout)
	defer cancel()
	_, target := w.Describe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(signedNote))
	if err != nil {
		return events.Errorf(events.Invalid, "witness URL %s: %v", target, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	client := http.DefaultClient
	if w.Client != nil {
		client = w.Client
	}
	c := *client
	c.CheckRedirect = keepPost(client.CheckRedirect)
	resp, err := c.Do(req)
	if err != nil {
		return &events.Error{Code: events.Unavailable, Message: "witness: post to " + target,
			Err: redact(err)}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return events.Errorf(events.Unavailable, "witness: %s answered %s", target, resp.Status)
	}
	return nil
}

// keepPost follows a redirect only if it POSTs the note again (307, 308),
// then as next would; a 301, 302 or 303 has the client send a GET without
// it, whose 2xx would pass for a copy kept: its answer is the witness's.
func keepPost(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		switch {
		case req.Method != http.MethodPost:
			return http.ErrUseLastResponse
		case next != nil:
			return next(req, via)
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// redact drops the URL from a client error, which repeats it with its
// query.
func redact(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
