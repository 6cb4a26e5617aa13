/**
 * One live connection (pool) per registered data source, reused across requests.
 *
 * Keyed by (data source id, version): when a data source is edited its version changes,
 * the next `get` opens a pool with the new settings and closes the old one. The number
 * of open pools is bounded: past `maxPools` the least recently used one is closed, so a
 * tenant registering hundreds of sources cannot exhaust sockets or server connections.
 */
import type { ConnectionSpec, DataSourceConnection } from "./types";
import { openConnection, type ConnectionOptions } from "./connections";

export const DEFAULT_MAX_POOLS = 50;

interface Entry {
  version: string;
  connection: DataSourceConnection;
}

export class ConnectionRegistry {
  /** Insertion order is recency order: `get` moves an entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly closing = new Set<Promise<void>>();
  private readonly maxPools: number;
  private readonly connectionOptions: ConnectionOptions;

  constructor(options: { poolMax?: number; maxPools?: number; connectTimeoutMs?: number } = {}) {
    this.maxPools = Math.max(1, options.maxPools ?? DEFAULT_MAX_POOLS);
    this.connectionOptions = { poolMax: options.poolMax, connectTimeoutMs: options.connectTimeoutMs };
  }

  /** The connection for this data source at this version, opened on first use. */
  get(dataSourceId: string, version: string, spec: ConnectionSpec): DataSourceConnection {
    const existing = this.entries.get(dataSourceId);
    if (existing) {
      this.entries.delete(dataSourceId);
      if (existing.version === version) {
        this.entries.set(dataSourceId, existing);
        return existing.connection;
      }
      this.retire(existing.connection);
    }
    const connection = openConnection(spec, this.connectionOptions);
    this.entries.set(dataSourceId, { version, connection });
    while (this.entries.size > this.maxPools) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldestId);
      this.retire(oldest.connection);
    }
    return connection;
  }

  /** Closes the data source's pool (e.g. after it was deleted); the next `get` reopens. */
  async close(dataSourceId: string): Promise<void> {
    const entry = this.entries.get(dataSourceId);
    if (!entry) return;
    this.entries.delete(dataSourceId);
    await this.retire(entry.connection);
  }

  /** Closes every pool, including those still draining after a version change or eviction. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all([...entries.map((e) => this.retire(e.connection)), ...this.closing]);
  }

  /** Open pools. */
  size(): number {
    return this.entries.size;
  }

  private retire(connection: DataSourceConnection): Promise<void> {
    const done = connection.close().catch(() => {});
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
    return done;
  }
}
