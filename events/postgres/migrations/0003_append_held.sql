-- An append against stream heads the appending store already holds (it
-- wrote or read them last), in one statement and so one round trip: check
-- that each head is still the one held (or, for a stream the store starts,
-- that there is none), move the heads, reserve the positions under the log
-- head's row lock, insert the events and, if told to, notify. A head that moved
-- meanwhile raises SQLSTATE DG001 and the statement writes nothing; the
-- store then appends the way of 0001 (lock, read, check, write). An event
-- id already stored fails the insert (unique violation), with the same
-- outcome. Taking the log head's lock last, until commit, keeps positions
-- assigned in commit order (events/postgres/doc.go).
--
-- h_old is each stream's version as held (-1: reserved, no event), NULL
-- for a stream to be created; h_version and h_hash its new head. e_* are
-- the events in position order, e_record their canonical bytes. notify
-- sends the NOTIFY of events/postgres/doc.go (the store spaces them out).
CREATE FUNCTION dangol_append_held(
    h_stream text[], h_old bigint[], h_version bigint[], h_hash bytea[],
    recorded_at timestamptz,
    e_stream text[], e_version bigint[], e_id bytea[], e_type text[], e_record bytea[],
    notify boolean
) RETURNS bigint LANGUAGE plpgsql
-- Its statements' plans are made once per session: with the arrays as
-- parameters every call's custom plan would be remade each time (more
-- than the statements take to run).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    moved bigint;
    created bigint;
    n bigint := cardinality(e_id);
    base bigint;
BEGIN
    IF cardinality(h_stream) = 1 AND h_old[1] IS NOT NULL THEN
        -- One stream held (a lone writer's append): a row, not a join.
        UPDATE dangol_streams SET version = h_version[1], hash = h_hash[1]
            WHERE stream = h_stream[1] AND version = h_old[1];
        GET DIAGNOSTICS moved = ROW_COUNT;
        created := 0;
    ELSE
        UPDATE dangol_streams s SET version = u.version, hash = u.hash
            FROM unnest(h_stream, h_old, h_version, h_hash) AS u(stream, old, version, hash)
            WHERE s.stream = u.stream AND s.version = u.old;
        GET DIAGNOSTICS moved = ROW_COUNT;
        INSERT INTO dangol_streams (stream, version, hash)
            SELECT u.stream, u.version, u.hash
            FROM unnest(h_stream, h_old, h_version, h_hash) AS u(stream, old, version, hash)
            WHERE u.old IS NULL
            ORDER BY u.stream
            ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS created = ROW_COUNT;
    END IF;
    IF moved + created <> cardinality(h_stream) THEN
        RAISE EXCEPTION 'a stream head moved since it was read' USING ERRCODE = 'DG001';
    END IF;
    UPDATE dangol_log_head SET seq = seq + n RETURNING seq - n INTO base;
    INSERT INTO dangol_events (seq, stream, version, id, type, recorded_at, record)
        SELECT base + r.k, r.stream, r.version, r.id, r.type, dangol_append_held.recorded_at, r.record
        FROM unnest(e_stream, e_version, e_id, e_type, e_record) WITH ORDINALITY AS r(stream, version, id, type, record, k);
    IF notify THEN
        PERFORM pg_notify('dangol_events', '');
    END IF;
    RETURN base;
END $$;
