/**
 * The user tables and views of a data source, read from the system catalog in one
 * statement (not one per table), the same way on a server and on PGlite.
 *
 * What counts: tables, partitioned tables (not their partitions), views, materialized
 * views and foreign tables outside the system schemas (pg_catalog, information_schema,
 * pg_toast, pg_*), and only those the connecting role may read — a data source
 * registered with a least-privilege role shows just what that role can query.
 */
import type { ColumnInfo, DatabaseSchema, ForeignKey, TableInfo } from "./types";
import type { ReadOnlySession } from "./executor";

const CATALOG_TIMEOUT_MS = 30_000;

const CATALOG_SQL = `
WITH rels AS (
  SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind, c.reltuples::float8 AS reltuples,
         pg_catalog.obj_description(c.oid, 'pg_class') AS comment
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND NOT c.relispartition
     AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
     AND n.nspname NOT LIKE 'pg\\_%'
     AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')
     AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
),
cols AS (
  SELECT a.attrelid AS oid,
         json_agg(json_build_object(
           'name', a.attname::text,
           'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
           'nullable', NOT a.attnotnull,
           'default', CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
           'comment', pg_catalog.col_description(a.attrelid, a.attnum)
         ) ORDER BY a.attnum) AS columns
    FROM pg_catalog.pg_attribute a
    JOIN rels r ON r.oid = a.attrelid
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
   GROUP BY a.attrelid
),
keys AS (
  SELECT con.conrelid AS oid,
         json_agg(json_build_object(
           'name', con.conname::text,
           'kind', con.contype::text,
           'columns', ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
                              JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
           'to_schema', tn.nspname::text,
           'to_name', tc.relname::text,
           'to_columns', ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
                                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)
         ) ORDER BY con.conname) AS keys
    FROM pg_catalog.pg_constraint con
    JOIN rels r ON r.oid = con.conrelid
    LEFT JOIN pg_catalog.pg_class tc ON tc.oid = con.confrelid
    LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
   WHERE con.contype IN ('p', 'f')
   GROUP BY con.conrelid
)
SELECT COALESCE(json_agg(json_build_object(
         'schema', r.schema, 'name', r.name, 'kind', r.kind, 'reltuples', r.reltuples, 'comment', r.comment,
         'columns', COALESCE(c.columns, '[]'::json), 'keys', COALESCE(k.keys, '[]'::json)
       ) ORDER BY r.schema <> 'public', r.schema, r.name), '[]'::json)::text AS doc
  FROM rels r
  LEFT JOIN cols c ON c.oid = r.oid
  LEFT JOIN keys k ON k.oid = r.oid`;

interface CatalogRelation {
  schema: string;
  name: string;
  kind: string;
  reltuples: number | null;
  comment: string | null;
  columns: Array<Omit<ColumnInfo, "is_primary_key">>;
  keys: Array<{ name: string; kind: "p" | "f"; columns: string[]; to_schema: string | null; to_name: string | null; to_columns: string[] }>;
}

/** `orders` in public, `sales.orders` elsewhere: the naming callers, grants and the guard share. */
export function tableName(schema: string, name: string): string {
  return schema === "public" ? name : `${schema}.${name}`;
}

/** Reads the schema inside a read-only transaction on `session` (always rolled back). */
export async function introspectSchema(session: ReadOnlySession): Promise<DatabaseSchema> {
  await session.control(`BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = ${CATALOG_TIMEOUT_MS}`);
  try {
    const [row] = await session.rows(CATALOG_SQL);
    return toSchema(JSON.parse(row?.doc ?? "[]") as CatalogRelation[]);
  } finally {
    await session.control("ROLLBACK").catch(() => {});
  }
}

function toSchema(relations: CatalogRelation[]): DatabaseSchema {
  const tables = relations.map(toTable);
  return { tables, relationships: tables.flatMap((t) => t.foreign_keys) };
}

function toTable(relation: CatalogRelation): TableInfo {
  const name = tableName(relation.schema, relation.name);
  const primaryKey = relation.keys.find((k) => k.kind === "p")?.columns ?? [];
  const foreignKeys: ForeignKey[] = relation.keys
    .filter((k) => k.kind === "f")
    .map((k) => ({
      name: k.name,
      from_table: name,
      from_columns: k.columns,
      to_table: tableName(k.to_schema ?? "public", k.to_name ?? ""),
      to_columns: k.to_columns,
    }));
  const isView = relation.kind === "v";
  // reltuples is -1 for a table never vacuumed or analyzed (PostgreSQL 14+): unknown, not empty.
  const estimate = relation.reltuples;
  return {
    name,
    schema: relation.schema,
    comment: relation.comment,
    columns: relation.columns.map((c) => ({
      name: c.name,
      type: c.type,
      nullable: c.nullable,
      default: c.default,
      is_primary_key: primaryKey.includes(c.name),
      comment: c.comment,
    })),
    primary_key: primaryKey,
    foreign_keys: foreignKeys,
    row_estimate: isView || estimate === null || estimate < 0 ? null : Math.round(estimate),
  };
}
