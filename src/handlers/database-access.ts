/**
 * Database access grants (the /users/{id}/database-access routes) and the check every
 * data read goes through (`resolveDataAccess`).
 *
 * Rules, decided in domain/database-access.ts on the user's `database_access-<user>` stream:
 * - A grant names a data source of the user's own organization, by `data_source_id` or
 *   by `database` (its name), optionally `tables` (null = every table) and `expires_at`
 *   (must be in the future).
 * - A second grant for the same user and data source replaces the first: the old one
 *   ends (AccessRevoked) and the new one starts, in one append. That is how an admin
 *   extends an expiry or changes the tables.
 * - Expiry is enforced at the next use, from the stream itself (never the read model,
 *   which may lag): the first use after `expires_at` appends AccessExpired at the
 *   revision it read, so of many concurrent uses exactly one records it, and all deny.
 * - Deleting a data source ends its grants (AccessRevoked, see handlers/data-sources.ts).
 *   Deleting or deactivating a user leaves its grants recorded but unusable: the user
 *   can no longer authenticate, and every use of a grant needs an authenticated user.
 *
 * Least privilege: reading DATA always needs a live grant, for everyone: an organization
 * admin grants itself access like anyone else, and a super admin (who belongs to no
 * tenant and can hold no tenant grant) reads no tenant's data. Browsing the SCHEMA of
 * the organization's data sources without a grant is allowed to those who administer
 * data sources or grants (datasource.update or database_access.grant) and to super
 * admins: they need it to decide which tables to grant (see handlers/schema.ts).
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { forbidden, invalid, notFound } from "../domain/errors";
import { dataSource } from "../domain/data-source";
import { databaseAccess, hasRunOut, liveGrantOn, type Grant } from "../domain/database-access";
import { findDataSourceByName } from "../../projections/data-sources/queries";
import { getAccess, listUserAccess, type AccessStatusFilter, type AccessView } from "../../projections/database-access/queries";
import type { DataSourceConnection } from "../sql/types";
import { isUuid } from "../http/pagination";
import { connectionOf, endGrantsOn, loadDataSource, loadDataSourceFor, type LiveDataSource } from "./data-sources";
import { findUserFor, type Acting } from "./user-admin";

const accessNotFound = () => notFound("Database access grant");

/** A data source as the query layer needs it: no password, sealed or not. */
export interface ResolvedDataSource {
  id: string;
  organizationId: string;
  name: string;
  type: "postgresql" | "embedded-demo";
  version: number;
}

export interface DataAccess {
  dataSource: ResolvedDataSource;
  connection: DataSourceConnection;
  /** Lower-case table names the caller may read (`schema.table` when not public); null = every table. */
  allowedTables: ReadonlySet<string> | null;
}

function resolved(ds: LiveDataSource): ResolvedDataSource {
  return { id: ds.id, organizationId: ds.organizationId, name: ds.settings.name, type: ds.settings.type, version: ds.version };
}

/**
 * The caller's live grant on a data source, checked against the clock now. A grant that
 * has run out is recorded as AccessExpired (exactly once, see the module comment) and
 * refused. Throws 403 with a detail saying which of the two it was.
 */
export async function currentGrant(deps: Deps, ctx: CommandContext, acting: Acting, ds: LiveDataSource): Promise<Grant> {
  const streamId = stream.databaseAccess(acting.userId);
  const { state } = await loadState(deps.store, streamId, databaseAccess);
  const grant = liveGrantOn(state, ds.id);
  const now = ctx.now;
  if (grant && !hasRunOut(grant, now)) return grant;
  if (grant) {
    await handleCommand(deps.store, streamId, databaseAccess, { type: "ExpireAccess", userId: acting.userId, dataSourceId: ds.id, now }, { ...ctx, organizationId: ds.organizationId });
    throw forbidden(`Your access to data source "${ds.settings.name}" expired at ${grant.expiresAt}; ask an administrator to renew it`);
  }
  const expired = [...state.grants.values()].reverse().find((g) => g.dataSourceId === ds.id && g.status === "expired");
  if (expired) throw forbidden(`Your access to data source "${ds.settings.name}" expired at ${expired.expiresAt}; ask an administrator to renew it`);
  throw forbidden(`You have no access grant for data source "${ds.settings.name}"; ask an administrator to grant it`);
}

/**
 * What the query endpoints call before touching a tenant's database: the data source
 * (404 if unknown or another organization's), a connection to it, and the tables the
 * caller's grant covers (403 without a live grant, or when it has just expired).
 */
export async function resolveDataAccess(deps: Deps, principal: Acting, dataSourceId: string, ctx: CommandContext = checkContext(principal)): Promise<DataAccess> {
  const { state } = await loadDataSourceFor(deps, principal, dataSourceId);
  const grant = await currentGrant(deps, ctx, principal, state);
  return { dataSource: resolved(state), connection: connectionOf(deps, state), allowedTables: grant.tables === null ? null : new Set(grant.tables) };
}

/** Those who administer data sources or grants may browse any of their organization's schemas without a grant. */
export function mayBrowseWithoutGrant(acting: Acting): boolean {
  return acting.isSuperAdmin || acting.permissions.has("datasource.update") || acting.permissions.has("database_access.grant");
}

/** Data sources the caller holds a live, unexpired grant on (the schema browser's default). */
export async function grantedDataSourceIds(deps: Deps, acting: Acting, now = new Date()): Promise<string[]> {
  const { state } = await loadState(deps.store, stream.databaseAccess(acting.userId), databaseAccess);
  const ids = new Set<string>();
  for (const g of state.grants.values()) if (g.status === "active" && !hasRunOut(g, now) && g.organizationId === acting.organizationId) ids.add(g.dataSourceId);
  return [...ids];
}

/** The context of an access check whose caller passed none: the principal acts, now. */
function checkContext(principal: Acting & { id?: string }): CommandContext {
  return {
    actor: { type: principal.type, id: principal.id ?? principal.userId },
    organizationId: principal.organizationId,
    correlationId: Bun.randomUUIDv7(),
    causationId: null,
    ip: null,
    userAgent: null,
    now: new Date(),
  };
}

// ---------------------------------------------------------------------------- reads

export async function listAccessFor(
  deps: Deps,
  acting: Acting,
  userId: string,
  status: AccessStatusFilter,
  page: { offset: number; limit: number },
): Promise<{ rows: AccessView[]; total: number }> {
  const target = await findUserFor(deps, acting, userId);
  return listUserAccess(deps.db.drizzle, target.organizationId, target.id, status, page);
}

// --------------------------------------------------------------------------- writes

export interface GrantInput {
  data_source_id?: string;
  /** A data source name in the user's organization. */
  database?: string;
  tables?: string[] | null;
  expires_at?: string | null;
}

/** Table names as the guard and the schema browser spell them: lower-case, `public.` dropped. */
export function normalizeTables(tables: string[] | null | undefined): string[] | null {
  if (tables === undefined || tables === null) return null;
  const out = new Set<string>();
  for (const [i, raw] of tables.entries()) {
    const name = raw.trim().toLowerCase().replace(/^public\./, "");
    if (!name || !/^[a-z_][a-z0-9_$]*(\.[a-z_][a-z0-9_$]*)?$/.test(name)) throw invalid(`/body/tables/${i}`, `"${raw}" is not a table name (table or schema.table)`);
    out.add(name);
  }
  if (out.size === 0) throw invalid("/body/tables", "tables must name at least one table; omit it (or send null) to grant every table");
  return [...out].sort();
}

function parseExpiry(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid("/body/expires_at", "expires_at must be an ISO 8601 date-time");
  return new Date(ms).toISOString();
}

async function grantedDataSource(deps: Deps, organizationId: string, input: GrantInput): Promise<LiveDataSource> {
  if (input.data_source_id !== undefined) {
    const { state } = await loadDataSource(deps, input.data_source_id, organizationId);
    if (input.database !== undefined && input.database.trim().toLowerCase() !== state.settings.name.toLowerCase()) {
      throw invalid("/body/database", "database and data_source_id name different data sources; give one of them");
    }
    return state;
  }
  if (input.database === undefined || !input.database.trim()) throw invalid("/body/data_source_id", "Give data_source_id or database (a data source name)");
  const row = await findDataSourceByName(deps.db.drizzle, organizationId, input.database);
  if (!row) throw notFound("Data source");
  return (await loadDataSource(deps, row.id, organizationId)).state;
}

export async function grantAccessFor(deps: Deps, ctx: CommandContext, acting: Acting, userId: string, input: GrantInput): Promise<AccessView> {
  const target = await findUserFor(deps, acting, userId);
  const tables = normalizeTables(input.tables);
  const expiresAt = parseExpiry(input.expires_at);
  // The data source must be the user's organization's: another one's is as unknown as a made-up id.
  const ds = await grantedDataSource(deps, target.organizationId, input);
  const orgCtx = { ...ctx, organizationId: target.organizationId };
  const accessId = Bun.randomUUIDv7();
  const { position } = await handleCommand(
    deps.store,
    stream.databaseAccess(target.id),
    databaseAccess,
    {
      type: "GrantAccess",
      accessId,
      userId: target.id,
      organizationId: target.organizationId,
      dataSourceId: ds.id,
      dataSourceName: ds.settings.name,
      tables,
      expiresAt,
      grantedBy: acting.userId,
      now: ctx.now,
    },
    orgCtx,
  );
  // Deleted after we looked: its deleter may have swept grants before ours was readable.
  if ((await loadState(deps.store, stream.dataSource(ds.id), dataSource)).state.status !== "exists") {
    await settle(deps, await endGrantsOn(deps, orgCtx, acting, ds.id, position));
    throw notFound("Data source");
  }
  await settle(deps, position);
  return (await getAccess(deps.db.drizzle, accessId)) ?? throwGone();
}

export async function revokeAccessFor(deps: Deps, ctx: CommandContext, acting: Acting, userId: string, accessId: string): Promise<void> {
  const target = await findUserFor(deps, acting, userId);
  if (!isUuid(accessId)) throw accessNotFound();
  const { position } = await handleCommand(
    deps.store,
    stream.databaseAccess(target.id),
    databaseAccess,
    { type: "RevokeAccess", userId: target.id, accessId: accessId.toLowerCase(), revokedBy: acting.userId },
    { ...ctx, organizationId: target.organizationId },
  );
  await settle(deps, position);
}

function throwGone(): never {
  throw accessNotFound();
}
