package events_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// The catalog tests (catalog_test.go) hold an example and every broken rule
// of the campaign types and of ProductPitched's consent fields; these cover
// the helpers the projections and the API share: the consent a channel
// needs, the hold-out hash, the attribution window and gating.

func TestConsentChannelFor(t *testing.T) {
	want := map[string]string{
		"phone_inbound": "phone", "phone_outbound": "phone", "sms": "sms", "email": "email",
		"branch": "", "internet": "", "mobile": "", "atm": "",
	}
	if len(want) != len(events.Channels) {
		t.Fatalf("the test knows %d channels, the catalog has %d: say what a new one needs", len(want), len(events.Channels))
	}
	for _, ch := range events.Channels {
		w, ok := want[ch]
		if !ok {
			t.Errorf("channel %q: the test does not say which consent it needs", ch)
			continue
		}
		if got := events.ConsentChannelFor(ch); got != w {
			t.Errorf("ConsentChannelFor(%q) = %q, want %q", ch, got, w)
		}
		if w != "" && !slices.Contains(events.ConsentChannels, w) {
			t.Errorf("ConsentChannelFor(%q) = %q is not a consent channel", ch, w)
		}
	}
	if got := events.ConsentChannelFor("post"); got != "" {
		t.Errorf("post is a consent channel, not a contact channel: ConsentChannelFor = %q", got)
	}
}

// TestInHoldOutVectors pins the hash to values computed outside Go
// (Python's hashlib: int.from_bytes(sha256(b"CMP-WED-2027\x00C1003")
// .digest()[:8], "big") % 10000 is 844), so that every store and release
// chooses the same group.
func TestInHoldOutVectors(t *testing.T) {
	for _, tc := range []struct {
		campaign, customer string
		bucket             int // the hash modulo 10,000
	}{
		{"CMP-WED-2027", "C1001", 6113},
		{"CMP-WED-2027", "C1002", 5503},
		{"CMP-WED-2027", "C1003", 844},
		{"CMP-WED-2027", "C1004", 2574},
		{"CMP-WED-2027", "C1005", 1965},
		{"CMP-VIP-KEEP", "C1001", 3055},
	} {
		// In at the first percent whose 100 × percent exceeds the bucket.
		first := tc.bucket/100 + 1
		for _, p := range []int{0, first - 1, first, events.MaxHoldOutPercent} {
			want := p > 0 && tc.bucket < 100*p
			if got := events.InHoldOut(tc.campaign, tc.customer, p); got != want {
				t.Errorf("InHoldOut(%s, %s, %d) = %v, want %v (bucket %d)", tc.campaign, tc.customer, p, got, want, tc.bucket)
			}
		}
	}
}

// TestInHoldOutShare: the group is about the percent asked for, grows with
// it (a customer held out at p is held out at every larger p), differs
// between campaigns, and is the same on every call.
func TestInHoldOutShare(t *testing.T) {
	const n = 20000
	held := map[int]int{}
	bothCampaigns := 0
	for i := range n {
		id := fmt.Sprintf("C%06d", i)
		prev := false
		for p := 0; p <= events.MaxHoldOutPercent; p++ {
			in := events.InHoldOut("CMP-A", id, p)
			if in != events.InHoldOut("CMP-A", id, p) {
				t.Fatalf("InHoldOut(CMP-A, %s, %d) changed between calls", id, p)
			}
			if prev && !in {
				t.Fatalf("%s is held out at %d%% but not at %d%%", id, p-1, p)
			}
			prev = in
			if in {
				held[p]++
			}
		}
		if events.InHoldOut("CMP-A", id, 10) && events.InHoldOut("CMP-B", id, 10) {
			bothCampaigns++
		}
	}
	if held[0] != 0 {
		t.Errorf("%d held out at 0%%", held[0])
	}
	for _, p := range []int{1, 10, 25, 50} {
		// Binomial: the standard deviation at 50% of 20,000 is about 71.
		want := n * p / 100
		if d := held[p] - want; d < -400 || d > 400 {
			t.Errorf("%d of %d held out at %d%%, want about %d", held[p], n, p, want)
		}
	}
	// Independent campaigns: about 1% are in both 10% groups, not 10%.
	if bothCampaigns > n/50 {
		t.Errorf("%d customers are in both campaigns' 10%% hold-outs: the campaign id does not enter the hash", bothCampaigns)
	}
	if events.InHoldOut("CMP-A", "C000001", -5) {
		t.Error("a negative percent holds customers out")
	}
}

func TestCampaignAttribution(t *testing.T) {
	for days, want := range map[int]time.Duration{
		0:                         30 * 24 * time.Hour,
		1:                         24 * time.Hour,
		45:                        45 * 24 * time.Hour,
		events.MaxAttributionDays: 365 * 24 * time.Hour,
	} {
		d := &events.CampaignLaunched{AttributionDays: days}
		if got := d.Attribution(); got != want {
			t.Errorf("Attribution with attributionDays %d = %v, want %v", days, got, want)
		}
	}
}

func TestProductPitchedGated(t *testing.T) {
	for _, tc := range []struct {
		campaign, purpose string
		gated             bool
	}{
		{"", "", false}, // an earlier release's pitch
		{"", "service", false},
		{"", "marketing", true},
		{"CMP-WED-2027", "", true},
		{"CMP-WED-2027", "marketing", true},
	} {
		d := &events.ProductPitched{Product: "LOAN-WED", Channel: "sms", Outcome: "accepted", CampaignID: tc.campaign, Purpose: tc.purpose}
		if err := d.Validate(); err != nil {
			t.Errorf("campaign %q purpose %q: %v", tc.campaign, tc.purpose, err)
		}
		if got := d.Gated(); got != tc.gated {
			t.Errorf("campaign %q purpose %q: Gated() = %v, want %v", tc.campaign, tc.purpose, got, tc.gated)
		}
	}
}

// TestCampaignValidateTrims: Validate of Go values (as the API builds them)
// trims and checks nested criteria with the paths the console shows.
func TestCampaignValidateTrims(t *testing.T) {
	d := &events.CampaignAmended{Name: "  Spring  ", Criteria: &events.CampaignCriteria{BranchIDs: []string{" B01 "}}, Reason: " wider "}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != "Spring" || d.Criteria.BranchIDs[0] != "B01" || d.Reason != "wider" {
		t.Errorf("not trimmed: %+v %+v", d, d.Criteria)
	}
	for _, tc := range []struct {
		d     events.Data
		field string
	}{
		{&events.CampaignAmended{Name: "x"}, "criteria"},
		{&events.CampaignAmended{Name: "x", Criteria: &events.CampaignCriteria{LifeEventWithinDays: 10}}, "criteria.lifeEventWithinDays"},
		{&events.CampaignLaunched{CampaignID: "C1", Name: "x", Product: "P", Channel: "sms", StartsOn: "2027-01-10",
			Criteria: &events.CampaignCriteria{MinBalance: ptr(int64(-1))}}, "criteria.minBalance"},
		{&events.CampaignLaunched{CampaignID: "C1", Name: "x", Product: "P", Channel: "sms", StartsOn: "2027-01-10",
			Criteria: &events.CampaignCriteria{}, HoldOutPercent: events.MaxHoldOutPercent + 1}, "holdOutPercent"},
		{&events.ProductPitched{Product: "P", Channel: "sms", Outcome: "accepted", CampaignID: "C1", Purpose: "service"}, "purpose"},
	} {
		assertInvalid(t, tc.d.Validate(), tc.field)
	}
}

func ptr[T any](v T) *T { return &v }

// TestInHoldOutAllocates: a launch judges a million customers; the choice
// allocates nothing (it allocated four times per call, so the fold kept a
// copy of its own).
func TestInHoldOutAllocates(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { events.InHoldOut("CMP-WED-2027", "C0001234", 10) }); n != 0 {
		t.Errorf("InHoldOut allocates %v times per call", n)
	}
}
