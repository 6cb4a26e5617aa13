/**
 * When each API key was last used, without an event (or a write) per request: uses are
 * counted in memory and flushed every few seconds, and on stop, as one upsert into
 * `api_key_usage`. Losing the last few seconds in a crash is acceptable for a
 * "last used" column; an event per request would not be (the audit stream would be
 * mostly key pings, and every keyed request would wait for an append).
 *
 * Several processes may flush for the same key: the upsert keeps the latest time and
 * adds the counts.
 */
import type { Queryable } from "../db/client";
import type { Logger } from "../logger";

interface Pending {
  lastUsedAt: number;
  uses: number;
}

const UPSERT = `INSERT INTO api_key_usage (key_id, last_used_at, uses)
  SELECT r.key_id, r.last_used_at, r.uses FROM jsonb_to_recordset($1::jsonb) AS r(key_id uuid, last_used_at timestamptz, uses bigint)
  ON CONFLICT (key_id) DO UPDATE SET
    last_used_at = greatest(api_key_usage.last_used_at, excluded.last_used_at),
    uses = api_key_usage.uses + excluded.uses`;

export class ApiKeyUsage {
  private pending = new Map<string, Pending>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Queryable,
    private readonly logger?: Logger,
    /** How long a use may wait in memory before it is written. */
    readonly flushIntervalMs = 2000,
  ) {}

  /** Called on every request authenticated by a key: a map write, nothing more. */
  touch(keyId: string, at = Date.now()): void {
    const p = this.pending.get(keyId);
    if (p) {
      p.uses++;
      if (at > p.lastUsedAt) p.lastUsedAt = at;
    } else {
      this.pending.set(keyId, { lastUsedAt: at, uses: 1 });
    }
    this.schedule();
  }

  /** Uses not written yet (for tests and /admin). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes everything pending in one statement. Safe to call at any time. */
  async flush(): Promise<void> {
    // One flush at a time: a second caller waits for the running one, then writes what
    // arrived meanwhile.
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const rows = [...batch].map(([key_id, p]) => ({ key_id, last_used_at: new Date(p.lastUsedAt).toISOString(), uses: p.uses }));
    this.flushing = (async () => {
      try {
        await this.db.query(UPSERT, [JSON.stringify(rows)]);
      } catch (err) {
        // Put the uses back (merged with newer ones) for the next flush.
        for (const [id, p] of batch) {
          const now = this.pending.get(id);
          if (now) {
            now.uses += p.uses;
            if (p.lastUsedAt > now.lastUsedAt) now.lastUsedAt = p.lastUsedAt;
          } else this.pending.set(id, p);
        }
        this.logger?.warn("api key usage flush failed; retrying later", { error: err instanceof Error ? err.message : String(err), keys: batch.size });
        if (!this.stopped) this.schedule();
      } finally {
        this.flushing = null;
      }
    })();
    await this.flushing;
  }

  /** Final flush; later touches are kept in memory only until the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Flushing resumes after a stop (e.g. a test restarting the service on the same deps). */
  start(): void {
    this.stopped = false;
    if (this.pending.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushIntervalMs);
    // A pending flush must not keep a finished process (or test run) alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}
