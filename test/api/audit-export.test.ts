/**
 * The audit export is streamed: 100,000 entries go out a keyset page at a time, and the
 * process's live memory stays far below what the whole export would take.
 *
 * The events are appended through the event store port (1,000 per call, realistic
 * AccessDenied events of one organization) and indexed by the running projector, as
 * live traffic would be. Live heap is sampled after a forced collection every few
 * chunks while the response is consumed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { serviceKinds, startService, type TestService } from "../support/app";
import { SCHEMA_VERSION } from "../../src/eventstore/context";
import { stream } from "../../src/eventstore/streams";
import type { NewEvent } from "../../src/eventstore/port";
import { HOOK_TIMEOUT_MS, uniq } from "./_helpers";

const EVENTS = 100_000;
const PER_APPEND = 1_000;
const MiB = 1024 * 1024;

describe.each(serviceKinds())("audit export of 100,000 events (%s)", (kind) => {
  let s: TestService;
  let admin: { token: string; organizationId: string; userId: string };

  beforeAll(async () => {
    s = await startService(kind);
    const tag = uniq("x");
    const r = await s.json("POST", "/api/v1/auth/register", {
      body: { email: `admin.${tag}@example.com`, password: "Member-Password-123!", first_name: "Ex", last_name: "Port", organization: `Export ${tag}` },
    });
    if (r.status !== 201) throw new Error(`register: ${r.status}`);
    admin = { token: r.body.access_token, organizationId: r.body.organization_id, userId: r.body.id };

    const started = Date.now();
    let last = 0n;
    for (let made = 0; made < EVENTS; made += PER_APPEND) {
      const batch: NewEvent[] = [];
      for (let k = 0; k < PER_APPEND; k++) {
        const at = new Date(started - (EVENTS - made - k) * 1000).toISOString();
        batch.push({
          id: Bun.randomUUIDv7(),
          type: "AccessDenied",
          data: {
            method: k % 2 ? "GET" : "POST",
            route: "/api/v1/datasources/:id",
            status: 403,
            reason: `Missing permission datasource.update (request ${made + k} of a scripted scan)`,
            permission: "datasource.update",
            principal_type: "user",
            principal_id: admin.userId,
            count: 1 + (k % 7),
            window_start: at,
          },
          metadata: {
            actor: { type: "user", id: admin.userId },
            organization_id: admin.organizationId,
            correlation_id: Bun.randomUUIDv7(),
            causation_id: null,
            ip: `10.1.${k % 250}.${made % 250}`,
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
            occurred_at: at,
            schema_version: SCHEMA_VERSION,
          },
        });
      }
      last = (await s.deps.store.append(stream.security(admin.organizationId), batch, "any")).position;
    }
    // The projector indexes them as it would live traffic.
    const deadline = Date.now() + 600_000;
    while (s.deps.projector.projectedPosition() < last) {
      if (Date.now() > deadline) throw new Error("projector did not catch up");
      await Bun.sleep(200);
    }
  }, 900_000);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  test(
    "given 100,000 entries, when exported as CSV, then every row arrives while live memory stays far below the export's size",
    async () => {
      Bun.gc(true);
      const before = process.memoryUsage();
      const res = await s.request("GET", "/api/v1/audit/export?format=csv&action=AccessDenied", { token: admin.token });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let bytes = 0;
      let lines = 0;
      let chunks = 0;
      let peakHeap = 0;
      let peakRss = 0;
      const sample = () => {
        Bun.gc(true);
        const now = process.memoryUsage();
        peakHeap = Math.max(peakHeap, now.heapUsed - before.heapUsed);
        peakRss = Math.max(peakRss, now.rss - before.rss);
      };
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        for (let i = 0; i < value.byteLength; i++) if (value[i] === 10) lines++;
        if (++chunks % 10 === 0) sample();
      }
      sample();
      process.stderr.write(
        `[${kind}] exported ${lines - 1} rows, ${(bytes / MiB).toFixed(1)} MiB in ${chunks} chunks; peak live heap growth ${(peakHeap / MiB).toFixed(1)} MiB, peak RSS growth ${(peakRss / MiB).toFixed(1)} MiB\n`,
      );
      expect(lines - 1).toBe(EVENTS);
      expect(chunks).toBeGreaterThanOrEqual(EVENTS / 1000);
      // Holding the export would take at least its text (and several times that as row objects).
      expect(bytes).toBeGreaterThan(40 * MiB);
      expect(peakHeap).toBeLessThan(bytes / 8);
      expect(peakRss).toBeLessThan(bytes);
    },
    600_000,
  );
});
