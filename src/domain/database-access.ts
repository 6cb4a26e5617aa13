/**
 * One user's database access grants, stream `database_access-<user id>`.
 *
 * Every decision about a user's grants is taken on this one stream at its revision, so:
 * - a second grant for a data source the user already holds REPLACES the first (new
 *   tables and expiry): the old grant ends (AccessRevoked, or AccessExpired when it had
 *   already run out) and the new one starts, in one append;
 * - an expired grant is recorded as AccessExpired exactly once, however many requests
 *   notice it at the same moment: they all append at the revision they read, one wins,
 *   the others re-read and find nothing left to do.
 *
 * The event shapes are a contract: the access review (handlers/access-review.ts) reads them.
 */
import { invalid, notFound } from "./errors";

export interface Grant {
  accessId: string;
  organizationId: string;
  dataSourceId: string;
  dataSourceName: string;
  /** Lower-case table names (`schema.table` when not public); null = every table. */
  tables: string[] | null;
  expiresAt: string | null;
  grantedBy: string;
  status: "active" | "revoked" | "expired";
}

export type DatabaseAccessEvent =
  | {
      type: "AccessGranted";
      data: {
        access_id: string;
        user_id: string;
        organization_id: string;
        data_source_id: string;
        data_source_name: string;
        tables: string[] | null;
        expires_at: string | null;
        granted_by: string;
      };
    }
  | { type: "AccessRevoked"; data: { access_id: string; user_id: string; data_source_id: string; revoked_by: string } }
  | { type: "AccessExpired"; data: { access_id: string; user_id: string; data_source_id: string; expired_at: string } };

export type DatabaseAccessCommand =
  | {
      type: "GrantAccess";
      accessId: string;
      userId: string;
      organizationId: string;
      dataSourceId: string;
      dataSourceName: string;
      tables: string[] | null;
      expiresAt: string | null;
      grantedBy: string;
      now: Date;
    }
  | { type: "RevokeAccess"; userId: string; accessId: string; revokedBy: string }
  /** The data source is gone: every live grant on it ends. */
  | { type: "EndAccessToDataSource"; userId: string; dataSourceId: string; revokedBy: string }
  /** Records the expiry of the user's grant on the data source if it has run out by `now`. */
  | { type: "ExpireAccess"; userId: string; dataSourceId: string; now: Date };

export interface DatabaseAccessState {
  /** By access id, in grant order. */
  grants: Map<string, Grant>;
}

export const hasRunOut = (g: Grant, now: Date) => g.expiresAt !== null && Date.parse(g.expiresAt) <= now.getTime();

/** The user's one live (not revoked, not recorded as expired) grant on a data source. */
export function liveGrantOn(state: DatabaseAccessState, dataSourceId: string): Grant | undefined {
  for (const g of state.grants.values()) if (g.status === "active" && g.dataSourceId === dataSourceId) return g;
  return undefined;
}

function ending(userId: string, g: Grant, now: Date | null, revokedBy: string): DatabaseAccessEvent {
  if (now !== null && hasRunOut(g, now)) {
    return { type: "AccessExpired", data: { access_id: g.accessId, user_id: userId, data_source_id: g.dataSourceId, expired_at: g.expiresAt! } };
  }
  return { type: "AccessRevoked", data: { access_id: g.accessId, user_id: userId, data_source_id: g.dataSourceId, revoked_by: revokedBy } };
}

export const databaseAccess = {
  initialState: (): DatabaseAccessState => ({ grants: new Map() }),

  evolve(state: DatabaseAccessState, event: DatabaseAccessEvent): DatabaseAccessState {
    const grants = new Map(state.grants);
    switch (event.type) {
      case "AccessGranted": {
        const d = event.data;
        grants.set(d.access_id, {
          accessId: d.access_id,
          organizationId: d.organization_id,
          dataSourceId: d.data_source_id,
          dataSourceName: d.data_source_name,
          tables: d.tables,
          expiresAt: d.expires_at,
          grantedBy: d.granted_by,
          status: "active",
        });
        return { grants };
      }
      case "AccessRevoked":
      case "AccessExpired": {
        const g = grants.get(event.data.access_id);
        if (g) grants.set(g.accessId, { ...g, status: event.type === "AccessRevoked" ? "revoked" : "expired" });
        return { grants };
      }
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: DatabaseAccessCommand, state: DatabaseAccessState): DatabaseAccessEvent[] {
    switch (command.type) {
      case "GrantAccess": {
        if (command.expiresAt !== null && Date.parse(command.expiresAt) <= command.now.getTime()) {
          throw invalid("/body/expires_at", "expires_at must be in the future");
        }
        const previous = liveGrantOn(state, command.dataSourceId);
        return [
          ...(previous ? [ending(command.userId, previous, command.now, command.grantedBy)] : []),
          {
            type: "AccessGranted",
            data: {
              access_id: command.accessId,
              user_id: command.userId,
              organization_id: command.organizationId,
              data_source_id: command.dataSourceId,
              data_source_name: command.dataSourceName,
              tables: command.tables,
              expires_at: command.expiresAt,
              granted_by: command.grantedBy,
            },
          },
        ];
      }
      case "RevokeAccess": {
        const g = state.grants.get(command.accessId);
        if (!g || g.status !== "active") throw notFound("Database access grant");
        return [ending(command.userId, g, null, command.revokedBy)];
      }
      case "EndAccessToDataSource": {
        const g = liveGrantOn(state, command.dataSourceId);
        return g ? [ending(command.userId, g, null, command.revokedBy)] : [];
      }
      case "ExpireAccess": {
        const g = liveGrantOn(state, command.dataSourceId);
        if (!g || !hasRunOut(g, command.now)) return [];
        return [ending(command.userId, g, command.now, "")];
      }
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
