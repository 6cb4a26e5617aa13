/**
 * Data sources on behalf of a caller (the /datasources routes).
 *
 * - Tenancy: a caller addresses its own organization's data sources; a super admin any
 *   tenant's (naming `organization_id` when registering). Anything else is 404.
 * - Names are unique per organization ignoring case: a reservation claim per
 *   (organization, lower-cased name), taken before registering or renaming, released
 *   on deletion or after a rename. A claim its holder does not use (a crash between
 *   claim and registration) is taken over by the next claimant after a minute.
 * - Passwords: sealed here, before any event exists, with AES-256-GCM under
 *   DATA_ENCRYPTION_KEY; the associated data is the organization and the data source id,
 *   so a ciphertext copied to another data source's row or event fails to open. The
 *   clear password lives only in the request and, decrypted, in the connection spec.
 * - Connections: pools come from deps.connections keyed by (id, version); an update or
 *   a deletion closes the source's pool at once and drops its cached schema.
 * - Deleting a data source ends its grants through events: DataSourceDeleted, then an
 *   AccessRevoked on each grantee's `database_access-<user>` stream.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { DomainError, conflict, invalid, notFound, type DomainErrorKind } from "../domain/errors";
import { dataSource, type DataSourceChanges, type DataSourceSettings, type DataSourceState, type DataSourceType } from "../domain/data-source";
import { databaseAccess } from "../domain/database-access";
import { getDataSource, listDataSources, type DataSourceFilter, type DataSourceView } from "../../projections/data-sources/queries";
import { usersWithAccessTo } from "../../projections/database-access/queries";
import type { ConnectionSpec, DataSourceConnection } from "../sql/types";
import { isUuid } from "../http/pagination";
import { claimOrTakeOver, release, type Claim } from "./reservations";
import { creationTarget, listScope, type Acting } from "./tenancy";

export type LiveDataSource = Extract<DataSourceState, { status: "exists" }>;

const dataSourceNotFound = () => notFound("Data source");

export function dataSourceNameClaim(organizationId: string, name: string): Claim {
  return { kind: "data_source_name", key: `${organizationId}:${name.trim().toLowerCase()}`, label: `Data source name "${name.trim()}"` };
}

const duplicateName = (name: string) => conflict(`A data source named "${name.trim()}" already exists in this organization`);

/** Binds a sealed password to its data source: moved anywhere else, it fails to open. */
const passwordAssociatedData = (organizationId: string, dataSourceId: string) => `data_source_password:${organizationId}:${dataSourceId}`;

export function sealDataSourcePassword(deps: Pick<Deps, "secrets">, organizationId: string, dataSourceId: string, password: string): string {
  return deps.secrets.seal(password, passwordAssociatedData(organizationId, dataSourceId));
}

export function openDataSourcePassword(deps: Pick<Deps, "secrets">, organizationId: string, dataSourceId: string, sealed: string): string {
  return deps.secrets.open(sealed, passwordAssociatedData(organizationId, dataSourceId));
}

/** Takes the name claim for `owner` (see claimOrTakeOver: lost releases are mended). */
function claimName(deps: Deps, ctx: CommandContext, organizationId: string, name: string, owner: string): Promise<boolean> {
  const c = dataSourceNameClaim(organizationId, name);
  return claimOrTakeOver(
    deps.store,
    ctx,
    c,
    owner,
    async (holder) => {
      const held = (await loadState(deps.store, stream.dataSource(holder), dataSource)).state;
      if (held.status === "exists" && dataSourceNameClaim(held.organizationId, held.settings.name).key === c.key) return "in_use";
      return held.status === "deleted" ? "released" : "unsure";
    },
    () => duplicateName(name),
  );
}

const scopeOf = (acting: Acting) => (acting.isSuperAdmin ? undefined : acting.organizationId);

// ------------------------------------------------------------------- connections

/** The data source as its stream has it, if the caller may address it; 404 otherwise. */
export async function loadDataSourceFor(deps: Deps, acting: Acting, id: string): Promise<{ state: Extract<DataSourceState, { status: "exists" }>; revision: bigint | "no_stream" }> {
  return loadDataSource(deps, id, scopeOf(acting));
}

/** A live data source from its stream, within `organizationId` when given; 404 otherwise. */
export async function loadDataSource(deps: Deps, id: string, organizationId: string | undefined): Promise<{ state: Extract<DataSourceState, { status: "exists" }>; revision: bigint | "no_stream" }> {
  if (!isUuid(id)) throw dataSourceNotFound();
  const { state, revision } = await loadState(deps.store, stream.dataSource(id.toLowerCase()), dataSource);
  if (state.status !== "exists" || (organizationId !== undefined && state.organizationId !== organizationId)) throw dataSourceNotFound();
  return { state, revision };
}

/** How to reach the source, its password decrypted (in memory only). */
export function connectionSpecOf(deps: Pick<Deps, "secrets">, ds: LiveDataSource): ConnectionSpec {
  const s = ds.settings;
  if (s.type === "embedded-demo") return { type: "embedded-demo" };
  return {
    type: "postgresql",
    host: s.host!,
    port: s.port!,
    database: s.database_name!,
    username: s.username!,
    password: s.password_sealed === null ? null : openDataSourcePassword(deps, ds.organizationId, ds.id, s.password_sealed),
    ssl: s.ssl,
  };
}

export function connectionOf(deps: Pick<Deps, "secrets" | "connections">, ds: LiveDataSource): DataSourceConnection {
  return deps.connections.get(ds.id, String(ds.version), connectionSpecOf(deps, ds));
}

/** The data source's pool and cached schema belong to settings that no longer hold. */
async function retire(deps: Deps, dataSourceId: string): Promise<void> {
  deps.schemaCache.invalidate(dataSourceId);
  await deps.connections.close(dataSourceId).catch((err) => deps.logger.warn("closing a data source's connections failed", { data_source_id: dataSourceId, error: safeMessage(err) }));
}

/** An error's message, never longer than a line. Driver messages name host and user, never the password. */
function safeMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0].slice(0, 300);
}

// ---------------------------------------------------------------------------- reads

export async function findDataSourceFor(deps: Deps, acting: Acting, id: string): Promise<DataSourceView> {
  if (!isUuid(id)) throw dataSourceNotFound();
  const row = await getDataSource(deps.db.drizzle, id.toLowerCase(), scopeOf(acting));
  if (!row) throw dataSourceNotFound();
  return row;
}

export async function listDataSourcesFor(
  deps: Deps,
  acting: Acting,
  filter: Omit<DataSourceFilter, "organizationId"> & { organizationId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: DataSourceView[]; total: number }> {
  const organizationId = await listScope(deps, acting, filter.organizationId);
  return listDataSources(deps.db.drizzle, { ...filter, organizationId }, page);
}

// --------------------------------------------------------------------------- writes

export interface DataSourceInput {
  name: string;
  type?: DataSourceType;
  host?: string | null;
  port?: number | null;
  database_name?: string | null;
  username?: string | null;
  password?: string | null;
  ssl?: boolean;
  /** A super admin names the organization; anyone else may only name its own. */
  organization_id?: string;
}

const trimmed = (s: string | null | undefined) => (s === undefined || s === null ? null : s.trim() || null);

export async function createDataSourceFor(deps: Deps, ctx: CommandContext, acting: Acting, input: DataSourceInput): Promise<DataSourceView> {
  const organizationId = await creationTarget(deps, acting, input.organization_id, "data source");
  const dataSourceId = Bun.randomUUIDv7();
  const orgCtx = { ...ctx, organizationId };
  const type = input.type ?? "postgresql";
  const settings: DataSourceSettings = {
    name: input.name.trim(),
    type,
    host: trimmed(input.host),
    port: input.port ?? (type === "postgresql" ? 5432 : null),
    database_name: trimmed(input.database_name),
    username: trimmed(input.username),
    ssl: input.ssl ?? false,
    password_sealed: input.password === undefined || input.password === null || input.password === "" ? null : sealDataSourcePassword(deps, organizationId, dataSourceId, input.password),
  };
  // Checked before the name is claimed: a refused source must not hold its name.
  dataSource.decide({ type: "RegisterDataSource", dataSourceId, organizationId, settings, createdBy: acting.userId }, dataSource.initialState());
  await claimName(deps, orgCtx, organizationId, settings.name, dataSourceId);
  let position: bigint;
  try {
    ({ position } = await handleCommand(deps.store, stream.dataSource(dataSourceId), dataSource, { type: "RegisterDataSource", dataSourceId, organizationId, settings, createdBy: acting.userId }, orgCtx));
  } catch (err) {
    await release(deps.store, orgCtx, dataSourceNameClaim(organizationId, settings.name), dataSourceId).catch(() => {});
    throw err;
  }
  await settle(deps, position);
  return (await getDataSource(deps.db.drizzle, dataSourceId)) ?? throwGone();
}

export type BulkItemResult =
  | { index: number; name: string | null; success: true; data_source: DataSourceView }
  | { index: number; name: string | null; success: false; kind: DomainErrorKind; error: string; errors?: Array<{ path: string; message: string }> };

/**
 * Registers each item on its own: one refused item (invalid, a duplicate name) is
 * reported in its result and does not stop the others. Items run one after another, so
 * two items with the same name in one upload are decided like two requests.
 */
export async function bulkCreateDataSourcesFor(
  deps: Deps,
  ctx: CommandContext,
  acting: Acting,
  items: Array<{ input: DataSourceInput } | { invalid: Array<{ path: string; message: string }>; name: string | null }>,
): Promise<BulkItemResult[]> {
  const results: BulkItemResult[] = [];
  for (const [index, item] of items.entries()) {
    if ("invalid" in item) {
      results.push({ index, name: item.name, success: false, kind: "validation", error: item.invalid.map((e) => `${e.path}: ${e.message}`).join("; "), errors: item.invalid });
      continue;
    }
    try {
      results.push({ index, name: item.input.name, success: true, data_source: await createDataSourceFor(deps, ctx, acting, item.input) });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const errors = err.extra.errors?.map((e) => ({ path: e.path.replace(/^\/body/, `/body/${index}`), message: e.message }));
      results.push({ index, name: item.input.name, success: false, kind: err.kind, error: err.message, ...(errors && { errors }) });
    }
  }
  return results;
}

export interface DataSourceUpdate {
  name?: string;
  host?: string | null;
  port?: number | null;
  database_name?: string | null;
  username?: string | null;
  /** A new password; null removes it; absent keeps it. */
  password?: string | null;
  ssl?: boolean;
  type?: DataSourceType;
}

export async function updateDataSourceFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, input: DataSourceUpdate): Promise<DataSourceView> {
  if (input.name !== undefined && !input.name.trim()) throw invalid("/body/name", "name must not be blank");
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadDataSourceFor(deps, acting, id);
    if (input.type !== undefined && input.type !== state.settings.type) {
      throw invalid("/body/type", "The type of a data source cannot change; register a new data source instead");
    }
    const organizationId = state.organizationId;
    const orgCtx = { ...ctx, organizationId };
    const changes: DataSourceChanges = {
      ...(input.name !== undefined && { name: input.name.trim() }),
      ...(input.host !== undefined && { host: trimmed(input.host) }),
      ...(input.port !== undefined && { port: input.port }),
      ...(input.database_name !== undefined && { database_name: trimmed(input.database_name) }),
      ...(input.username !== undefined && { username: trimmed(input.username) }),
      ...(input.ssl !== undefined && { ssl: input.ssl }),
      ...(input.password !== undefined && {
        password_sealed: input.password === null || input.password === "" ? null : sealDataSourcePassword(deps, organizationId, state.id, input.password),
      }),
    };
    const events = dataSource.decide({ type: "UpdateDataSource", changes }, state);
    if (events.length === 0) return (await getDataSource(deps.db.drizzle, state.id)) ?? throwGone();
    const oldName = state.settings.name;
    const renames = changes.name !== undefined && changes.name.toLowerCase() !== oldName.toLowerCase();
    const tookName = renames && (await claimName(deps, orgCtx, organizationId, changes.name!, state.id));
    let position: bigint;
    try {
      ({ position } = await deps.store.append(stream.dataSource(state.id), toNewEvents(events, orgCtx, organizationId), revision));
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) {
        if (tookName) await release(deps.store, orgCtx, dataSourceNameClaim(organizationId, changes.name!), state.id).catch(() => {});
        throw err;
      }
      if (attempt >= 5) throw conflict("The data source was changed concurrently; retry the request");
      await Bun.sleep(Math.random() * 5 * attempt);
      continue;
    }
    if (renames) await release(deps.store, orgCtx, dataSourceNameClaim(organizationId, oldName), state.id);
    await retire(deps, state.id);
    await settle(deps, position);
    return (await getDataSource(deps.db.drizzle, state.id)) ?? throwGone();
  }
}

export async function deleteDataSourceFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<void> {
  const { state } = await loadDataSourceFor(deps, acting, id);
  const organizationId = state.organizationId;
  const orgCtx = { ...ctx, organizationId };
  const { position, events } = await handleCommand(deps.store, stream.dataSource(state.id), dataSource, { type: "DeleteDataSource" }, orgCtx);
  const deleted = events.find((e) => e.type === "DataSourceDeleted");
  if (deleted) await release(deps.store, orgCtx, dataSourceNameClaim(organizationId, deleted.data.name), state.id);
  await retire(deps, state.id);
  const last = await endGrantsOn(deps, orgCtx, acting, state.id, position);
  await settle(deps, last);
}

/**
 * Ends every live grant on a deleted data source. Everything appended before this point
 * (a grant racing the deletion included) is readable once the projector has passed the
 * head; a grant appended later is caught by its granter, which re-checks the source.
 */
export async function endGrantsOn(deps: Deps, ctx: CommandContext, acting: Acting, dataSourceId: string, after: bigint): Promise<bigint> {
  const head = await deps.store.headPosition();
  await deps.projector.waitFor(head > after ? head : after);
  let last = after;
  for (const userId of await usersWithAccessTo(deps.db.drizzle, dataSourceId)) {
    const { position } = await handleCommand(deps.store, stream.databaseAccess(userId), databaseAccess, { type: "EndAccessToDataSource", userId, dataSourceId, revokedBy: acting.userId }, ctx);
    if (position > last) last = position;
  }
  return last;
}

// ---------------------------------------------------------------------- connectivity

export interface ConnectionTestResult {
  success: boolean;
  message: string;
  latency_ms: number;
}

const TEST_TIMEOUT_MS = 3_000;

/**
 * Connects and runs a trivial statement within a few seconds. An unreachable database is
 * an ordinary answer (success: false and why), not an error of this service. The message
 * is scrubbed of the password, whatever the driver put in it.
 */
export async function testDataSourceFor(deps: Deps, acting: Acting, id: string): Promise<ConnectionTestResult> {
  const { state } = await loadDataSourceFor(deps, acting, id);
  const started = performance.now();
  let password: string | null = null;
  try {
    const spec = connectionSpecOf(deps, state);
    if (spec.type === "postgresql") password = spec.password;
    const connection = deps.connections.get(state.id, String(state.version), spec);
    // The connection layer honours the timeout; the race is a backstop so the answer always comes.
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        connection.ping(TEST_TIMEOUT_MS),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS + 1_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return { success: true, message: "Connection successful", latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    let message = safeMessage(err);
    if (password) message = message.split(password).join("********");
    deps.logger.info("data source connection test failed", { data_source_id: state.id, error: message });
    return { success: false, message: `Connection failed: ${message}`, latency_ms: Math.round(performance.now() - started) };
  }
}

function throwGone(): never {
  throw dataSourceNotFound();
}
