package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
	"github.com/dangol/dangol/events/seal"
)

// exportAnswer is an answer of GET /v1/audit/export with its trailers.
type exportAnswer struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
}

// exportResponse starts GET /v1/audit/export?query as the auditor and
// returns the answer with its body unread; the caller closes it.
func (s *stack) exportResponse(query url.Values) *http.Response {
	s.t.Helper()
	r, err := http.NewRequest("GET", s.base+"/v1/audit/export?"+query.Encode(), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+s.tok["U1"])
	resp, err := s.client.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

// export reads GET /v1/audit/export?query as the auditor, to the end.
func (s *stack) export(query url.Values) exportAnswer {
	s.t.Helper()
	resp := s.exportResponse(query)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return exportAnswer{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: body}
}

// exportedEvents decodes every line of an export.
func exportedEvents(t *testing.T, body []byte) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		e, err := export.Decode(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", len(out)+1, err)
		}
		out = append(out, e)
	}
	return out
}

// manifest reads GET /v1/audit/export/manifest?query as the auditor.
func (s *stack) manifest(query url.Values) export.Manifest {
	s.t.Helper()
	a := s.req("U1", "GET", "/v1/audit/export/manifest?"+query.Encode(), nil)
	var m export.Manifest
	if a.status != 200 || json.Unmarshal(a.raw, &m) != nil {
		s.t.Fatalf("manifest of %s: %d %s", query.Encode(), a.status, a.raw)
	}
	return m
}

// TestAuditExport: by default the export is the log up to the latest
// seal, ciphertext, each line verifying in its chain; the trailers and
// the manifest give its count, SHA-256 and covering seal; from the middle,
// the manifest's frontier and the lines give the seal's root.
func TestAuditExport(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedBook()
	sl := s.sealNow()
	s.must("R1", "POST", "/v1/customers/C101/contacts", newContact("after the seal"), 201)
	s.awaitApplied()

	a := s.export(nil)
	if a.status != 200 || a.header.Get("Content-Type") != "application/x-ndjson" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v\n%.500s", a.status, a.header, a.body)
	}
	evs := exportedEvents(t, a.body)
	if int64(len(evs)) != sl.TreeSize {
		t.Errorf("the default export holds %d events, the latest seal covers %d", len(evs), sl.TreeSize)
	}
	v := events.NewChainVerifier()
	for i := range evs {
		if err := v.Add(&evs[i]); err != nil {
			t.Errorf("exported event %d: %v", i, err)
		}
	}
	if bytes.Contains(a.body, []byte("김민준")) {
		t.Error("the default export holds a name in clear")
	}
	sum := sha256.Sum256(a.body)
	if a.trailer.Get("Dangol-Count") != fmt.Sprint(len(evs)) || a.trailer.Get("Dangol-Sha256") != hex.EncodeToString(sum[:]) ||
		a.trailer.Get("Dangol-Covering-Seal") != sl.Hash.String() {
		t.Errorf("trailers %v; want count %d, sha256 %x, covering seal %s", a.trailer, len(evs), sum, sl.Hash)
	}
	m := s.manifest(nil)
	if m.Count != int64(len(evs)) || m.SHA256 != hex.EncodeToString(sum[:]) || m.CoveringSealHash() != sl.Hash.String() ||
		m.StartLeaf != 0 || len(m.Frontier) != 0 || m.Origin != "dangol-test" || m.VerifierKey == "" || m.Clear || m.ToPosition != sl.ToPosition {
		t.Errorf("manifest %+v", m)
	}
	var cs struct{ Type string }
	if json.Unmarshal(m.CoveringSeal, &cs) != nil || cs.Type != "dangol.LedgerSealed" {
		t.Errorf("manifest's covering seal %s is not the seal's CloudEvent", m.CoveringSeal)
	}

	// From the middle: the frontier before it and its lines give the root.
	from := evs[4].Position
	q := url.Values{"from_position": {from.String()}}
	mid := s.export(q)
	mm := s.manifest(q)
	if mm.StartLeaf != 5 || mm.Count != sl.TreeSize-5 {
		t.Errorf("export after %s: manifest %+v", from, mm)
	}
	c, err := mm.Start()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exportedEvents(t, mid.body) {
		c.Append(seal.LeafHash(&e))
	}
	if c.Size() != sl.TreeSize || c.Root() != sl.Checkpoint.Root {
		t.Errorf("frontier and export give a tree of %d leaves whose root is not the seal's", c.Size())
	}

	// Up to the head: past every seal, covered by none.
	head, _ := s.store.Head(t.Context())
	tail := s.export(url.Values{"from_position": {sl.Position.String()}, "to_position": {head.String()}})
	if n := len(exportedEvents(t, tail.body)); n == 0 || tail.trailer.Get("Dangol-Covering-Seal") != "" ||
		tail.trailer.Get("Dangol-Count") != fmt.Sprint(n) {
		t.Errorf("the unsealed tail: %d events, trailers %v", n, tail.trailer)
	}
}

// TestAuditExportClear: an export in clear opens the personal fields
// (the stored bytes in storeddata, so every line still verifies), keeps an
// erased customer's ciphertext and says so, and is in the access record
// with its reason; the default export never is.
func TestAuditExportClear(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.must("A001", "POST", "/v1/customers/C104/erasure", map[string]any{"reason": "erasure request", "requestedBy": "customer"}, 201)
	s.awaitApplied()

	const reason = "Court order 2026-117"
	a := s.export(url.Values{"clear": {"true"}, "reason": {reason}})
	if a.status != 200 {
		t.Fatalf("clear export: %d %s", a.status, a.body)
	}
	evs := exportedEvents(t, a.body)
	v := events.NewChainVerifier()
	for i := range evs {
		if err := v.Add(&evs[i]); err != nil {
			t.Errorf("exported event %d: %v", i, err)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(nil, 1<<20)
	var opened, erased int
	for sc.Scan() {
		var l map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		switch {
		case l["storeddata"] != nil && strings.Contains(string(l["data"]), `"name":"김민준"`):
			opened++
		case string(l["erased"]) == "true" && string(l["subject"]) == `"customer-C104"` && strings.Contains(string(l["data"]), "pii:v1:"):
			erased++
		case string(l["subject"]) == `"customer-C104"` && strings.Contains(string(l["data"]), "pii:v1:"):
			t.Errorf("the erased customer's line does not say so: %s", sc.Bytes())
		}
	}
	if opened == 0 || erased == 0 {
		t.Errorf("%d lines opened, %d marked erased; want some of each", opened, erased)
	}
	m := s.manifest(url.Values{"clear": {"true"}, "reason": {reason}})
	if !m.Clear || m.Reason != reason {
		t.Errorf("clear manifest: %+v", m)
	}

	// Appended before the first line was sent (not queued), with the
	// range (the manifest has the count): TestAuditExportClearRecordedFirst.
	if got := clearExports(s.storedAccessReads(events.AccessMonth(s.now()))); len(got) != 1 || got[0].StaffID != "U1" ||
		got[0].Role != "auditor" || !strings.Contains(got[0].Detail, reason) || !strings.HasPrefix(got[0].Detail, "positions ") {
		t.Errorf("the clear export's entries in the access record: %+v, want one of U1 with the range and the reason", got)
	}
}

// accessReads are the entries of month's access record, its queue
// appended first.
func (s *stack) accessReads(month string) []events.AccessRead {
	s.t.Helper()
	if err := s.srv.FlushAccess(s.t.Context()); err != nil {
		s.t.Fatal(err)
	}
	return s.storedAccessReads(month)
}

// storedAccessReads are the entries of month's access record in the
// store, without appending its queue.
func (s *stack) storedAccessReads(month string) []events.AccessRead {
	s.t.Helper()
	evs, err := s.store.ReadStream(s.t.Context(), events.AccessStream(month), 0, events.Forward, 1000)
	if events.ErrorCode(err) == events.NotFound {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var out []events.AccessRead
	for i := range evs {
		var d events.PersonalDataRead
		if err := json.Unmarshal(evs[i].Data, &d); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, d.Reads...)
	}
	return out
}

// clearExports are the export_clear entries of reads.
func clearExports(reads []events.AccessRead) []events.AccessRead {
	var out []events.AccessRead
	for _, r := range reads {
		if r.Action == "export_clear" {
			out = append(out, r)
		}
	}
	return out
}

// TestAuditExportRefused: bad input is 400 invalid naming its parameter,
// before anything is sent, and nothing is recorded.
func TestAuditExportRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedBook()
	head, _ := s.store.Head(t.Context())
	past := events.At(head.Seq() + 1).String()
	for _, c := range []struct {
		query string
		field string
	}{
		{"from_position=abc", "from_position"},
		{"to_position=-1", "to_position"},
		{"to_position=99999999999999999999999", "to_position"},
		{"from_position=5&to_position=4", "to_position"},
		{"to_position=" + past, "to_position"},
		{"from_position=" + past, "from_position"},
		{"from_position=1&from_position=2", "from_position"},
		{"clear=maybe&reason=audit+2026", "clear"},
		{"clear=true", "reason"},
		{"clear=true&reason=ab", "reason"},
		{"clear=true&reason=" + strings.Repeat("x", 501), "reason"},
		{"clear=true&reason=two%0Alines", "reason"},
		{"clear=true&reason=abc&reason=def", "reason"},
	} {
		for _, path := range []string{"/v1/audit/export?", "/v1/audit/export/manifest?"} {
			a := s.req("U1", "GET", path+c.query, nil)
			if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != c.field {
				t.Errorf("%s%s: %d %s, want 400 invalid naming %s", path, c.query, a.status, a.raw, c.field)
			}
			if a.header.Get("Trailer") != "" || bytes.Contains(a.raw, []byte("specversion")) {
				t.Errorf("%s%s: export begun: %v %.200s", path, c.query, a.header, a.raw)
			}
		}
	}
	if got := clearExports(s.accessReads(events.AccessMonth(s.now()))); len(got) != 0 {
		t.Errorf("a refused export is in the access record: %+v", got)
	}
	// 3 to 500 characters, not bytes: 500 Hangul syllables are a reason.
	if a := s.export(url.Values{"clear": {"true"}, "reason": {strings.Repeat("법", 500)}}); a.status != 200 {
		t.Errorf("a reason of 500 characters: %d %s", a.status, a.body)
	}
}

// ledgerFails is a store whose reads of the ledger stream fail once armed.
type ledgerFails struct {
	api.Store
	armed *atomic.Bool
}

func (s ledgerFails) ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error) {
	if stream == events.LedgerStream && s.armed.Load() {
		return nil, events.Errorf(events.Unavailable, "ledger unreadable")
	}
	return s.Store.ReadStream(ctx, stream, from, dir, limit)
}

// TestAuditExportCutShort: an export that fails after its first lines
// went out ends without its trailers (so the client knows), and an export
// in clear cut short is still in the access record.
func TestAuditExportCutShort(t *testing.T) {
	armed := new(atomic.Bool)
	s := newStack(t, stackOptions{configure: func(c *api.Config) { c.Store = ledgerFails{c.Store, armed} }})
	s.seedBook()
	s.sealNow()
	head, _ := s.store.Head(t.Context())
	armed.Store(true) // the covering seal is read after the lines are sent

	const reason = "cut short on purpose"
	a := s.export(url.Values{"to_position": {head.String()}, "clear": {"true"}, "reason": {reason}})
	if a.status != 200 || len(exportedEvents(t, a.body)) == 0 {
		t.Fatalf("export: %d, %d bytes", a.status, len(a.body))
	}
	if a.trailer.Get("Dangol-Count") != "" || a.trailer.Get("Dangol-Sha256") != "" {
		t.Errorf("an export cut short has trailers %v", a.trailer)
	}
	if got := clearExports(s.storedAccessReads(events.AccessMonth(s.now()))); len(got) != 1 || !strings.Contains(got[0].Detail, reason) {
		t.Errorf("the clear export cut short in the access record: %+v, want its entry with the reason", got)
	}
	// Before anything is sent, the failure is an ordinary error answer.
	if m := s.req("U1", "GET", "/v1/audit/export", nil); m.status != 503 || m.errCode() != "unavailable" {
		t.Errorf("export whose range cannot be read: %d %s", m.status, m.raw)
	}
}
