-- The log: one row per event, in a global sequence with no gaps. The head
-- row is the single serialisation point of appenders: an append takes its
-- row lock for the last part of its transaction, so sequence numbers are
-- assigned in commit order and a reader of seq > n can never skip an event
-- that commits later (see events/postgres/doc.go).
CREATE TABLE dangol_log_head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL
);
INSERT INTO dangol_log_head (seq) VALUES (0);

-- One row per stream: its last version and the hash of its last event, the
-- stream's lock for appends. version -1 is a stream reserved by an append
-- that did not write (it reads as "no stream").
CREATE TABLE dangol_streams (
    stream  text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL,
    hash    bytea  NOT NULL
);

-- record is the canonical binary encoding the hash chain covers (events
-- package, codec.go); type and recorded_at repeat two of its fields for
-- people querying the table by hand.
CREATE TABLE dangol_events (
    seq         bigint PRIMARY KEY,
    stream      text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    id          bytea NOT NULL,
    type        text NOT NULL,
    recorded_at timestamptz NOT NULL,
    record      bytea NOT NULL,
    CONSTRAINT dangol_events_stream_version UNIQUE (stream, version),
    CONSTRAINT dangol_events_id UNIQUE (id)
);

-- The log is append-only: altering or removing an event is refused (the
-- hash chain would also expose it).
CREATE FUNCTION dangol_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dangol_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER dangol_events_no_update BEFORE UPDATE OR DELETE ON dangol_events
    FOR EACH ROW EXECUTE FUNCTION dangol_events_immutable();
CREATE TRIGGER dangol_events_no_truncate BEFORE TRUNCATE ON dangol_events
    FOR EACH STATEMENT EXECUTE FUNCTION dangol_events_immutable();
