-- Customers' data keys for events/pii (crypto-shredding), shared by every
-- dangol serve process of the deployment. Only wrapped keys are stored: the
-- master key that unwraps them is never in the database. A destroyed key's
-- row is deleted and its erasure recorded, so it can never be re-created.
CREATE TABLE dangol_keys_meta (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    master_key_id text  NOT NULL,
    check_blob    bytea NOT NULL
);
CREATE TABLE dangol_keys (
    customer_id text COLLATE "C" PRIMARY KEY,
    wrapped     bytea NOT NULL
);
CREATE TABLE dangol_keys_erased (
    customer_id text COLLATE "C" PRIMARY KEY,
    erased_at   timestamptz NOT NULL
);
