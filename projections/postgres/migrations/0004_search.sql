-- The customer search index (projections.Search): one row per term a
-- customer is found by. A term is a keyed HMAC of the normalised name or
-- phone (pii.BlindIndex), never the value; the writer replaces a customer's
-- rows when their name or phone changes and deletes them all when they are
-- erased. Which index wrote the rows is recorded in rm_aggregates ('search'),
-- so that a writer with another one (or none) rewrites the table whole.
CREATE TABLE rm_search (
    term        text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (term, customer_id)
);
CREATE INDEX rm_search_customer ON rm_search (customer_id);
