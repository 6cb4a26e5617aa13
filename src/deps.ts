/** Everything a handler or route may need, built once in main.ts (or by a test). */
import type { Config } from "./config";
import type { SqlClient } from "./db/client";
import type { EventStore } from "./eventstore/port";
import type { Logger } from "./logger";
import type { SecretBox } from "./crypto/secret-box";
import type { TokenService } from "./auth/tokens";
import type { Metrics } from "./http/metrics";
import type { Projector } from "../projections/runner/projector";
import type { SecurityState } from "./auth/security-state";
import type { ApiKeyUsage } from "./auth/api-key-usage";
import type { AccessDeniedRecorder } from "./auth/access-denied";
import type { OwnWrites } from "./http/own-writes";
import type { SchemaCache } from "./sql/schema-cache";
import type { ConnectionRegistry } from "./sql/connection-registry";

export interface Deps {
  config: Config;
  db: SqlClient;
  store: EventStore;
  projector: Projector;
  /** In-memory sessions, users, roles, organizations for the per-request check. */
  security: SecurityState;
  /** Last-used times of API keys, batched in memory and flushed to api_key_usage. */
  apiKeyUsage: ApiKeyUsage;
  /** 401/403 answers as throttled AccessDenied events. */
  accessDenied: AccessDeniedRecorder;
  /** Writes that answered before the projector passed them: their author's next request waits. */
  ownWrites: OwnWrites;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox;
  /** Introspected data-source schemas, by (data source, version), briefly. */
  schemaCache: SchemaCache;
  /** Bounded pools to the registered data sources, by (data source, version). */
  connections: ConnectionRegistry;
  tokens: TokenService;
  startedAt: Date;
}

/**
 * Read-your-writes: resolves once both the read models and this process's security
 * state reflect the write at `position`.
 */
export async function settle(deps: Pick<Deps, "projector" | "security">, position: bigint): Promise<void> {
  if (position <= 0n) return;
  await Promise.all([deps.projector.waitFor(position), deps.security.waitFor(position)]);
}
