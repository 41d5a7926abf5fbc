package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
)

// seedSink appends a generated bank to the stack's log, leaving out the
// staff the stack registered already (the harness's X1 is the seed's
// auditor's id).
type seedSink struct{ s events.Store }

func (k seedSink) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	res, err := k.s.Append(ctx, stream, expected, evs...)
	if cat, _ := events.StreamID(stream); cat == events.CategoryStaff && events.ErrorCode(err) == events.Conflict {
		return res, nil
	}
	return res, err
}

// TestCampaignSeededBankOverAPI seeds a bank (sealed as `dangol seed`
// seals it) into a running server and reads its campaigns' outcomes over
// HTTP: every funnel adds up, each report equals the one a fresh Memory
// folds from the same log (on PostgreSQL, the read store's against
// Memory's), the target lists page to the funnels' counts, and the report
// is the campaigners' and the auditor's, not a rep's.
func TestCampaignSeededBankOverAPI(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true}) // the segmentation job would re-tier the bank
	ctx := t.Context()
	cfg := seed.Config{Customers: 5000, Seed: 3, Seal: func(id string) func(events.Personal) error { return s.sealer.SealFor(ctx, id) }}
	if _, err := seed.Generate(ctx, cfg, seedSink{s.store}); err != nil {
		t.Fatal(err)
	}
	s.awaitApplied()
	m := foldLog(t, s)
	for _, id := range []string{seed.CampaignWedding, seed.CampaignLife, seed.CampaignCard} {
		a := s.req("M1", "GET", "/v1/reports/campaigns/"+id, nil)
		if a.status != 200 {
			t.Fatalf("GET the report of %s as M1: %d %s", id, a.status, a.raw)
		}
		var got projections.CampaignReport
		if err := json.Unmarshal(a.raw, &got); err != nil {
			t.Fatal(err)
		}
		for _, p := range seed.FunnelProblems(got) {
			t.Errorf("%s over the API: %s", id, p)
		}
		want, err := m.CampaignReport(ctx, id, s.now())
		if err != nil {
			t.Fatal(err)
		}
		got.Campaign.Status, want.Campaign.Status = "", "" // each at its own now
		if !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, want)) {
			t.Errorf("%s: the API's report\n%s\nMemory's\n%s", id, jsonOf(t, got), jsonOf(t, want))
		}
		if n := s.countTargets("M1", id); n != got.Funnel.Targets+got.HoldOut.Targets {
			t.Errorf("%s: %d targets listed, the funnels count %d and %d", id, n, got.Funnel.Targets, got.HoldOut.Targets)
		}
		t.Logf("%s: funnel %+v, hold-out %+v", id, got.Funnel, got.HoldOut)
	}
	if got := s.req("U1", "GET", "/v1/reports/campaigns/"+seed.CampaignWedding, nil).status; got != 200 {
		t.Errorf("the auditor reads the report: %d", got)
	}
	for _, who := range []string{"R1", "P1", "S1"} {
		if got := s.req(who, "GET", "/v1/reports/campaigns/"+seed.CampaignWedding, nil).status; got != 403 {
			t.Errorf("%s reads the campaign report: %d, want 403", who, got)
		}
	}
}

// foldLog folds the stack's whole log, opened with its keys, into a fresh
// Memory.
func foldLog(t *testing.T, s *stack) *projections.Memory {
	t.Helper()
	all, err := s.store.ReadAll(t.Context(), events.Start, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	m := projections.NewMemory()
	for i := range all {
		d, err := s.sealer.OpenEnvelope(t.Context(), &all[i])
		if err != nil {
			t.Fatalf("%s@%d: %v", all[i].Stream, all[i].Version, err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
	}
	return m
}

// countTargets pages through campaign id's whole list as who.
func (s *stack) countTargets(who, id string) int {
	s.t.Helper()
	n := 0
	for after := ""; ; {
		q := url.Values{"limit": {"1000"}}
		if after != "" {
			q.Set("after", after)
		}
		page := s.must(who, "GET", "/v1/campaigns/"+id+"/targets?"+q.Encode(), nil, 200)
		items, _ := page["items"].([]any)
		n += len(items)
		next, _ := page["next"].(string)
		if next == "" {
			return n
		}
		after = next
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
