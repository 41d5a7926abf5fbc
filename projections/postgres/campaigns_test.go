package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// addCampaigns launches two campaigns over a generated bank (one with a
// hold-out, amended; one closed) and a few events that move targets.
func addCampaigns(t testing.TB, s events.Store) {
	t.Helper()
	startsOn := seedEnd.Format(time.DateOnly)
	appendData(t, s, events.CampaignStream("CMP-A"), &events.CampaignLaunched{CampaignID: "CMP-A", Name: "Lift to VIP",
		Product: "LOAN-A", Criteria: &events.CampaignCriteria{Tiers: []string{"potential_vip", "vip"}}, Channel: "phone_outbound",
		StartsOn: startsOn, HoldOutPercent: 20},
		&events.CampaignAmended{Name: "Lift to VIP (amended)", Criteria: &events.CampaignCriteria{Tiers: []string{"potential_vip"}}})
	appendData(t, s, events.CampaignStream("CMP-B"), &events.CampaignLaunched{CampaignID: "CMP-B", Name: "Everyone",
		Product: "CARD-X", Criteria: &events.CampaignCriteria{}, Channel: "branch", StartsOn: startsOn},
		&events.CampaignClosed{Reason: "done"})
	for i := 10; i < 20; i++ {
		id := fmt.Sprintf("C%07d", i)
		appendData(t, s, events.CustomerStream(id),
			&events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: ptrTo(i%2 == 0)},
			&events.TierAssigned{Tier: "potential_vip", Basis: events.TierBasis{DepositBalance: ptrTo(int64(1)), ProfitContribution: ptrTo(int64(1)), Rule: "test"}},
			&events.ProductHoldingChanged{Product: "LOAN-A", AccountRef: "L" + id, Change: "opened"})
	}
}

func ptrTo[T any](v T) *T { return &v }

// targetRows returns how many target rows the tables hold.
func targetRows(t testing.TB, db *pgx.Conn) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM dangol_rm.rm_campaign_targets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCampaignRows: the writer writes the campaigns, targets and tier
// migration report the folds hold, and every campaign query answers as
// Memory does; tables written by an earlier release (no campaign rows, no
// tier migration row) are filled by a writer of this release once its
// folds hold the tables' checkpoint, without a new event and without
// moving the checkpoint; their customer rows (no facts) are previewed from
// their whole state until the writer rewrites them.
func TestCampaignRows(t *testing.T) {
	ctx := context.Background()
	s := logStore(t, 150)
	addCampaigns(t, s)
	url := pgtest.Database(t)
	db := conn(t, url)
	st := openStore(t, url, postgres.Options{MaxBatch: 211})
	stop := run(t, st, s)
	waitHead(t, st, s)
	ref, x := memory(t, s), logIDs(t, s)
	now := seedEnd.Add(time.Hour)
	sameAnswers(t, render(t, ref, x, now), render(t, st, x, now))
	targets := foldTargets(t, ref, "CMP-A", "CMP-B")
	if n := targetRows(t, db); n != targets {
		t.Fatalf("%d target rows, the folds hold %d", n, targets)
	}
	stop()

	at := st.Position()
	for _, sql := range []string{
		"DROP TABLE dangol_rm.rm_campaigns, dangol_rm.rm_campaign_targets",
		"ALTER TABLE dangol_rm.rm_customers DROP COLUMN facts",
		"DELETE FROM dangol_rm.rm_aggregates WHERE name = 'tier-migration'",
		"DELETE FROM dangol_rm.rm_schema_migrations WHERE version = 7",
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	st2 := openStore(t, url, postgres.Options{})
	if _, err := st2.Campaign(ctx, "CMP-A", now); events.ErrorCode(err) != events.NotFound {
		t.Fatalf("before a writer fills the rows: %v, want NotFound", err)
	}
	preview := &events.CampaignLaunched{CampaignID: "P", Criteria: &events.CampaignCriteria{NoContactDays: 30}, Channel: "sms", HoldOutPercent: 5}
	want, _ := ref.CampaignPreview(ctx, preview, now)
	got, err := st2.CampaignPreview(ctx, preview, now) // from the whole rows
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) || want.Targets == 0 {
		t.Fatalf("preview from rows without facts: %+v, %v; want %+v", got, err, want)
	}
	run(t, st2, s)
	deadline := time.Now().Add(60 * time.Second)
	for targetRows(t, db) < targets {
		if time.Now().After(deadline) {
			t.Fatalf("the writer filled %d of %d target rows", targetRows(t, db), targets)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitTierRow(t, db, deadline)
	for {
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM dangol_rm.rm_customers WHERE facts IS NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d customer rows left without facts", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := st2.Position(); got != at {
		t.Errorf("filling moved the checkpoint from %s to %s", at, got)
	}
	sameAnswers(t, render(t, ref, x, now), render(t, st2, x, now))
}

// foldTargets returns how many targets m holds in every campaign, and
// fails unless each of campaigns has some.
func foldTargets(t testing.TB, m *projections.Memory, campaigns ...string) int {
	t.Helper()
	ctx := context.Background()
	cs, err := m.Campaigns(ctx, projections.CampaignFilter{}, seedEnd)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		f := projections.TargetFilter{Limit: 1000}
		for {
			ts, next, err := m.CampaignTargets(ctx, c.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) == 0 && slices.Contains(campaigns, c.ID) {
				t.Fatalf("campaign %s has no target", c.ID)
			}
			n += len(ts)
			if next == "" {
				break
			}
			f.After = next
		}
	}
	return n
}

// waitTierRow waits until the tier migration row is written: the fill's
// last statement.
func waitTierRow(t testing.TB, db *pgx.Conn, deadline time.Time) {
	t.Helper()
	for {
		var ok bool
		if err := db.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM dangol_rm.rm_aggregates WHERE name = 'tier-migration')").Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no tier migration row")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// campaignBank returns an embedded event store of n customers, a third
// of them VIPs, 90% with marketing consent by phone, with financials, a
// contact and a holding each: what a preview's criteria read, without the
// generated bank's timelines.
func campaignBank(b testing.TB, n int) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(b.TempDir()+"/events.db", bolt.Options{Now: func() time.Time { return seedEnd }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	tiers := []string{"general", "potential_vip", "vip"}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 { // concurrent appends share the store's group commits
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				id := fmt.Sprintf("P%07d", i)
				var batch []events.Event
				for _, d := range []events.Data{
					&events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, BranchID: fmt.Sprintf("B%02d", i%20), Source: events.Source{System: "core"}},
					&events.TierAssigned{Tier: tiers[i%3], Basis: events.TierBasis{DepositBalance: ptrTo(int64(i)), ProfitContribution: ptrTo(int64(i)), Rule: "bench"}},
					&events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: ptrTo(i%10 != 0)},
					&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: ptrTo(int64(i) * 1000), ProfitContribution: ptrTo(int64(i)), Currency: "KRW"},
					&events.ContactLogged{Channel: "branch", Purpose: "advice", OccurredAt: seedEnd.AddDate(0, 0, -i%200), StaffID: "R01"},
					&events.ProductHoldingChanged{Product: fmt.Sprintf("P-%d", i%7), AccountRef: "A" + id, Change: "opened"},
				} {
					e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
					if err == nil {
						batch = append(batch, e)
					} else {
						errs <- err
						return
					}
				}
				if _, err := s.Append(ctx, events.CustomerStream(id), events.NoStream, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return s
}

// BenchmarkCampaignPreview measures CampaignPreview (the builder's live
// count) over $DANGOL_BENCH_CUSTOMERS customers (default 2,000) for
// criteria that read every customer ("everyone": no tier, so every row)
// and for one tier (a third of the rows), with rows in clear and sealed
// as dangol serve seals them.
//
//	DANGOL_BENCH_CUSTOMERS=100000 go test -run '^$' -bench CampaignPreview -benchtime 5x ./projections/postgres/
func BenchmarkCampaignPreview(b *testing.B) {
	n := envInt("DANGOL_BENCH_CUSTOMERS", 2000)
	s := campaignBank(b, n)
	ctx := context.Background()
	cipher, _ := testCipher(b)
	for _, sealed := range []bool{false, true} {
		opt := postgres.Options{}
		name := "clear"
		if sealed {
			opt.Cipher, name = cipher, "sealed"
		}
		url := pgtest.Database(b)
		if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, opt); err != nil {
			b.Fatal(err)
		}
		st := openStore(b, url, opt)
		for _, tc := range []struct {
			what string
			cr   events.CampaignCriteria
		}{
			{"everyone", events.CampaignCriteria{NoContactDays: 30, MinBalance: ptrTo(int64(1000))}},
			{"vip", events.CampaignCriteria{Tiers: []string{"vip"}, NotHolding: []string{"P-3"}}},
		} {
			d := &events.CampaignLaunched{CampaignID: "BENCH", Criteria: &tc.cr, Channel: "phone_outbound", HoldOutPercent: 10}
			b.Run(name+"/"+tc.what, func(b *testing.B) {
				var p projections.CampaignPreview
				var err error
				for b.Loop() {
					if p, err = st.CampaignPreview(ctx, d, seedEnd); err != nil {
						b.Fatal(err)
					}
				}
				if p.Matching == 0 || p.Targets == 0 {
					b.Fatalf("preview: %+v", p)
				}
				b.ReportMetric(float64(n), "customers")
				b.ReportMetric(float64(p.Matching), "matching")
			})
		}
	}
}

// BenchmarkCampaignLaunch measures a launch on PostgreSQL: from the
// append of a CampaignLaunched over $DANGOL_BENCH_CUSTOMERS customers
// (default 2,000; 90% of them targets) until the writer has committed the
// campaign, its report and every target row.
//
//	DANGOL_BENCH_CUSTOMERS=100000 go test -run '^$' -bench CampaignLaunch -benchtime 3x ./projections/postgres/
func BenchmarkCampaignLaunch(b *testing.B) {
	n := envInt("DANGOL_BENCH_CUSTOMERS", 2000)
	s := campaignBank(b, n)
	ctx := context.Background()
	url := pgtest.Database(b)
	if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{}); err != nil {
		b.Fatal(err)
	}
	st := openStore(b, url, postgres.Options{})
	run(b, st, s)
	waitHead(b, st, s)
	launched := 0
	for b.Loop() {
		launched++
		id := fmt.Sprintf("BENCH%d", launched)
		appendData(b, s, events.CampaignStream(id), &events.CampaignLaunched{CampaignID: id, Name: "bench", Product: "LOAN-A",
			Criteria: &events.CampaignCriteria{}, Channel: "phone_outbound", StartsOn: seedEnd.Format(time.DateOnly), HoldOutPercent: 10})
		waitHead(b, st, s)
	}
	c, err := st.Campaign(ctx, fmt.Sprintf("BENCH%d", launched), seedEnd)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n), "customers")
	b.ReportMetric(float64(c.Targets+c.HoldOut), "targets")
}
