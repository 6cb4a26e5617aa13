-- Tamper evidence: every event records the hash of the previous event in its stream and
-- its own hash, hash = sha256(prev_hash || content_hash), where content_hash is SHA-256
-- over a canonical JSON encoding of {id, type, data, metadata}, computed by the adapter
-- (src/eventstore/hash-chain.ts) and chained here, under the stream's row lock, so two
-- writers can never both claim the same predecessor. The first event of a stream has
-- prev_hash NULL (32 zero bytes in the formula). Events stored before this migration
-- have no hashes; verification reports them as legacy and starts each chain after them.
ALTER TABLE events ADD COLUMN IF NOT EXISTS prev_hash bytea;
--> statement-breakpoint
ALTER TABLE events ADD COLUMN IF NOT EXISTS hash bytea;
--> statement-breakpoint
-- Events at or below this position were stored before chains existed; above it, an event
-- without a hash is itself a sign of tampering.
CREATE TABLE IF NOT EXISTS event_chain_epoch (legacy_until bigint NOT NULL);
--> statement-breakpoint
INSERT INTO event_chain_epoch (legacy_until) SELECT COALESCE(max(global_position), 0) FROM events;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ll_append(p_stream text, p_expected text, p_events jsonb)
RETURNS TABLE (next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $$
-- append(stream, expected, events) in one round trip and one implicit transaction.
-- expected: 'any' | 'no_stream' | 'exists' | a revision number as text.
-- p_events: [{id, type, data, metadata, content_hash (hex)}, ...]
-- Raises SQLSTATE 'LL409' with DETAIL = the actual revision (or 'no_stream') on a
-- failed expectation; writes nothing then.
--
-- Ordering: readers pass only events whose transaction id is below the oldest open
-- transaction. That is only sound if position order follows transaction-id order, so
-- the transaction's first write (which assigns its id) and the sequence values are taken
-- together under a short advisory lock. The lock is session-level so that it is released
-- here, before the commit, and concurrent commits still group; every exit unlocks.
--
-- Hash chain: the streams row is locked by the revision update below before the
-- predecessor's hash is read, so the chain cannot fork.
DECLARE
  n        bigint := jsonb_array_length(p_events);
  v_last   bigint;
  v_start  bigint;
  v_actual bigint;
  v_pos    bigint;
  v_prev   bytea;
  v_hash   bytea;
  v_prevs  bytea[] := '{}';
  v_hashes bytea[] := '{}';
  v_event  jsonb;
BEGIN
  IF n = 0 THEN
    RAISE EXCEPTION 'append needs at least one event' USING ERRCODE = '22023';
  END IF;
  PERFORM pg_advisory_lock(7244015000);
  BEGIN
    IF p_expected = 'no_stream' THEN
      INSERT INTO streams (stream_id, revision) VALUES (p_stream, n - 1)
        ON CONFLICT (stream_id) DO NOTHING;
      IF NOT FOUND THEN
        SELECT revision INTO v_actual FROM streams WHERE stream_id = p_stream;
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'LL409', DETAIL = v_actual::text;
      END IF;
      v_last := n - 1;
    ELSIF p_expected = 'any' THEN
      INSERT INTO streams AS s (stream_id, revision) VALUES (p_stream, n - 1)
        ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + n
        RETURNING s.revision INTO v_last;
    ELSIF p_expected = 'exists' THEN
      UPDATE streams SET revision = revision + n WHERE stream_id = p_stream
        RETURNING revision INTO v_last;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'LL409', DETAIL = 'no_stream';
      END IF;
    ELSE
      -- Row lock on the stream: a concurrent writer with the same expectation waits, then
      -- re-checks the new revision and fails. Exactly one wins per revision.
      UPDATE streams SET revision = revision + n
        WHERE stream_id = p_stream AND revision = p_expected::bigint
        RETURNING revision INTO v_last;
      IF NOT FOUND THEN
        SELECT revision INTO v_actual FROM streams WHERE stream_id = p_stream;
        RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'LL409',
          DETAIL = COALESCE(v_actual::text, 'no_stream');
      END IF;
    END IF;

    v_start := v_last - n + 1;
    IF v_start > 0 THEN
      SELECT e.hash INTO v_prev FROM events e WHERE e.stream_id = p_stream AND e.stream_revision = v_start - 1;
    END IF;
    FOR v_event IN SELECT value FROM jsonb_array_elements(p_events) LOOP
      IF v_event->>'content_hash' IS NULL THEN
        v_hash := NULL;  -- an adapter that does not hash (older code): no chain
      ELSE
        v_hash := sha256(COALESCE(v_prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                         || decode(v_event->>'content_hash', 'hex'));
      END IF;
      v_prevs := array_append(v_prevs, v_prev);
      v_hashes := array_append(v_hashes, v_hash);
      v_prev := v_hash;
    END LOOP;

    WITH inserted AS (
      INSERT INTO events (stream_id, stream_revision, event_id, event_type, data, metadata, prev_hash, hash)
      SELECT p_stream, v_start + e.ord - 1, (e.value->>'id')::uuid, e.value->>'type',
             e.value->'data', e.value->'metadata', v_prevs[e.ord], v_hashes[e.ord]
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(value, ord)
       ORDER BY e.ord
      RETURNING global_position
    )
    SELECT max(global_position) INTO v_pos FROM inserted;
  EXCEPTION
    -- OTHERS does not match a cancellation; name it so a timeout cannot leave the lock held.
    WHEN query_canceled THEN
      PERFORM pg_advisory_unlock(7244015000);
      RAISE;
    WHEN OTHERS THEN
      PERFORM pg_advisory_unlock(7244015000);
      RAISE;
  END;
  PERFORM pg_advisory_unlock(7244015000);
  RETURN QUERY SELECT v_last, v_pos;
END $$;
