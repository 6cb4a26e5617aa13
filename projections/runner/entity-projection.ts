/**
 * The common read-model shape: one row per entity, the fold of that entity's events.
 * A batch costs one SELECT of the touched rows, then one multi-row upsert and one
 * delete, whatever its size; that is what makes rebuilds fast.
 * Rows carry `lastPosition`: an event at or below it was already folded in (idempotent).
 */
import { getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
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
}

const CHUNK = 500;

export function entityProjection<Row extends RowWithPosition>(spec: EntityProjectionSpec<Row>): Projection {
  const columns = getTableColumns(spec.table);
  const setExcluded: Record<string, SQL> = {};
  for (const [key, column] of Object.entries(columns)) {
    if (key !== spec.idField) setExcluded[key] = sql.raw(`excluded."${column.name}"`);
  }
  const tableName = (spec.table as unknown as { [k: symbol]: string })[Symbol.for("drizzle:Name")];

  return {
    name: spec.name,
    version: spec.version,
    handles: spec.handles,
    tables: [tableName],
    async apply(tx: Drizzle, events: RecordedEvent[]) {
      const ids = [...new Set(events.map(spec.idOf).filter((id): id is string => id !== null))];
      if (ids.length === 0) return;
      const rows = new Map<string, Row | null>();
      for (let i = 0; i < ids.length; i += CHUNK) {
        const found = (await tx.select().from(spec.table).where(inArray(spec.idColumn, ids.slice(i, i + CHUNK)))) as unknown as Row[];
        for (const row of found) rows.set(String(row[spec.idField]), row);
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
      const upserts: Row[] = [];
      const deletes: string[] = [];
      for (const id of touched) {
        const row = rows.get(id);
        if (row) upserts.push(row);
        else if (existed.has(id)) deletes.push(id);
      }
      for (let i = 0; i < upserts.length; i += CHUNK) {
        await tx
          .insert(spec.table)
          .values(upserts.slice(i, i + CHUNK) as never)
          .onConflictDoUpdate({ target: spec.idColumn, set: setExcluded as never });
      }
      for (let i = 0; i < deletes.length; i += CHUNK) {
        await tx.delete(spec.table).where(inArray(spec.idColumn, deletes.slice(i, i + CHUNK)));
      }
    },
  };
}
