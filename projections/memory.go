package projections

import (
	"context"
	"time"

	"github.com/dangol/dangol/events"
)

// Memory is the in-memory read store: the read models of this package,
// rebuilt by replay at start and kept current by a [Runner]. It answers
// [Queries]; the PostgreSQL read store answers the same. Every method
// returns copies, safe to use after it returns.
//
// Once attached to a runner ([Memory.Attach]) its query methods are safe
// for concurrent use by multiple goroutines, and concurrently with the
// runner's Run: each takes the runner's read lock, so it sees the read
// models at one position. Unattached, it must not be queried while its
// projections are being applied.
type Memory struct {
	Customers *Customers
	Calls     *Calls
	Counters  *Counters
	Staff     *Staff
	QA        *QA
	Marketing *Campaigns
	Tiers     *TierMigration
	Search    *Search // nil without a search index (WithSearchIndex)
	Dups      *Duplicates
	runner    *Runner
}

// NewMemory returns empty read models, configured by opts.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{Customers: NewCustomers(), Calls: NewCalls(), Counters: NewCounters(), Staff: NewStaff(), QA: NewQA(),
		Tiers: NewTierMigration()}
	m.Marketing = NewCampaigns(m.Customers)
	m.Dups = NewDuplicates(m.Customers)
	for _, o := range opts {
		o(m)
	}
	return m
}

// Expect sizes the per-customer maps of the read models for about n
// customers before a replay from the start (n from StreamsIn: the log's
// streams, a few more than its customers), so that they are made once
// instead of rehashed at every doubling as millions of customers arrive
// (the maps' growth was 5% of a 4,000,000-customer replay's CPU,
// docs/replay.md). It changes no answer, and does nothing for n <= 0 or
// once a read model holds anything (a restored snapshot, a replay under
// way).
func (m *Memory) Expect(n int) {
	if n <= 0 {
		return
	}
	m.Customers.expect(n)
	m.Dups.expect(n)
	m.Tiers.expect(n)
}

// Projections returns the read models for a Runner.
func (m *Memory) Projections() []Projection {
	ps := []Projection{m.Staff, m.Customers, m.Calls, m.Counters, m.QA, m.Marketing, m.Tiers} // Campaigns after Customers, whose state it reads

	ps = append(ps, m.Dups) // after Customers, whose state it reads
	if m.Search != nil {
		ps = append(ps, m.Search) // after Customers, whose state it reads
	}
	return ps
}

// Attach makes queries take r's read lock; call it before r.Run.
func (m *Memory) Attach(r *Runner) { m.runner = r }

func (m *Memory) view(f func()) {
	if m.runner == nil {
		f()
		return
	}
	m.runner.View(func(events.Position) { f() })
}

var _ Queries = (*Memory)(nil)

func notFound(what string) error { return events.Errorf(events.NotFound, "%s not found", what) }

// Customer returns the 360 view of customer id at now; NotFound if unknown.
func (m *Memory) Customer(_ context.Context, id string, now time.Time) (v CustomerView, err error) {
	ok := false
	m.view(func() { v, ok = m.Customers.Customer(id, now) })
	if !ok {
		return v, notFound("customer")
	}
	return v, nil
}

// CustomerExists reports whether customer id is registered.
func (m *Memory) CustomerExists(_ context.Context, id string) (ok bool, err error) {
	m.view(func() { ok = m.Customers.Has(id) })
	return ok, nil
}

// CustomerList returns a page of customer summaries and the next cursor.
func (m *Memory) CustomerList(_ context.Context, f CustomerFilter, now time.Time) (page []CustomerSummary, next string, err error) {
	m.view(func() { page, next = m.Customers.List(f, now) })
	return page, next, nil
}

// FindCustomers returns the customers holding the most of terms; none
// without a search index.
func (m *Memory) FindCustomers(_ context.Context, terms []string, limit int, now time.Time) (found []CustomerSummary, err error) {
	found = []CustomerSummary{}
	if m.Search == nil {
		return found, nil
	}
	m.view(func() { found = m.Customers.Summaries(m.Search.Find(terms, limit), now) })
	return found, nil
}

// Worklist returns the advisor's worklist at now.
func (m *Memory) Worklist(_ context.Context, advisor string, now time.Time, opt WorklistOptions) (items []WorkItem, err error) {
	m.view(func() {
		items = m.Customers.Worklist(advisor, now, opt)
		m.addCampaignReasons(items, now)
	})
	return items, nil
}

// Call returns a call with its review; NotFound if unknown.
func (m *Memory) Call(_ context.Context, id string) (v CallView, err error) {
	ok := false
	m.view(func() { v, ok = m.Calls.Call(id) })
	if !ok {
		return v, notFound("call")
	}
	return v, nil
}

// QAQueue returns the calls awaiting review, oldest first.
func (m *Memory) QAQueue(_ context.Context, supervisor string) (q []QueueItem, err error) {
	m.view(func() { q = m.Calls.Queue(supervisor) })
	return q, nil
}

// Coaching returns the coaching points matching f at now.
func (m *Memory) Coaching(_ context.Context, f CoachingFilter, now time.Time) (ps []CoachingPoint, err error) {
	m.view(func() { ps = m.Calls.Coaching(f, now) })
	return ps, nil
}

// CoachingPoint returns one coaching point at now; NotFound if unknown.
func (m *Memory) CoachingPoint(_ context.Context, id string, now time.Time) (p CoachingPoint, err error) {
	ok := false
	m.view(func() { p, ok = m.Calls.Point(id, now) })
	if !ok {
		return p, notFound("coaching point")
	}
	return p, nil
}

// Report returns the named report at now; NotFound for an unknown name.
func (m *Memory) Report(_ context.Context, name string, now time.Time) (r any, err error) {
	if name == "tiers" {
		// Copied under the lock (O(tiers) and one slice), sorted after it:
		// the fold waits for no sort.
		var byTier map[string]int
		var profits []int64
		m.view(func() { byTier, profits = m.Customers.tierCounts(), m.Customers.tierProfits() })
		return TierReportFrom(byTier, profits, nil), nil
	}
	m.view(func() {
		switch name {
		case "pitches":
			r = m.Counters.PitchReport()
		case "qa":
			r = m.Calls.QAReport()
		case "coaching":
			r = m.Calls.CoachingReport(now)
		case "freshness":
			r = m.Customers.FreshnessReport(now)
		case "requests":
			r = m.Counters.RequestReport()
		case "calibration":
			r = m.QA.CalibrationReport()
		case "tier-migration":
			r = m.Tiers.Report()
		default:
			err = notFound("report")
		}
	})
	return r, err
}

// StaffMember returns a staff member; NotFound if unknown.
func (m *Memory) StaffMember(_ context.Context, id string) (s StaffMember, err error) {
	ok := false
	m.view(func() { s, ok = m.Staff.Member(id) })
	if !ok {
		return s, notFound("staff member")
	}
	return s, nil
}

// Token returns an issued token's record; NotFound if unknown.
func (m *Memory) Token(_ context.Context, id string) (t TokenInfo, err error) {
	ok := false
	m.view(func() { t, ok = m.Staff.Token(id) })
	if !ok {
		return t, notFound("token")
	}
	return t, nil
}

// StaffList returns every registered staff member, by id.
func (m *Memory) StaffList(_ context.Context) (list []StaffMember, err error) {
	m.view(func() { list = m.Staff.Members() })
	return list, nil
}

// SignInPolicy returns the sign-in policy.
func (m *Memory) SignInPolicy(_ context.Context) (p SignInPolicy, err error) {
	m.view(func() { p = m.Staff.Policy() })
	return p, nil
}

// Evaluations returns the reviewed calls matching f (Queries.Evaluations).
func (m *Memory) Evaluations(_ context.Context, f EvaluationFilter) (vs []CallView, err error) {
	m.view(func() { vs = m.Calls.Evaluations(f) })
	return vs, nil
}

// Disputes returns the disputes matching f (Queries.Disputes).
func (m *Memory) Disputes(_ context.Context, f DisputeFilter) (ds []Dispute, err error) {
	m.view(func() { ds = m.Calls.Disputes(f) })
	return ds, nil
}

// Dispute returns one dispute; NotFound if unknown.
func (m *Memory) Dispute(_ context.Context, id string) (d Dispute, err error) {
	ok := false
	m.view(func() { d, ok = m.Calls.Dispute(id) })
	if !ok {
		return d, notFound("dispute")
	}
	return d, nil
}

// ScorecardForm returns a form's version (0: latest); NotFound if unknown.
func (m *Memory) ScorecardForm(_ context.Context, id string, version int) (f ScorecardForm, err error) {
	ok := false
	m.view(func() { f, ok = m.QA.Form(id, version) })
	if !ok {
		return f, notFound("scorecard form")
	}
	return f, nil
}

// ScorecardForms returns the latest version of every form.
func (m *Memory) ScorecardForms(_ context.Context) (fs []ScorecardForm, err error) {
	m.view(func() { fs = m.QA.Forms() })
	return fs, nil
}

// SamplingPlans returns the sampling plan's versions, newest first.
func (m *Memory) SamplingPlans(_ context.Context) (ps []SamplingPlan, err error) {
	m.view(func() { ps = m.QA.Plans() })
	return ps, nil
}

// Calibration returns one calibration session; NotFound if unknown.
func (m *Memory) Calibration(_ context.Context, id string) (cs CalibrationSession, err error) {
	ok := false
	m.view(func() { cs, ok = m.QA.Calibration(id) })
	if !ok {
		return cs, notFound("calibration session")
	}
	return cs, nil
}

// Calibrations returns the sessions matching f.
func (m *Memory) Calibrations(_ context.Context, f CalibrationFilter) (css []CalibrationSession, err error) {
	m.view(func() { css = m.QA.Calibrations(f) })
	return css, nil
}

// addCampaignReasons adds the campaign reasons to a worklist's items; the
// caller holds the view.
func (m *Memory) addCampaignReasons(items []WorkItem, now time.Time) {
	if len(items) == 0 {
		return
	}
	{
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.CustomerID
		}
		targets := m.Marketing.CustomerTargets(ids)
		byID := map[string]Campaign{}
		for _, t := range targets {
			if _, ok := byID[t.CampaignID]; !ok {
				byID[t.CampaignID], _ = m.Marketing.Campaign(t.CampaignID, now)
			}
		}
		AddCampaignReasons(items, targets, byID, now)
	}
}

// Campaign returns a campaign at now; NotFound if never launched.
func (m *Memory) Campaign(_ context.Context, id string, now time.Time) (c Campaign, err error) {
	var ok bool
	m.view(func() { c, ok = m.Marketing.Campaign(id, now) })
	if !ok {
		return Campaign{}, notFound("campaign")
	}
	return c, nil
}

// Campaigns returns the campaigns matching f at now.
func (m *Memory) Campaigns(_ context.Context, f CampaignFilter, now time.Time) (cs []Campaign, err error) {
	m.view(func() { cs = m.Marketing.List(f, now) })
	return cs, nil
}

// CampaignTargets returns a page of a campaign's targets; NotFound if never launched.
func (m *Memory) CampaignTargets(_ context.Context, id string, f TargetFilter) (ts []CampaignTarget, next string, err error) {
	var ok bool
	m.view(func() { ts, next, ok = m.Marketing.Targets(id, f) })
	if !ok {
		return nil, "", notFound("campaign")
	}
	return ts, next, nil
}

// CampaignPreview returns what d would select now.
func (m *Memory) CampaignPreview(_ context.Context, d *events.CampaignLaunched, now time.Time) (p CampaignPreview, err error) {
	m.view(func() { p = m.Marketing.Preview(d, now) })
	return p, nil
}

// CampaignReport returns a campaign's outcome at now; NotFound if never launched.
func (m *Memory) CampaignReport(_ context.Context, id string, now time.Time) (r CampaignReport, err error) {
	var ok bool
	m.view(func() { r, ok = m.Marketing.Report(id, now) })
	if !ok {
		return CampaignReport{}, notFound("campaign")
	}
	return r, nil
}

// CampaignTarget returns a customer's entry on a campaign's list; NotFound if none.
func (m *Memory) CampaignTarget(_ context.Context, id, customer string) (t CampaignTarget, err error) {
	var ok bool
	m.view(func() { t, ok = m.Marketing.Target(id, customer) })
	if !ok {
		return CampaignTarget{}, notFound("campaign target")
	}
	return t, nil
}
