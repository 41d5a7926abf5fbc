-- Read models of dangol: each row holds one entity's fold state (JSONB, the
-- encoding of package projections) and the columns queries filter on. Ids
-- use the "C" collation so that ORDER BY id is Go's byte order.

CREATE TABLE rm_checkpoint (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    commit_pos  bigint NOT NULL,
    prepare_pos bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rm_checkpoint (commit_pos, prepare_pos) VALUES (0, 0);

CREATE TABLE rm_customers (
    id         text COLLATE "C" PRIMARY KEY,
    advisor_id text COLLATE "C" NOT NULL,
    tier       text NOT NULL,
    profit     bigint,           -- latest profit contribution; NULL without financials
    stale_at   bigint NOT NULL,  -- unix seconds after which the data is stale
    state      jsonb NOT NULL
);
CREATE INDEX rm_customers_advisor ON rm_customers (advisor_id, id);
CREATE INDEX rm_customers_tier ON rm_customers (tier, id);

-- Every advisor who was ever assigned a customer (empty books included).
CREATE TABLE rm_advisors (
    id text COLLATE "C" PRIMARY KEY
);

CREATE TABLE rm_calls (
    id            text COLLATE "C" PRIMARY KEY,
    queued        boolean NOT NULL,
    supervisor_id text COLLATE "C" NOT NULL,
    state         jsonb NOT NULL
);
CREATE INDEX rm_calls_queue ON rm_calls (supervisor_id) WHERE queued;

CREATE TABLE rm_coaching_points (
    id           text COLLATE "C" PRIMARY KEY,
    rep_id       text COLLATE "C" NOT NULL,
    status       text NOT NULL,
    due_at       timestamptz NOT NULL,
    last_checker text COLLATE "C" NOT NULL,
    state        jsonb NOT NULL
);
CREATE INDEX rm_coaching_points_rep ON rm_coaching_points (rep_id);
CREATE INDEX rm_coaching_points_due ON rm_coaching_points (due_at);

-- Append-only logs the QA and coaching reports fold at query time.
CREATE TABLE rm_reviews (
    seq   bigint PRIMARY KEY,
    state jsonb NOT NULL
);
CREATE TABLE rm_followups (
    seq   bigint PRIMARY KEY,
    state jsonb NOT NULL
);

CREATE TABLE rm_staff (
    id    text COLLATE "C" PRIMARY KEY,
    state jsonb NOT NULL
);
CREATE TABLE rm_tokens (
    id    text COLLATE "C" PRIMARY KEY,
    state jsonb NOT NULL
);

-- Aggregates kept whole: one row per aggregate.
CREATE TABLE rm_aggregates (
    name  text PRIMARY KEY,
    state jsonb NOT NULL
);
