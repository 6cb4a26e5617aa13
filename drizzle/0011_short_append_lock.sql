-- ll_append with a short ordering lock.
--
-- Readers pass only events whose transaction id is below the oldest open transaction
-- (src/eventstore/postgres.ts). That is sound only if positions follow transaction ids:
-- for any two events, p0 < p1 must imply xid0 <= xid1. Until now the whole append (stream row update, hash
-- chain, event insert, index maintenance) ran under one global advisory lock to keep
-- that order, so every append in the system waited for every other one: measured at
-- ~1.1 ms per call under 8 concurrent refreshes, most of it queueing.
--
-- Now only what the order needs is serialized globally: assigning the transaction's id
-- and drawing the positions from the sequence, in one tiny critical section, so positions
-- are drawn in transaction-id order. That requires the append to be its transaction's
-- first write: a transaction that got its id earlier could draw positions after a younger
-- one drew lower ones, and commit first. The function refuses to run otherwise (the
-- adapter always calls it as a statement of its own). The rest of the append runs
-- concurrently with appends to other streams.
--
-- Writers of one stream are serialized first, by a transaction-level advisory lock on
-- the stream (held to the commit). It must come before the positions are drawn, so that
-- a stream's revisions follow position order (readers of $all apply a stream's events in
-- that order), and it must not be a row lock, because locking a row assigns the
-- transaction id outside the critical section. The stream row update then checks the
-- expectation (exactly one writer wins per revision), and the hash chain reads its
-- predecessor, which cannot change any more. Positions drawn by an append that then
-- fails its expectation are gaps, as any sequence leaves.
--
-- The ordering lock is session-level so it is released before the commit; the exception
-- block around the critical section makes sure a cancellation cannot leave it held on a
-- pooled connection.
--
-- What one append does once its stream is locked and its positions drawn (check the
-- expectation, chain the hashes, insert) is ll_append_item, shared with ll_append_batch
-- (drizzle/0012). The stream lock uses the two-key advisory space (7244, hashtext), apart
-- from the single-key locks (ordering, projector); two streams sharing a hash only
-- serialize with each other.
CREATE OR REPLACE FUNCTION ll_append_item(
  p_stream text, p_expected text, p_events jsonb, p_positions bigint[],
  OUT next_revision bigint, OUT last_position bigint, OUT actual text)
LANGUAGE plpgsql AS $$
-- One append whose stream the caller has locked and whose positions it has drawn (one
-- per event, ascending). On a failed expectation: next_revision NULL, actual the stream's
-- revision as text ('no_stream' if none), and nothing written.
DECLARE
  n         bigint := jsonb_array_length(p_events);
  v_last    bigint;
  v_actual  bigint;
  v_start   bigint;
  v_prev    bytea;
  v_hash    bytea;
  v_prevs   bytea[] := '{}';
  v_hashes  bytea[] := '{}';
  v_event   jsonb;
BEGIN
  IF p_expected = 'no_stream' THEN
    INSERT INTO streams (stream_id, revision) VALUES (p_stream, n - 1) ON CONFLICT (stream_id) DO NOTHING;
    IF FOUND THEN
      v_last := n - 1;
    ELSE
      SELECT s.revision INTO v_actual FROM streams s WHERE s.stream_id = p_stream;
    END IF;
  ELSIF p_expected = 'any' THEN
    INSERT INTO streams AS s (stream_id, revision) VALUES (p_stream, n - 1)
      ON CONFLICT (stream_id) DO UPDATE SET revision = s.revision + n
      RETURNING s.revision INTO v_last;
  ELSIF p_expected = 'exists' THEN
    UPDATE streams s SET revision = s.revision + n WHERE s.stream_id = p_stream RETURNING s.revision INTO v_last;
  ELSE
    -- A concurrent writer with the same expectation waited on the stream lock and now
    -- finds the new revision: exactly one wins per revision.
    UPDATE streams s SET revision = s.revision + n
      WHERE s.stream_id = p_stream AND s.revision = p_expected::bigint
      RETURNING s.revision INTO v_last;
    IF v_last IS NULL THEN
      SELECT s.revision INTO v_actual FROM streams s WHERE s.stream_id = p_stream;
    END IF;
  END IF;
  IF v_last IS NULL THEN
    actual := COALESCE(v_actual::text, 'no_stream');
    RETURN;
  END IF;

  -- Hash chain: the stream is locked, so the predecessor cannot change.
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

  INSERT INTO events (global_position, stream_id, stream_revision, event_id, event_type, data, metadata, prev_hash, hash)
  SELECT p_positions[e.ord], p_stream, v_start + e.ord - 1, (e.value->>'id')::uuid, e.value->>'type',
         e.value->'data', e.value->'metadata', v_prevs[e.ord], v_hashes[e.ord]
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(value, ord);

  next_revision := v_last;
  last_position := p_positions[n];
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION ll_append(p_stream text, p_expected text, p_events jsonb)
RETURNS TABLE (next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $$
-- append(stream, expected, events) in one round trip and one implicit transaction.
-- expected: 'any' | 'no_stream' | 'exists' | a revision number as text.
-- p_events: [{id, type, data, metadata, content_hash (hex)}, ...]
-- Raises SQLSTATE 'LL409' with DETAIL = the actual revision (or 'no_stream') on a
-- failed expectation; writes nothing then.
DECLARE
  n      bigint := jsonb_array_length(p_events);
  v_pos  bigint[];
  r      record;
BEGIN
  IF n = 0 THEN
    RAISE EXCEPTION 'append needs at least one event' USING ERRCODE = '22023';
  END IF;

  -- One writer per stream at a time, to the commit (see the header).
  PERFORM pg_advisory_xact_lock(7244, hashtext(p_stream));

  -- Ordering: transaction id and positions together (see the header).
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    RAISE EXCEPTION 'll_append must be the first write of its transaction' USING ERRCODE = '25000';
  END IF;
  PERFORM pg_advisory_lock(7244015000);
  BEGIN
    PERFORM pg_current_xact_id();
    IF n = 1 THEN
      v_pos := ARRAY[nextval('events_global_position_seq')];  -- the usual case, without a query
    ELSE
      SELECT array_agg(p ORDER BY p) INTO v_pos
        FROM (SELECT nextval('events_global_position_seq') AS p FROM generate_series(1, n)) s;
    END IF;
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

  SELECT * INTO r FROM ll_append_item(p_stream, p_expected, p_events, v_pos);
  IF r.next_revision IS NULL THEN
    RAISE EXCEPTION 'wrong expected revision' USING ERRCODE = 'LL409', DETAIL = r.actual;
  END IF;
  RETURN QUERY SELECT r.next_revision, r.last_position;
END $$;
