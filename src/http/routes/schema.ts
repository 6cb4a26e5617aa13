import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin, type Principal } from "../auth";
import { commandContext, requestContext, type RequestMeta } from "../request-context";
import { findTable, visibleSchemaFor } from "../../handlers/schema";

const query = t.Object({ data_source_id: t.Optional(t.String({ minLength: 1, maxLength: 100 })) });

export function schemaRoutes(deps: Deps) {
  const visible = (meta: RequestMeta, principal: Principal, dataSourceId?: string) =>
    visibleSchemaFor(deps, commandContext(meta, principal), principal, dataSourceId);

  return new Elysia({ prefix: "/schema", detail: { tags: ["Schema"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query, meta, principal }) => {
        const { dataSource, schema, allTables } = await visible(meta, principal, query.data_source_id);
        return {
          data_source_id: dataSource.id,
          data_source_name: dataSource.name,
          type: dataSource.type,
          restricted: !allTables,
          tables: schema.tables,
          relationships: schema.relationships,
          table_count: schema.tables.length,
        };
      },
      {
        auth: { permission: "schema.read" },
        query,
        detail: { summary: "Tables, columns, keys and relationships of a data source: only what the caller's grant covers (data_source_id optional when only one is accessible)" },
      },
    )
    .get(
      "/tables",
      async ({ query, meta, principal }) => {
        const { dataSource, schema } = await visible(meta, principal, query.data_source_id);
        const tables = schema.tables.map((t) => t.name);
        return { data_source_id: dataSource.id, tables, count: tables.length };
      },
      { auth: { permission: "schema.read" }, query, detail: { summary: "Names of the tables the caller's grant covers" } },
    )
    .get(
      "/tables/:table_name",
      async ({ params, query, meta, principal }) => {
        const { dataSource, schema } = await visible(meta, principal, query.data_source_id);
        return { data_source_id: dataSource.id, ...findTable(schema, params.table_name) };
      },
      { auth: { permission: "schema.read" }, query, detail: { summary: "One table: columns, primary key, foreign keys to granted tables, row estimate (404 when not covered by the grant)" } },
    )
    .get(
      "/relationships",
      async ({ query, meta, principal }) => {
        const { dataSource, schema } = await visible(meta, principal, query.data_source_id);
        return { data_source_id: dataSource.id, relationships: schema.relationships, count: schema.relationships.length };
      },
      { auth: { permission: "schema.read" }, query, detail: { summary: "Foreign-key relationships between the tables the caller's grant covers" } },
    );
}
