/**
 * Auth under attack: lockout (parallel guessing, indistinguishable refusals, expiry,
 * doubling), forged and dead tokens, secrets that must never leak into responses,
 * events or logs, and the transparent rehash of passwords stored at older parameters.
 */
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import { randomBytes } from "node:crypto";
import { decodeJwt, SignJWT } from "jose";
import { SUPER_ADMIN, serviceKinds, startService, type TestService } from "../support/app";
import { AUDIENCE, ISSUER } from "../../src/auth/tokens";
import { ARGON2 } from "../../src/auth/passwords";
import { handleCommand, toNewEvents } from "../../src/eventstore/handle-command";
import { systemContext } from "../../src/eventstore/context";
import type { RecordedEvent } from "../../src/eventstore/port";
import { stream } from "../../src/eventstore/streams";
import { user } from "../../src/domain/user";
import { DEFAULT_LOCKOUT } from "../../src/domain/login";
import { settle } from "../../src/deps";
import { deleteUser, openPassword, sealPassword } from "../../src/handlers/users";
import { expectProblem, HOOK_TIMEOUT_MS, TEST_TIMEOUT_MS, uniq } from "./_helpers";

/** Every test gets a timeout that survives a loaded 2-core machine (the default is 5 s). */
const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const AUTH = "/api/v1/auth";
const ORGS = "/api/v1/organizations";
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const withoutRequestId = (body: Record<string, unknown>) => {
  const { request_id: _, ...rest } = body;
  return rest;
};

describe.each(serviceKinds())("auth security (%s)", (kind) => {
  let s: TestService;
  let root: string;
  let orgId: string;

  /** Every response this suite saw, with the refresh token it issued (if any): scanned for leaks at the end. */
  const responses: Array<{ path: string; text: string; issued: string[] }> = [];
  /** Every plaintext password this suite used, right or wrong. */
  const passwords = new Set<string>([SUPER_ADMIN.password]);
  const refreshTokens = new Set<string>();
  const accessTokens = new Set<string>();

  const call = async (method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) => {
    const body = init.body as { password?: string; current_password?: string; new_password?: string } | undefined;
    for (const p of [body?.password, body?.current_password, body?.new_password]) if (typeof p === "string") passwords.add(p);
    const res = await s.request(method, path, init);
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    const issued: string[] = [];
    if (parsed && typeof parsed.refresh_token === "string") {
      refreshTokens.add(parsed.refresh_token);
      issued.push(parsed.refresh_token);
    }
    if (parsed && typeof parsed.access_token === "string") {
      accessTokens.add(parsed.access_token);
      issued.push(parsed.access_token);
    }
    responses.push({ path, text, issued });
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const login = (body: Record<string, unknown>, headers?: Record<string, string>) => call("POST", `${AUTH}/login`, { body, headers });
  const me = (token: string) => call("GET", `${AUTH}/me`, { token });

  /** A fresh member registered through the API (its organization is open). */
  const newMember = async (password = `Sec-${uniq()}-Pw9!`) => {
    const email = `${uniq("s")}@security.test`;
    const res = await call("POST", `${AUTH}/register`, { body: { email, password, first_name: "Sec", last_name: "Urity", organization_id: orgId } });
    expect(res.status).toBe(201);
    return { id: res.body.user.id as string, email, password, access: res.body.access_token as string, refresh: res.body.refresh_token as string };
  };
  const loginEvents = (userId: string) => s.deps.store.readStream(stream.login(userId));
  const ofType = (events: RecordedEvent[], type: string) => events.filter((e) => e.type === type);

  beforeAll(async () => {
    s = await startService(kind);
    root = await s.superAdminToken();
    const org = await s.json("POST", ORGS, { token: root, body: { name: `Security Org ${uniq()}`, slug: uniq("sec-") } });
    expect(org.status).toBe(201);
    orgId = org.body.id;
  }, HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await s?.close();
  }, HOOK_TIMEOUT_MS);

  describe("lockout", () => {
    test("given 20 parallel wrong passwords, when they race, then all are 401 and exactly 5 LoginFailed and 1 AccountLocked are recorded", async () => {
      const m = await newMember();
      const ua = `ledgerline-test/lockout-${uniq()}`;
      // Slow readers of the login stream: every attempt decides on a state others are
      // about to change, so only the expected revision can keep the count at 5.
      const readStream = s.deps.store.readStream;
      s.deps.store.readStream = async (streamId, options) => {
        const events = await readStream.call(s.deps.store, streamId, options);
        if (streamId === stream.login(m.id)) await Bun.sleep(25);
        return events;
      };
      let results: Awaited<ReturnType<typeof login>>[];
      try {
        results = await Promise.all(Array.from({ length: 20 }, (_, i) => login({ email: m.email, password: `Wrong-${i}-${uniq()}` }, { "user-agent": ua })));
      } finally {
        s.deps.store.readStream = readStream;
      }
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(401));
      const events = await loginEvents(m.id);
      expect(ofType(events, "LoginFailed").length).toBe(DEFAULT_LOCKOUT.maxFailures);
      expect(ofType(events, "AccountLocked").length).toBe(1);
      expect(ofType(events, "LoginSucceeded").length).toBe(0);
      const locked = ofType(events, "AccountLocked")[0];
      expect(locked.data).toMatchObject({ user_id: m.id, organization_id: orgId, lock_count: 1, failures: 5 });
      expect(Date.parse(locked.data.locked_until as string) - Date.parse(locked.metadata.occurred_at)).toBe(DEFAULT_LOCKOUT.lockMs);
      for (const e of events) {
        expect(e.metadata.user_agent).toBe(ua);
        expect("ip" in e.metadata).toBe(true);
        expect(e.metadata.actor).toEqual({ type: "user", id: m.id });
        expect(e.metadata.organization_id).toBe(orgId);
      }

      // Locked: the right password answers exactly like a wrong one and an unknown e-mail.
      const right = await login({ email: m.email, password: m.password }, { "user-agent": ua });
      const wrong = await login({ email: m.email, password: `Wrong-${uniq()}` });
      const unknown = await login({ email: `${uniq()}@nobody.test`, password: m.password });
      const unknownOrg = await login({ email: m.email, password: m.password, organization: `no-such-${uniq()}` });
      for (const r of [right, wrong, unknown, unknownOrg]) {
        expect(r.status).toBe(401);
        expect(r.headers.get("content-type")).toBe(right.headers.get("content-type"));
        expect(r.headers.get("www-authenticate")).toBe(right.headers.get("www-authenticate"));
      }
      expect(withoutRequestId(wrong.body)).toEqual(withoutRequestId(right.body));
      expect(withoutRequestId(unknown.body)).toEqual(withoutRequestId(right.body));
      expect(withoutRequestId(unknownOrg.body)).toEqual(withoutRequestId(right.body));
      // Attempts while locked are refused without touching the stream.
      expect((await loginEvents(m.id)).length).toBe(events.length);
      // The existing session of the registration is not what a lock is about.
      expect((await me(m.access)).status).toBe(200);
    });

    test("given a 1 s lock, when it expires, then the right password logs in, and the next lock lasts twice as long", async () => {
      const policy = { maxFailures: 3, windowMs: 15 * 60_000, lockMs: 1000 };
      const saved = s.deps.config.lockout;
      s.deps.config.lockout = policy;
      try {
        const m = await newMember();
        const ua = `ledgerline-test/expiry-${uniq()}`;
        for (let i = 0; i < policy.maxFailures; i++) expect((await login({ email: m.email, password: `Wrong-${i}-${uniq()}` }, { "user-agent": ua })).status).toBe(401);
        const firstLock = ofType(await loginEvents(m.id), "AccountLocked");
        expect(firstLock.length).toBe(1);
        expect(firstLock[0].data.lock_count).toBe(1);
        const lockedUntil = Date.parse(firstLock[0].data.locked_until as string);
        expect(lockedUntil - Date.parse(firstLock[0].metadata.occurred_at)).toBe(policy.lockMs);

        // Bounded poll: the outcome (a login once the lock is over) is what is asserted.
        let ok: Awaited<ReturnType<typeof login>> | undefined;
        for (let i = 0; i < 300 && ok?.status !== 200; i++) {
          ok = await login({ email: m.email, password: m.password }, { "user-agent": ua });
          if (ok.status !== 200) await Bun.sleep(50);
        }
        expect(ok?.status).toBe(200);
        expect(ok?.body.user.id).toBe(m.id);
        const afterLogin = await loginEvents(m.id);
        const succeeded = ofType(afterLogin, "LoginSucceeded");
        expect(succeeded.length).toBe(1);
        // Never before the lock ended, however early the poll asked.
        expect(Date.parse(succeeded[0].data.at as string)).toBeGreaterThanOrEqual(lockedUntil);
        expect(succeeded[0].data.session_id).toBe(decodeJwt(ok!.body.access_token).sid as string);
        expect(succeeded[0].metadata.user_agent).toBe(ua);
        // Polling while locked recorded nothing: failures, the lock, the success.
        expect(afterLogin.map((e) => e.type)).toEqual([...Array(policy.maxFailures).fill("LoginFailed"), "AccountLocked", "LoginSucceeded"]);

        for (let i = 0; i < policy.maxFailures; i++) expect((await login({ email: m.email, password: `Wrong-again-${i}-${uniq()}` }, { "user-agent": ua })).status).toBe(401);
        const locks = ofType(await loginEvents(m.id), "AccountLocked");
        expect(locks.length).toBe(2);
        expect(locks[1].data.lock_count).toBe(2);
        expect(Date.parse(locks[1].data.locked_until as string) - Date.parse(locks[1].metadata.occurred_at)).toBe(2 * policy.lockMs);
        for (const e of await loginEvents(m.id)) expect(e.metadata.user_agent).toBe(ua);
      } finally {
        s.deps.config.lockout = saved;
      }
    });

    test("given one e-mail in two organizations, when wrong passwords come without an organization, then both accounts count them and lock", async () => {
      const email = `${uniq("twin")}@twins.test`;
      const twins = [];
      for (const password of [`Twin-A-${uniq()}-Pw1!`, `Twin-B-${uniq()}-Pw1!`]) {
        const org = (await s.json("POST", ORGS, { token: root, body: { name: `Twin Org ${uniq()}`, slug: uniq("twin-") } })).body;
        const reg = await call("POST", `${AUTH}/register`, { body: { email, password, organization_id: org.id } });
        expect(reg.status).toBe(201);
        twins.push({ id: reg.body.user.id as string, org: org.id as string, password });
      }
      // Without an organization the password picks the account: each twin logs in so.
      for (const t of twins) expect((await login({ email, password: t.password })).body.user?.id).toBe(t.id);

      for (let i = 0; i < DEFAULT_LOCKOUT.maxFailures; i++) expect((await login({ email, password: `Twin-Wrong-${i}-${uniq()}` })).status).toBe(401);
      for (const t of twins) {
        expect(ofType(await loginEvents(t.id), "AccountLocked").length).toBe(1);
        // Locked either way: guessing without the organization is no way around the lock.
        expect((await login({ email, password: t.password })).status).toBe(401);
        expect((await login({ email, password: t.password, organization_id: t.org })).status).toBe(401);
      }
    });

    test("given an account that may not log in (organization deactivated), when the right password is given, then 401 and no LoginSucceeded is recorded", async () => {
      const org = (await s.json("POST", ORGS, { token: root, body: { name: `Dormant Org ${uniq()}`, slug: uniq("dormant-") } })).body;
      const email = `${uniq()}@dormant.test`;
      const password = `Dormant-${uniq()}-Pw1!`;
      const reg = await call("POST", `${AUTH}/register`, { body: { email, password, organization_id: org.id } });
      expect(reg.status).toBe(201);
      const userId = reg.body.user.id as string;
      expect((await s.json("PUT", `${ORGS}/${org.id}`, { token: root, body: { is_active: false } })).status).toBe(200);
      expect((await login({ email, password })).status).toBe(401);
      const events = await loginEvents(userId);
      expect(ofType(events, "LoginSucceeded").length).toBe(0);
      // The refusal is still on record, and not as a password failure that would feed the lock.
      expect(ofType(events, "LoginFailed").map((e) => e.data.reason)).toEqual(["account_inactive"]);
      for (let i = 0; i < DEFAULT_LOCKOUT.maxFailures + 1; i++) expect((await login({ email, password })).status).toBe(401);
      expect(ofType(await loginEvents(userId), "AccountLocked").length).toBe(0);
    });

    test("given failures spread over a window, when the old ones fall out of it, then they no longer count", async () => {
      const policy = { maxFailures: 3, windowMs: 1500, lockMs: 60_000 };
      const saved = s.deps.config.lockout;
      s.deps.config.lockout = policy;
      try {
        const m = await newMember();
        for (let i = 0; i < policy.maxFailures - 1; i++) expect((await login({ email: m.email, password: `Wrong-${i}-${uniq()}` })).status).toBe(401);
        const lastOld = ofType(await loginEvents(m.id), "LoginFailed").at(-1)!;
        // Wait until the clock has passed the window of the earlier failures.
        while (Date.now() - Date.parse(lastOld.data.at as string) <= policy.windowMs) await Bun.sleep(100);
        expect((await login({ email: m.email, password: `Wrong-late-${uniq()}` })).status).toBe(401);
        expect(ofType(await loginEvents(m.id), "AccountLocked").length).toBe(0);
        expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      } finally {
        s.deps.config.lockout = saved;
      }
    });
  });

  describe("login memory: what the process remembers is only a hint", () => {
    /** What another API process would have appended to the user's login stream: straight to the store. */
    const appendElsewhere = async (userId: string, events: Array<{ type: string; data: Record<string, unknown> }>) => {
      const [last] = await s.deps.store.readStream(stream.login(userId), { direction: "backwards", limit: 1 });
      const ctx = { ...systemContext(), organizationId: orgId, actor: { type: "user" as const, id: userId } };
      await s.deps.store.append(stream.login(userId), toNewEvents(events, ctx), last ? last.revision : "no_stream");
    };
    /** Runs `fn` while this process follows no events, as a process lagging behind the others would. */
    const whileBehind = async <T>(fn: () => Promise<T>): Promise<T> => {
      await s.deps.security.stop();
      try {
        return await fn();
      } finally {
        await s.deps.security.start();
      }
    };
    const revisions = (events: RecordedEvent[]) => events.map((e) => Number(e.revision));

    test("given a remembered login tail, when 20 wrong passwords race on it, then still exactly 5 LoginFailed and 1 AccountLocked", async () => {
      const m = await newMember();
      // A first login puts the account's tail in memory: the racers below read nothing first.
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login({ email: m.email, password: `Wrong-${i}-${uniq()}` })));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(401));
      const events = await loginEvents(m.id);
      expect(ofType(events, "LoginFailed").length).toBe(DEFAULT_LOCKOUT.maxFailures);
      expect(ofType(events, "AccountLocked").length).toBe(1);
      expect(revisions(events)).toEqual(events.map((_, i) => i));
      expect((await login({ email: m.email, password: m.password })).status).toBe(401);
    });

    test("given a lock this process has not seen, when the right password comes, then 401 and nothing is appended", async () => {
      const m = await newMember();
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      await whileBehind(async () => {
        const at = new Date().toISOString();
        const ids = { user_id: m.id, organization_id: orgId };
        await appendElsewhere(m.id, [
          ...Array.from({ length: DEFAULT_LOCKOUT.maxFailures }, () => ({ type: "LoginFailed", data: { ...ids, reason: "bad_password", at } })),
          { type: "AccountLocked", data: { ...ids, locked_until: new Date(Date.now() + 60_000).toISOString(), lock_count: 1, failures: DEFAULT_LOCKOUT.maxFailures } },
        ]);
        const before = (await loginEvents(m.id)).length;
        expect((await login({ email: m.email, password: m.password })).status).toBe(401);
        expect((await loginEvents(m.id)).length).toBe(before);
      });
    });

    test("given a login this process has not seen, when the right password comes, then 200 and the stream goes on without a gap", async () => {
      const m = await newMember();
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      await whileBehind(async () => {
        await appendElsewhere(m.id, [{ type: "LoginSucceeded", data: { user_id: m.id, organization_id: orgId, session_id: Bun.randomUUIDv7(), at: new Date().toISOString() } }]);
        expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      });
      const events = await loginEvents(m.id);
      expect(events.map((e) => e.type)).toEqual(["LoginSucceeded", "LoginSucceeded", "LoginSucceeded"]);
      expect(revisions(events)).toEqual([0, 1, 2]);
    });

    test("given an account registered while this process was behind, when it logs in, then the read model answers: 200", async () => {
      const email = `${uniq("late")}@security.test`;
      const password = `Late-${uniq()}-Pw9!`;
      await whileBehind(async () => {
        const reg = await call("POST", `${AUTH}/register`, { body: { email, password, organization_id: orgId } });
        expect(reg.status).toBe(201);
        expect(s.deps.security.logins.accountsFor(email)).toEqual([]);
        expect((await login({ email: email.toUpperCase(), password })).status).toBe(200);
      });
      // Caught up, memory knows the account under any case of its e-mail.
      expect(s.deps.security.logins.accountsFor(email.toUpperCase()).length).toBe(1);
    });

    test("given a password changed while this process was behind, when the new password comes, then the read model answers: 200", async () => {
      const m = await newMember();
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      const newPassword = `Changed-${uniq()}-Pw7!`;
      passwords.add(newPassword);
      let sealed = "";
      await whileBehind(async () => {
        sealed = sealPassword(s.deps, m.id, await Bun.password.hash(newPassword, ARGON2));
        const { position } = await handleCommand(s.deps.store, stream.user(m.id), user, { type: "ChangePassword", passwordSealed: sealed, reason: "change" }, systemContext());
        await s.deps.projector.waitFor(position);
        // Memory still holds the old sealed password; the read model has the new one.
        expect(s.deps.security.logins.accountsFor(m.email)[0].passwordSealed).not.toBe(sealed);
        expect((await login({ email: m.email, password: newPassword })).status).toBe(200);
      });
      // Caught up, memory holds the new one, and the old password is refused.
      expect(s.deps.security.logins.accountsFor(m.email)[0].passwordSealed).toBe(sealed);
      expect((await login({ email: m.email, password: newPassword })).status).toBe(200);
      expect((await login({ email: m.email, password: m.password })).status).toBe(401);
    });
  });

  describe("forged and dead tokens", () => {
    let m: Awaited<ReturnType<typeof newMember>>;
    let claims: { sub: string; org: string; sid: string };
    const secret = () => new TextEncoder().encode(s.deps.config.jwtSecret);

    const mint = (
      overrides: { alg?: string; key?: Uint8Array; iss?: string; aud?: string; typ?: unknown; iat?: number; exp?: number; sub?: string; org?: string; sid?: string } = {},
    ) => {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = { org: overrides.org ?? claims.org, sid: overrides.sid ?? claims.sid };
      if (!("typ" in overrides)) payload.typ = "access";
      else if (overrides.typ !== undefined) payload.typ = overrides.typ;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: overrides.alg ?? "HS256", typ: "JWT" })
        .setSubject(overrides.sub ?? claims.sub)
        .setIssuer(overrides.iss ?? ISSUER)
        .setAudience(overrides.aud ?? AUDIENCE)
        .setJti(Bun.randomUUIDv7())
        .setIssuedAt(overrides.iat ?? now)
        .setExpirationTime(overrides.exp ?? now + 600)
        .sign(overrides.key ?? secret());
    };
    const refused = async (token: string) => {
      const res = await s.request("GET", `${AUTH}/me`, { token });
      const { text } = await expectProblem(res, 401);
      responses.push({ path: `${AUTH}/me`, text, issued: [] });
    };

    beforeAll(async () => {
      m = await newMember();
      const c = decodeJwt(m.access);
      claims = { sub: c.sub as string, org: c.org as string, sid: c.sid as string };
    }, HOOK_TIMEOUT_MS);

    test("given a token minted like the service's own, when used, then 200 (the forgeries below differ in one thing each)", async () => {
      const res = await me(await mint());
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(m.id);
    });

    test("given alg none, another key, HS512 with the right secret, or a tampered payload, when used, then 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { ...claims, typ: "access", iss: ISSUER, aud: AUDIENCE, jti: Bun.randomUUIDv7(), iat: now, exp: now + 600 };
      await refused(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`);
      await refused(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}`);
      await refused(await mint({ key: randomBytes(32) }));
      await refused(await mint({ key: new TextEncoder().encode(`${s.deps.config.jwtSecret}x`) }));
      await refused(await mint({ alg: "HS512" }));
      await refused(await mint({ alg: "HS384" }));

      // The real token with its payload edited and its signature kept.
      const [header, body, signature] = m.access.split(".");
      const decoded = JSON.parse(Buffer.from(body, "base64url").toString());
      const other = await newMember();
      await refused(`${header}.${b64url({ ...decoded, sub: other.id })}.${signature}`);
      await refused(`${header}.${b64url({ ...decoded, exp: decoded.exp + 3600 })}.${signature}`);
      await refused(`${header}.${body}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`);
      // The genuine token still works: nothing above was refused by accident.
      expect((await me(m.access)).status).toBe(200);
    });

    test("given expired, wrong aud, wrong iss or a typ other than access, when used, then 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      await refused(await mint({ iat: now - 7200, exp: now - 3600 }));
      await refused(await mint({ aud: "someone-else" }));
      await refused(await mint({ iss: "someone-else" }));
      await refused(await mint({ typ: "refresh" }));
      await refused(await mint({ typ: undefined }));
    });

    test("given a refresh token, when used as an access token, then 401", async () => {
      await refused(m.refresh);
      const r = await call("POST", `${AUTH}/refresh`, { body: { refresh_token: m.refresh } });
      expect(r.status).toBe(200);
      await refused(r.body.refresh_token);
      m = { ...m, access: r.body.access_token, refresh: r.body.refresh_token };
    });

    test("given a logged-out session, when its token or a fresh one for it is used, then 401", async () => {
      const x = await newMember();
      const sid = decodeJwt(x.access).sid as string;
      expect((await call("POST", `${AUTH}/logout`, { token: x.access })).status).toBe(200);
      await refused(x.access);
      await refused(await mint({ sub: x.id, sid }));
    });

    test("given a deactivated user, when its token or a fresh one is used, then 401", async () => {
      const x = await newMember();
      expect((await me(x.access)).status).toBe(200);
      const { position } = await handleCommand(s.deps.store, stream.user(x.id), user, { type: "SetActive", active: false }, systemContext(), { organizationId: orgId });
      expect(position > 0n).toBe(true);
      await settle(s.deps, position);
      expect((await s.deps.store.readStream(stream.user(x.id))).map((e) => e.type)).toContain("UserDeactivated");
      await refused(x.access);
      await refused(await mint({ sub: x.id, sid: decodeJwt(x.access).sid as string }));
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: x.refresh } }), 401);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: x.email, password: x.password } }), 401);
    });

    test("given a deactivated user, when a refresh is refused, then nothing rotates, and after reactivation the same refresh token works", async () => {
      const x = await newMember();
      const sid = decodeJwt(x.access).sid as string;
      const setActive = async (active: boolean) => {
        const { position } = await handleCommand(s.deps.store, stream.user(x.id), user, { type: "SetActive", active }, systemContext(), { organizationId: orgId });
        await settle(s.deps, position);
      };
      await setActive(false);
      const before = (await s.deps.store.readStream(stream.session(sid))).map((e) => e.type);
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: x.refresh } }), 401);
      // A refusal is not a rotation: the holder's token must not turn into a "reused" one.
      expect((await s.deps.store.readStream(stream.session(sid))).map((e) => e.type)).toEqual(before);
      await setActive(true);
      const r = await call("POST", `${AUTH}/refresh`, { body: { refresh_token: x.refresh } });
      expect(r.status).toBe(200);
      expect((await me(r.body.access_token)).body.id).toBe(x.id);
      expect((await s.deps.store.readStream(stream.session(sid))).map((e) => e.type)).not.toContain("RefreshTokenReused");
    });

    test("given a deactivated organization, when its member logs in or uses a token, then 401 like any wrong credential", async () => {
      const org = (await s.json("POST", ORGS, { token: root, body: { name: `Paused Org ${uniq()}`, slug: uniq("paused-") } })).body;
      const email = `${uniq()}@paused.test`;
      const password = `Paused-${uniq()}-Pw1!`;
      const reg = await call("POST", `${AUTH}/register`, { body: { email, password, organization_id: org.id } });
      expect(reg.status).toBe(201);
      expect((await s.json("PUT", `${ORGS}/${org.id}`, { token: root, body: { is_active: false } })).status).toBe(200);
      await refused(reg.body.access_token);
      const denied = await login({ email, password });
      const wrong = await login({ email, password: `${password}-nope` });
      expect(denied.status).toBe(401);
      expect(withoutRequestId(denied.body)).toEqual(withoutRequestId(wrong.body));
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: reg.body.refresh_token } }), 401);
      expect((await s.json("PUT", `${ORGS}/${org.id}`, { token: root, body: { is_active: true } })).status).toBe(200);
      expect((await login({ email, password })).status).toBe(200);
      // Whether deactivation ended the session or not, the refused refresh did not rotate it.
      await call("POST", `${AUTH}/refresh`, { body: { refresh_token: reg.body.refresh_token } });
      const sid = decodeJwt(reg.body.access_token).sid as string;
      const types = (await s.deps.store.readStream(stream.session(sid))).map((e) => e.type);
      expect(types).not.toContain("RefreshTokenReused");
      expect(types.filter((t) => t === "SessionRefreshed").length).toBeLessThanOrEqual(1);
    });

    test("given a deleted user, when its token is used, then 401", async () => {
      const x = await newMember();
      const position = await deleteUser(s.deps, systemContext(), orgId, x.id);
      await settle(s.deps, position);
      await refused(x.access);
      await refused(await mint({ sub: x.id, sid: decodeJwt(x.access).sid as string }));
      await expectProblem(await s.request("POST", `${AUTH}/refresh`, { body: { refresh_token: x.refresh } }), 401);
    });

    test("given a session of another user, when a token pairs it with this user, then 401", async () => {
      const x = await newMember();
      await refused(await mint({ sub: m.id, sid: decodeJwt(x.access).sid as string }));
      await refused(await mint({ org: Bun.randomUUIDv7() }));
    });
  });

  describe("rehash", () => {
    test("given a hash stored at older argon2 parameters, when the user logs in, then it succeeds and the hash is redone at m=19456,t=2", async () => {
      const m = await newMember();
      const weak = await Bun.password.hash(m.password, { algorithm: "argon2id", memoryCost: 8192, timeCost: 1 });
      expect(weak).toStartWith("$argon2id$v=19$m=8192,t=1,");
      const { position } = await handleCommand(
        s.deps.store,
        stream.user(m.id),
        user,
        { type: "ChangePassword", passwordSealed: sealPassword(s.deps, m.id, weak), reason: "reset" },
        systemContext(),
        { organizationId: orgId },
      );
      await settle(s.deps, position);

      const res = await login({ email: m.email, password: m.password });
      expect(res.status).toBe(200);
      const changes = (await s.deps.store.readStream(stream.user(m.id))).filter((e) => e.type === "PasswordChanged");
      expect(changes.map((e) => e.data.reason)).toEqual(["reset", "rehash"]);
      const rehashed = openPassword(s.deps, m.id, changes[1].data.password_sealed as string);
      expect(rehashed).toStartWith(`$argon2id$v=19$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},`);
      expect(rehashed).toStartWith("$argon2id$v=19$m=19456,t=2,");
      expect(await Bun.password.verify(m.password, rehashed)).toBe(true);
      expect(changes[1].metadata.actor).toEqual({ type: "user", id: m.id });

      // Once is enough: the next login finds the new hash.
      expect((await login({ email: m.email, password: m.password })).status).toBe(200);
      expect((await s.deps.store.readStream(stream.user(m.id))).filter((e) => e.type === "PasswordChanged").length).toBe(2);
      await expectProblem(await s.request("POST", `${AUTH}/login`, { body: { email: m.email, password: `${m.password}x` } }), 401);
    });

    test("given a wrong password against an old hash, when logging in, then 401 and no rehash", async () => {
      const m = await newMember();
      const weak = await Bun.password.hash(m.password, { algorithm: "argon2id", memoryCost: 8192, timeCost: 1 });
      const { position } = await handleCommand(s.deps.store, stream.user(m.id), user, { type: "ChangePassword", passwordSealed: sealPassword(s.deps, m.id, weak), reason: "reset" }, systemContext(), { organizationId: orgId });
      await settle(s.deps, position);
      expect((await login({ email: m.email, password: `${m.password}-no` })).status).toBe(401);
      const reasons = (await s.deps.store.readStream(stream.user(m.id))).filter((e) => e.type === "PasswordChanged").map((e) => e.data.reason);
      expect(reasons).toEqual(["reset"]);
    });
  });

  describe("secrets never leak", () => {
    test("given the register, login, refresh, change-password and lockout flows, when they run, then they succeed (material for the scan)", async () => {
      const m = await newMember();
      const r = await login({ email: m.email, password: m.password });
      expect(r.status).toBe(200);
      const refreshed = await call("POST", `${AUTH}/refresh`, { headers: { authorization: `Bearer ${r.body.refresh_token}` } });
      expect(refreshed.status).toBe(200);
      // Reuse of a rotated token: the refusal must not echo it.
      expect((await call("POST", `${AUTH}/refresh`, { body: { refresh_token: r.body.refresh_token } })).status).toBe(401);
      const newPassword = `Changed-${uniq()}-Pw1!`;
      expect((await call("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: m.password, new_password: newPassword } })).status).toBe(200);
      expect((await call("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: `${m.password}-wrong`, new_password: `Other-${uniq()}-Pw1!` } })).status).toBe(422);
      expect((await call("POST", `${AUTH}/change-password`, { token: m.access, body: { current_password: newPassword, new_password: "Password123" } })).status).toBe(422);
      expect((await login({ email: m.email, password: newPassword })).status).toBe(200);
      // Refusals that quote the input: too long, unknown field, wrong type.
      expect((await call("POST", `${AUTH}/register`, { body: { email: `${uniq()}@x.test`, password: `Too-Long-${"q".repeat(200)}`, organization_id: orgId } })).status).toBe(422);
      expect((await call("POST", `${AUTH}/register`, { body: { email: `${uniq()}@x.test`, password: `Way-Too-Long-${"z".repeat(1100)}`, organization_id: orgId } })).status).toBe(422);
      expect((await call("POST", `${AUTH}/login`, { body: { email: m.email, password: `Extra-Field-${uniq()}`, extra: "x" } })).status).toBe(422);
      expect((await call("POST", `${AUTH}/refresh`, { body: { refresh_token: `llr_${"f".repeat(600)}` } })).status).toBe(422);
      for (let i = 0; i < DEFAULT_LOCKOUT.maxFailures + 1; i++) expect((await login({ email: m.email, password: `Leak-Wrong-${i}-${uniq()}` })).status).toBe(401);
      expect(ofType(await loginEvents(m.id), "AccountLocked").length).toBe(1);
    });

    test("given everything this suite did, when responses, events and log lines are scanned, then no password, hash, refresh token or JWT secret appears", async () => {
      expect(passwords.size).toBeGreaterThan(40);
      expect(refreshTokens.size).toBeGreaterThan(10);
      expect(responses.length).toBeGreaterThan(80);

      let events: RecordedEvent[] = [];
      for (let from = 0n; ; ) {
        const batch = await s.deps.store.readAll({ fromPosition: from, limit: 1000 });
        events = events.concat(batch);
        if (batch.length < 1000) break;
        from = batch[batch.length - 1].position;
      }
      expect(events.length).toBeGreaterThan(100);
      const eventTexts = events.map((e) => `${e.type} ${JSON.stringify(e.data)} ${JSON.stringify(e.metadata)}`);
      const logLines = [...s.logLines];
      expect(logLines.length).toBeGreaterThan(50);

      const secret = s.deps.config.jwtSecret;
      const stored = [...eventTexts, ...logLines];
      const leaks: string[] = [];
      for (const text of stored) {
        if (text.includes("$argon2")) leaks.push(`argon2 hash in: ${text.slice(0, 120)}`);
        if (text.includes(secret)) leaks.push("JWT secret");
        for (const p of passwords) if (text.includes(p)) leaks.push(`password ${p} in: ${text.slice(0, 120)}`);
        for (const t of refreshTokens) if (text.includes(t)) leaks.push(`refresh token in: ${text.slice(0, 120)}`);
        for (const t of accessTokens) if (text.includes(t)) leaks.push(`access token in: ${text.slice(0, 120)}`);
      }
      for (const r of responses) {
        if (r.text.includes("$argon2")) leaks.push(`argon2 hash in response of ${r.path}`);
        if (r.text.includes(secret)) leaks.push(`JWT secret in response of ${r.path}`);
        for (const p of passwords) if (r.text.includes(p)) leaks.push(`password in response of ${r.path}: ${r.text.slice(0, 120)}`);
        // A token may appear only in the response that issued it.
        for (const t of [...refreshTokens, ...accessTokens]) if (r.text.includes(t) && !r.issued.includes(t)) leaks.push(`token echoed by ${r.path}`);
      }
      expect(leaks).toEqual([]);
      // The hashes are there, sealed: the scan looked at the right events.
      expect(events.some((e) => e.type === "PasswordChanged" && typeof e.data.password_sealed === "string")).toBe(true);
      expect(events.some((e) => e.type === "SessionRefreshed" && /^[0-9a-f]{64}$/.test(String(e.data.refresh_token_hash)))).toBe(true);
    });
  });
});
