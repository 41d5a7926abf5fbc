package events_test

import (
	"testing"

	"github.com/dangol/dangol/events"
)

func TestStreams(t *testing.T) {
	for _, tc := range []struct {
		stream, category, id string
	}{
		{events.CustomerStream("C1001"), "customer", "C1001"},
		{events.CallStream("CALL-8812"), "call", "CALL-8812"}, // ids may hold '-'
		{events.StaffStream("R017"), "staff", "R017"},
		{events.CampaignStream("CMP_1"), "campaign", "CMP_1"},
		{events.LedgerStream, "ledger", ""},
		{events.AccessStream("2026-11"), "access", "2026-11"},
		{events.AccessCheckStream("2026-11"), "access", "check-2026-11"},
	} {
		if !events.ValidStream(tc.stream) {
			t.Errorf("%q is not a valid stream name", tc.stream)
		}
		if c, id := events.StreamID(tc.stream); c != tc.category || id != tc.id {
			t.Errorf("StreamID(%q) = %q, %q; want %q, %q", tc.stream, c, id, tc.category, tc.id)
		}
	}
	if events.CustomerStream("C1") != "customer-C1" || events.CallStream("X") != "call-X" ||
		events.StaffStream("X") != "staff-X" || events.CampaignStream("X") != "campaign-X" || events.LedgerStream != "ledger" {
		t.Error("stream names differ from shared/DESIGN.md")
	}
	for _, c := range []string{events.CategoryCustomer, events.CategoryCall, events.CategoryStaff, events.CategoryCampaign} {
		if got, _ := events.StreamID(c + "-x"); got != c {
			t.Errorf("category %q does not round-trip", c)
		}
	}
}
