package postgres

import (
	"context"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Campaigns on PostgreSQL (migration 0007): TODO(pg) — campaign rows with
// their report, target rows, the writer's dirty sets.

// Campaign returns a campaign at now; NotFound if never launched.
func (s *Store) Campaign(ctx context.Context, id string, now time.Time) (projections.Campaign, error) {
	return projections.Campaign{}, notFound("campaign") // TODO(pg)
}

// Campaigns returns the campaigns matching f at now.
func (s *Store) Campaigns(ctx context.Context, f projections.CampaignFilter, now time.Time) ([]projections.Campaign, error) {
	return []projections.Campaign{}, nil // TODO(pg)
}

// CampaignTargets returns a page of a campaign's targets; NotFound if never launched.
func (s *Store) CampaignTargets(ctx context.Context, id string, f projections.TargetFilter) ([]projections.CampaignTarget, string, error) {
	return nil, "", notFound("campaign") // TODO(pg)
}

// CampaignPreview returns what d would select now.
func (s *Store) CampaignPreview(ctx context.Context, d *events.CampaignLaunched, now time.Time) (projections.CampaignPreview, error) {
	return projections.CampaignPreview{ByTier: map[string]int{}}, nil // TODO(pg)
}

// CampaignReport returns a campaign's outcome at now; NotFound if never launched.
func (s *Store) CampaignReport(ctx context.Context, id string, now time.Time) (projections.CampaignReport, error) {
	return projections.CampaignReport{}, notFound("campaign") // TODO(pg)
}

// CampaignTarget returns a customer's entry on a campaign's list; NotFound if none.
func (s *Store) CampaignTarget(ctx context.Context, id, customer string) (projections.CampaignTarget, error) {
	return projections.CampaignTarget{}, notFound("campaign target") // TODO(pg)
}
