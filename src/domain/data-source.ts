/**
 * A registered data source: a tenant's database the service may connect to on behalf of
 * users who hold a grant. Stream `data_source-<id>`.
 *
 * - Names are unique per organization ignoring case, by a reservation claim the handler
 *   takes (see handlers/data-sources.ts).
 * - The password never reaches this module in clear: the handler seals it (AES-256-GCM,
 *   organization and data source id as associated data) and the events carry only the
 *   sealed text, so a replay or an event export reveals nothing.
 * - `version` counts the changes: connection pools and cached schemas are keyed by
 *   (id, version), so a change can never be served by a pool built for the old settings.
 * - The type is fixed at registration: `embedded-demo` has no connection settings at all,
 *   and turning one kind into the other is a new data source, not an edit.
 */
import { DomainError, invalid, notFound } from "./errors";

export const DATA_SOURCE_TYPES = ["postgresql", "embedded-demo"] as const;
export type DataSourceType = (typeof DATA_SOURCE_TYPES)[number];

/** What a data source is, as events record it (the password only sealed). */
export interface DataSourceSettings {
  name: string;
  type: DataSourceType;
  host: string | null;
  port: number | null;
  database_name: string | null;
  username: string | null;
  ssl: boolean;
  /** `v1.<key id>.<iv>.<ciphertext>`; null when the source has no password. */
  password_sealed: string | null;
}

export type DataSourceChanges = Partial<Omit<DataSourceSettings, "type">>;

export type DataSourceEvent =
  | { type: "DataSourceRegistered"; data: DataSourceSettings & { data_source_id: string; organization_id: string; created_by: string | null; version: number } }
  | { type: "DataSourceUpdated"; data: { data_source_id: string; organization_id: string; changes: DataSourceChanges; version: number } }
  | { type: "DataSourceDeleted"; data: { data_source_id: string; organization_id: string; name: string } };

export type DataSourceCommand =
  | { type: "RegisterDataSource"; dataSourceId: string; organizationId: string; settings: DataSourceSettings; createdBy: string | null }
  | { type: "UpdateDataSource"; changes: DataSourceChanges }
  | { type: "DeleteDataSource" };

interface DataSourceRecord {
  id: string;
  organizationId: string;
  settings: DataSourceSettings;
  version: number;
  createdBy: string | null;
}

export type DataSourceState = { status: "absent" } | ({ status: "exists" } & DataSourceRecord) | ({ status: "deleted" } & DataSourceRecord);

/** The settings a data source of this type must (postgresql) or must not (embedded-demo) have. */
export function checkSettings(s: DataSourceSettings, pathPrefix = "/body"): void {
  if (!s.name.trim()) throw invalid(`${pathPrefix}/name`, "name must not be blank");
  if (s.type === "embedded-demo") {
    for (const field of ["host", "port", "database_name", "username", "password_sealed"] as const) {
      if (s[field] !== null) {
        const shown = field === "password_sealed" ? "password" : field;
        throw invalid(`${pathPrefix}/${shown}`, `An embedded-demo data source takes no ${shown}`);
      }
    }
    return;
  }
  if (!s.host?.trim()) throw invalid(`${pathPrefix}/host`, "host is required for a postgresql data source");
  // A slash would be read as a Unix socket directory (the service's own server), a comma as several hosts.
  if (/[/,\s]/.test(s.host)) throw invalid(`${pathPrefix}/host`, "host must be a host name or an IP address");
  if (!s.database_name?.trim()) throw invalid(`${pathPrefix}/database_name`, "database_name is required for a postgresql data source");
  if (!s.username?.trim()) throw invalid(`${pathPrefix}/username`, "username is required for a postgresql data source");
  if (s.port === null || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw invalid(`${pathPrefix}/port`, "port must be an integer from 1 to 65535");
}

export const dataSource = {
  initialState: (): DataSourceState => ({ status: "absent" }),

  evolve(state: DataSourceState, event: DataSourceEvent): DataSourceState {
    switch (event.type) {
      case "DataSourceRegistered": {
        const { data_source_id, organization_id, created_by, version, ...settings } = event.data;
        return { status: "exists", id: data_source_id, organizationId: organization_id, settings, version, createdBy: created_by };
      }
      case "DataSourceUpdated":
        return state.status === "absent" ? state : { ...state, settings: { ...state.settings, ...event.data.changes }, version: event.data.version };
      case "DataSourceDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: DataSourceCommand, state: DataSourceState): DataSourceEvent[] {
    switch (command.type) {
      case "RegisterDataSource": {
        if (state.status !== "absent") throw new DomainError("conflict", "Data source already exists");
        checkSettings(command.settings);
        return [
          {
            type: "DataSourceRegistered",
            data: { data_source_id: command.dataSourceId, organization_id: command.organizationId, ...command.settings, created_by: command.createdBy, version: 1 },
          },
        ];
      }
      case "UpdateDataSource": {
        if (state.status !== "exists") throw notFound("Data source");
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state.settings[k as keyof DataSourceSettings] !== v),
        ) as DataSourceChanges;
        if (Object.keys(changes).length === 0) return [];
        checkSettings({ ...state.settings, ...changes });
        return [{ type: "DataSourceUpdated", data: { data_source_id: state.id, organization_id: state.organizationId, changes, version: state.version + 1 } }];
      }
      case "DeleteDataSource":
        if (state.status !== "exists") throw notFound("Data source");
        return [{ type: "DataSourceDeleted", data: { data_source_id: state.id, organization_id: state.organizationId, name: state.settings.name } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
