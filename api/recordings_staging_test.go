package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// movableClock is a pinned clock a test moves forward.
type movableClock struct {
	base events.Clock
	off  atomic.Int64
}

func newMovableClock() *movableClock { return &movableClock{base: eventstest.Clock(eventstest.Epoch)} }

func (c *movableClock) now() time.Time          { return c.base().Add(time.Duration(c.off.Load())) }
func (c *movableClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// staged returns the names of the staged uploads ("<sha256>.<uploader>").
func staged(t *testing.T, s *stack) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.dir, "recordings", "staging"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestStagingBounded: uploads no call references are capped per uploader
// (count) and in all (bytes); a refused upload is 429 staging_full and
// stores nothing; a re-upload of the same audio does not count twice; a
// call that takes an upload frees its place.
func TestStagingBounded(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.StagingMaxUploads, c.StagingMaxBytes = 3, 10_000 }})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	var audio [][]byte
	var digests []string
	for i := range 5 {
		audio = append(audio, testAudio(uint64(100+i), 1000))
		if i < 3 {
			digests = append(digests, s.upload("R1", audio[i]))
		}
	}
	full := s.req("R1", "PUT", "/v1/recordings", audio[3], "Content-Type", "audio/wav")
	if full.status != 429 || full.errCode() != "staging_full" {
		t.Fatalf("a fourth staged upload of R1: %d %s", full.status, full.raw)
	}
	if n := len(staged(t, s)); n != 3 {
		t.Fatalf("%d staged uploads after the refused one, want 3", n)
	}
	s.upload("R1", audio[0]) // the same audio again: replaces, does not count
	s.upload("P1", audio[4]) // another uploader has their own count
	big := testAudio(200, 7000)
	if a := s.req("P1", "PUT", "/v1/recordings", big, "Content-Type", "audio/wav"); a.status != 429 || a.errCode() != "staging_full" {
		t.Fatalf("an upload over the staging bytes: %d %s", a.status, a.raw)
	}
	if n := len(staged(t, s)); n != 4 {
		t.Fatalf("%d staged uploads, want 4: %v", n, staged(t, s))
	}
	// A call takes R1's first upload: R1 may upload again.
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digests[0], 1000), 201)
	if slices.ContainsFunc(staged(t, s), func(n string) bool { return strings.HasPrefix(n, digests[0]) }) {
		t.Fatalf("the upload a call took is still staged: %v", staged(t, s))
	}
	s.upload("R1", audio[3])
}

// TestStagingSwept: a staged upload older than the time to live (by the
// server's clock) is deleted by the sweep that runs at each upload and by
// the one Run starts with; a call cannot take it any more.
func TestStagingSwept(t *testing.T) {
	clk := newMovableClock()
	s := newStack(t, stackOptions{now: clk.now})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	old := testAudio(300, 2000)
	oldDigest := s.upload("R1", old)
	clk.advance(api.DefaultStagingTTL - time.Minute)
	young := testAudio(301, 2000)
	youngDigest := s.upload("P1", young)
	if n := len(staged(t, s)); n != 2 {
		t.Fatalf("%d staged, want 2 (nothing has expired yet)", n)
	}
	clk.advance(2 * time.Minute) // the first upload is now past the TTL, the second is not
	s.upload("R1", testAudio(302, 2000))
	if got := staged(t, s); slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, oldDigest) }) || len(got) != 2 {
		t.Fatalf("after the TTL: staged %v, want the expired upload gone", got)
	}
	if a := s.req("R1", "GET", "/v1/recordings/"+oldDigest, nil); a.status != 404 {
		t.Fatalf("download of a swept upload: %d", a.status)
	}
	if a := s.req("R1", "POST", "/v1/calls", newCall("K1", "C1", oldDigest, len(old))); a.status != 400 || a.errDetails()["field"] != "recording.sha256" {
		t.Fatalf("a call naming a swept upload: %d %s", a.status, a.raw)
	}
	if a := s.req("R1", "GET", "/v1/recordings/"+youngDigest, nil); a.status != 200 || !bytes.Equal(a.raw, young) {
		t.Fatalf("download of a staged upload: %d", a.status)
	}

	// No upload comes any more: the server's own sweep (at start, then
	// periodically) deletes the rest.
	clk.advance(api.DefaultStagingTTL + time.Minute)
	s = s.restart()
	s.waitUntil("the sweep at start deletes the expired uploads", func() bool { return len(staged(t, s)) == 0 })
}

// TestRecordingRangesLimited: a Range header with more than 8 ranges, with
// overlapping ranges, malformed or unsatisfiable is answered 416 with a
// small body; what a player sends is served as asked.
func TestRecordingRangesLimited(t *testing.T) {
	s := newStack(t, stackOptions{})
	audio := testAudio(400, 4096)
	digest := s.upload("R1", audio)
	get := func(hdr ...string) answer { return s.req("S1", "GET", "/v1/recordings/"+digest, nil, hdr...) }

	var many []string
	for i := range 3000 {
		many = append(many, fmt.Sprintf("%d-%d", i, i))
	}
	a := get("Range", "bytes="+strings.Join(many, ","))
	if a.status != 416 || len(a.raw) > 1000 || a.header.Get("Content-Range") != "bytes */4096" || a.errCode() != "invalid" {
		t.Fatalf("3,000 one-byte ranges: %d, %d bytes, %v", a.status, len(a.raw), a.header)
	}
	for _, bad := range []string{"bytes=" + strings.Join(many[:9], ","), "bytes=0-99,50-149", "bytes=100-199,0-0,150-150",
		"bytes=5000-", "bytes=9-2", "bytes=x-1", "items=0-1"} {
		if a := get("Range", bad); a.status != 416 || a.errCode() != "invalid" {
			t.Fatalf("Range %q: %d %s", bad, a.status, a.raw)
		}
	}
	// Eight disjoint ranges in any order are served.
	eight := "bytes=4000-4009,0-0,10-19,100-199,50-59,1000-1000,2000-2047,3000-3000"
	if a := get("Range", eight); a.status != 206 || bytes.Count(a.raw, []byte("Content-Range: bytes ")) != 8 ||
		!bytes.Contains(a.raw, audio[2000:2048]) {
		t.Fatalf("eight ranges: %d, %d bytes", a.status, len(a.raw))
	}
	if a := get("Range", "bytes=4090-9999"); a.status != 206 || !bytes.Equal(a.raw, audio[4090:]) {
		t.Fatalf("range past the end: %d %x", a.status, a.raw)
	}
	// An If-Range that no longer matches asks for the whole file: the ranges do not matter.
	if a := get("Range", "bytes="+strings.Join(many, ","), "If-Range", `"other"`); a.status != 200 || !bytes.Equal(a.raw, audio) {
		t.Fatalf("stale If-Range: %d, %d bytes", a.status, len(a.raw))
	}
}

// TestJSONAnswersNotStored: every JSON answer of the API (reads of
// customers, lists, worklists, timelines, calls, queues, audit, writes and
// errors) and a customer's 304 carry Cache-Control: no-store.
func TestJSONAnswersNotStored(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	audio := testAudio(500, 100)
	digest := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, len(audio)), 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("상담"), 201)
	view := s.req("R1", "GET", "/v1/customers/C1", nil)
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, "If-None-Match", view.header.Get("ETag")); a.status != 304 {
		t.Fatalf("conditional read of the customer: %d", a.status)
	}
	for _, c := range []struct {
		who, method, path string
		body              any
		hdr               []string
	}{
		{"R1", "POST", "/v1/customers", newCustomer("C2"), nil},
		{"R1", "GET", "/v1/customers/C1", nil, nil},
		{"R1", "GET", "/v1/customers/C1", nil, []string{"If-None-Match", view.header.Get("ETag")}},
		{"R1", "GET", "/v1/customers/C1/timeline", nil, nil},
		{"R1", "GET", "/v1/customers", nil, nil},
		{"R1", "GET", "/v1/worklist", nil, nil},
		{"S1", "GET", "/v1/calls/K1", nil, nil},
		{"S1", "GET", "/v1/qa/queue", nil, nil},
		{"R1", "GET", "/v1/coaching", nil, nil},
		{"U1", "GET", "/v1/audit/streams/customer-C1", nil, nil},
		{"U1", "GET", "/v1/audit/log", nil, nil},
		{"R1", "PUT", "/v1/recordings", testAudio(501, 10), []string{"Content-Type", "audio/wav"}},
		{"R1", "GET", "/v1/customers/NOPE", nil, nil},
		{"", "GET", "/v1/customers/C1", nil, nil},
		{"R1", "GET", "/v1/nothing-here", nil, nil},
	} {
		a := s.req(c.who, c.method, c.path, c.body, c.hdr...)
		if cc := a.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s %v as %q: %d with Cache-Control %q", c.method, c.path, c.hdr, c.who, a.status, cc)
		}
	}
}

// TestStagingCountsUploadsInProgress: an upload still being received holds
// its place against the byte cap (the size limit, its length unknown), so
// concurrent uploads cannot fill the disk past the cap before any of them
// lands; once it lands only its real size counts.
func TestStagingCountsUploadsInProgress(t *testing.T) {
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.StagingMaxBytes, c.MaxRecordingBytes = 1000, 800 }})
	// The first upload streams from a pipe with Expect: 100-continue: the
	// server asks for the body only once it has admitted the upload, so a
	// write to the pipe returning means the upload is being received.
	pr, pw := io.Pipe()
	r, err := http.NewRequest("PUT", s.base+"/v1/recordings", pr)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+s.tok["R1"])
	r.Header.Set("Content-Type", "audio/wav")
	r.Header.Set("Expect", "100-continue")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = hang // never send the body unasked
	defer tr.CloseIdleConnections()
	first := make(chan int, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Do(r)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	defer pw.Close() // a failing test must not leave the upload hanging
	if _, err := pw.Write([]byte("RIFF in progress ")); err != nil {
		t.Fatal(err)
	}
	// 800 bytes reserved of 1,000: another upload of unknown length (up to
	// 800 bytes) cannot be admitted.
	second, err := http.NewRequest("PUT", s.base+"/v1/recordings", io.MultiReader(bytes.NewReader(testAudio(7, 100))))
	if err != nil {
		t.Fatal(err)
	}
	second.Header.Set("Authorization", "Bearer "+s.tok["R2"])
	second.Header.Set("Content-Type", "audio/wav")
	resp, err := s.client.Do(second)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("a second upload of unknown length while 800 bytes are reserved of 1,000: %d, want 429", resp.StatusCode)
	}
	pw.Close()
	if code := <-first; code != 201 {
		t.Fatalf("the upload in progress: %d, want 201", code)
	}
	// It landed with its 17 bytes: 100 more fit.
	s.upload("R2", testAudio(7, 100))
}
