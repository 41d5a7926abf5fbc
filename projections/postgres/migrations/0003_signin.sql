-- Signing in (issue 10). A member's fold state (rm_staff.state, the JSON the
-- API serves) leaves out what is derived from secrets and the throttling
-- state; they are columns here, read back into projections.StaffMember.
-- active and kind are columns too, and the reads take them from the
-- columns: every row written before this migration is an active member and
-- a bearer token (no event could say otherwise), which the defaults state.
ALTER TABLE rm_staff
    ADD COLUMN active               boolean NOT NULL DEFAULT true,
    ADD COLUMN password_hash        text NOT NULL DEFAULT '',
    ADD COLUMN setup_id             text NOT NULL DEFAULT '',
    ADD COLUMN setup_hash           text NOT NULL DEFAULT '',
    ADD COLUMN setup_expires_at     timestamptz,
    ADD COLUMN second_factor_sealed text NOT NULL DEFAULT '',
    -- recordedAt of the failed sign-ins since the last sign-in or password
    -- change, the latest 20 (projections.MaxFailedSignIns), oldest first
    ADD COLUMN failed_sign_ins      timestamptz[],
    ADD CONSTRAINT rm_staff_failed_sign_ins_capped CHECK (cardinality(failed_sign_ins) <= 20);

-- Bearer tokens (TokenIssued) and sign-in sessions (SignedIn).
ALTER TABLE rm_tokens
    ADD COLUMN kind text NOT NULL DEFAULT 'token' CHECK (kind IN ('token', 'session'));

-- The sign-in policy of the latest SecondFactorPolicySet: one row, none
-- before the first.
CREATE TABLE rm_signin_policy (
    id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
    second_factor_roles text[] NOT NULL
);
