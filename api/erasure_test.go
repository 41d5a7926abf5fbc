package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestErasure: after erasure the customer's view keeps its shape with the
// personal fields read as erased, the timeline shows none of them, every
// chain still verifies, and all of it holds after a restart (the key is
// gone, not merely hidden).
func TestErasure(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("적금 만기 안내"), 201)
	if a := s.req("R1", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "request", "requestedBy": "C1"}); a.status != 403 {
		t.Fatalf("a rep erased a customer: %d %s", a.status, a.raw)
	}
	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	check := func(s *stack) {
		t.Helper()
		v := s.must("R1", "GET", "/v1/customers/C1", nil, 200)
		if v["name"] != "[erased]" || v["erased"] != true || v["phone"] != nil && v["phone"] != "" || v["branchId"] != "B001" {
			t.Fatalf("erased view %v", v)
		}
		tl := s.must("R1", "GET", "/v1/customers/C1/timeline", nil, 200)
		if strings.Contains(fmt.Sprint(tl), "김민준") || strings.Contains(fmt.Sprint(tl), "적금") {
			t.Fatalf("timeline still shows personal data: %v", tl)
		}
		if ok := s.must("U1", "GET", "/v1/audit/verify", nil, 200); ok["ok"] != true {
			t.Fatalf("verify after erasure: %v", ok)
		}
	}
	check(s)
	check(s.restart())
}
