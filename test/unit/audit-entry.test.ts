/**
 * The audit index entry of an event (projections/audit-log/entry.ts): resource, user,
 * organization and status rules, and that every event type the domain modules declare
 * is either indexed or a known technical type.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedEvent } from "../../src/eventstore/port";
import { AUDITED_EVENT_TYPES, TECHNICAL_EVENT_TYPES, auditEntryOf, statusOf } from "../../projections/audit-log/entry";
import { actionTypes, dateRange } from "../../src/handlers/audit";
import { DomainError } from "../../src/domain/errors";

const ORG = "0190a1b2-0000-7000-8000-0000000000aa";
const OTHER_ORG = "0190a1b2-0000-7000-8000-0000000000bb";
const USER = "0190a1b2-0000-7000-8000-000000000011";
const ADMIN = "0190a1b2-0000-7000-8000-000000000022";

function event(over: Partial<RecordedEvent> & { actor?: RecordedEvent["metadata"]["actor"]; org?: string | null }): RecordedEvent {
  return {
    id: "0190a1b2-0000-7000-8000-0000000000ff",
    type: "UserProfileUpdated",
    data: {},
    streamId: `user-${USER}`,
    revision: 3n,
    position: 42n,
    recordedAt: new Date("2026-01-02T03:04:05.000Z"),
    hash: null,
    prevHash: null,
    ...over,
    metadata: {
      actor: over.actor ?? { type: "user", id: ADMIN },
      organization_id: over.org === undefined ? ORG : over.org,
      correlation_id: "c",
      causation_id: null,
      ip: "10.0.0.1",
      user_agent: "curl/8",
      occurred_at: "2026-01-02T03:04:04.000Z",
      schema_version: 1,
    },
  };
}

describe("audit entry of an event", () => {
  test("given a user acting on another user, then the entry names the actor as user, the stream as resource, and redacts the data", () => {
    const e = auditEntryOf(event({ data: { user_id: USER, changes: { first_name: "A" }, password_sealed: "v1.x" } }))!;
    expect(e).toMatchObject({
      position: 42n,
      resource: "user",
      resourceId: USER,
      actorType: "user",
      actorId: ADMIN,
      userId: ADMIN,
      organizationId: ORG,
      ip: "10.0.0.1",
      userAgent: "curl/8",
      status: "success",
      details: { user_id: USER, changes: { first_name: "A" } },
    });
    expect(e.occurredAt.toISOString()).toBe("2026-01-02T03:04:04.000Z");
  });

  test("given no user actor, then user_id is the user the data names; given no data organization, the metadata's", () => {
    const failed = auditEntryOf(event({ type: "LoginFailed", streamId: `login-${USER}`, actor: { type: "anonymous", id: null }, data: { user_id: USER, organization_id: OTHER_ORG } }))!;
    expect(failed).toMatchObject({ userId: USER, organizationId: OTHER_ORG, status: "failure", resource: "login", actorType: "anonymous" });
    const denied = auditEntryOf(event({ type: "AccessDenied", streamId: `security-${ORG}`, actor: { type: "api_key", id: "k1" }, data: { route: "/x" } }))!;
    expect(denied).toMatchObject({ userId: null, organizationId: ORG, status: "failure", actorType: "api_key", actorId: "k1", resource: "security" });
  });

  test("given a technical stream, then there is no entry", () => {
    for (const s of ["reservation-email-x", "idempotency-abc", `seats-${ORG}`]) expect(auditEntryOf(event({ streamId: s }))).toBeNull();
  });

  test("status: the listed refusals and any Failed/Rejected/Denied type are failures", () => {
    for (const t of ["LoginFailed", "AccountLocked", "RefreshTokenReused", "AccessDenied", "QueryRejected", "QueryFailed", "ExportFailed", "RoleRequestRejected"]) expect(statusOf(t)).toBe("failure");
    for (const t of ["LoginSucceeded", "UserRegistered", "AccessGranted"]) expect(statusOf(t)).toBe("success");
  });

  test("every event type the domain modules declare is indexed or a known technical type", () => {
    const known = new Set<string>([...AUDITED_EVENT_TYPES, ...TECHNICAL_EVENT_TYPES]);
    const dir = join(import.meta.dir, "../../src/domain");
    const declared = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      const source = readFileSync(join(dir, file), "utf8");
      // Union members of `export type XEvent =` ... up to the next blank line or export.
      for (const block of source.matchAll(/export type \w*Event\s*=([\s\S]*?)(?:\n\s*\n|\nexport )/g)) {
        for (const m of block[1].matchAll(/type:\s*"([A-Z]\w+)"/g)) declared.add(m[1]);
      }
    }
    declared.add("AccessDenied");
    expect(declared.size).toBeGreaterThan(40);
    expect([...declared].filter((t) => !known.has(t))).toEqual([]);
  });
});

describe("audit query parameters", () => {
  test("action: event types ignoring case, comma lists, and a * prefix", () => {
    expect(actionTypes("loginfailed")).toEqual(["LoginFailed"]);
    expect(actionTypes("Login*")).toEqual(["LoginSucceeded", "LoginFailed"]);
    expect(actionTypes("RoleCreated, rolecreated,AccessDenied")).toEqual(["RoleCreated", "AccessDenied"]);
    expect(actionTypes("Unheard")).toEqual(["Unheard"]);
  });

  test("dates: a date alone covers its whole UTC day; a timestamp is inclusive; bad or reversed ranges are 422", () => {
    expect(dateRange("2025-01-01", "2025-12-31")).toEqual({ from: new Date("2025-01-01T00:00:00Z"), to: new Date("2026-01-01T00:00:00Z") });
    expect(dateRange(undefined, "2025-06-01T10:00:00Z").to).toEqual(new Date("2025-06-01T10:00:00.001Z"));
    for (const [a, b] of [["yesterday", undefined], [undefined, "12/31/2025"], ["2025-02-01", "2025-01-01"]] as const) {
      expect(() => dateRange(a, b)).toThrow(DomainError);
    }
  });
});
