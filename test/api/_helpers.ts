/**
 * Small helpers shared by the API suites. Not a test file itself (no `.test.ts`).
 */
import { expect } from "bun:test";
import { decodeJwt } from "jose";
import type { TestService } from "../support/app";
import { handleCommand } from "../../src/eventstore/handle-command";
import { systemContext } from "../../src/eventstore/context";
import { stream } from "../../src/eventstore/streams";
import { user } from "../../src/domain/user";
import { hashPassword } from "../../src/auth/passwords";
import { claim } from "../../src/handlers/reservations";
import { emailClaim, sealPassword } from "../../src/handlers/users";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Starting a service runs initdb/migrations: slow on a loaded 2-core machine, and hooks do not get bunfig's timeout. */
export const HOOK_TIMEOUT_MS = 180_000;
export const TEST_TIMEOUT_MS = 60_000;

let counter = 0;
/** A short tag unique within the process: keeps slugs, names and domains apart between tests. */
export function uniq(prefix = "t"): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Reads a response once and checks the RFC 9457 shape; returns the parsed body and raw text. */
export async function expectProblem(res: Response, status: number): Promise<{ body: any; text: string }> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  expect(res.headers.get("content-type") ?? "").toStartWith("application/problem+json");
  const body = JSON.parse(text);
  expect(typeof body.type).toBe("string");
  expect(body.type.length).toBeGreaterThan(0);
  expect(typeof body.title).toBe("string");
  expect(body.title.length).toBeGreaterThan(0);
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe("string");
  expect(body.detail.length).toBeGreaterThan(0);
  return { body, text };
}

/** Polls until `check` stops throwing: for effects recorded after the response is sent (access log, metrics). */
export async function eventually<T>(check: () => T | Promise<T>, attempts = 200): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await check();
    } catch (err) {
      last = err;
      await Bun.sleep(10);
    }
  }
  throw last;
}

/**
 * The moment right after a step's response, for point-in-time reads: the step's events
 * are stamped at or before it, and the pause makes the next step's events stamped
 * strictly after it.
 */
export async function moment(): Promise<string> {
  const at = new Date();
  await Bun.sleep(3);
  return at.toISOString();
}

export function superAdminIdOf(token: string): string {
  const sub = decodeJwt(token).sub;
  if (!sub) throw new Error("token without sub");
  return sub;
}

/**
 * An ordinary (non-super-admin) member of an organization. There is no user-creation
 * endpoint yet, so the user is registered through the user aggregate, exactly as the
 * bootstrap registers the super admin, and then logs in through the API.
 */
export async function registerMember(s: TestService, org: { id: string; slug: string }, email = `${uniq("m")}@member.test`, password = "Member-Password-123!") {
  const ctx = systemContext();
  const userId = Bun.randomUUIDv7();
  await claim(s.deps.store, ctx, emailClaim(org.id, email), userId);
  const { position } = await handleCommand(
    s.deps.store,
    stream.user(userId),
    user,
    {
      type: "RegisterUser",
      userId,
      organizationId: org.id,
      profile: { email, username: null, first_name: "Mem", last_name: "Ber" },
      passwordSealed: sealPassword(s.deps, userId, await hashPassword(password)),
      isActive: true,
      isVerified: true,
      roleIds: [],
      source: "admin",
    },
    ctx,
    { organizationId: org.id },
  );
  await s.deps.projector.waitFor(position);
  const login = await s.json("POST", "/api/v1/auth/login", { body: { email, password, organization_slug: org.slug } });
  if (login.status !== 200) throw new Error(`member login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: userId, email, token: login.body.access_token as string };
}
