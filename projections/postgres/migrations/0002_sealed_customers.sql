-- Customer rows may be sealed with the customer's data key (Options.Cipher):
-- then state is NULL and sealed holds the encrypted state.
ALTER TABLE rm_customers ADD COLUMN sealed bytea;
ALTER TABLE rm_customers ALTER COLUMN state DROP NOT NULL;
ALTER TABLE rm_customers ADD CONSTRAINT rm_customers_state_or_sealed CHECK ((state IS NULL) <> (sealed IS NULL));
