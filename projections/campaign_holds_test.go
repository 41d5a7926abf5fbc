package projections_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
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
