package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Campaigns on PostgreSQL (migration 0007). The writer learns from the
// campaign fold (projections.Campaigns.OnChange) which targets and
// campaigns an event changed — a launch or an amendment judges every
// customer, a customer event their entry in every campaign, and the log's
// time passing a criterion's instant anyone's — and writes those whole:
// each target as a row of rm_campaign_targets, each campaign as a row of
// rm_campaigns with its report. A campaign's status is a function of the
// query's now, so the queries set it from the stored definition
// (Campaign.StatusAt); nothing else they answer depends on now.
//
// The builder's preview judges every customer of the criteria's tiers:
// it reads each one's facts (rm_customers.facts, in clear, a few dozen
// bytes; projections.CustomerRecord.MarshalFacts), not the record.
//
// The tier migration report is the rm_aggregates row aggTiers.
//
// A writer of this release that finds no tier migration row (the tables
// were written by an earlier release, or are new) writes every campaign,
// target and the report from its folds once they hold the tables'
// checkpoint (fillCampaigns), then the row, which marks it done.

// aggTiers is the rm_aggregates row of the tier migration report.
const aggTiers = "tier-migration"

// targetChunk is how many target rows one statement writes.
const targetChunk = 5000

// campaignsMissing reports whether the tier migration row is missing, so
// the campaign rows may be too.
func campaignsMissing(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var missing bool
	err := conn.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM rm_aggregates WHERE name = $1)", aggTiers).Scan(&missing)
	if err != nil {
		return false, unavailable("read models: tier migration row", err)
	}
	return missing, nil
}

// changed is the campaign fold's OnChange hook: customer "" is the
// campaign itself (its definition, counts or report).
func (d *dirty) changed(campaign, customer string) {
	d.campaigns[campaign] = struct{}{}
	if customer != "" {
		d.targets[[2]string{campaign, customer}] = struct{}{}
	}
}

// everyCampaign marks every campaign and target the folds hold, and the
// tier migration report, dirty.
func (w *writer) everyCampaign() {
	for _, c := range w.mem.Marketing.List(projections.CampaignFilter{}, time.Time{}) {
		w.dirty.changed(c.ID, "")
		f := projections.TargetFilter{Limit: 1000}
		for {
			ts, next, _ := w.mem.Marketing.Targets(c.ID, f)
			for _, t := range ts {
				w.dirty.changed(c.ID, t.CustomerID)
			}
			if next == "" {
				break
			}
			f.After = next
		}
	}
	w.dirty.tiers = true
}

// fillCampaigns writes every campaign, target and the tier migration
// report when the tables lack them and the folds hold the tables'
// checkpoint: in one transaction that leaves the checkpoint where it is.
func (w *writer) fillCampaigns(ctx context.Context) error {
	if !w.campaignsMissing {
		return nil
	}
	w.everyCampaign()
	b := &pgx.Batch{}
	for _, add := range []func(*pgx.Batch) error{w.campaignRows, w.targetRows, w.tierAggregate} {
		if err := add(b); err != nil {
			return fmt.Errorf("read models: encode: %w", err)
		}
	}
	if err := w.write(ctx, w.last, b); err != nil {
		return &commitError{err}
	}
	w.campaignsMissing = false
	w.dirty.reset()
	return nil
}

// campaignRows queues the upsert of the dirty campaigns with their
// reports, from the folds.
func (w *writer) campaignRows(b *pgx.Batch) error {
	var ids []string
	var launched []time.Time
	var states, reports [][]byte
	for _, id := range sortedKeys(w.dirty.campaigns) {
		r, ok := w.mem.Marketing.Report(id, time.Time{})
		if !ok {
			continue
		}
		r.Campaign.Status = "" // set at the query's now
		js, err := json.Marshal(r.Campaign)
		if err != nil {
			return err
		}
		rj, err := json.Marshal(r)
		if err != nil {
			return err
		}
		ids, launched, states, reports = append(ids, id), append(launched, r.Campaign.LaunchedAt), append(states, js), append(reports, rj)
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_campaigns (id, launched_at, state, report)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::jsonb[])
			ON CONFLICT (id) DO UPDATE SET launched_at = EXCLUDED.launched_at, state = EXCLUDED.state, report = EXCLUDED.report`,
			ids, launched, states, reports)
	}
	return nil
}

// targetRows queues the upsert of the dirty targets, from the folds, in
// statements of targetChunk rows.
func (w *writer) targetRows(b *pgx.Batch) error {
	keys := make([][2]string, 0, len(w.dirty.targets))
	for k := range w.dirty.targets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	for len(keys) > 0 {
		chunk := keys[:min(targetChunk, len(keys))]
		keys = keys[len(chunk):]
		var campaigns, customers, advisors, groups []string
		var active []bool
		var states [][]byte
		for _, k := range chunk {
			t, ok := w.mem.Marketing.Target(k[0], k[1])
			if !ok {
				continue
			}
			js, err := json.Marshal(t)
			if err != nil {
				return err
			}
			campaigns, customers, advisors = append(campaigns, k[0]), append(customers, k[1]), append(advisors, t.AdvisorID)
			groups, active, states = append(groups, t.Group), append(active, t.RemovedAt.IsZero()), append(states, js)
		}
		if len(campaigns) > 0 {
			b.Queue(`INSERT INTO rm_campaign_targets (campaign_id, customer_id, advisor_id, grp, active, state)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::json[])
				ON CONFLICT (campaign_id, customer_id) DO UPDATE SET advisor_id = EXCLUDED.advisor_id, grp = EXCLUDED.grp,
					active = EXCLUDED.active, state = EXCLUDED.state`,
				campaigns, customers, advisors, groups, active, states)
		}
	}
	return nil
}

// tierAggregate queues the tier migration report's row if the batch
// touched it.
func (w *writer) tierAggregate(b *pgx.Batch) error {
	return aggregate(b, w.dirty.tiers, aggTiers, w.mem.Tiers)
}

// tierMigration loads the tier migration report: empty before its row.
func (s *Store) tierMigration(ctx context.Context) ([]projections.TierMonth, error) {
	js, err := s.aggregateRow(ctx, aggTiers)
	if err != nil {
		return nil, err
	}
	if js == nil {
		return projections.NewTierMigration().Report(), nil
	}
	tm, err := projections.RestoreTierMigration(js)
	if err != nil {
		return nil, unavailable("read models: tier migration", err)
	}
	return tm.Report(), nil
}

// Campaign returns a campaign at now; NotFound if never launched.
func (s *Store) Campaign(ctx context.Context, id string, now time.Time) (projections.Campaign, error) {
	c, err := one[projections.Campaign](ctx, s, "campaign", "SELECT state FROM rm_campaigns WHERE id = $1", id)
	if err != nil {
		return c, err
	}
	c.Status = c.StatusAt(now)
	return c, nil
}

// Campaigns returns the campaigns matching f at now, newest launched
// first (then by id).
func (s *Store) Campaigns(ctx context.Context, f projections.CampaignFilter, now time.Time) ([]projections.Campaign, error) {
	cs, err := rows[projections.Campaign](ctx, s, "campaigns", "SELECT state FROM rm_campaigns")
	if err != nil {
		return nil, err
	}
	out := []projections.Campaign{}
	for _, c := range cs {
		if c.Status = c.StatusAt(now); f.Status == "" || c.Status == f.Status {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b projections.Campaign) int {
		if c := b.LaunchedAt.Compare(a.LaunchedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// CampaignTargets returns a page of a campaign's targets; NotFound if never
// launched. The statement reads the campaign's row and the page in one
// snapshot: a campaign without a target gives one row without a state.
func (s *Store) CampaignTargets(ctx context.Context, id string, f projections.TargetFilter) ([]projections.CampaignTarget, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	w := &conds{}
	w.add("t.campaign_id = c.id")
	w.add("t.customer_id > $?", f.After)
	switch f.Group {
	case projections.GroupTarget, projections.GroupHoldOut:
		w.add("t.grp = $?", f.Group)
	}
	switch f.Status {
	case "active":
		w.add("t.active")
	case "removed":
		w.add("NOT t.active")
	}
	if f.Advisor != "" {
		w.add("t.advisor_id = $?", f.Advisor)
	}
	w.args = append(w.args, id, limit+1) // one more tells there is a next page
	n := len(w.args)
	sql := fmt.Sprintf(`SELECT coalesce(t.state, 'null') FROM (SELECT id FROM rm_campaigns WHERE id = $%d) c
		LEFT JOIN LATERAL (SELECT t.state FROM rm_campaign_targets t WHERE %s ORDER BY t.customer_id LIMIT $%d) t ON true`,
		n-1, w.String(), n)
	ts, err := rows[*projections.CampaignTarget](ctx, s, "campaign targets", sql, w.args...)
	if err != nil {
		return nil, "", err
	}
	if len(ts) == 0 {
		return nil, "", notFound("campaign")
	}
	out := make([]projections.CampaignTarget, 0, len(ts))
	for _, t := range ts {
		if t != nil {
			out = append(out, *t)
		}
	}
	if len(out) > limit {
		out = out[:limit]
		return out, out[limit-1].CustomerID, nil
	}
	return out, "", nil
}

// CampaignTarget returns a customer's entry on a campaign's list; NotFound if none.
func (s *Store) CampaignTarget(ctx context.Context, id, customer string) (projections.CampaignTarget, error) {
	return one[projections.CampaignTarget](ctx, s, "campaign target",
		"SELECT state FROM rm_campaign_targets WHERE campaign_id = $1 AND customer_id = $2", id, customer)
}

// CampaignReport returns a campaign's outcome at now; NotFound if never launched.
func (s *Store) CampaignReport(ctx context.Context, id string, now time.Time) (projections.CampaignReport, error) {
	r, err := one[projections.CampaignReport](ctx, s, "campaign", "SELECT report FROM rm_campaigns WHERE id = $1", id)
	if err != nil {
		return r, err
	}
	r.Campaign.Status = r.Campaign.StatusAt(now)
	return r, nil
}

// factCols are the columns CampaignPreview decodes: the customer's facts
// (in clear: they hold no personal field), and the whole state of a row
// that has none (written by an earlier release).
const factCols = `id, facts, NULL::bytea,
	CASE WHEN facts IS NULL THEN state END, CASE WHEN facts IS NULL THEN sealed END`

// CampaignPreview returns what d would select now: the campaign fold's
// Preview over the customers (those of d's tiers, when it names some),
// each restored from its facts (projections.CustomerRecord.MarshalFacts).
func (s *Store) CampaignPreview(ctx context.Context, d *events.CampaignLaunched, now time.Time) (projections.CampaignPreview, error) {
	sql := "SELECT " + factCols + " FROM rm_customers"
	var args []any
	if d.Criteria != nil && len(d.Criteria.Tiers) > 0 {
		sql += " WHERE tier = ANY($1)"
		args = append(args, d.Criteria.Tiers)
	}
	recs, err := s.compactRows(ctx, "campaign preview", (*projections.CustomerRecord).UnmarshalFacts, sql, args...)
	if err != nil {
		return projections.CampaignPreview{}, err
	}
	return projections.NewCampaigns(projections.RestoreCustomers(recs)).Preview(d, now), nil
}

// campaignReasons adds the campaign reasons to a worklist's items: the
// active targets of their customers in every campaign, with those
// campaigns, read in one statement, by campaign then customer as
// Campaigns.CustomerTargets gives them.
func (s *Store) campaignReasons(ctx context.Context, items []projections.WorkItem, now time.Time) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.CustomerID
	}
	ps, err := rows[[2]json.RawMessage](ctx, s, "worklist campaigns", `SELECT json_build_array(t.state, c.state)
		FROM rm_campaign_targets t JOIN rm_campaigns c ON c.id = t.campaign_id
		WHERE t.active AND t.customer_id = ANY($1) ORDER BY t.campaign_id, t.customer_id`, ids)
	if err != nil {
		return err
	}
	targets := make([]projections.CampaignTarget, len(ps))
	byID := map[string]projections.Campaign{}
	for i, p := range ps {
		var c projections.Campaign
		if err := errors.Join(json.Unmarshal(p[0], &targets[i]), json.Unmarshal(p[1], &c)); err != nil {
			return fmt.Errorf("read models: decode worklist campaigns: %w", err)
		}
		byID[c.ID] = c
	}
	projections.AddCampaignReasons(items, targets, byID, now)
	return nil
}
