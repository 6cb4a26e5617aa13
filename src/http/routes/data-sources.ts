import { Elysia, t, type Static } from "elysia";
import { Value } from "@sinclair/typebox/value";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { DATA_SOURCE_TYPES } from "../../domain/data-source";
import type { DomainErrorKind } from "../../domain/errors";
import type { DataSourceView } from "../../../projections/data-sources/queries";
import {
  bulkCreateDataSourcesFor,
  createDataSourceFor,
  deleteDataSourceFor,
  findDataSourceFor,
  listDataSourcesFor,
  testDataSourceFor,
  updateDataSourceFor,
  type BulkItemResult,
  type DataSourceInput,
} from "../../handlers/data-sources";

/** Never the password, sealed or not: `has_password` says whether there is one. */
export function dataSourceJson(d: DataSourceView) {
  return {
    id: d.id,
    organization_id: d.organizationId,
    name: d.name,
    type: d.type,
    host: d.host,
    port: d.port,
    database_name: d.databaseName,
    username: d.username,
    ssl: d.ssl,
    has_password: d.hasPassword,
    version: d.version,
    created_by: d.createdBy,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

const id = t.String({ minLength: 1, maxLength: 100 });
const type = t.Union(DATA_SOURCE_TYPES.map((v) => t.Literal(v)));
const nullableText = (maxLength: number) => t.Optional(t.Union([t.String({ maxLength }), t.Null()]));

const settingsFields = {
  host: nullableText(255),
  port: t.Optional(t.Union([t.Integer({ minimum: 1, maximum: 65535 }), t.Null()])),
  database_name: nullableText(255),
  username: nullableText(255),
  password: nullableText(1024),
  ssl: t.Optional(t.Boolean()),
};

const registration = t.Object(
  { name: t.String({ minLength: 1, maxLength: 200 }), type: t.Optional(type), ...settingsFields, organization_id: t.Optional(id) },
  { additionalProperties: false },
);

const MAX_BULK_ITEMS = 100;

/**
 * Each item of a bulk upload is validated on its own, so a malformed item becomes that
 * item's 422 result instead of failing the whole request.
 */
function bulkItems(body: unknown[]) {
  return body.map((raw) => {
    if (Value.Check(registration, raw)) return { input: raw as Static<typeof registration> as DataSourceInput };
    const seen = new Set<string>();
    const invalid: Array<{ path: string; message: string }> = [];
    for (const e of Value.Errors(registration, raw)) {
      const key = `${e.path}|${e.message}`;
      if (seen.has(key) || invalid.length >= 10) continue;
      seen.add(key);
      invalid.push({ path: e.path || "/", message: e.message });
    }
    const name = raw !== null && typeof raw === "object" && typeof (raw as { name?: unknown }).name === "string" ? ((raw as { name: string }).name.slice(0, 200)) : null;
    return { invalid, name };
  });
}

/** The status each item would have had as a request of its own. */
const ITEM_STATUS: Record<DomainErrorKind, number> = {
  validation: 422,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_many: 429,
  unavailable: 503,
};

function bulkResultJson(r: BulkItemResult) {
  if (r.success) return { ...r, data_source: dataSourceJson(r.data_source) };
  const { kind, ...rest } = r;
  return { ...rest, status: ITEM_STATUS[kind] };
}

export function dataSourceRoutes(deps: Deps) {
  return new Elysia({ prefix: "/datasources", detail: { tags: ["Data sources"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listDataSourcesFor(deps, principal, { search: query.search || undefined, type: query.type, organizationId: query.organization_id }, page);
        return pageResponse("data_sources", rows.map(dataSourceJson), total, page);
      },
      {
        auth: { permission: "datasource.read" },
        query: t.Object({ ...paginationQuery, search: t.Optional(t.String({ maxLength: 200 })), type: t.Optional(type), organization_id: t.Optional(id) }),
        detail: { summary: "List data sources: search (name, host, database name), type; never passwords" },
      },
    )
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createDataSourceFor(deps, commandContext(meta, principal), principal, body);
        set.status = 201;
        return dataSourceJson(row);
      },
      {
        auth: { permission: "datasource.create" },
        body: registration,
        detail: {
          summary:
            "Register a data source: type postgresql (host, port 5432 by default, database_name, username, password, ssl) or embedded-demo (the built-in sales sample; no settings). Name unique per organization ignoring case; the password is stored only encrypted",
        },
      },
    )
    .post(
      "/bulk-upload",
      async ({ body, meta, principal }) => {
        const results = await bulkCreateDataSourcesFor(deps, commandContext(meta, principal), principal, bulkItems(body));
        const created = results.filter((r) => r.success).length;
        return { results: results.map(bulkResultJson), total: results.length, created, failed: results.length - created };
      },
      {
        auth: { permission: "datasource.create" },
        body: t.Array(t.Unknown(), { minItems: 1, maxItems: MAX_BULK_ITEMS }),
        detail: { summary: `Register up to ${MAX_BULK_ITEMS} data sources; each item gets its own result (a bad item does not stop the others)` },
      },
    )
    .get("/:id", async ({ params, principal }) => dataSourceJson(await findDataSourceFor(deps, principal, params.id)), {
      auth: { permission: "datasource.read" },
      detail: { summary: "Get a data source (never its password)" },
    })
    .put("/:id", async ({ params, body, meta, principal }) => dataSourceJson(await updateDataSourceFor(deps, commandContext(meta, principal), principal, params.id, body)), {
      auth: { permission: "datasource.update" },
      body: t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 200 })), type: t.Optional(type), ...settingsFields }, { additionalProperties: false }),
      detail: { summary: "Update a data source: password (new one; null removes it; absent keeps it); its connections are closed and reopened with the new settings" },
    })
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        await deleteDataSourceFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Data source deleted" };
      },
      { auth: { permission: "datasource.delete" }, detail: { summary: "Delete a data source: its connections close and every grant on it ends (AccessRevoked)" } },
    )
    .post("/:id/test", async ({ params, principal }) => testDataSourceFor(deps, principal, params.id), {
      auth: { permission: "datasource.update" },
      detail: { summary: "Test connectivity (a few seconds at most): {success, message, latency_ms}; an unreachable database is success: false, not an error" },
    });
}
