package api_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestDuplicatesWithheld: what the likely duplicates leave out is listed
// for a centre head (nobody else): the customers with a placeholder phone
// and a phone and birth date held by more than 50 customers, as counts and
// the first 20 ids, never the values; the crowded group lists no pair.
func TestDuplicatesWithheld(t *testing.T) {
	s := newStack(t, stackOptions{})
	empty := s.must("H1", "GET", "/v1/duplicates/withheld", nil, 200)
	if got := fmt.Sprint(empty); got != "map[crowded:[] placeholderPhones:map[customers:0 sample:[]]]" {
		t.Fatalf("with no customers: %s", got)
	}
	for _, id := range []string{"P1", "P2"} {
		c := newCustomer(id)
		c["phone"] = "010-0000-0000"
		s.must("R1", "POST", "/v1/customers", c, 201)
	}
	var crowd []string
	for i := 1; i <= 51; i++ {
		id := fmt.Sprintf("C%02d", i)
		crowd = append(crowd, id)
		c := newCustomer(id)
		c["phone"] = "02-3456-7890"
		s.must("R1", "POST", "/v1/customers", c, 201)
	}
	s.must("R1", "POST", "/v1/customers", newCustomer("Z1"), 201) // a phone of its own
	s.awaitApplied()

	for _, who := range []string{"R1", "S1", "U1", "A001"} {
		if a := s.req(who, "GET", "/v1/duplicates/withheld", nil); a.status != 403 {
			t.Errorf("%s read the withheld values: %d", who, a.status)
		}
	}
	got, err := json.Marshal(s.must("H1", "GET", "/v1/duplicates/withheld", nil, 200))
	if err != nil {
		t.Fatal(err)
	}
	sample, _ := json.Marshal(crowd[:20])
	want := `{"crowded":[{"customers":51,"sample":` + string(sample) + `}],"placeholderPhones":{"customers":2,"sample":["P1","P2"]}}`
	if string(got) != want {
		t.Errorf("withheld:\n got %s\nwant %s", got, want)
	}
	if page := s.must("H1", "GET", "/v1/duplicates", nil, 200); len(page["items"].([]any)) != 0 {
		t.Errorf("the crowded group and the placeholders were paired: %s", page)
	}
}
