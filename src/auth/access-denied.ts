/**
 * Refused requests (401 and 403) become AccessDenied events, so the audit trail shows who
 * knocked on which door, without letting a flood fill the store: per principal (or, for
 * anonymous callers, per client address), method, route and status, the first refusal of
 * a one-minute window is appended at once (count 1) and the rest of that window are
 * counted and appended as one event when the window closes (count n). At most two events
 * per key and minute, whatever the request rate.
 *
 * The number of open windows is bounded: past `maxKeys`, new keys share one overflow
 * window per route, so many distinct anonymous addresses cannot grow memory either.
 * Counts still waiting when the process stops are flushed by `stop()`; a crash loses at
 * most one window of counts, never the first event of a window.
 */
import type { EventStore } from "../eventstore/port";
import { SCHEMA_VERSION } from "../eventstore/context";
import { stream } from "../eventstore/streams";
import type { Logger } from "../logger";

export interface DeniedRequest {
  method: string;
  /** The route template (e.g. /api/v1/users/:id), not the concrete path. */
  route: string;
  status: 401 | 403;
  reason: string;
  permission: string | null;
  principal: { type: "user" | "api_key"; id: string; organizationId: string } | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

interface Window {
  startedAt: number;
  /** Refusals after the first, not yet appended. */
  pending: number;
  last: DeniedRequest;
}

export interface AccessDeniedOptions {
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}

export class AccessDeniedRecorder {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    options: AccessDeniedOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.closeExpired(), Math.min(5_000, this.windowMs));
    this.timer.unref?.();
  }

  record(denied: DeniedRequest): void {
    const now = this.now();
    let key = keyOf(denied);
    let window = this.windows.get(key);
    if (window && now - window.startedAt >= this.windowMs) {
      this.close(key, window);
      window = undefined;
    }
    if (!window && this.windows.size >= this.maxKeys) {
      key = `overflow ${denied.method} ${denied.route} ${denied.status}`;
      window = this.windows.get(key);
    }
    if (window) {
      window.pending++;
      window.last = denied;
      return;
    }
    this.windows.set(key, { startedAt: now, pending: 0, last: denied });
    this.append(denied, 1, now);
  }

  /** Appends the counts of windows that have closed. */
  closeExpired(): void {
    const now = this.now();
    for (const [key, window] of this.windows) {
      if (now - window.startedAt >= this.windowMs) this.close(key, window);
    }
  }

  /** Appends every pending count now (windows stay open) and waits for all appends. */
  async flush(): Promise<void> {
    for (const window of this.windows.values()) {
      if (window.pending > 0) {
        this.append(window.last, window.pending, window.startedAt);
        window.pending = 0;
      }
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private close(key: string, window: Window): void {
    this.windows.delete(key);
    if (window.pending > 0) this.append(window.last, window.pending, window.startedAt);
  }

  private append(denied: DeniedRequest, count: number, windowStart: number): void {
    const organizationId = denied.principal?.organizationId ?? null;
    const event = {
      id: Bun.randomUUIDv7(),
      type: "AccessDenied",
      data: {
        method: denied.method,
        route: denied.route,
        status: denied.status,
        reason: denied.reason,
        permission: denied.permission,
        principal_type: denied.principal?.type ?? "anonymous",
        principal_id: denied.principal?.id ?? null,
        count,
        window_start: new Date(windowStart).toISOString(),
      },
      metadata: {
        actor: denied.principal ? { type: denied.principal.type, id: denied.principal.id } : { type: "anonymous" as const, id: null },
        organization_id: organizationId,
        correlation_id: denied.requestId ?? Bun.randomUUIDv7(),
        causation_id: null,
        ip: denied.ip,
        user_agent: denied.userAgent,
        occurred_at: new Date(this.now()).toISOString(),
        schema_version: SCHEMA_VERSION,
      },
    };
    // Off the request path: a refused request is answered without waiting for its record.
    // Appends to one stream are chained, so a window's count never lands before its first event.
    const streamId = stream.security(organizationId ?? "anonymous");
    const previous = this.tails.get(streamId) ?? Promise.resolve();
    const pending: Promise<unknown> = previous
      .then(() => this.store.append(streamId, [event], "any"))
      .catch((err) => this.logger.warn("could not record AccessDenied", { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => {
        this.inFlight.delete(pending);
        if (this.tails.get(streamId) === pending) this.tails.delete(streamId);
      });
    this.tails.set(streamId, pending);
    this.inFlight.add(pending);
  }
}

function keyOf(d: DeniedRequest): string {
  const who = d.principal ? `${d.principal.type}:${d.principal.id}` : `ip:${d.ip ?? "unknown"}`;
  return `${who} ${d.method} ${d.route} ${d.status}`;
}
