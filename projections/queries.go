package projections

import (
	"context"
	"time"

	"github.com/dangol/dangol/events"
)

// Queries is the read side's contract: what the API asks of a read store.
// Memory answers it from the read models in this process; the PostgreSQL
// read store (projections/postgres) answers it from tables, and both give
// the same answers for the same log (projections/projectionstest is the
// conformance suite both run).
//
// Every method is safe for concurrent use by multiple goroutines and
// returns values the caller owns. Time-dependent answers (stale data,
// overdue points, upcoming life events, worklist reasons) are computed at
// the now passed in, never with a clock of the store's own. The slices the
// methods return are empty, never nil, when nothing matches, so that they
// encode as [].
// Errors carry an events.Error code: NotFound where a method says so,
// Unavailable when a store's database cannot be reached, Internal for
// anything else.
type Queries interface {
	// Customer returns the 360 view of customer id at now: its timeline
	// holds the TimelineDepth latest interactions by when they happened
	// (When), newest first. NotFound if no such customer was registered.
	// An erased customer is found, with Erased set and its personal
	// values replaced.
	Customer(ctx context.Context, id string, now time.Time) (CustomerView, error)
	// CustomerExists reports whether customer id was registered (erased
	// customers included). An unknown id is false, not an error.
	CustomerExists(ctx context.Context, id string) (bool, error)
	// CustomerList returns, in customer id order, up to f.Limit customers
	// (50 when f.Limit is not positive) after f.After that match every set
	// field of f, with staleness at now, and the cursor of the next page:
	// the last id returned when more match, "" at the end. A cursor that
	// names no customer still pages from where it would sort.
	CustomerList(ctx context.Context, f CustomerFilter, now time.Time) ([]CustomerSummary, string, error)
	// FindCustomers returns the summaries at now of the customers holding
	// any of terms in the search index (SearchIndex terms, as
	// pii.BlindIndex.Query gives them for what a person typed): those
	// holding more of the terms first, then by customer id; at most limit
	// (DefaultSearchLimit when limit is not positive). An erased customer
	// holds no terms. A store kept without a search index finds no one.
	FindCustomers(ctx context.Context, terms []string, limit int, now time.Time) ([]CustomerSummary, error)
	// Worklist returns every customer in advisor's book with the reasons to
	// call at now (see WorkItem): customers with more reasons first, then
	// by customer id. An advisor without customers has an empty worklist.
	Worklist(ctx context.Context, advisor string, now time.Time, opt WorklistOptions) ([]WorkItem, error)
	// Duplicates returns the likely duplicate pairs (DuplicatePair): two
	// customers, neither erased nor merged, with the same birth date and
	// normalised phone; by the first id, then the second.
	Duplicates(ctx context.Context) ([]DuplicatePair, error)
	// WithheldValues returns what Duplicates leaves out (WithheldValues):
	// the customers with a placeholder phone, and the phones and birth
	// dates held by more than MaxDuplicateGroup customers.
	WithheldValues(ctx context.Context) (WithheldValues, error)
	// Call returns call id with its selection and review; NotFound if no
	// such call was recorded.
	Call(ctx context.Context, id string) (CallView, error)
	// QAQueue returns the calls selected for review and not yet reviewed,
	// oldest selection first (then by call id); with supervisor set, only
	// those assigned to that supervisor or to no one.
	QAQueue(ctx context.Context, supervisor string) ([]QueueItem, error)
	// Coaching returns the coaching points matching every set field of f,
	// with overdue flags at now, earliest follow-up due first (then by id).
	Coaching(ctx context.Context, f CoachingFilter, now time.Time) ([]CoachingPoint, error)
	// CoachingPoint returns coaching point id with its overdue flag at now;
	// NotFound if no review raised it.
	CoachingPoint(ctx context.Context, id string, now time.Time) (CoachingPoint, error)
	// Report returns the named report at now, one of ReportNames: "tiers"
	// a TierReport, "pitches" a map[string][]Conversion, "qa" a []QAScore,
	// "coaching" a CoachingReport, "freshness" a []Freshness, "requests" a
	// []RequestWeek, "calibration" a []CalibrationDistance, "tier-migration"
	// a []TierMonth. NotFound for any other name.
	Report(ctx context.Context, name string, now time.Time) (any, error)
	// Evaluations returns the reviewed calls matching f, latest evaluation
	// newest first (then by call id), with every evaluation and dispute.
	Evaluations(ctx context.Context, f EvaluationFilter) ([]CallView, error)
	// Disputes returns the disputes matching f, oldest raised first (then
	// by id).
	Disputes(ctx context.Context, f DisputeFilter) ([]Dispute, error)
	// Dispute returns dispute id; NotFound if no rep raised it.
	Dispute(ctx context.Context, id string) (Dispute, error)
	// ScorecardForm returns version of form id (0: its latest); NotFound
	// if the form or that version was never published.
	ScorecardForm(ctx context.Context, id string, version int) (ScorecardForm, error)
	// ScorecardForms returns the latest version of every form, by id.
	ScorecardForms(ctx context.Context) ([]ScorecardForm, error)
	// SamplingPlans returns every published version of the sampling plan,
	// newest first; empty before the first.
	SamplingPlans(ctx context.Context) ([]SamplingPlan, error)
	// Calibration returns session id with every score (the caller hides
	// what an open session must not show); NotFound if never opened.
	Calibration(ctx context.Context, id string) (CalibrationSession, error)
	// Calibrations returns the sessions matching f, newest opened first
	// (then by id).
	Calibrations(ctx context.Context, f CalibrationFilter) ([]CalibrationSession, error)
	// Campaign returns campaign id with its status at now; NotFound if
	// never launched.
	Campaign(ctx context.Context, id string, now time.Time) (Campaign, error)
	// Campaigns returns the campaigns matching f at now, newest launched
	// first (then by id).
	Campaigns(ctx context.Context, f CampaignFilter, now time.Time) ([]Campaign, error)
	// CampaignTargets returns campaign id's targets matching f, by
	// customer id, and the cursor of the next page ("" at the end);
	// NotFound if never launched.
	CampaignTargets(ctx context.Context, id string, f TargetFilter) ([]CampaignTarget, string, error)
	// CampaignTarget returns customer's entry on campaign id's list
	// (removed ones included); NotFound if the campaign was never launched
	// or the customer never joined it.
	CampaignTarget(ctx context.Context, id, customer string) (CampaignTarget, error)
	// CampaignPreview returns what d's criteria, channel and hold-out
	// would select now (d need not be valid beyond its criteria and
	// channel: the builder asks while it is being filled in).
	CampaignPreview(ctx context.Context, d *events.CampaignLaunched, now time.Time) (CampaignPreview, error)
	// CampaignReport returns campaign id's funnel and lift at now;
	// NotFound if never launched.
	CampaignReport(ctx context.Context, id string, now time.Time) (CampaignReport, error)
	// StaffMember returns staff member id; NotFound if never registered.
	StaffMember(ctx context.Context, id string) (StaffMember, error)
	// Token returns the record of bearer token or session id (see
	// TokenInfo.Kind), its hash included (for checking a presented secret);
	// NotFound if never issued.
	Token(ctx context.Context, id string) (TokenInfo, error)
	// StaffList returns every registered member, by id (byte order), with
	// the fields the API does not serve (verifier, setup code, second
	// factor, failed sign-ins) filled in like StaffMember's.
	StaffList(ctx context.Context) ([]StaffMember, error)
	// SignInPolicy returns the sign-in policy of the latest
	// SecondFactorPolicySet; no role requires a second factor before one.
	SignInPolicy(ctx context.Context) (SignInPolicy, error)
}

// ReportNames are the reports Queries.Report serves.
var ReportNames = []string{"tiers", "pitches", "qa", "coaching", "freshness", "requests", "calibration", "tier-migration"}
