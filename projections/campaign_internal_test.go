package projections

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestInHoldOutAsEvents: the fold's allocation-free hold-out choice is
// events.InHoldOut's, for every percent.
func TestInHoldOutAsEvents(t *testing.T) {
	var buf []byte
	held := 0
	for i := range 20_000 {
		campaign, customer, pct := fmt.Sprintf("K%d", i%7), fmt.Sprintf("C%06d", i), i%52
		var got bool
		got, buf = inHoldOut(buf, campaign, customer, pct)
		if want := events.InHoldOut(campaign, customer, pct); got != want {
			t.Fatalf("inHoldOut(%s, %s, %d) = %v, events.InHoldOut %v", campaign, customer, pct, got, want)
		}
		if got {
			held++
		}
	}
	if held < 4000 || held > 6000 { // about 25 % on average
		t.Errorf("%d of 20000 held out", held)
	}
}
