package api

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
)

// The export (docs/audit.md, "Export"): GET /v1/audit/export streams the
// log as JSON Lines of CloudEvents (events/export), a page at a time and
// flushed as it goes, with its count, SHA-256 and covering seal in the
// trailers; GET /v1/audit/export/manifest answers the same query's
// manifest, computed by streaming the same body into the hash.

// Trailers of an export: present only on an export that ran to its end.
const (
	trailerCount        = "Dangol-Count"
	trailerSHA256       = "Dangol-Sha256"
	trailerCoveringSeal = "Dangol-Covering-Seal"
)

// Bounds of a clear export's reason, in characters.
const (
	minExportReason = 3
	maxExportReason = 500
)

// defaultOrigin names the log when the server has no sealing key.
const defaultOrigin = "dangol"

// getAuditExport handles GET /v1/audit/export: the range's events as JSON
// Lines, streamed, with the trailers of an export that ran to its end.
// Bad input is Invalid before anything is sent; an export in clear is
// Unavailable if its access entry cannot be appended first.
func (s *Server) getAuditExport(w http.ResponseWriter, r *http.Request, p Principal) error {
	req, err := s.exportRequest(r)
	if err != nil {
		return err
	}
	if req.Open != nil {
		// The reason is on record before the first byte in clear leaves,
		// appended now rather than queued: a server that dies during the
		// export, or a store that cannot take the entry, must not let
		// personal data out unrecorded. If it cannot be appended, nothing
		// is sent.
		if err := s.recordReadNow(r, p, "export_clear", "", exportDetail(req)); err != nil {
			return &events.Error{Code: events.Unavailable, Message: "the access record cannot take the export's entry, so nothing is exported in clear; retry", Err: err}
		}
	}
	h := w.Header()
	h.Set("Content-Type", export.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", trailerCount+", "+trailerSHA256+", "+trailerCoveringSeal)
	out := &flushingWriter{bw: bufio.NewWriterSize(w, 64<<10), rc: http.NewResponseController(w)}
	var count int64 // lines sent so far
	req.Page = func(n int64) error { count = n; return out.flush() }
	m, err := export.Export(r.Context(), s.Store, out, req)
	if err == nil {
		err = out.flush()
	}
	s.auditLog(r, p, "export", "from_position", req.From.String(), "to_position", req.To.String(), "clear", req.Open != nil,
		"count", count)
	if err != nil && !out.sent {
		h.Del("Trailer") // nothing went out yet: an ordinary error answer
		return err
	}
	if err != nil {
		// The status is sent: the missing trailers tell the client that
		// the export was cut short, and the log says why.
		s.Logger.Error("export cut short", "staff", p.StaffID, "sent", count, "err", err.Error())
		return nil
	}
	h.Set(trailerCount, strconv.FormatInt(m.Count, 10))
	h.Set(trailerSHA256, m.SHA256)
	h.Set(trailerCoveringSeal, m.CoveringSealHash())
	return nil
}

// getAuditExportManifest handles GET /v1/audit/export/manifest: the
// manifest of the export the same query would send (its count, SHA-256,
// frontier and covering seal), computed without sending the events.
func (s *Server) getAuditExportManifest(w http.ResponseWriter, r *http.Request, p Principal) error {
	req, err := s.exportRequest(r)
	if err != nil {
		return err
	}
	m, err := export.Export(r.Context(), s.Store, io.Discard, req)
	if err != nil {
		return err
	}
	s.auditLog(r, p, "export manifest", "from_position", req.From.String(), "to_position", req.To.String(), "count", m.Count)
	writeJSON(w, http.StatusOK, m)
	return nil
}

// exportRequest reads and checks an export's query: from_position (default
// the start), to_position (default what the latest seal covers, or the
// head), clear and reason. Every error is Invalid, but Unavailable for an
// export in clear on a server that cannot open personal data.
func (s *Server) exportRequest(r *http.Request) (export.Request, error) {
	q := r.URL.Query() // each parameter once: onceEach
	req := export.Request{Origin: defaultOrigin, Tree: s.Tree}
	if s.SealKey != nil {
		req.Origin, req.VerifierKey = s.SealKey.Name(), s.SealKey.VerifierKey()
	}
	var err error
	if req.From, err = events.ParsePosition(q.Get("from_position")); err != nil {
		return export.Request{}, events.InvalidField("from_position", "must be a log position")
	}
	if err := s.exportRange(r, &req, q.Get("to_position")); err != nil {
		return export.Request{}, err
	}
	clear := false
	if v := q.Get("clear"); v != "" {
		if clear, err = strconv.ParseBool(v); err != nil {
			return export.Request{}, events.InvalidField("clear", "must be true or false")
		}
	}
	if !clear {
		return req, nil
	}
	req.Reason = strings.TrimSpace(q.Get("reason"))
	if n := utf8.RuneCountInString(req.Reason); n < minExportReason || n > maxExportReason || strings.ContainsFunc(req.Reason, unicode.IsControl) {
		return export.Request{}, events.InvalidField("reason", "must say why, in one line of %d to %d characters", minExportReason, maxExportReason)
	}
	if s.Sealer == nil {
		return export.Request{}, events.Errorf(events.Unavailable, "this server cannot open personal data: no export in clear")
	}
	req.Open = s.Sealer.OpenEnvelope
	return req, nil
}

// exportRange sets req.To from to (default export.DefaultTo) and checks
// the range: from not after to, to not beyond the log's head.
func (s *Server) exportRange(r *http.Request, req *export.Request, to string) error {
	head, err := s.Store.Head(r.Context())
	if err != nil {
		return err
	}
	if to == "" {
		req.To, err = export.DefaultTo(r.Context(), s.Store, req.From)
		if err != nil {
			return err
		}
	} else if req.To, err = events.ParsePosition(to); err != nil {
		return events.InvalidField("to_position", "must be a log position")
	}
	switch {
	case head.Less(req.From):
		return events.InvalidField("from_position", "position %s is beyond the log's head (%s)", req.From, head)
	case head.Less(req.To):
		return events.InvalidField("to_position", "position %s is beyond the log's head (%s)", req.To, head)
	case req.To.Less(req.From):
		return events.InvalidField("to_position", "must not be before from_position")
	}
	return nil
}

// exportDetail is the access record's detail of an export in clear,
// recorded before it starts: its range and its reason (cut to fit an
// entry; the manifest has it whole). The count is the manifest's.
func exportDetail(req export.Request) string {
	d := "positions " + req.From.String() + ".." + req.To.String() + "; reason: "
	reason := req.Reason
	for utf8.RuneCountInString(d)+utf8.RuneCountInString(reason) > events.MaxAccessDetail {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	return d + reason
}

// flushingWriter buffers an export's lines and sends them on at each
// flush; sent tells whether any byte went out (the status with it).
type flushingWriter struct {
	bw   *bufio.Writer
	rc   *http.ResponseController
	sent bool
}

func (f *flushingWriter) Write(b []byte) (int, error) {
	if f.bw.Buffered()+len(b) > f.bw.Size() {
		f.sent = true // bufio writes through to the client
	}
	return f.bw.Write(b)
}

func (f *flushingWriter) flush() error {
	if f.bw.Buffered() > 0 {
		f.sent = true
	}
	if err := f.bw.Flush(); err != nil {
		return err
	}
	if err := f.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
