/**
 * Introspected schemas, cached per data source. Keyed by (id, version): a changed data
 * source (new host, new database) never gets the old schema. The TTL is short because
 * the tenant's database changes under us without any event (a table added by its
 * owners): browsing picks that up within a minute. Concurrent misses share one
 * introspection, and a failed one is not cached.
 */
import type { DatabaseSchema } from "./types";

interface Entry {
  version: string;
  at: number;
  schema: Promise<DatabaseSchema>;
}

export class SchemaCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs = 60_000, private readonly now: () => number = Date.now) {}

  get(dataSourceId: string, version: string, introspect: () => Promise<DatabaseSchema>): Promise<DatabaseSchema> {
    const hit = this.entries.get(dataSourceId);
    if (hit && hit.version === version && this.now() - hit.at < this.ttlMs) return hit.schema;
    const schema = introspect();
    const entry: Entry = { version, at: this.now(), schema };
    this.entries.set(dataSourceId, entry);
    schema.catch(() => {
      if (this.entries.get(dataSourceId) === entry) this.entries.delete(dataSourceId);
    });
    return schema;
  }

  invalidate(dataSourceId: string): void {
    this.entries.delete(dataSourceId);
  }

  clear(): void {
    this.entries.clear();
  }

  size(): number {
    return this.entries.size;
  }
}
