package projections_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestCampaignTargetHoldsProduct: a target who opens the campaign's product
// after the attribution window is not the campaign's conversion (OpenedAt
// stays zero) but holds it: HoldsProduct, and no worklist calls them to
// sell it (found by the lifecycle test: they stayed tagged). Closing the
// account clears it.
func TestCampaignTargetHoldsProduct(t *testing.T) {
	l := newCmpLog(t)
	l.register("C1", "B01", "vip")
	d := launch("K1", events.CampaignCriteria{})
	d.AttributionDays = 7
	l.campaign("K1", d)
	l.add(8 * 24 * time.Hour)
	l.customer("C1", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "opened"})
	got := l.target("K1", "C1")
	if !got.OpenedAt.IsZero() || !got.HoldsProduct {
		t.Errorf("opened after the window: openedAt %v, holdsProduct %v; want zero, true", got.OpenedAt, got.HoldsProduct)
	}
	l.customer("C1", &events.ProductHoldingChanged{Product: "OTHER", AccountRef: "A2", Change: "opened"})
	l.customer("C1", &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "A1", Change: "closed"})
	if got := l.target("K1", "C1"); got.HoldsProduct {
		t.Errorf("after the account closed: holdsProduct %v", got.HoldsProduct)
	}
}

// TestLargestBook: the advisor with the most customers, the smallest id
// among equals; none without advisors.
func TestLargestBook(t *testing.T) {
	cs := projections.NewCustomers()
	if a, n := cs.LargestBook(); a != "" || n != 0 {
		t.Errorf("no customers: %q %d", a, n)
	}
	l := newCmpLog(t)
	for i, adv := range []string{"R2", "R1", "R2", "R1", "R3"} {
		id := "C" + string(rune('1'+i))
		l.register(id, "B01", "general")
		l.customer(id, &events.AdvisorAssigned{AdvisorID: adv, Kind: "call_centre_rep"})
	}
	if a, n := l.m.Customers.LargestBook(); a != "R1" || n != 2 {
		t.Errorf("LargestBook = %q %d, want R1 2", a, n)
	}
}
