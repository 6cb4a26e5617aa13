/**
 * Platform administration (the /admin routes): system status, cache clearing across
 * processes, recent logs. The /admin/users routes reuse the user administration of
 * handlers/user-admin.ts as it is (tenancy, no escalation, last admin, sessions ended on
 * deactivation): nothing about users is decided here.
 */
import type { Deps } from "../deps";
import type { LogLevel } from "../config";
import { describeProvider } from "../llm/provider";
import { redactLine, type LogLine } from "../logger";
import { healthChecks } from "../http/routes/system";

// ----------------------------------------------------------------------- status

export interface ProjectionLag {
  name: string;
  position: string;
  lag_events: number;
  /** Age of the oldest event this projection has not applied yet; 0 when caught up. */
  lag_ms: number;
  error: string | null;
  updated_at: string | null;
}

/**
 * Every projection's checkpoint as the database has it (the projecting process may be
 * another one), its lag in events and in time behind the event store's head.
 */
export async function projectionLags(deps: Deps, head: bigint): Promise<ProjectionLag[]> {
  const rows = await deps.db.query<{ name: string; position: string; last_error: string | null; updated_at: string | Date | null }>(
    "SELECT name, position::text AS position, last_error, updated_at FROM projection_checkpoints ORDER BY name",
  );
  const known = new Set(deps.projector.status().map((p) => p.name));
  const oldestUnapplied = new Map<string, Promise<number>>();
  const now = Date.now();
  const ageAfter = (position: string) => {
    let age = oldestUnapplied.get(position);
    if (!age) {
      age = deps.store.readAll({ fromPosition: BigInt(position), limit: 1 }).then(([e]) => (e ? Math.max(0, now - e.recordedAt.getTime()) : 0));
      oldestUnapplied.set(position, age);
    }
    return age;
  };
  return Promise.all(
    rows
      .filter((r) => known.has(r.name))
      .map(async (r) => {
        const position = BigInt(r.position);
        const behind = head > position ? Number(head - position) : 0;
        return {
          name: r.name,
          position: r.position,
          lag_events: behind,
          lag_ms: behind > 0 ? await ageAfter(r.position) : 0,
          error: r.last_error,
          updated_at: r.updated_at === null ? null : new Date(r.updated_at).toISOString(),
        };
      }),
  );
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 100) / 100;

export async function systemStatus(deps: Deps) {
  const checks = await healthChecks(deps);
  const head = BigInt(checks.event_store.head_position);
  const projections = await projectionLags(deps, head);
  const memory = process.memoryUsage();
  const healthy = checks.event_store.status === "ok" && checks.read_database.status === "ok";
  const lagging = projections.some((p) => p.error !== null || p.lag_events >= 10_000);
  return {
    status: healthy ? (lagging ? "degraded" : "healthy") : "unhealthy",
    version: deps.config.version,
    environment: deps.config.environment,
    started_at: deps.startedAt.toISOString(),
    uptime_seconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
    event_store: checks.event_store,
    read_database: checks.read_database,
    projector: { leader: deps.projector.isLeader, projected_position: checks.projections.projected_position },
    projections,
    security_state: { position: deps.security.projectedPosition.toString(), users: deps.security.users.size, sessions: deps.security.sessions.size },
    llm: describeProvider(deps.config),
    memory: { rss_mb: mb(memory.rss), heap_used_mb: mb(memory.heapUsed), heap_total_mb: mb(memory.heapTotal), external_mb: mb(memory.external) },
    runtime: { bun: Bun.version, pid: process.pid, platform: process.platform },
  };
}

// ------------------------------------------------------------------ cache clear

/** Every API process LISTENs here; a clear in one process clears them all. */
export const CACHE_CLEAR_CHANNEL = "ledgerline_cache_clear";

/** Caches of this process that events or the data sources can refill. */
export function clearLocalCaches(deps: Deps): string[] {
  deps.tokens.clearCache();
  deps.schemaCache.clear();
  return ["verified_tokens", "schemas"];
}

const processIds = new WeakMap<Deps, string>();
const listening = new WeakMap<Deps, Promise<void>>();

function processIdOf(deps: Deps): string {
  let id = processIds.get(deps);
  if (!id) {
    id = Bun.randomUUIDv7();
    processIds.set(deps, id);
  }
  return id;
}

/**
 * Subscribes this process to cache clears of the others (once per service). Called when
 * the admin routes are built, so every process serving the API listens.
 */
export function listenForCacheClears(deps: Deps): Promise<void> {
  let started = listening.get(deps);
  if (!started) {
    const self = processIdOf(deps);
    started = deps.db
      .listen(CACHE_CLEAR_CHANNEL, (payload) => {
        let origin: string | undefined;
        try {
          origin = (JSON.parse(payload) as { origin?: string }).origin;
        } catch {
          /* a foreign payload still clears */
        }
        if (origin === self) return;
        const cleared = clearLocalCaches(deps);
        deps.logger.info("caches cleared on request of another process", { cleared });
      })
      .then(() => undefined)
      .catch((err) => deps.logger.warn("cannot listen for cache clears; this process clears only on its own requests", { error: err instanceof Error ? err.message : String(err) }));
    listening.set(deps, started);
  }
  return started;
}

export async function clearCaches(deps: Deps, requestedBy: string) {
  const cleared = clearLocalCaches(deps);
  let notified = true;
  try {
    await deps.db.query("SELECT pg_notify($1, $2)", [CACHE_CLEAR_CHANNEL, JSON.stringify({ origin: processIdOf(deps), requested_by: requestedBy, at: new Date().toISOString() })]);
  } catch (err) {
    notified = false;
    deps.logger.warn("cache clear not sent to the other processes", { error: err instanceof Error ? err.message : String(err) });
  }
  deps.logger.info("caches cleared", { cleared, requested_by: requestedBy });
  return { message: "Caches cleared", cleared, other_processes_notified: notified, cleared_at: new Date().toISOString() };
}

// ----------------------------------------------------------------------- logs

export function recentLogs(deps: Deps, filter: { level?: LogLevel; limit?: number }): { logs: LogLine[]; count: number } {
  // Redacted again on the way out: a line stored before a redaction rule existed, or a
  // value that slipped past the keys, must not leave through this route either.
  const logs = deps.logger.recent(filter).map(redactLine);
  return { logs, count: logs.length };
}
