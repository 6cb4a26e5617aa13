/** Everything a handler or route may need, built once in main.ts (or by a test). */
import type { Config } from "./config";
import type { SqlClient } from "./db/client";
import type { EventStore } from "./eventstore/port";
import type { Logger } from "./logger";
import type { SecretBox } from "./crypto/secret-box";
import type { TokenService } from "./auth/tokens";
import type { Metrics } from "./http/metrics";
import type { Projector } from "../projections/runner/projector";

export interface Deps {
  config: Config;
  db: SqlClient;
  store: EventStore;
  projector: Projector;
  logger: Logger;
  metrics: Metrics;
  secrets: SecretBox;
  tokens: TokenService;
  startedAt: Date;
}
