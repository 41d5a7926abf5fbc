-- Quality assurance (issue 11): the columns the evaluation and dispute
-- queries filter calls on. The writer sets them from its folds; rows
-- written before this migration get them from their state, which for those
-- rows is exact: the call's rep, its latest review's reviewer and time, and
-- no dispute (no event could raise one before this release).
ALTER TABLE rm_calls
    ADD COLUMN rep_id       text COLLATE "C" NOT NULL DEFAULT '',
    -- the latest evaluation's reviewer and time; '' and NULL before any
    ADD COLUMN reviewer_id  text COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN reviewed_at  timestamptz,
    -- a dispute is open on the call
    ADD COLUMN open_dispute boolean NOT NULL DEFAULT false,
    -- every dispute raised on the call, open or resolved
    ADD COLUMN dispute_ids  text[] COLLATE "C" NOT NULL DEFAULT '{}';

UPDATE rm_calls SET
    rep_id = coalesce(state->>'staffId', ''),
    reviewer_id = coalesce(state->'review'->>'reviewerId', ''),
    reviewed_at = (state->'review'->>'reviewedAt')::timestamptz;

CREATE INDEX rm_calls_rep ON rm_calls (rep_id) WHERE reviewed_at IS NOT NULL;
CREATE INDEX rm_calls_reviewer ON rm_calls (reviewer_id) WHERE reviewed_at IS NOT NULL;
CREATE INDEX rm_calls_disputed ON rm_calls (id) WHERE cardinality(dispute_ids) > 0;
CREATE INDEX rm_calls_open_dispute ON rm_calls (id) WHERE open_dispute;
CREATE INDEX rm_calls_dispute_ids ON rm_calls USING gin (dispute_ids);
-- The state of a row written before this migration (or since by a writer
-- of an earlier release) lacks the evaluations: the queries read such rows
-- whatever their columns say, and a writer of this release rewrites them
-- from its folds (qa.go).
CREATE INDEX rm_calls_old_shape ON rm_calls (id) WHERE NOT state ? 'evaluations';

-- The QA aggregate (projections.QA: scorecard forms, sampling plans,
-- calibration sessions) is the rm_aggregates row 'qa'; none before the
-- first such event, which is an empty QA.

-- Coaching points and review scores written before this migration lack the
-- evaluation that raised them: a writer of this release rewrites them too.
CREATE INDEX rm_coaching_points_old_shape ON rm_coaching_points (id) WHERE NOT state ? 'evaluation';
CREATE INDEX rm_reviews_old_shape ON rm_reviews (seq) WHERE NOT state ? 'CallID';
