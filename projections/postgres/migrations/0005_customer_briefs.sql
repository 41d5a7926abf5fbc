-- Each customer's brief (projections.CustomerRecord.MarshalBrief, a
-- compact binary form): what the worklist and the customer lists read,
-- kept beside the whole state so that a 600-customer worklist decodes 600
-- briefs, not 600 timelines. Sealed like the state (Options.Cipher): then
-- brief is NULL and brief_sealed holds the encrypted brief. Rows written
-- before this migration have neither: the queries read their whole state
-- until the writer, once its folds hold the tables' checkpoint, fills
-- them in.
ALTER TABLE rm_customers
    ADD COLUMN brief        bytea,
    ADD COLUMN brief_sealed bytea,
    -- the transaction that last wrote the brief
    ADD COLUMN brief_xact   xid8,
    ADD CONSTRAINT rm_customers_brief_or_sealed CHECK (brief IS NULL OR brief_sealed IS NULL);

-- A writer of a release before this migration rewrites a row's state and
-- leaves its brief, which would then tell an older story than the state:
-- such an update clears the brief (the queries read the state again, and
-- the next writer of this release fills it in). This release's writer
-- sets brief_xact to its own transaction's id on every write of a row,
-- which no earlier write of the row had; an older writer does not set it.
CREATE FUNCTION rm_customers_clear_brief() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.brief := NULL;
    NEW.brief_sealed := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER rm_customers_clear_brief BEFORE UPDATE ON rm_customers FOR EACH ROW
    WHEN (NEW.brief_xact IS NOT DISTINCT FROM OLD.brief_xact)
    EXECUTE FUNCTION rm_customers_clear_brief();
