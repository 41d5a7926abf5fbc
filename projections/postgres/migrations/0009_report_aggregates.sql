-- What the tiers and freshness reports count, kept as the customer rows
-- are written, so that a report reads a few rows instead of every
-- customer's (issue 14: 8.8 s and 3.5 s at 1M customers). Statement-level
-- triggers on rm_customers add what each statement's rows change, in the
-- statement's own transaction, whoever writes the rows (the writer, a
-- rebuild, a writer of an earlier release): the aggregates are those of
-- the rows' columns, which the folds wrote; SQL computes no state of its
-- own. Rows of merged customers (tier '-merged', projections.MergedTier)
-- count in no tier, profit or book.

-- Customers per tier (merged ones under '-merged', which the report skips).
CREATE TABLE rm_tier_counts (
    tier text PRIMARY KEY,
    n    bigint NOT NULL
);

-- The profits of the customers with financials, in buckets ordered as the
-- profits (rm_profit_bucket): how many, and their sum. The tiers report
-- sums the top n from the largest bucket down and reads the rest of the
-- bucket it stops in through rm_customers_profit.
CREATE TABLE rm_profit_buckets (
    bucket int PRIMARY KEY,
    n      bigint NOT NULL,
    total  bigint NOT NULL
);

-- Customers in each advisor's book by the day (unix day, rm_day) their data
-- goes stale: the freshness report counts the days before its now's whole,
-- and the customers of its now's day through rm_customers_stale.
CREATE TABLE rm_fresh_days (
    advisor_id text COLLATE "C" NOT NULL,
    day        bigint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (advisor_id, day)
);

CREATE INDEX rm_customers_profit ON rm_customers (profit) WHERE profit IS NOT NULL AND tier <> '-merged';
CREATE INDEX rm_customers_stale ON rm_customers (stale_at) WHERE advisor_id <> '';

-- The bucket of a profit: the profit itself within [-128, 127]; beyond, 64
-- buckets to each power of two (the seven leading bits), so that a bucket
-- spans at most 1/64 of its values. Ordered as the profits: p <= q implies
-- rm_profit_bucket(p) <= rm_profit_bucket(q). projections/postgres
-- computes the largest profit of a bucket (profitBucketMax).
-- One expression each, neither STRICT nor with a FROM, so that the
-- planner inlines them: a call per row would cost more than the row.
CREATE FUNCTION rm_profit_bucket(p bigint) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p >= 0 THEN
            CASE WHEN p < 128 THEN p::int
            ELSE ((58 - position(B'1' IN p::bit(64))) * 64 + (p >> (58 - position(B'1' IN p::bit(64)))))::int END
        ELSE -1 - CASE WHEN -(p + 1) < 128 THEN (-(p + 1))::int
            ELSE ((58 - position(B'1' IN (-(p + 1))::bit(64))) * 64 + ((-(p + 1)) >> (58 - position(B'1' IN (-(p + 1))::bit(64)))))::int END
        END
$$;

-- The unix day of a unix second (floor division).
CREATE FUNCTION rm_day(s bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (s - ((s % 86400) + 86400) % 86400) / 86400
$$;

-- One function for the three triggers (a trigger with transition tables
-- has one event): it adds +1 for each new row and -1 for each old one to
-- the aggregates, one upsert per key the statement's rows touch (an
-- update's rows whose counted columns did not change net to nothing), in
-- one statement that reads the transition tables once. Names are
-- qualified with the trigger's table's schema (a writer's search path may
-- not name it: a test's, an operator's); the statement is built once per
-- statement written, not per row.
CREATE FUNCTION rm_customers_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS d, advisor_id, tier, profit, stale_at FROM rm_new_rows'
        WHEN 'UPDATE' THEN 'SELECT 1 AS d, advisor_id, tier, profit, stale_at FROM rm_new_rows
            UNION ALL SELECT -1, advisor_id, tier, profit, stale_at FROM rm_old_rows'
        ELSE 'SELECT -1 AS d, advisor_id, tier, profit, stale_at FROM rm_old_rows' END;
BEGIN
    EXECUTE format('WITH u AS MATERIALIZED (%2$s),
        tiers AS (INSERT INTO %1$I.rm_tier_counts AS t (tier, n)
            SELECT u.tier, sum(u.d) FROM u GROUP BY u.tier HAVING sum(u.d) <> 0
            ON CONFLICT (tier) DO UPDATE SET n = t.n + EXCLUDED.n),
        profits AS (INSERT INTO %1$I.rm_profit_buckets AS b (bucket, n, total)
            SELECT %1$I.rm_profit_bucket(u.profit), sum(u.d), sum(u.d * u.profit) FROM u
            WHERE u.profit IS NOT NULL AND u.tier <> %3$L GROUP BY 1 HAVING sum(u.d) <> 0 OR sum(u.d * u.profit) <> 0
            ON CONFLICT (bucket) DO UPDATE SET n = b.n + EXCLUDED.n, total = b.total + EXCLUDED.total)
        INSERT INTO %1$I.rm_fresh_days AS f (advisor_id, day, n)
            SELECT u.advisor_id, %1$I.rm_day(u.stale_at), sum(u.d) FROM u
            WHERE u.advisor_id <> %4$L GROUP BY 1, 2 HAVING sum(u.d) <> 0
            ON CONFLICT (advisor_id, day) DO UPDATE SET n = f.n + EXCLUDED.n', TG_TABLE_SCHEMA, changed, '-merged', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER rm_customers_count_insert AFTER INSERT ON rm_customers REFERENCING NEW TABLE AS rm_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rm_customers_count();
CREATE TRIGGER rm_customers_count_update AFTER UPDATE ON rm_customers REFERENCING OLD TABLE AS rm_old_rows NEW TABLE AS rm_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rm_customers_count();
CREATE TRIGGER rm_customers_count_delete AFTER DELETE ON rm_customers REFERENCING OLD TABLE AS rm_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rm_customers_count();

-- The rows already there, counted once.
INSERT INTO rm_tier_counts (tier, n) SELECT tier, count(*) FROM rm_customers GROUP BY tier;
INSERT INTO rm_profit_buckets (bucket, n, total)
    SELECT rm_profit_bucket(profit), count(*), sum(profit) FROM rm_customers WHERE profit IS NOT NULL AND tier <> '-merged' GROUP BY 1;
INSERT INTO rm_fresh_days (advisor_id, day, n)
    SELECT advisor_id, rm_day(stale_at), count(*) FROM rm_customers WHERE advisor_id <> '' GROUP BY 1, 2;
