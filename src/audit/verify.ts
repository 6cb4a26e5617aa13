/**
 * Recomputes every stream's hash chain (src/eventstore/hash-chain.ts) from the stored
 * events and reports the first event, in position order, where it breaks: content that
 * no longer matches its hash (altered), a link to a predecessor that is not the one
 * stored (removed or reordered), a revision gap (removed), or, on the Postgres store, a
 * stream whose recorded head is past its last stored event (removed from the end).
 *
 * Reads through the EventStore port in batches, so memory grows with the number of
 * streams (one revision and hash each), not with the number of events.
 */
import type { SqlClient } from "../db/client";
import type { EventStore, RecordedEvent } from "../eventstore/port";
import { chainHash, contentHash } from "../eventstore/hash-chain";

export interface BrokenLink {
  position: string | null;
  stream_id: string;
  revision: string;
  event_id: string | null;
  reason: string;
}

export interface VerifyReport {
  valid: boolean;
  events_checked: number;
  streams_checked: number;
  /** Events stored before hash chains existed (not verifiable, not counted as broken). */
  legacy_events: number;
  first_broken: BrokenLink | null;
  head_position: string;
}

export interface VerifyOptions {
  /** The Postgres/PGlite database behind the store: enables the missing-tail check. */
  db?: SqlClient;
  batchSize?: number;
  onProgress?: (checked: number, position: bigint, head: bigint) => void;
}

interface StreamTip {
  revision: bigint;
  hash: string | null;
}

export async function verifyEventStore(store: EventStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const batchSize = options.batchSize ?? 5000;
  const head = await store.headPosition();
  const legacyUntil = options.db ? await legacyBoundary(options.db) : 0n;
  const tips = new Map<string, StreamTip>();
  let checked = 0;
  let legacy = 0;
  let firstBroken: BrokenLink | null = null;
  let position = 0n;

  scan: while (position < head) {
    const batch = await store.readAll({ fromPosition: position, limit: batchSize });
    if (batch.length === 0) break;
    for (const event of batch) {
      if (event.position > head) break scan;
      position = event.position;
      checked++;
      const tip = tips.get(event.streamId);
      const problem = checkEvent(event, tip, legacyUntil);
      if (problem === "legacy") legacy++;
      else if (problem && !firstBroken) firstBroken = broken(event, problem);
      tips.set(event.streamId, { revision: event.revision, hash: event.hash });
    }
    options.onProgress?.(checked, position, head);
  }
  options.onProgress?.(checked, position, head);

  if (!firstBroken && options.db) firstBroken = await missingTail(options.db, head);
  return {
    valid: firstBroken === null,
    events_checked: checked,
    streams_checked: tips.size,
    legacy_events: legacy,
    first_broken: firstBroken,
    head_position: head.toString(),
  };
}

/** Why `event` does not follow `tip` in its chain; "legacy" for a pre-chain event; null when sound. */
function checkEvent(event: RecordedEvent, tip: StreamTip | undefined, legacyUntil: bigint): string | null {
  const expectedRevision = tip ? tip.revision + 1n : 0n;
  if (event.revision !== expectedRevision) {
    if (event.revision > expectedRevision) {
      const last = event.revision - 1n;
      return `revision ${expectedRevision}${last > expectedRevision ? `-${last}` : ""} of the stream is missing (removed)`;
    }
    return `revision ${event.revision} appears after revision ${tip?.revision} (reordered or duplicated)`;
  }
  if (event.hash === null) {
    // Only acceptable for events stored before chains existed, and before any chained event of its stream.
    if (event.position <= legacyUntil && (!tip || tip.hash === null)) return "legacy";
    return "the event has no hash (stored outside the append path)";
  }
  const expectedPrev = tip?.hash ?? null;
  if ((event.prevHash ?? null) !== expectedPrev) {
    return "its link to the previous event does not match the stored previous event (removed, replaced or reordered)";
  }
  const recomputed = chainHash(expectedPrev ? Buffer.from(expectedPrev, "hex") : null, contentHash(event)).toString("hex");
  if (recomputed !== event.hash) return "its content does not match its hash (altered after it was written)";
  return null;
}

function broken(event: RecordedEvent, reason: string): BrokenLink {
  return { position: event.position.toString(), stream_id: event.streamId, revision: event.revision.toString(), event_id: event.id, reason };
}

async function legacyBoundary(db: SqlClient): Promise<bigint> {
  const [row] = await db.query<{ legacy_until: string | null }>("SELECT max(legacy_until)::text AS legacy_until FROM event_chain_epoch");
  return row?.legacy_until ? BigInt(row.legacy_until) : 0n;
}

/**
 * Streams whose recorded revision is past their last stored event: the newest events were
 * deleted. One statement, so a streams row and its events are seen in the same snapshot;
 * streams with events past `head` are left alone (appended after the scan began).
 */
async function missingTail(db: SqlClient, head: bigint): Promise<BrokenLink | null> {
  const [row] = await db.query<{ stream_id: string; revision: string; stored: string | null }>(
    `SELECT s.stream_id, s.revision::text AS revision, max(e.stream_revision)::text AS stored
       FROM streams s LEFT JOIN events e ON e.stream_id = s.stream_id
      GROUP BY s.stream_id, s.revision
     HAVING max(e.stream_revision) IS DISTINCT FROM s.revision
        AND COALESCE(max(e.global_position), 0) <= $1
      ORDER BY s.stream_id LIMIT 1`,
    [head.toString()],
  );
  if (!row) return null;
  const from = row.stored === null ? 0n : BigInt(row.stored) + 1n;
  return {
    position: null,
    stream_id: row.stream_id,
    revision: from.toString(),
    event_id: null,
    reason: `revision${from.toString() === row.revision ? ` ${from}` : `s ${from}-${row.revision}`} of the stream ${from.toString() === row.revision ? "is" : "are"} missing (removed from its end)`,
  };
}
