/**
 * API keys on behalf of a caller (the /apikeys routes).
 *
 * - The secret is `llk_` + an 8-hex-digit public id + `_` + 32 random bytes (base64url):
 *   288 random bits, 256 of them in the secret part. It leaves this module once, in the
 *   response to create or rotate; events and read models hold its SHA-256 and its first
 *   12 characters (`prefix`) only.
 * - Scopes are permission names the creator holds at creation (403 naming the first one
 *   it does not); at every use they are intersected with the creator's permissions again
 *   (src/http/auth.ts). A super admin may give any organization-scoped permission of the
 *   catalog, never `admin.system`; its keys belong to the platform organization and do
 *   not act as super admin.
 * - Who sees which keys: an organization admin (system role `admin`) every key of its
 *   organization; anyone else (with apikey.read/rotate/revoke) only the keys it created;
 *   a super admin every key. Any other key answers 404, like a key that does not exist.
 * - Keys do not mint keys: creating and rotating need a user's session, because a key
 *   made by a key would outlive the revocation of its parent.
 * - Rotation issues a successor with the same name, scopes, expiry and creator (the
 *   authority stays the creator's; the rotation itself is recorded with its actor) and
 *   marks the old key rotated: it stops at once, or after `grace_period_seconds`.
 */
import { randomBytes } from "node:crypto";
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { apiKey, hashApiKey, API_KEY_PREFIX, API_KEY_PREFIX_LENGTH } from "../domain/api-key";
import { DomainError, forbidden, invalid, notFound } from "../domain/errors";
import { PLATFORM_PERMISSIONS, SYSTEM_PERMISSIONS, normalizePermissionName } from "../domain/permissions";
import { getApiKey, listApiKeys, type ApiKeyListing } from "../../projections/api-keys/queries";
import { isUuid } from "../http/pagination";
import type { Acting } from "./user-admin";

const PERMISSION_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
/** Longest grace period a rotation may give the old key. */
export const MAX_GRACE_SECONDS = 30 * 24 * 3600;

export interface IssuedSecret {
  secret: string;
  prefix: string;
  hash: string;
}

/** A fresh secret; the only place one exists in clear. */
export function generateApiKeySecret(): IssuedSecret {
  const publicId = randomBytes(4).toString("hex");
  const secret = `${API_KEY_PREFIX}${publicId}_${randomBytes(32).toString("base64url")}`;
  return { secret, prefix: secret.slice(0, API_KEY_PREFIX_LENGTH), hash: hashApiKey(secret) };
}

const keyNotFound = () => notFound("API key");

function isOrganizationAdmin(deps: Deps, acting: Acting): boolean {
  if (acting.type !== "user") return false;
  const u = deps.security.users.get(acting.userId);
  if (!u || u.organizationId !== acting.organizationId) return false;
  for (const id of u.roleIds) {
    const r = deps.security.roles.get(id);
    if (r && r.isActive && r.isSystem && r.name === "admin" && r.organizationId === u.organizationId) return true;
  }
  return false;
}

function mayManage(deps: Deps, acting: Acting, key: { organizationId: string; createdBy: string }): boolean {
  if (acting.isSuperAdmin) return true;
  if (key.organizationId !== acting.organizationId) return false;
  return key.createdBy === acting.userId || isOrganizationAdmin(deps, acting);
}

function assertUserSession(acting: Acting, what: string): void {
  if (acting.type !== "user") throw forbidden(`API keys cannot ${what} API keys; use a user's session`);
}

/** Normalized, deduplicated scopes, each one held by the caller now. */
export function checkScopes(deps: Deps, acting: Acting, scopes: readonly string[]): string[] {
  const out: string[] = [];
  scopes.forEach((raw, i) => {
    const name = normalizePermissionName(raw);
    if (!PERMISSION_NAME.test(name)) throw invalid(`/body/scopes/${i}`, `"${raw}" is not a permission name (resource.action)`);
    if (!out.includes(name)) out.push(name);
  });
  for (const name of out) {
    if (PLATFORM_PERMISSIONS.includes(name)) throw forbidden(`Scope ${name} cannot be given to an API key`);
    const held = acting.isSuperAdmin ? (SYSTEM_PERMISSIONS as readonly string[]).includes(name) || anyRoleCarries(deps, name) : acting.permissions.has(name);
    if (!held) throw forbidden(`You do not hold permission ${name}, so an API key of yours cannot carry it`);
  }
  return out;
}

function anyRoleCarries(deps: Deps, permission: string): boolean {
  for (const r of deps.security.roles.values()) if (r.permissions.has(permission)) return true;
  return false;
}

// ---------------------------------------------------------------------------- reads

export async function findApiKeyFor(deps: Deps, acting: Acting, id: string): Promise<ApiKeyListing> {
  if (!isUuid(id)) throw keyNotFound();
  const row = await getApiKey(deps.db.drizzle, id.toLowerCase());
  if (!row || !mayManage(deps, acting, row)) throw keyNotFound();
  return row;
}

export async function listApiKeysFor(
  deps: Deps,
  acting: Acting,
  filter: { status?: string; organizationId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: ApiKeyListing[]; total: number }> {
  if (acting.isSuperAdmin) {
    const organizationId = filter.organizationId && isUuid(filter.organizationId) ? filter.organizationId.toLowerCase() : undefined;
    if (filter.organizationId && !organizationId) return { rows: [], total: 0 };
    return listApiKeys(deps.db.drizzle, { organizationId, status: filter.status }, page);
  }
  if (filter.organizationId && filter.organizationId.toLowerCase() !== acting.organizationId) throw notFound("Organization");
  return listApiKeys(
    deps.db.drizzle,
    { organizationId: acting.organizationId, createdBy: isOrganizationAdmin(deps, acting) ? undefined : acting.userId, status: filter.status },
    page,
  );
}

// --------------------------------------------------------------------------- writes

export interface CreateApiKeyRequest {
  name: string;
  scopes: string[];
  expires_at?: string | null;
}

export interface IssuedApiKey {
  key: ApiKeyListing;
  secret: string;
}

function parseExpiry(value: string | null | undefined, now: Date): Date | null {
  if (value === undefined || value === null) return null;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw invalid("/body/expires_at", "expires_at must be an ISO 8601 time");
  if (at.getTime() <= now.getTime()) throw invalid("/body/expires_at", "expires_at must be in the future");
  return at;
}

async function issue(
  deps: Deps,
  ctx: CommandContext,
  spec: { organizationId: string; createdBy: string; name: string; scopes: string[]; expiresAt: Date | null; rotatedFrom: string | null },
): Promise<{ id: string; secret: string; position: bigint }> {
  const id = Bun.randomUUIDv7();
  const { secret, prefix, hash } = generateApiKeySecret();
  const { position } = await handleCommand(
    deps.store,
    stream.apiKey(id),
    apiKey,
    { type: "CreateApiKey", apiKeyId: id, ...spec, prefix, keyHash: hash, now: ctx.now },
    ctx,
    { organizationId: spec.organizationId },
  );
  return { id, secret, position };
}

async function readBack(deps: Deps, id: string): Promise<ApiKeyListing> {
  const row = await getApiKey(deps.db.drizzle, id);
  if (!row) throw new DomainError("unavailable", "The API key was created but is not readable yet; list your keys shortly");
  return row;
}

export async function createApiKeyFor(deps: Deps, ctx: CommandContext, acting: Acting, input: CreateApiKeyRequest): Promise<IssuedApiKey> {
  assertUserSession(acting, "create");
  const name = input.name.trim();
  if (!name) throw invalid("/body/name", "name must not be blank");
  const scopes = checkScopes(deps, acting, input.scopes);
  const expiresAt = parseExpiry(input.expires_at, ctx.now);
  const { id, secret, position } = await issue(deps, ctx, {
    organizationId: acting.organizationId,
    createdBy: acting.userId,
    name,
    scopes,
    expiresAt,
    rotatedFrom: null,
  });
  await settle(deps, position);
  return { key: await readBack(deps, id), secret };
}

export async function rotateApiKeyFor(
  deps: Deps,
  ctx: CommandContext,
  acting: Acting,
  id: string,
  options: { gracePeriodSeconds?: number },
): Promise<IssuedApiKey & { previous: ApiKeyListing }> {
  assertUserSession(acting, "rotate");
  const visible = await findApiKeyFor(deps, acting, id);
  const { state } = await loadState(deps.store, stream.apiKey(visible.id), apiKey);
  if (state.status === "absent") throw keyNotFound();
  const graceSeconds = Math.floor(options.gracePeriodSeconds ?? 0);
  const graceUntil = graceSeconds > 0 ? new Date(ctx.now.getTime() + graceSeconds * 1000) : null;
  // Decided on the old key first, so a refusal (revoked, rotated, expired) issues nothing.
  apiKey.decide({ type: "RotateApiKey", rotatedTo: state.id, graceUntil, now: ctx.now }, state);

  const successor = await issue(deps, ctx, {
    organizationId: state.organizationId,
    createdBy: state.createdBy,
    name: state.name,
    scopes: state.scopes,
    expiresAt: state.expiresAt ? new Date(state.expiresAt) : null,
    rotatedFrom: state.id,
  });
  let position: bigint;
  try {
    ({ position } = await handleCommand(
      deps.store,
      stream.apiKey(state.id),
      apiKey,
      { type: "RotateApiKey", rotatedTo: successor.id, graceUntil, now: ctx.now },
      ctx,
      { organizationId: state.organizationId },
    ));
  } catch (err) {
    // Someone rotated or revoked it meanwhile: the successor (whose secret nobody has
    // seen) must not stay usable.
    await handleCommand(deps.store, stream.apiKey(successor.id), apiKey, { type: "RevokeApiKey" }, ctx, { organizationId: state.organizationId }).catch(() => {});
    throw err;
  }
  await settle(deps, position > successor.position ? position : successor.position);
  return { key: await readBack(deps, successor.id), secret: successor.secret, previous: await readBack(deps, state.id) };
}

export async function revokeApiKeyFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<void> {
  const visible = await findApiKeyFor(deps, acting, id);
  const { position } = await handleCommand(deps.store, stream.apiKey(visible.id), apiKey, { type: "RevokeApiKey" }, ctx, {
    organizationId: visible.organizationId,
  });
  await settle(deps, position);
}
