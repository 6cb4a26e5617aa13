import { Elysia } from "elysia";
import type { Deps } from "../../deps";

/** Public: health with real checks, and the root document. */
export function systemRoutes(deps: Deps) {
  return new Elysia({ detail: { tags: ["System"], security: [] } })
    .get(
      "/health",
      async ({ set }) => {
        const checks = await healthChecks(deps);
        const healthy = checks.event_store.status === "ok" && checks.read_database.status === "ok";
        if (!healthy) set.status = 503;
        return {
          status: healthy ? (checks.projections.status === "ok" ? "healthy" : "degraded") : "unhealthy",
          version: deps.config.version,
          environment: deps.config.environment,
          checks,
        };
      },
      { detail: { summary: "Health: event store, read database, projection lag" } },
    )
    .get(
      "/",
      () => ({
        name: "Ledgerline",
        description: "Multi-tenant identity, access control and governed analytics, event-sourced",
        version: deps.config.version,
        links: { api: "/api/v1", health: "/api/v1/health", docs: "/docs", openapi: "/openapi.json", metrics: "/metrics" },
      }),
      { detail: { summary: "Service name, version and links" } },
    );
}

export async function healthChecks(deps: Deps) {
  const timed = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    try {
      await withTimeout(fn(), 2000);
      return { status: "ok" as const, latency_ms: round(performance.now() - started) };
    } catch (err) {
      return { status: "error" as const, latency_ms: round(performance.now() - started), error: err instanceof Error ? err.name : "error" };
    }
  };
  const [eventStore, readDatabase] = await Promise.all([timed(() => deps.store.ping()), timed(() => deps.db.query("SELECT 1"))]);
  let head = 0n;
  try {
    head = await withTimeout(deps.store.headPosition(), 2000);
  } catch {
    /* reported through event_store */
  }
  const projected = deps.projector.projectedPosition();
  const lag = head > projected ? Number(head - projected) : 0;
  const failing = deps.projector.status().filter((p) => p.error !== null).map((p) => p.name);
  return {
    event_store: { ...eventStore, adapter: deps.store.name, head_position: head.toString() },
    read_database: { ...readDatabase, kind: deps.db.kind },
    projections: {
      status: failing.length === 0 && lag < 10_000 ? ("ok" as const) : ("lagging" as const),
      lag_events: lag,
      projected_position: projected.toString(),
      leader: deps.projector.isLeader,
      failing,
    },
  };
}

function round(ms: number) {
  return Math.round(ms * 100) / 100;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error("timeout")))]);
}
