package api_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// accessAppendFails is a store whose appends to the access record fail
// while armed.
type accessAppendFails struct {
	api.Store
	armed *atomic.Bool
}

func (s accessAppendFails) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if strings.HasPrefix(stream, "access-") && s.armed.Load() {
		return events.AppendResult{}, events.Errorf(events.Unavailable, "access record unwritable")
	}
	return s.Store.Append(ctx, stream, exp, evs...)
}

// TestAuditExportClearRecordedFirst: an export in clear is in the access
// record, with its reason, before its first line is sent (the entry is in
// the store when the answer's header arrives, not queued to be appended
// later: a server that dies mid-export leaves it on record); a store that
// cannot take the entry gets the export refused, 503, with no line sent.
func TestAuditExportClearRecordedFirst(t *testing.T) {
	armed := new(atomic.Bool)
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Store = accessAppendFails{c.Store, armed} }})
	s.seedBook()
	month := events.AccessMonth(s.now())

	const reason = "Court order 2026-118"
	armed.Store(true)
	a := s.export(url.Values{"clear": {"true"}, "reason": {reason}})
	if a.status != 503 || bytes.Contains(a.body, []byte("specversion")) || bytes.Contains(a.body, []byte("김민준")) {
		t.Errorf("clear export with the access record unwritable: %d %.300s, want 503 and nothing sent", a.status, a.body)
	}
	if a := s.export(nil); a.status != 200 {
		t.Errorf("an export of ciphertext needs no entry: %d", a.status)
	}
	armed.Store(false)

	resp := s.exportResponse(url.Values{"clear": {"true"}, "reason": {reason}})
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("clear export: %d", resp.StatusCode)
	}
	found := clearExports(s.storedAccessReads(month)) // as stored, the queue not appended
	if len(found) != 1 || !strings.Contains(found[0].Detail, reason) || found[0].StaffID != "U1" {
		t.Errorf("export_clear entries in the store as the export starts: %+v, want one with the reason", found)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.Trailer.Get("Dangol-Count") == "" {
		t.Errorf("trailers %v", resp.Trailer)
	}
	if n := len(clearExports(s.accessReads(month))); n != 1 {
		t.Errorf("%d export_clear entries after the export, want 1 (the refused export recorded none)", n)
	}
}
