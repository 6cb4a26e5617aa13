/**
 * Login: find the account, verify the password (a dummy verify when there is none, so
 * the answer time does not tell), start a session, mint tokens.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { session } from "../domain/session";
import { DomainError } from "../domain/errors";
import { dummyHash, verifyPassword } from "../auth/passwords";
import { findOrganizationByIdentifier, getOrganization } from "../../projections/organizations/queries";
import { findUsersByEmail } from "../../projections/users/queries";
import type { UserRow } from "../../projections/users/schema";
import { openPassword } from "./users";

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
  user: UserRow;
}

const invalidCredentials = () => new DomainError("unauthorized", "Invalid credentials");

export function refreshTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function login(deps: Deps, ctx: CommandContext, input: LoginInput): Promise<IssuedTokens> {
  const db = deps.db.drizzle;
  let organizationId: string | undefined;
  if (input.organization) {
    const org = await findOrganizationByIdentifier(db, input.organization);
    organizationId = org?.id ?? "00000000-0000-0000-0000-000000000000";
  }
  const candidates = await findUsersByEmail(db, input.email, organizationId);
  // Without an organization the e-mail must pick one account; several accounts are tried
  // in a fixed order and the first whose password matches wins.
  let matched: UserRow | undefined;
  for (const candidate of candidates.slice(0, 5)) {
    if (await verifyPassword(input.password, openPassword(deps, candidate.id, candidate.passwordSealed))) {
      matched = candidate;
      break;
    }
  }
  if (candidates.length === 0) await verifyPassword(input.password, await dummyHash());
  if (!matched || !matched.isActive) throw invalidCredentials();
  const org = await getOrganization(db, matched.organizationId);
  if (!org || !org.isActive) throw invalidCredentials();
  return startSession(deps, { ...ctx, organizationId: matched.organizationId, actor: { type: "user", id: matched.id } }, matched);
}

export async function startSession(deps: Deps, ctx: CommandContext, account: UserRow): Promise<IssuedTokens> {
  const sessionId = Bun.randomUUIDv7();
  const refreshToken = `llr_${randomBytes(32).toString("base64url")}`;
  await handleCommand(
    deps.store,
    stream.session(sessionId),
    session,
    {
      type: "StartSession",
      sessionId,
      userId: account.id,
      organizationId: account.organizationId,
      refreshTokenHash: refreshTokenHash(refreshToken),
      expiresAt: new Date(ctx.now.getTime() + deps.config.refreshTokenTtlSeconds * 1000),
    },
    ctx,
  );
  const access = await deps.tokens.issueAccess({ sub: account.id, org: account.organizationId, sid: sessionId }, ctx.now);
  return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, sessionId, user: account };
}
