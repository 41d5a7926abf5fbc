package api_test

import "testing"

// TestAuditParamsOnce: a query parameter of an auditor's route given twice
// is 400 invalid naming it, and appends nothing (neither the access
// record's flush nor anything else): the route never answers the first of
// two values silently (which month's record, which position's proof).
func TestAuditParamsOnce(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.sealNow()
	s.must("R1", "GET", "/v1/customers/C101", nil, 200) // a read queued: a flush would append it
	head := s.head()
	for _, c := range []struct{ path, field string }{
		{"/v1/audit/access?month=2026-11&month=2026-10", "month"},
		{"/v1/audit/access?month=2026-11&staff=R1&staff=R2", "staff"},
		{"/v1/audit/access/check?month=2026-11&month=2026-10", "month"},
		{"/v1/audit/proofs/inclusion?position=1&position=2", "position"},
		{"/v1/audit/proofs/inclusion?position=1&seal=0&seal=0", "seal"},
		{"/v1/audit/proofs/consistency?from_seal=0&from_seal=1", "from_seal"},
		{"/v1/audit/seals?limit=1&limit=1000", "limit"},
		{"/v1/audit/streams/customer-C101?from_version=0&from_version=1", "from_version"},
		{"/v1/audit/log?limit=1&limit=2", "limit"},
		{"/v1/audit/verify?seal_hash=a&seal_hash=b", "seal_hash"},
		{"/v1/audit/export/manifest?to_position=3&to_position=4", "to_position"},
	} {
		a := s.req("U1", "GET", c.path, nil)
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != c.field {
			t.Errorf("%s: %d %s, want 400 invalid naming %s", c.path, a.status, a.raw, c.field)
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Errorf("refused requests appended %v", evs)
	}
}
