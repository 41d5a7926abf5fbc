package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// Recordings are personal data: never cached by anyone, the browser
// included (a shared computer in a branch).
const recordingCacheControl = "private, no-store"

// maxRanges is how many ranges a Range header of a recording download may
// ask for: enough for any player, too few to amplify the answer (each
// multipart part costs ~100 bytes of headers, so 3,000 one-byte ranges
// would answer 100 times the file).
const maxRanges = 8

// codeErased is the error code of a recording whose customer was erased.
const codeErased = "erased"

var errRecordingErased = &apiError{http.StatusGone, codeErased, "the recording was shredded with its customer's personal data"}

func (s *Server) stagingLimits() stagingLimits {
	lim := stagingLimits{ttl: s.StagingTTL, maxUploads: s.StagingMaxUploads, maxBytes: s.StagingMaxBytes, maxSize: s.MaxRecordingBytes}
	if lim.ttl <= 0 {
		lim.ttl = DefaultStagingTTL
	}
	if lim.maxUploads <= 0 {
		lim.maxUploads = DefaultStagingMaxUploads
	}
	if lim.maxBytes <= 0 {
		lim.maxBytes = DefaultStagingMaxBytes
	}
	return lim
}

func (s *Server) putRecording(w http.ResponseWriter, r *http.Request, p Principal) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "audio/") {
		return events.InvalidField("Content-Type", "must be audio/*")
	}
	want := r.Header.Get("X-Content-SHA256")
	digest, n, err := s.Blobs.Stage(http.MaxBytesReader(w, r.Body, s.MaxRecordingBytes), want, p.StaffID, r.ContentLength,
		s.now(), s.stagingLimits())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"sha256": digest, "bytes": n})
	return nil
}

func (s *Server) getRecording(w http.ResponseWriter, r *http.Request, p Principal) error {
	digest := r.PathValue("sha256")
	var bs BlobSealer
	if s.Sealer != nil {
		bs = s.Sealer
	}
	rec, err := s.Blobs.Open(r.Context(), bs, digest)
	if errors.Is(err, pii.ErrErased) {
		return errRecordingErased
	}
	if err != nil {
		return err
	}
	defer rec.Close()
	size, err := rec.Seek(0, 2)
	if err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	if _, err := rec.Seek(0, 0); err != nil {
		return fmt.Errorf("recordings: %w", err)
	}
	etag := `"` + digest + `"`
	w.Header().Set("Cache-Control", recordingCacheControl)
	if ir := r.Header.Get("If-Range"); ir == "" || ifRangeETag(ir) == etag {
		// http.ServeContent accepts any number of ranges, overlapping ones
		// included; it ignores Range only when the ranges add up to more
		// than the file. Refuse what no player sends (RFC 9110, 14.2).
		if err := checkRanges(r.Header.Get("Range"), size); err != nil {
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
			return err
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "", zeroTime, rec) // handles Range, If-Range and If-None-Match
	s.recordPlay(r, p, digest)
	return nil
}

// ifRangeETag returns the entity tag http.ServeContent reads from an
// If-Range value: the quoted tag at its start (W/ included), whatever
// follows it, or "" if it starts with none. Comparing the whole value
// instead would let `"<digest>"x`, which ServeContent takes as matching,
// skip checkRanges.
func ifRangeETag(v string) string {
	v = strings.Trim(v, " \t\r\n")
	start := 0
	if strings.HasPrefix(v, "W/") {
		start = 2
	}
	if len(v[start:]) < 2 || v[start] != '"' {
		return ""
	}
	for i := start + 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == 0x21 || c >= 0x23 && c <= 0x7E || c >= 0x80:
		case c == '"':
			return v[:i+1]
		default:
			return ""
		}
	}
	return ""
}

// byteRange is a satisfiable range of a Range header: [start, start+length).
type byteRange struct{ start, length int64 }

// checkRanges returns an error answered 416 for a Range header of a
// download of size bytes that is malformed, satisfies no byte, asks for
// more than maxRanges ranges or for overlapping ones. Its parsing follows
// http.ServeContent's, so what passes here is served as asked.
func checkRanges(h string, size int64) error {
	if h == "" {
		return nil
	}
	bad := func(msg string) error { return &apiError{http.StatusRequestedRangeNotSatisfiable, events.Invalid, msg} }
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return bad("Range must be bytes=<first>-<last>[, ...]")
	}
	parts := strings.Split(spec, ",")
	if len(parts) > maxRanges {
		return bad(fmt.Sprintf("Range asks for %d ranges; at most %d are served", len(parts), maxRanges))
	}
	var ranges []byteRange
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			return bad("Range must be bytes=<first>-<last>[, ...]")
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var br byteRange
		if first == "" {
			// A suffix: the last n bytes.
			n, err := strconv.ParseInt(last, 10, 64)
			if last == "" || last[0] == '-' || err != nil || n < 0 {
				return bad("Range has a malformed suffix range")
			}
			n = min(n, size)
			br = byteRange{size - n, n}
		} else {
			i, err := strconv.ParseInt(first, 10, 64)
			if err != nil || i < 0 {
				return bad("Range has a malformed first byte")
			}
			if i >= size {
				continue // past the end: ServeContent skips it too
			}
			br.start, br.length = i, size-i
			if last != "" {
				j, err := strconv.ParseInt(last, 10, 64)
				if err != nil || i > j {
					return bad("Range has a malformed last byte")
				}
				br.length = min(j, size-1) - i + 1
			}
		}
		ranges = append(ranges, br)
	}
	if len(ranges) == 0 {
		return bad("Range satisfies no byte of the recording")
	}
	slices.SortFunc(ranges, func(a, b byteRange) int { return int(min(max(a.start-b.start, -1), 1)) })
	for k := 1; k < len(ranges); k++ {
		if ranges[k].start < ranges[k-1].start+ranges[k-1].length {
			return bad("Range asks for overlapping ranges")
		}
	}
	return nil
}

// sweepRecordings deletes staged uploads past their time to live at start
// and then every quarter of it (at most hourly) until ctx ends. Ages are
// judged with the server's clock; the ticker only paces the sweeps.
func (s *Server) sweepRecordings(ctx context.Context) {
	if s.Blobs == nil {
		return
	}
	ttl := s.stagingLimits().ttl
	every := min(max(ttl/4, time.Second), time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Blobs.Sweep(s.now(), ttl); err != nil {
			s.Logger.Error("sweeping staged recordings", "err", err)
		} else if n > 0 {
			s.Logger.Info("deleted staged recordings no call references", "files", n, "ttl", ttl.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
