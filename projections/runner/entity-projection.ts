/**
 * The common read-model shape: one row per entity, the fold of that entity's events.
 * A batch costs one SELECT of the touched rows and one upsert (rows shipped as one jsonb
 * parameter and expanded by jsonb_to_recordset), plus one delete, whatever its size.
 * Drizzle's builder costs ~4 µs per bound value, which dominated rebuilds when each
 * row was 12 parameters.
 * Rows carry `lastPosition`: an event at or below it was already folded in (idempotent).
 */
import { getTableColumns, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Drizzle } from "../../src/db/client";
import type { RecordedEvent } from "../../src/eventstore/port";
import type { Projection } from "./projection";

type RowWithPosition = { lastPosition: bigint };

export interface EntityProjectionSpec<Row extends RowWithPosition> {
  name: string;
  version: number;
  table: PgTable;
  idColumn: PgColumn;
  idField: keyof Row & string;
  handles: readonly string[];
  /** The entity an event belongs to, or null to ignore it. */
  idOf(event: RecordedEvent): string | null;
  /** The row after the event; null deletes it. `current` is null before the first event. */
  evolve(current: Row | null, event: RecordedEvent): Row | null;
  /**
   * Event types that begin an entity (its stream's first event). A batch whose every
   * touched entity begins in it has no row to read: the SELECT is skipped (a login's new
   * session, a registration). The upsert never moves a row back, so a batch applied
   * again changes nothing either way.
   */
  creates?: readonly string[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function entityProjection<Row extends RowWithPosition>(spec: EntityProjectionSpec<Row>): Projection {
  const columns = Object.entries(getTableColumns(spec.table)) as Array<[string, PgColumn]>;
  const tableName = (spec.table as unknown as { [k: symbol]: string })[Symbol.for("drizzle:Name")];
  const table = quote(tableName);
  const idName = quote(spec.idColumn.name);
  const idType = spec.idColumn.getSQLType();
  const names = columns.map(([, c]) => quote(c.name)).join(", ");
  const recordType = columns.map(([, c]) => `${quote(c.name)} ${c.getSQLType()}`).join(", ");
  const setList = columns.filter(([k]) => k !== spec.idField).map(([, c]) => `${quote(c.name)} = excluded.${quote(c.name)}`).join(", ");
  const selectSql = `SELECT ${names} FROM ${table} WHERE ${idName} IN (SELECT jsonb_array_elements_text(`;
  const positionColumn = columns.find(([k]) => k === "lastPosition")?.[1];
  const upsertHead = `INSERT INTO ${table} AS t (${names}) SELECT ${names} FROM jsonb_to_recordset(`;
  const upsertTail =
    `::jsonb) AS r(${recordType}) ON CONFLICT (${idName}) DO UPDATE SET ${setList}` +
    (positionColumn ? ` WHERE t.${quote(positionColumn.name)} < excluded.${quote(positionColumn.name)}` : "");
  const creates = new Set(spec.creates ?? []);
  /** Whether every entity the batch touches begins in it. */
  const allNew = (events: RecordedEvent[]): boolean => {
    if (creates.size === 0) return false;
    const seen = new Set<string>();
    for (const e of events) {
      const id = spec.idOf(e);
      if (id === null || seen.has(id)) continue;
      if (!creates.has(e.type)) return false;
      seen.add(id);
    }
    return true;
  };

  const toDriver = (row: Row): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      const v = (row as Record<string, unknown>)[key];
      // JSON-ready values: json/jsonb columns and arrays stay structured (jsonb_to_recordset
      // turns a JSON array into a SQL array), bigints as strings, dates as ISO text.
      out[column.name] =
        v === null || v === undefined
          ? null
          : typeof v === "bigint"
            ? v.toString()
            : v instanceof Date
              ? v.toISOString()
              : column.dataType === "json" || Array.isArray(v)
                ? v
                : column.mapToDriverValue(v);
    }
    return out;
  };
  const fromDriver = (raw: Record<string, unknown>): Row => {
    const out: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      const v = raw[column.name];
      out[key] = v === null || v === undefined ? null : column.mapFromDriverValue(v);
    }
    return out as Row;
  };

  return {
    name: spec.name,
    version: spec.version,
    handles: spec.handles,
    tables: [tableName],
    async apply(tx: Drizzle, events: RecordedEvent[]) {
      const ids = [...new Set(events.map(spec.idOf).filter((id): id is string => id !== null))];
      if (ids.length === 0) return;
      const rows = new Map<string, Row | null>();
      // Ids as one jsonb parameter: an `= ANY($1::uuid[])` with a literal array of ~1000
      // ids is planned as a sequential scan once the table is large (measured 10x slower).
      if (!allNew(events)) {
        const found = await tx.execute(sql`${sql.raw(selectSql)}${sql.param(JSON.stringify(ids))}${sql.raw(`::jsonb)::${idType})`)}`);
        for (const raw of (found as unknown as { rows?: Record<string, unknown>[] }).rows ?? (found as unknown as Record<string, unknown>[])) {
          const row = fromDriver(raw);
          rows.set(String(row[spec.idField as keyof Row]), row);
        }
      }
      const existed = new Set(rows.keys());
      const touched = new Set<string>();
      for (const event of events) {
        const id = spec.idOf(event);
        if (id === null) continue;
        const current = rows.get(id) ?? null;
        if (current && current.lastPosition >= event.position) continue;
        const next = spec.evolve(current, event);
        rows.set(id, next ? { ...next, lastPosition: event.position } : null);
        touched.add(id);
      }
      const upserts: Record<string, unknown>[] = [];
      const deletes: string[] = [];
      for (const id of touched) {
        const row = rows.get(id);
        if (row) upserts.push(toDriver(row));
        else if (existed.has(id)) deletes.push(id);
      }
      if (upserts.length > 0) {
        await tx.execute(sql`${sql.raw(upsertHead)}${sql.param(JSON.stringify(upserts))}${sql.raw(upsertTail)}`);
      }
      if (deletes.length > 0) {
        await tx.execute(sql`${sql.raw(`DELETE FROM ${table} WHERE ${idName} = ANY(`)}${sql.param(deletes)}${sql.raw(`::${idType}[])`)}`);
      }
    },
  };
}
