/**
 * Schema browsing (the /schema routes): the tables, columns and relationships of a data
 * source, introspected from its catalog, cached per (data source, version) for a short
 * while, and cut down to what the caller's grant covers before anything is shown.
 *
 * - Another organization's data source, or an unknown one: 404.
 * - A caller without a live grant: 403, and nothing of the schema (not even whether a
 *   table exists: the grant is checked before the table is looked up).
 * - A grant limited to tables shows only those tables; their foreign keys and the
 *   relationships only where both ends are granted.
 * - Administrators of data sources or grants, and super admins, browse without a grant
 *   (they choose what to grant); see handlers/database-access.ts for the reasoning.
 * - Without `data_source_id`: the caller's one accessible data source, else 422.
 */
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { DomainError, invalid, notFound } from "../domain/errors";
import { liveDataSourceIds } from "../../projections/data-sources/queries";
import type { DatabaseSchema, ForeignKey, TableInfo } from "../sql/types";
import { connectionOf, loadDataSourceFor } from "./data-sources";
import { grantedDataSourceIds, mayBrowseWithoutGrant, resolveDataAccess, type ResolvedDataSource } from "./database-access";
import type { Acting } from "./tenancy";

export interface VisibleSchema {
  dataSource: ResolvedDataSource;
  schema: DatabaseSchema;
  /** False when a grant limits the tables shown. */
  allTables: boolean;
}

/** The one data source the caller can browse when it named none; 422 when there are none or several. */
async function defaultDataSourceId(deps: Deps, acting: Acting): Promise<string> {
  const ids = mayBrowseWithoutGrant(acting) && !acting.isSuperAdmin ? await liveDataSourceIds(deps.db.drizzle, acting.organizationId) : await grantedDataSourceIds(deps, acting);
  if (ids.length === 1) return ids[0];
  const why = ids.length === 0 ? "you have access to no data source" : "you have access to several data sources";
  throw invalid("/query/data_source_id", `data_source_id is required: ${why}`);
}

export async function visibleSchemaFor(deps: Deps, ctx: CommandContext, acting: Acting, dataSourceId?: string): Promise<VisibleSchema> {
  const id = dataSourceId?.trim() || (await defaultDataSourceId(deps, acting));
  let dataSource: ResolvedDataSource;
  let allowed: ReadonlySet<string> | null;
  let introspect: () => Promise<DatabaseSchema>;
  if (mayBrowseWithoutGrant(acting)) {
    const { state } = await loadDataSourceFor(deps, acting, id);
    dataSource = { id: state.id, organizationId: state.organizationId, name: state.settings.name, type: state.settings.type, version: state.version };
    allowed = null;
    introspect = () => connectionOf(deps, state).introspect();
  } else {
    const access = await resolveDataAccess(deps, acting, id, ctx);
    dataSource = access.dataSource;
    allowed = access.allowedTables;
    introspect = () => access.connection.introspect();
  }
  let schema: DatabaseSchema;
  try {
    schema = await deps.schemaCache.get(dataSource.id, String(dataSource.version), introspect);
  } catch (err) {
    deps.logger.warn("schema introspection failed", { data_source_id: dataSource.id, error: err instanceof Error ? err.message.split("\n")[0].slice(0, 300) : String(err) });
    throw new DomainError("unavailable", `The schema of data source "${dataSource.name}" could not be read: the database did not answer`);
  }
  return { dataSource, schema: allowed === null ? schema : restrictSchema(schema, allowed), allTables: allowed === null };
}

const tableKey = (name: string) => name.toLowerCase();

/** Only the granted tables, and only the keys and relationships between granted tables. */
export function restrictSchema(schema: DatabaseSchema, allowed: ReadonlySet<string>): DatabaseSchema {
  const granted = (name: string) => allowed.has(tableKey(name));
  const between = (fk: ForeignKey) => granted(fk.from_table) && granted(fk.to_table);
  const tables: TableInfo[] = schema.tables.filter((t) => granted(t.name)).map((t) => ({ ...t, foreign_keys: t.foreign_keys.filter(between) }));
  return { tables, relationships: schema.relationships.filter(between) };
}

/** A table of the visible schema by name (ignoring case; `public.` optional); 404 otherwise. */
export function findTable(schema: DatabaseSchema, name: string): TableInfo {
  const wanted = tableKey(name.trim()).replace(/^public\./, "");
  const table = schema.tables.find((t) => tableKey(t.name) === wanted);
  if (!table) throw notFound("Table");
  return table;
}
