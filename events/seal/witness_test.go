package seal

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// TestFileWitness replaces the file's note with each new one and leaves
// no temporary file behind; a directory that does not exist is an error.
func TestFileWitness(t *testing.T) {
	dir := t.TempDir()
	w := FileWitness{Path: filepath.Join(dir, "checkpoint.txt")}
	for _, note := range []string{"dangol\n1\nAAAA\n\n— sig1\n", "dangol\n2\nBBBB\n\n— sig2\n"} {
		if err := w.Witness(context.Background(), []byte(note), 1); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(w.Path); string(got) != note {
			t.Fatalf("file holds %q, want %q", got, note)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("directory holds %d files", len(ents))
	}
	bad := FileWitness{Path: filepath.Join(dir, "missing", "checkpoint.txt")}
	if err := bad.Witness(context.Background(), []byte("x"), 1); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("witness into a missing directory: %v", err)
	}
}

// receiver is a witness server on 127.0.0.1 answering status, recording
// what it received.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	types  []string
	status atomic.Int32
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	r := &receiver{}
	r.status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		if req.Method == http.MethodPost {
			r.bodies = append(r.bodies, string(b))
			r.types = append(r.types, req.Header.Get("Content-Type"))
		}
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// TestURLWitness POSTs the note as text/plain; a non-2xx answer or no
// server is an error, which names the URL without its query.
func TestURLWitness(t *testing.T) {
	r, srv := newReceiver(t)
	w := URLWitness{URL: srv.URL + "/witness?token=s3cret"}
	if kind, target := w.Describe(); kind != "url" || strings.Contains(target, "s3cret") {
		t.Fatalf("describe: %s %s", kind, target)
	}
	if err := w.Witness(context.Background(), []byte("note 1\n"), 1); err != nil {
		t.Fatal(err)
	}
	if got := r.received(); len(got) != 1 || got[0] != "note 1\n" || !strings.HasPrefix(r.types[0], "text/plain") {
		t.Fatalf("received %q as %q", got, r.types)
	}
	r.status.Store(http.StatusServiceUnavailable)
	err := w.Witness(context.Background(), []byte("note 2\n"), 2)
	if events.ErrorCode(err) != events.Unavailable || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a 503: %v", err)
	}
	srv.Close()
	err = w.Witness(context.Background(), []byte("note 3\n"), 3)
	if events.ErrorCode(err) != events.Unavailable || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("no server: %v", err)
	}
}

// TestSealerWitnesses: each seal goes to every witness; one failing does
// not stop sealing and shows its error in Status until it works again.
func TestSealerWitnesses(t *testing.T) {
	ctx := context.Background()
	clock := eventstest.NewManualClock(eventstest.Epoch)
	store := openStore(t, clock.Now)
	r, srv := newReceiver(t)
	r.status.Store(http.StatusInternalServerError)
	file := FileWitness{Path: filepath.Join(t.TempDir(), "checkpoint.txt")}
	s := newSealer(t, Config{Store: store, Now: clock.Now, Witnesses: []Witness{file, URLWitness{URL: srv.URL}}})
	appendN(t, store, "customer-1", 3)
	l, err := s.SealNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(file.Path); string(got) != l.LedgerSealed.Checkpoint {
		t.Fatalf("file witness holds %q", got)
	}
	st := s.Status().Witnesses
	if len(st) != 2 || st[0].Kind != "file" || st[0].TreeSize != 3 || !st[0].At.Equal(eventstest.Epoch) || st[0].LastError != "" {
		t.Fatalf("file witness status %+v", st)
	}
	if st[1].Kind != "url" || st[1].LastError == "" || st[1].TreeSize != 0 {
		t.Fatalf("failing url witness status %+v", st[1])
	}
	r.status.Store(http.StatusNoContent)
	clock.Set(eventstest.Epoch.Add(time.Minute))
	appendN(t, store, "customer-1", 1)
	l, err = s.SealNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st = s.Status().Witnesses
	if st[1].LastError != "" || st[1].TreeSize != l.TreeSize || !st[1].At.Equal(eventstest.Epoch.Add(time.Minute)) {
		t.Fatalf("url witness after it recovered: %+v", st[1])
	}
	if got := r.received(); len(got) != 2 || got[1] != l.LedgerSealed.Checkpoint {
		t.Fatalf("url witness received %q", got)
	}
	if _, err := testKey(t).OpenCheckpoint([]byte(r.received()[1])); err != nil {
		t.Fatalf("the witnessed note does not open: %v", err)
	}
}

// TestURLWitnessRedirect: a 301, 302 or 303 would have the client send a
// GET without the note, and a 2xx to it is no copy kept: it is an error
// naming the status. A 307 or 308 sends the note again, and is followed.
func TestURLWitnessRedirect(t *testing.T) {
	r, dst := newReceiver(t)
	mux := http.NewServeMux()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		mux.HandleFunc("/"+strconv.Itoa(code), func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, dst.URL+"/witness", code)
		})
	}
	src := httptest.NewServer(mux)
	t.Cleanup(src.Close)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		err := URLWitness{URL: src.URL + "/" + strconv.Itoa(code)}.Witness(context.Background(), []byte("note\n"), 1)
		if events.ErrorCode(err) != events.Unavailable || !strings.Contains(err.Error(), strconv.Itoa(code)) {
			t.Errorf("a %d redirect: %v, want an error naming it", code, err)
		}
	}
	if got := r.received(); len(got) != 0 {
		t.Fatalf("received %q", got)
	}
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		if err := (URLWitness{URL: src.URL + "/" + strconv.Itoa(code)}).Witness(context.Background(), []byte("note\n"), 1); err != nil {
			t.Errorf("a %d redirect: %v", code, err)
		}
	}
	if got := r.received(); len(got) != 2 || got[0] != "note\n" || got[1] != "note\n" {
		t.Fatalf("after 307 and 308, received %q", got)
	}
}
