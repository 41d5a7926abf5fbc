package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/dangol/dangol/api"
)

// TestMinPositionBeyondHead: a Dangol-Min-Position the log has not reached
// is refused at once with 400 invalid naming the header (no write was ever
// answered with it), and the thousands of such requests leave no waiter
// behind on the read side; positions up to the head are still waited for.
func TestMinPositionBeyondHead(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	w := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	own := fmt.Sprint(int64(w["position"].(float64)))
	if v := s.must("P1", "GET", "/v1/customers/C1", nil, 200, api.MinPositionHeader, own); v["id"] != "C1" {
		t.Fatalf("read at the own write's position: %v", v)
	}
	head := int64(s.head())
	refused := func(a answer) error {
		if a.status != 400 || a.errCode() != "invalid" || a.errDetails()["field"] != api.MinPositionHeader {
			return fmt.Errorf("%d %s, want 400 invalid naming %s", a.status, a.raw, api.MinPositionHeader)
		}
		return nil
	}
	// One first, on the test's goroutine: before the fix it waited out the
	// bound and answered 503.
	for _, ahead := range []string{fmt.Sprint(head + 1), fmt.Sprintf("%d/%d", head, head+1), "18446744073709551615"} {
		if err := refused(s.req("R1", "GET", "/v1/customers/C1", nil, api.MinPositionHeader, ahead)); err != nil {
			t.Fatalf("position %s beyond the head %d: %v", ahead, head, err)
		}
	}

	const n, workers = 5000, 8
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				path := []string{"/v1/customers/C1", "/v1/worklist", "/v1/customers/C1/timeline", "/v1/coaching"}[i%4]
				a, err := s.send("R1", "GET", path, nil, api.MinPositionHeader, fmt.Sprint(head+1+int64(i)))
				if err == nil {
					err = refused(a)
				}
				if err != nil {
					errs <- fmt.Errorf("GET %s: %w", path, err)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waiting, ok := s.progress.(interface{ Waiters() int })
	if !ok {
		t.Fatalf("the read side %T does not count its waiters", s.progress)
	}
	if got := waiting.Waiters(); got != 0 {
		t.Fatalf("after %d requests beyond the head, %d waiters are left on the read side; want 0", n, got)
	}
	// Reads at or below the head are still answered.
	s.must("R1", "GET", "/v1/customers/C1", nil, 200, api.MinPositionHeader, fmt.Sprint(head))
	if a := s.req("R1", "GET", "/v1/customers/C1", nil, api.MinPositionHeader, "soon"); a.status != 400 {
		t.Fatalf("malformed position: %d %s", a.status, a.raw)
	}
}
