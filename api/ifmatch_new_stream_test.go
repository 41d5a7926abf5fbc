package api_test

import "testing"

// TestIfMatchOnNewStream: a write that starts a stream (registering a
// customer, launching a campaign) appends with NoStream; an If-Match there
// replaced it, so If-Match "0" appended a second CustomerRegistered to an
// existing customer (found in review). It is refused and nothing is
// appended.
func TestIfMatchOnNewStream(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	head := s.head()
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers", newCustomer("C1"), 400, "invalid", "If-Match", `"0"`),
		"If-Match", "new stream")
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers", newCustomer("C2"), 400, "invalid", "If-Match", `"0"`),
		"If-Match", "new stream")
	if h := s.head(); h != head {
		t.Errorf("registrations with If-Match appended %v", s.appendedSince(head))
	}
	if c := s.must("R1", "GET", "/v1/customers/C1", nil, 200); c["version"] != float64(0) {
		t.Errorf("C1 after a registration with If-Match: version %v", c["version"])
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201) // without it, as before
}
