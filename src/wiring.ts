/**
 * Builds the dependency graph from a config and an open database. main.ts, the scripts,
 * the benchmarks and the tests all build the service the same way.
 */
import type { Config } from "./config";
import type { SqlClient } from "./db/client";
import type { Deps } from "./deps";
import type { EventStore, NewEvent } from "./eventstore/port";
import { PostgresEventStore } from "./eventstore/postgres";
import { Logger } from "./logger";
import { Metrics } from "./http/metrics";
import { SecretBox } from "./crypto/secret-box";
import { TokenService } from "./auth/tokens";
import { Projector } from "../projections/runner/projector";
import { allProjections } from "../projections";
import { SecurityState } from "./auth/security-state";
import { ApiKeyUsage } from "./auth/api-key-usage";
import { AccessDeniedRecorder } from "./auth/access-denied";
import { OwnWrites } from "./http/own-writes";
import { recordQueryEvent } from "./limits/usage-metrics";
import { SchemaCache } from "./sql/schema-cache";
import { ConnectionRegistry } from "./sql/connection-registry";

export async function createEventStore(config: Pick<Config, "eventstoreUrl">, db: SqlClient): Promise<EventStore> {
  if (config.eventstoreUrl) {
    const { EventStoreDBEventStore } = await import("./eventstore/esdb");
    return new EventStoreDBEventStore(config.eventstoreUrl);
  }
  return new PostgresEventStore(db);
}

/**
 * Counts appended events, and the query outcomes and model tokens among them, for /metrics
 * without the adapters knowing about metrics.
 */
function countingStore(store: EventStore, metrics: Metrics): EventStore {
  const count = (events: readonly NewEvent[]) => {
    for (const e of events) {
      metrics.eventsAppended(1, e.type);
      recordQueryEvent(metrics, e);
    }
  };
  const append = store.append.bind(store);
  store.append = async (streamId, events, expected) => {
    const result = await append(streamId, events, expected);
    count(events);
    return result;
  };
  const appendAtomically = store.appendAtomically?.bind(store);
  if (appendAtomically) {
    store.appendAtomically = async (appends) => {
      const results = await appendAtomically(appends);
      for (const a of appends) count(a.events);
      return results;
    };
  }
  return store;
}

export async function buildDeps(config: Config, db: SqlClient, options: { store?: EventStore; logger?: Logger } = {}): Promise<Deps> {
  const logger = options.logger ?? new Logger(config.logLevel);
  const metrics = new Metrics();
  const store = countingStore(options.store ?? (await createEventStore(config, db)), metrics);
  const projector = new Projector(store, db, allProjections, {
    logger,
    onBatch(events, seconds) {
      metrics.incCounter("ledgerline_projector_batches_total", "Projector transactions applied (live, not rebuilds).", {});
      metrics.incCounter("ledgerline_projector_events_total", "Events the projector applied in them.", {}, events);
      metrics.incCounter("ledgerline_projector_batch_seconds_total", "Time spent applying them, in seconds.", {}, seconds);
    },
  });
  return {
    config,
    db,
    store,
    projector,
    security: new SecurityState(store, logger),
    apiKeyUsage: new ApiKeyUsage(db, logger),
    accessDenied: new AccessDeniedRecorder(store, logger),
    ownWrites: new OwnWrites(),
    logger,
    metrics,
    secrets: new SecretBox(config.dataEncryptionKey),
    schemaCache: new SchemaCache(),
    connections: new ConnectionRegistry(),
    tokens: new TokenService(config.jwtSecret, config.accessTokenTtlSeconds),
    startedAt: new Date(),
  };
}
