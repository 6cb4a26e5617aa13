/** The `database_access` read model: one row per grant, its status as the events recorded it. */
import type { RecordedEvent } from "../../src/eventstore/port";
import type { DatabaseAccessEvent } from "../../src/domain/database-access";
import { entityProjection } from "../runner/entity-projection";
import { databaseAccess, type DatabaseAccessRow } from "./schema";

export const databaseAccessProjection = entityProjection<DatabaseAccessRow>({
  name: "database_access",
  version: 1,
  table: databaseAccess,
  idColumn: databaseAccess.accessId,
  idField: "accessId",
  handles: ["AccessGranted", "AccessRevoked", "AccessExpired"],
  idOf: (e) => (e.data as { access_id?: string }).access_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as DatabaseAccessEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "AccessGranted": {
        const d = event.data;
        return {
          accessId: d.access_id,
          organizationId: d.organization_id,
          userId: d.user_id,
          dataSourceId: d.data_source_id,
          dataSourceName: d.data_source_name,
          tables: d.tables,
          expiresAt: d.expires_at === null ? null : new Date(d.expires_at),
          grantedBy: d.granted_by,
          grantedAt: at,
          revokedAt: null,
          revokedBy: null,
          expiredAt: null,
          status: "active",
          lastPosition: recorded.position,
        };
      }
      case "AccessRevoked":
        return current ? { ...current, status: "revoked", revokedAt: at, revokedBy: event.data.revoked_by } : null;
      case "AccessExpired":
        return current ? { ...current, status: "expired", expiredAt: new Date(event.data.expired_at) } : null;
      default:
        return current;
    }
  },
});
