/**
 * The login memory: accounts by e-mail follow the user events; a login tail is only kept
 * while it is known to be the stream's end (contiguous revisions), and is otherwise
 * forgotten so the next login reads the stream.
 */
import { describe, expect, test } from "bun:test";
import { LoginMemory } from "../../src/auth/login-memory";
import type { RecordedEvent } from "../../src/eventstore/port";

let position = 0n;
function event(type: string, data: Record<string, unknown>, streamId = `user-${data.user_id}`, revision = 0n): RecordedEvent {
  position++;
  return {
    id: Bun.randomUUIDv7(),
    type,
    data,
    metadata: { actor: { type: "system", id: null }, organization_id: null, correlation_id: "c", causation_id: null, ip: null, user_agent: null, occurred_at: new Date().toISOString(), schema_version: 1 },
    streamId,
    revision,
    position,
    recordedAt: new Date(),
    hash: null,
    prevHash: null,
  };
}
const registered = (userId: string, organizationId: string, email: string, sealed = "sealed-1") =>
  event("UserRegistered", { user_id: userId, organization_id: organizationId, email, password_sealed: sealed, is_active: true });
const loginEvent = (userId: string, revision: bigint, type = "LoginFailed") =>
  event(type, { user_id: userId, organization_id: "o", reason: "bad_password", at: new Date().toISOString() }, `login-${userId}`, revision);

describe("login memory: accounts", () => {
  test("given accounts in two organizations under one e-mail, when looked up in any case, then both, or the one of the organization asked for", () => {
    const m = new LoginMemory();
    m.apply(registered("u1", "o1", "Ann@Example.test"));
    m.apply(registered("u2", "o2", "ann@example.test"));
    expect(m.accountsFor("  ANN@example.TEST ").map((a) => a.id)).toEqual(["u1", "u2"]);
    expect(m.accountsFor("ann@example.test", "o2").map((a) => a.id)).toEqual(["u2"]);
    expect(m.accountsFor("bob@example.test")).toEqual([]);
  });

  test("given an account, when its e-mail changes, its password changes, it is deactivated and deleted, then memory follows each", () => {
    const m = new LoginMemory();
    m.apply(registered("u1", "o1", "old@example.test"));
    m.apply(event("UserProfileUpdated", { user_id: "u1", changes: { email: "new@example.test" } }));
    expect(m.accountsFor("old@example.test")).toEqual([]);
    expect(m.accountsFor("new@example.test").map((a) => a.id)).toEqual(["u1"]);
    m.apply(event("PasswordChanged", { user_id: "u1", password_sealed: "sealed-2", reason: "change" }));
    m.apply(event("UserDeactivated", { user_id: "u1" }));
    expect(m.accountsFor("new@example.test")[0]).toMatchObject({ passwordSealed: "sealed-2", isActive: false });
    m.apply(event("UserDeleted", { user_id: "u1", organization_id: "o1", email: "new@example.test" }));
    expect(m.accountsFor("new@example.test")).toEqual([]);
  });
});

describe("login memory: tails", () => {
  test("given no tail, when asked, then null (the stream must be read)", () => {
    expect(new LoginMemory().tail("u1", 14)).toBeNull();
  });

  test("given a short stream read whole, when a longer tail is asked, then the whole stream (nothing older exists)", () => {
    const m = new LoginMemory();
    m.rememberTail("u1", [loginEvent("u1", 0n), loginEvent("u1", 1n)]);
    expect(m.tail("u1", 14)).toMatchObject({ revision: 1n });
    expect(m.tail("u1", 14)!.events.length).toBe(2);
  });

  test("given a tail read from the middle of a stream, when more events are asked than it holds, then null", () => {
    const m = new LoginMemory();
    m.rememberTail("u1", [loginEvent("u1", 40n), loginEvent("u1", 41n)]);
    expect(m.tail("u1", 2)!.revision).toBe(41n);
    expect(m.tail("u1", 3)).toBeNull();
  });

  test("given a remembered tail, when the subscription brings the next revision, an old one, then a gap, then it grows, stays, and is forgotten", () => {
    const m = new LoginMemory();
    m.rememberTail("u1", [loginEvent("u1", 0n)]);
    m.apply(loginEvent("u1", 1n));
    expect(m.tail("u1", 14)!.revision).toBe(1n);
    m.apply(loginEvent("u1", 1n)); // our own append, seen again
    expect(m.tail("u1", 14)!.events.length).toBe(2);
    m.apply(loginEvent("u1", 3n)); // revision 2 was missed
    expect(m.tail("u1", 14)).toBeNull();
  });

  test("given this process's own appends, when they follow the tail they join it, and when they do not the tail is forgotten", () => {
    const m = new LoginMemory();
    m.appended("u1", [loginEvent("u1", 0n, "LoginSucceeded")]);
    m.appended("u1", [loginEvent("u1", 1n), loginEvent("u1", 2n)]);
    expect(m.tail("u1", 14)!.events.map((e) => Number(e.revision))).toEqual([0, 1, 2]);
    m.appended("u1", [loginEvent("u1", 7n)]);
    expect(m.tail("u1", 14)).toBeNull();
  });

  test("given a long history, when followed, then the tail keeps only the newest events and still answers a policy-sized tail", () => {
    const m = new LoginMemory();
    m.rememberTail("u1", [loginEvent("u1", 0n)]);
    for (let r = 1n; r < 200n; r++) m.apply(loginEvent("u1", r));
    const t = m.tail("u1", 14)!;
    expect(t.revision).toBe(199n);
    expect(t.events.map((e) => Number(e.revision))).toEqual(Array.from({ length: 14 }, (_, i) => 186 + i));
    expect(m.tail("u1", 65)).toBeNull();
  });

  test("given a deleted user or a catch-up ahead, when asked, then its tail is gone", () => {
    const m = new LoginMemory();
    m.apply(registered("u1", "o1", "a@example.test"));
    m.rememberTail("u1", [loginEvent("u1", 0n)]);
    m.rememberTail("u2", [loginEvent("u2", 0n)]);
    m.apply(event("UserDeleted", { user_id: "u1", organization_id: "o1", email: "a@example.test" }));
    expect(m.tail("u1", 14)).toBeNull();
    m.forgetTails();
    expect(m.tail("u2", 14)).toBeNull();
  });
});
