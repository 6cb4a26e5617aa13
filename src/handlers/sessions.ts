/**
 * Sessions: login (with lockout), refresh (rotation, reuse detection), logout, ending a
 * user's sessions, changing a password.
 *
 * Login never tells which part was wrong: an unknown e-mail, a wrong password, a locked
 * account, an inactive user or organization all answer the same 401, and each costs
 * exactly one argon2id verification (a dummy one when there is no account).
 */
import { createHash, randomBytes } from "node:crypto";
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError, type NewEvent, type RecordedEvent } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { session, type SessionEndReason, type SessionState } from "../domain/session";
import { isLocked, loginDecider, loginTail, type LoginEvent, type LoginState, DEFAULT_LOCKOUT, type LockoutPolicy } from "../domain/login";
import type { LoginAccount } from "../auth/login-memory";
import { user } from "../domain/user";
import { DomainError } from "../domain/errors";
import { dummyHash, hashPassword, needsRehash, verifyPassword } from "../auth/passwords";
import { assertAcceptablePassword } from "../auth/password-policy";
import { findOrganizationByIdentifier } from "../../projections/organizations/queries";
import { findUsersByEmail } from "../../projections/users/queries";
import { activeSessionIds } from "../../projections/sessions/queries";
import { openPassword, sealPassword } from "./users";

export interface LoginInput {
  email: string;
  password: string;
  /** Slug, domain, name or id. */
  organization?: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
  userId: string;
  organizationId: string;
}

const invalidCredentials = () => new DomainError("unauthorized", "Invalid credentials");
const invalidRefresh = () => new DomainError("unauthorized", "Invalid or expired refresh token");

export function refreshTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** `llr_<session id>_<256 random bits>`: the session is found without a lookup table. */
function newRefreshToken(sessionId: string): string {
  return `llr_${sessionId}_${randomBytes(32).toString("base64url")}`;
}

function sessionIdOf(refreshToken: string): string | null {
  const m = /^llr_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(refreshToken);
  return m ? m[1] : null;
}

export async function login(deps: Deps, ctx: CommandContext, input: LoginInput, policy: LockoutPolicy = deps.config.lockout ?? DEFAULT_LOCKOUT): Promise<IssuedTokens> {
  const db = deps.db.drizzle;
  let organizationId: string | undefined;
  if (input.organization) {
    const org = await findOrganizationByIdentifier(db, input.organization);
    // An unknown organization is just another wrong credential.
    organizationId = org?.id ?? "00000000-0000-0000-0000-000000000000";
  }
  // Memory first (src/auth/login-memory.ts); the read model answers for what memory
  // does not know yet, and gets a say before any login is refused (below).
  let fromReadModel = false;
  let candidates: LoginAccount[] = deps.security.logins.accountsFor(input.email, organizationId);
  if (candidates.length === 0) {
    candidates = await findUsersByEmail(db, input.email, organizationId);
    fromReadModel = true;
  }
  if (candidates.length === 0) {
    await verifyPassword(input.password, await dummyHash());
    throw invalidCredentials();
  }
  // Without an organization, an e-mail held in several organizations is resolved by the
  // password: the first account whose password matches. A locked account is skipped
  // (at the cost of a verification, as if it were tried).
  const tried: LoginAccount[] = [];
  const states = new Map<string, LoginStreamState>();
  let verifications = 0;
  const tryAccounts = async (accounts: LoginAccount[]): Promise<LoginAccount | undefined> => {
    for (const candidate of accounts) {
      if (verifications >= MAX_LOGIN_CANDIDATES) return undefined;
      verifications++;
      const read = await loginState(deps, candidate.id, policy);
      states.set(candidate.id, read);
      if (isLocked(read.state, ctx.now)) {
        await verifyPassword(input.password, await dummyHash());
        continue;
      }
      tried.push(candidate);
      if (await verifyPassword(input.password, openPassword(deps, candidate.id, candidate.passwordSealed))) return candidate;
    }
    return undefined;
  };
  let account = await tryAccounts(candidates);
  if (!account && !fromReadModel) {
    // Memory may be a moment behind another process: an account registered or a password
    // changed there. Accounts the read model holds differently are tried as well.
    const known = new Map(candidates.map((c) => [c.id, c.passwordSealed]));
    const newer = (await findUsersByEmail(db, input.email, organizationId)).filter((r) => known.get(r.id) !== r.passwordSealed);
    if (newer.length > 0) account = await tryAccounts(newer);
  }

  const sessionId = Bun.randomUUIDv7();
  const ctxOf = (u: LoginAccount): CommandContext => ({ ...ctx, organizationId: u.organizationId, actor: { type: "user", id: u.id } });
  if (!account) {
    // The wrong password counts against every account it was tried on: leaving the
    // organization out must not be a way to guess past the lock of all but one of them.
    const once = new Map(tried.map((c) => [c.id, c]));
    for (const candidate of once.values()) await recordAttempt(deps, ctxOf(candidate), candidate, { passwordMatched: false, accountUsable: true }, sessionId, policy, states.get(candidate.id));
    throw invalidCredentials();
  }
  const userCtx = ctxOf(account);
  // Checked before recording: a refused login is a LoginFailed, never a LoginSucceeded.
  const accountUsable = account.isActive && deps.security.organizationUsable(account.organizationId);
  const identity = { userId: account.id, organizationId: account.organizationId };
  // The session starts in the same append as the LoginSucceeded where the store can do
  // that atomically (one round trip, one commit, one projector transaction less).
  const start = deps.store.appendAtomically ? sessionStart(deps, userCtx, identity, sessionId) : undefined;
  const outcome = await recordAttempt(deps, userCtx, account, { passwordMatched: true, accountUsable }, sessionId, policy, states.get(account.id), start);
  if (outcome.result !== "succeeded") throw invalidCredentials();

  const hash = openPassword(deps, account.id, account.passwordSealed);
  if (needsRehash(hash)) {
    // Parameters changed since this hash was made: store it again at today's cost.
    const sealed = sealPassword(deps, account.id, await hashPassword(input.password));
    const accountId = account.id;
    // Best effort: the login itself succeeded; the next login tries again.
    await handleCommand(deps.store, stream.user(accountId), user, { type: "ChangePassword", passwordSealed: sealed, reason: "rehash" }, userCtx).catch((err) => {
      deps.logger.warn("password rehash failed", { user_id: accountId, error: err instanceof Error ? err.message : String(err) });
    });
  }
  if (start && outcome.position !== null) return sessionStarted(deps, userCtx, identity, sessionId, start.refreshToken, outcome.position, "own-writes");
  return startSession(deps, userCtx, identity, sessionId, "own-writes");
}

/** At most this many accounts are tried (verified) for one login. */
const MAX_LOGIN_CANDIDATES = 5;

interface LoginStreamState {
  state: LoginState;
  revision: bigint | "no_stream";
}

/** The lockout state from the end of the user's login stream: remembered, or read. */
async function loginState(deps: Deps, userId: string, policy: LockoutPolicy, mustRead = false): Promise<LoginStreamState> {
  const length = loginTail(policy);
  const known = mustRead ? null : deps.security.logins.tail(userId, length);
  let events: RecordedEvent[];
  if (known) {
    events = known.events;
  } else {
    events = (await deps.store.readStream(stream.login(userId), { direction: "backwards", limit: length })).reverse();
    deps.security.logins.rememberTail(userId, events);
  }
  const decider = loginDecider(policy);
  let state = decider.initialState();
  for (const e of events) state = decider.evolve(state, e as unknown as LoginEvent);
  return { state, revision: events.length === 0 ? "no_stream" : events[events.length - 1].revision };
}

/**
 * Appends the attempt against the revision its decision was based on. Parallel wrong
 * passwords queue up on that revision: the lock lands after exactly `maxFailures`.
 * With `start`, a LoginSucceeded is appended together with the session's first event,
 * all or nothing; `position` is then where the session was stored (null otherwise).
 */
async function recordAttempt(
  deps: Deps,
  ctx: CommandContext,
  account: LoginAccount,
  attempt: { passwordMatched: boolean; accountUsable: boolean },
  sessionId: string,
  policy: LockoutPolicy,
  /** The state found before the verification: good for the first try, the append checks its revision. */
  known?: LoginStreamState,
  start?: SessionStart,
): Promise<{ result: "succeeded"; position: bigint | null } | { result: "refused" }> {
  const decider = loginDecider(policy);
  const streamId = stream.login(account.id);
  for (let tries = 0; tries < 50; tries++) {
    // After a conflict, memory was wrong about the stream: read it.
    const { state, revision } = tries === 0 && known ? known : await loginState(deps, account.id, policy, tries > 0);
    const events = decider.decide({ type: "RecordLoginAttempt", userId: account.id, organizationId: account.organizationId, ...attempt, sessionId, at: ctx.now }, state);
    if (events.length === 0) return { result: "refused" };
    const attemptEvents = toNewEvents(events, ctx);
    try {
      if (events[0].type === "LoginSucceeded" && start && deps.store.appendAtomically) {
        const [login, session] = await deps.store.appendAtomically([
          { streamId, events: attemptEvents, expected: revision },
          { streamId: start.streamId, events: start.events, expected: "no_stream" },
        ]);
        rememberAppended(deps, account.id, streamId, attemptEvents, login);
        return { result: "succeeded", position: session.position };
      }
      const appended = await deps.store.append(streamId, attemptEvents, revision);
      rememberAppended(deps, account.id, streamId, attemptEvents, appended);
      return events[0].type === "LoginSucceeded" ? { result: "succeeded", position: null } : { result: "refused" };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      await Bun.sleep(Math.random() * 4);
    }
  }
  return { result: "refused" };
}

/** Our own attempt joins the remembered tail: the next login of this account reads nothing. */
function rememberAppended(deps: Deps, userId: string, streamId: string, events: NewEvent[], result: { nextRevision: bigint; position: bigint }): void {
  const first = result.nextRevision - BigInt(events.length) + 1n;
  const firstPosition = result.position - BigInt(events.length) + 1n;
  const recordedAt = new Date();
  const recorded: RecordedEvent[] = events.map((e, i) => ({
    id: e.id,
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    streamId,
    revision: first + BigInt(i),
    position: firstPosition + BigInt(i),
    recordedAt,
    hash: null,
    prevHash: null,
  }));
  deps.security.logins.appended(userId, recorded);
}

/** A session's first event, ready to append, and the refresh token it stands for. */
interface SessionStart {
  streamId: string;
  events: NewEvent[];
  refreshToken: string;
}

function sessionStart(deps: Deps, ctx: CommandContext, account: { userId: string; organizationId: string }, sessionId: string): SessionStart {
  const refreshToken = newRefreshToken(sessionId);
  const events = session.decide(
    {
      type: "StartSession",
      sessionId,
      userId: account.userId,
      organizationId: account.organizationId,
      refreshTokenHash: refreshTokenHash(refreshToken),
      expiresAt: new Date(ctx.now.getTime() + deps.config.refreshTokenTtlSeconds * 1000),
    },
    session.initialState(),
  );
  return {
    streamId: stream.session(sessionId),
    events: toNewEvents(events, { ...ctx, organizationId: account.organizationId, actor: { type: "user", id: account.userId } }),
    refreshToken,
  };
}

/** The tokens of a session stored at `position`, once this process can check them. */
async function sessionStarted(
  deps: Deps,
  ctx: CommandContext,
  account: { userId: string; organizationId: string },
  sessionId: string,
  refreshToken: string,
  position: bigint,
  /** "settle": answer once every read model has the session (a registration's new user must be visible to all). */
  readModels: "settle" | "own-writes",
): Promise<IssuedTokens> {
  if (readModels === "settle") {
    await settle(deps, position);
  } else {
    // The access token must work on the very next request, in this process at least: the
    // security state must hold the session. The read models (sessions, audit, activity)
    // are left to the user's next request, which waits for them (OwnWrites), so a
    // login's answer does not pay for a projector batch.
    await deps.security.waitFor(position);
    deps.ownWrites.note(account.userId, position);
  }
  const access = await deps.tokens.issueAccess({ sub: account.userId, org: account.organizationId, sid: sessionId }, ctx.now);
  return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, sessionId, userId: account.userId, organizationId: account.organizationId };
}

export async function startSession(
  deps: Deps,
  ctx: CommandContext,
  account: { userId: string; organizationId: string },
  sessionId = Bun.randomUUIDv7(),
  readModels: "settle" | "own-writes" = "settle",
): Promise<IssuedTokens> {
  const start = sessionStart(deps, ctx, account, sessionId);
  // A new random session id: there is nothing to read first; "no_stream" makes the
  // (practically impossible) collision fail instead of appending to another session.
  const { position } = await deps.store.append(start.streamId, start.events, "no_stream");
  return sessionStarted(deps, ctx, account, sessionId, start.refreshToken, position, readModels);
}

/**
 * Rotates the refresh token. Of two concurrent uses of one token exactly one wins (the
 * append is against the revision both read); a token already rotated away ends the
 * whole session.
 */
export async function refresh(deps: Deps, ctx: CommandContext, refreshToken: string): Promise<IssuedTokens> {
  const sessionId = sessionIdOf(refreshToken);
  if (!sessionId) throw invalidRefresh();
  const streamId = stream.session(sessionId);
  const presentedHash = refreshTokenHash(refreshToken);
  // The usual case, the current token, needs no read at all when this process knows the
  // session's current token (it saw the start or the last rotation), and otherwise only
  // the newest event (SessionStarted and SessionRefreshed carry the whole live state).
  // Anything else (a rotated-away token, an ended session, a wrong token) is decided on
  // the full stream. Memory is only a hint: the append below is against the revision it
  // names, so a rotation elsewhere makes it fail instead of forking the session.
  const { state, revision } =
    knownCurrentSession(deps, sessionId, presentedHash) ??
    (await currentSession(deps, streamId, presentedHash)) ??
    (await loadState(deps.store, streamId, session));
  if (state.status === "absent") throw invalidRefresh();
  // Checked before deciding: a refused refresh must not rotate the token, or the holder's
  // token would count as "reused" (and end the session) once the account is usable again.
  const u = deps.security.users.get(state.userId);
  if (!u || !u.isActive || !deps.security.organizationUsable(u.organizationId)) throw invalidRefresh();
  const sessionCtx: CommandContext = { ...ctx, organizationId: state.organizationId, actor: { type: "user", id: state.userId } };
  const next = newRefreshToken(sessionId);
  const events = session.decide(
    {
      type: "RefreshSession",
      presentedHash,
      newHash: refreshTokenHash(next),
      at: ctx.now,
      expiresAt: new Date(ctx.now.getTime() + deps.config.refreshTokenTtlSeconds * 1000),
    },
    state,
  );
  let position: bigint;
  let nextRevision: bigint;
  try {
    ({ position, nextRevision } = await deps.store.append(streamId, toNewEvents(events, sessionCtx), revision));
  } catch (err) {
    if (err instanceof WrongExpectedRevisionError) throw new DomainError("unauthorized", "Refresh token already used");
    throw err;
  }
  if (events[0].type !== "SessionRefreshed") {
    // RefreshTokenReused: the session is over; the next request must see it.
    await deps.security.waitFor(position);
    throw invalidRefresh();
  }
  // The security state is what the next request is checked against; a rotation only moves
  // the session's token and expiry, so it is applied here at once rather than waited for
  // (the subscription brings the same event later and changes nothing). No read model
  // answers differently after a rotation (session listings union the security state), so
  // the projector is not waited for either.
  deps.security.sessionRefreshed(sessionId, nextRevision, events[0].data.refresh_token_hash, Date.parse(events[0].data.expires_at));
  const access = await deps.tokens.issueAccess({ sub: state.userId, org: state.organizationId, sid: sessionId }, ctx.now);
  return { accessToken: access.token, refreshToken: next, expiresIn: access.expiresIn, sessionId, userId: state.userId, organizationId: state.organizationId };
}

/** The live state from the security state's memory, when it holds `presentedHash` as current; null otherwise. */
function knownCurrentSession(deps: Deps, sessionId: string, presentedHash: string): { state: SessionState; revision: bigint } | null {
  const s = deps.security.sessions.get(sessionId);
  if (!s || s.refreshTokenHash !== presentedHash) return null;
  return {
    state: { status: "active", id: s.id, userId: s.userId, organizationId: s.organizationId, refreshTokenHash: s.refreshTokenHash, usedHashes: [], expiresAt: new Date(s.expiresAt).toISOString() },
    revision: s.revision,
  };
}

/** The live state from the newest event alone, when it holds `presentedHash`; null otherwise. */
async function currentSession(deps: Deps, streamId: string, presentedHash: string): Promise<{ state: SessionState; revision: bigint } | null> {
  const [last] = await deps.store.readStream(streamId, { direction: "backwards", limit: 1 });
  if (!last || (last.type !== "SessionStarted" && last.type !== "SessionRefreshed")) return null;
  const d = last.data as { session_id: string; user_id: string; organization_id: string; refresh_token_hash: string; expires_at: string };
  if (d.refresh_token_hash !== presentedHash) return null;
  return {
    state: { status: "active", id: d.session_id, userId: d.user_id, organizationId: d.organization_id, refreshTokenHash: d.refresh_token_hash, usedHashes: [], expiresAt: d.expires_at },
    revision: last.revision,
  };
}

/** Ends sessions; returns the last position written (0n when none was active). */
export async function endSessions(deps: Deps, ctx: CommandContext, sessionIds: string[], reason: SessionEndReason): Promise<bigint> {
  let last = 0n;
  for (const id of sessionIds) {
    const { position } = await handleCommand(deps.store, stream.session(id), session, { type: "EndSession", reason }, ctx).catch((err) => {
      if (err instanceof DomainError && err.kind === "unauthorized") return { position: 0n };
      throw err;
    });
    if (position > last) last = position;
  }
  return last;
}

export async function endUserSessions(deps: Deps, ctx: CommandContext, userId: string, reason: SessionEndReason, except?: string): Promise<bigint> {
  const live = new Set(await activeSessionIds(deps.db.drizzle, userId));
  // Sessions this process knows but the read model may not have caught up with yet.
  for (const s of deps.security.sessions.values()) if (s.userId === userId) live.add(s.id);
  if (except) live.delete(except);
  return endSessions(deps, ctx, [...live], reason);
}

export async function logout(deps: Deps, ctx: CommandContext, sessionId: string): Promise<void> {
  const position = await endSessions(deps, ctx, [sessionId], "logout");
  await settle(deps, position);
}

export async function changePassword(
  deps: Deps,
  ctx: CommandContext,
  principal: { userId: string; organizationId: string; sessionId: string | null },
  currentPassword: string,
  newPassword: string,
): Promise<void> {
  const { state } = await loadState(deps.store, stream.user(principal.userId), user);
  if (state.status === "absent" || state.status === "deleted") throw new DomainError("not_found", "User not found");
  const ok = await verifyPassword(currentPassword, openPassword(deps, state.id, state.passwordSealed));
  if (!ok) {
    throw new DomainError("validation", "The current password is wrong", { errors: [{ path: "/body/current_password", message: "wrong password" }] });
  }
  assertAcceptablePassword(newPassword, "/body/new_password", { email: state.profile.email });
  if (await verifyPassword(newPassword, openPassword(deps, state.id, state.passwordSealed))) {
    throw new DomainError("validation", "The new password must differ from the current one", { errors: [{ path: "/body/new_password", message: "same as the current password" }] });
  }
  const sealed = sealPassword(deps, state.id, await hashPassword(newPassword));
  const { position } = await handleCommand(deps.store, stream.user(state.id), user, { type: "ChangePassword", passwordSealed: sealed, reason: "change" }, ctx);
  const ended = await endUserSessions(deps, ctx, state.id, "password_changed", principal.sessionId ?? undefined);
  await settle(deps, ended > position ? ended : position);
}
