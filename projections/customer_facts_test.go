package projections_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// TestFactsPreviewAsTheRecord: on a generated bank, a campaign preview
// over customers restored from their facts (MarshalFacts, UnmarshalFacts)
// counts exactly as one over the fold's whole records, for every kind of
// criterion, each channel, with and without a hold-out, at several
// clocks; the facts hold no personal field, and encode again to the same
// bytes.
func TestFactsPreviewAsTheRecord(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	projectionstest.Generate(t, s, 400, end)
	m := projectionstest.Fold(t, s)

	all, _ := m.Customers.List(projections.CustomerFilter{Limit: 1 << 20}, end)
	var facts []projections.CustomerRecord
	products, branches := map[string]bool{}, map[string]bool{}
	for _, c := range all {
		r, ok := m.Customers.Record(c.ID)
		if !ok {
			t.Fatalf("no record of %s", c.ID)
		}
		b := r.MarshalFacts()
		var f projections.CustomerRecord
		if err := f.UnmarshalFacts(b); err != nil {
			t.Fatalf("facts of %s: %v", c.ID, err)
		}
		if again := f.MarshalFacts(); !bytes.Equal(again, b) {
			t.Fatalf("the facts of %s's facts differ: %x, want %x", c.ID, again, b)
		}
		js, _ := json.Marshal(f)
		var v struct{ Name, Phone, Email, Address string }
		json.Unmarshal(js, &v)
		if v != (struct{ Name, Phone, Email, Address string }{}) || bytes.Contains(js, []byte(`"timeline"`)) {
			t.Fatalf("the facts of %s hold personal data or the timeline: %s", c.ID, js)
		}
		facts = append(facts, f)
		view, _ := m.Customers.Customer(c.ID, end)
		for _, h := range view.Holdings {
			products[h.Product] = true
		}
		branches[c.BranchID] = true
	}
	restored := projections.NewCampaigns(projections.RestoreCustomers(facts))

	var product, branch string
	for p := range products {
		product = max(product, p)
	}
	for b := range branches {
		branch = max(branch, b)
	}
	if product == "" || branch == "" {
		t.Fatalf("the bank holds no product (%q) or branch (%q)", product, branch)
	}
	criteria := []events.CampaignCriteria{
		{},
		{Tiers: []string{"vip", "potential_vip"}},
		{LifeEvents: []string{"child_wedding", "birth"}},
		{LifeEvents: []string{"child_wedding", "birth", "retirement"}, LifeEventWithinDays: 90},
		{NotHolding: []string{product}},
		{BranchIDs: []string{branch}},
		{MinBalance: &[]int64{50_000_000}[0]},
		{NoContactDays: 60},
		{Tiers: []string{"general"}, NoContactDays: 30, MinBalance: &[]int64{1}[0]},
	}
	seen := 0
	for _, now := range []time.Time{end, end.AddDate(0, 2, 0), end.AddDate(0, -1, 0)} {
		for i, cr := range criteria {
			for _, ch := range []string{"phone_outbound", "sms", "email", "branch"} {
				for _, held := range []int{0, 20} {
					d := &events.CampaignLaunched{CampaignID: fmt.Sprintf("F%d", i), Criteria: &cr, Channel: ch, HoldOutPercent: held}
					want := m.Marketing.Preview(d, now)
					got := restored.Preview(d, now)
					wj, _ := json.Marshal(want)
					gj, _ := json.Marshal(got)
					if !bytes.Equal(wj, gj) {
						t.Fatalf("preview of %+v by %s held out %d%% at %s:\nfacts %s\nwhole %s", cr, ch, held, now, gj, wj)
					}
					seen += want.Targets
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("every preview was empty")
	}
}

// TestFactsDecodingErrors: facts cut short, with bytes left over or of
// an unknown version are errors, never a record.
func TestFactsDecodingErrors(t *testing.T) {
	m := projections.NewMemory()
	for _, d := range []events.Data{
		&events.CustomerRegistered{CustomerID: "C1", Name: "N", BranchID: "B01", Source: events.Source{System: "core"}},
		&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: &[]int64{7}[0], ProfitContribution: &[]int64{1}[0], Currency: "KRW"},
		&events.ProductHoldingChanged{Product: "P1", AccountRef: "A1", Change: "opened"},
		&events.LifeEventRecorded{Kind: "birth", ExpectedOn: "2027-01-01"},
	} {
		e := &events.Envelope{Stream: events.CustomerStream("C1"), Type: d.EventType()}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: e, Data: d})
		}
	}
	r, _ := m.Customers.Record("C1")
	b := r.MarshalFacts()
	var f projections.CustomerRecord
	for i := range len(b) {
		if err := f.UnmarshalFacts(b[:i]); err == nil {
			t.Errorf("facts cut to %d of %d bytes decoded", i, len(b))
		}
	}
	if err := f.UnmarshalFacts(append(b[:len(b):len(b)], 0)); err == nil {
		t.Error("facts with a byte left over decoded")
	}
	other := append([]byte{9}, b[1:]...)
	if err := f.UnmarshalFacts(other); err == nil {
		t.Error("facts of version 9 decoded")
	}
	if err := f.UnmarshalFacts(b); err != nil {
		t.Fatal(err)
	}
}
