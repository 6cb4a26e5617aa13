import type { Drizzle } from "../../src/db/client";
import type { RecordedEvent } from "../../src/eventstore/port";

/**
 * A read model fed by events. `apply` runs inside the transaction that also moves the
 * checkpoint, so a batch is all-or-nothing and a replayed event is never applied twice.
 */
export interface Projection {
  name: string;
  /** Bump when the logic or table changes: the projector rebuilds it from zero at start. */
  version: number;
  handles: readonly string[];
  /** Tables emptied by a rebuild. */
  tables: readonly string[];
  apply(tx: Drizzle, events: RecordedEvent[]): Promise<void>;
}
