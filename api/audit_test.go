package api_test

import (
	"fmt"
	"testing"
)

// TestAudit: a stream read page by page with its hashes, the whole log
// page by page in position order, and the chain's verification.
func TestAudit(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	for i := range 9 {
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprintf("통화 %d", i)), 201)
	}

	st := s.must("U1", "GET", "/v1/audit/streams/customer-C1?from_version=3&limit=5", nil, 200)
	evs := st["events"].([]any)
	if len(evs) != 5 || evs[0].(map[string]any)["version"] != 3.0 || st["nextFromVersion"] != 8.0 {
		t.Fatalf("stream page %v", st)
	}
	for _, e := range evs {
		if h := e.(map[string]any)["hash"].(string); len(h) != 64 {
			t.Fatalf("event without hash: %v", e)
		}
	}
	logAll := s.logEvents(0)
	var paged []float64
	from := "0"
	for {
		page := s.must("U1", "GET", "/v1/audit/log?limit=7&from_position="+from, nil, 200)
		for _, e := range page["events"].([]any) {
			paged = append(paged, e.(map[string]any)["position"].(float64))
		}
		nf, ok := page["nextFromPosition"]
		if !ok {
			break
		}
		from = fmt.Sprint(nf)
	}
	if len(paged) != len(logAll) {
		t.Fatalf("log pages gave %d events, the log has %d", len(paged), len(logAll))
	}
	for i, p := range paged {
		if p != float64(i+1) {
			t.Fatalf("log positions %v", paged)
		}
	}
	ver := s.must("U1", "GET", "/v1/audit/verify", nil, 200)
	if ver["ok"] != true || ver["checked"] != float64(len(logAll)) || ver["head"] != float64(len(logAll)) || ver["firstBad"] != nil {
		t.Fatalf("verify %v (log has %d events)", ver, len(logAll))
	}
}
