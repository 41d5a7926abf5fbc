-- Target marketing (issue 13): campaigns with their outcome, and their
-- target lists. The writer writes every campaign and target its folds say
-- a batch changed, whole; the queries load rows and run the folds' own
-- query methods (campaigns.go). A campaign's status depends on the query's
-- now, so it is decided at query time from the stored definition; the
-- stored report's counts do not.
CREATE TABLE rm_campaigns (
    id          text COLLATE "C" PRIMARY KEY,
    launched_at timestamptz NOT NULL,
    -- projections.Campaign as the log leaves it
    state       jsonb NOT NULL,
    -- projections.CampaignReport: funnels, per advisor, branch and channel, lift
    report      jsonb NOT NULL
);
-- The list: newest launched first, then by id.
CREATE INDEX rm_campaigns_launched ON rm_campaigns (launched_at DESC, id);

CREATE TABLE rm_campaign_targets (
    campaign_id text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    -- the customer's current advisor ('' without one)
    advisor_id  text COLLATE "C" NOT NULL DEFAULT '',
    -- projections.GroupTarget or GroupHoldOut
    grp         text COLLATE "C" NOT NULL,
    -- not removed
    active      boolean NOT NULL,
    -- projections.CampaignTarget, as the writer encoded it: json, not
    -- jsonb, since nothing looks inside and a launch writes a row per
    -- matching customer
    state       json NOT NULL,
    PRIMARY KEY (campaign_id, customer_id)
);
-- A page of one advisor's targets (GET /v1/campaigns/{id}/targets?advisor=),
-- by customer id; the primary key serves the other filters' pages.
CREATE INDEX rm_campaign_targets_advisor ON rm_campaign_targets (campaign_id, advisor_id, customer_id);
-- The worklist: a book's customers' active targets in every campaign.
CREATE INDEX rm_campaign_targets_customer ON rm_campaign_targets (customer_id) WHERE active;

-- The tier migration report (projections.TierMigration) is the
-- rm_aggregates row 'tier-migration'; none before the first TierAssigned
-- folded by a writer of this release, which is an empty report.

-- Each customer's facts (projections.CustomerRecord.MarshalFacts, a
-- compact binary form): what a campaign's criteria and consent are judged
-- by, so that the builder's live count over 100,000 customers decodes
-- facts of a few dozen bytes, not records. They hold no personal field,
-- so they are kept in clear whatever Options.Cipher. Rows written before
-- this migration have none, and their briefs (version 1) and records no
-- balances: the preview reads their whole state until a writer of this
-- release, once its folds hold the tables' checkpoint, rewrites them whole
-- (briefs.go). A writer of an earlier release that rewrites a row clears
-- its facts too, as its brief.
ALTER TABLE rm_customers ADD COLUMN facts bytea;
CREATE INDEX rm_customers_earlier ON rm_customers (id) WHERE facts IS NULL;
CREATE OR REPLACE FUNCTION rm_customers_clear_brief() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.brief := NULL;
    NEW.brief_sealed := NULL;
    NEW.facts := NULL;
    RETURN NEW;
END
$$;
