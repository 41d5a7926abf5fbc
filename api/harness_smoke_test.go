package api_test

import "testing"

func TestHarnessSmoke(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	l := s.subscribe("U1", []string{"log"}, new(float64))
	s.waitUntil("the log subscriber sees the registration", func() bool { return len(l.received()) > 0 })
	l.finish(t)
	s = s.restart()
	if v := s.must("R1", "GET", "/v1/customers/C1", nil, 200); v["name"] != "김민준 C1" {
		t.Fatalf("after restart %v", v)
	}
}

func TestHarnessTokens(t *testing.T) {
	s := newStack(t, stackOptions{})
	if a := s.req("expired", "GET", "/v1/worklist", nil); a.status != 401 {
		t.Fatalf("expired token: %d %s", a.status, a.raw)
	}
	for _, id := range []string{"A001", "R1", "U1"} {
		if a := s.req(id, "GET", "/v1/staff/"+id, nil); a.status == 401 {
			t.Fatalf("%s: %d %s", id, a.status, a.raw)
		}
	}
}
