package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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
	stored := func() []events.AccessRead { // as stored, without flushing the queue
		evs, err := s.store.ReadStream(t.Context(), events.AccessStream(month), 0, events.Forward, 1000)
		if events.ErrorCode(err) == events.NotFound {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		var out []events.AccessRead
		for i := range evs {
			var d events.PersonalDataRead
			if err := json.Unmarshal(evs[i].Data, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d.Reads...)
		}
		return out
	}

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

	r, err := http.NewRequest("GET", s.base+"/v1/audit/export?"+url.Values{"clear": {"true"}, "reason": {reason}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+s.tok["U1"])
	resp, err := s.client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("clear export: %d", resp.StatusCode)
	}
	var found []events.AccessRead
	for _, e := range stored() {
		if e.Action == "export_clear" {
			found = append(found, e)
		}
	}
	if len(found) != 1 || !strings.Contains(found[0].Detail, reason) || found[0].StaffID != "U1" {
		t.Errorf("export_clear entries in the store as the export starts: %+v, want one with the reason", found)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.Trailer.Get("Dangol-Count") == "" {
		t.Errorf("trailers %v", resp.Trailer)
	}
	n := 0
	for _, e := range s.accessReads(month) {
		if e.Action == "export_clear" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d export_clear entries after the export, want 1 (the refused export recorded none)", n)
	}
}
