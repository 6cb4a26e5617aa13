/** The `data_sources` read model: one row per data source, kept (deleted = true) after deletion. */
import type { RecordedEvent } from "../../src/eventstore/port";
import type { DataSourceEvent } from "../../src/domain/data-source";
import { entityProjection } from "../runner/entity-projection";
import { dataSources, type DataSourceRow } from "./schema";

export const dataSourcesProjection = entityProjection<DataSourceRow>({
  name: "data_sources",
  version: 1,
  table: dataSources,
  idColumn: dataSources.id,
  idField: "id",
  handles: ["DataSourceRegistered", "DataSourceUpdated", "DataSourceDeleted"],
  idOf: (e) => (e.data as { data_source_id?: string }).data_source_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as DataSourceEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "DataSourceRegistered": {
        const d = event.data;
        return {
          id: d.data_source_id,
          organizationId: d.organization_id,
          name: d.name,
          type: d.type,
          host: d.host,
          port: d.port,
          databaseName: d.database_name,
          username: d.username,
          ssl: d.ssl,
          passwordSealed: d.password_sealed,
          version: d.version,
          createdBy: d.created_by,
          createdAt: at,
          updatedAt: at,
          deleted: false,
          lastPosition: recorded.position,
        };
      }
      case "DataSourceUpdated": {
        if (!current) return null;
        const c = event.data.changes;
        return {
          ...current,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.host !== undefined && { host: c.host }),
          ...(c.port !== undefined && { port: c.port }),
          ...(c.database_name !== undefined && { databaseName: c.database_name }),
          ...(c.username !== undefined && { username: c.username }),
          ...(c.ssl !== undefined && { ssl: c.ssl }),
          ...(c.password_sealed !== undefined && { passwordSealed: c.password_sealed }),
          version: event.data.version,
          updatedAt: at,
        };
      }
      case "DataSourceDeleted":
        // The sealed password has no further use once the source is gone.
        return current ? { ...current, deleted: true, passwordSealed: null, updatedAt: at } : null;
      default:
        return current;
    }
  },
});
