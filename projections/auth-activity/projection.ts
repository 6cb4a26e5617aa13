/**
 * Authentication activity per organization, user and UTC day, from the login aggregate's
 * events (LoginSucceeded, LoginFailed, AccountLocked) and UserRegistered. A batch is
 * summed per row in memory and added in one upsert; a row's `last_position` makes a
 * batch it has already taken change nothing.
 */
import { sql } from "drizzle-orm";
import type { RecordedEvent } from "../../src/eventstore/port";
import type { Projection } from "../runner/projection";

interface Counts {
  organization_id: string;
  user_id: string;
  day: string;
  logins: number;
  failures: number;
  lockouts: number;
  registrations: number;
  last_position: string;
}

const COLUMN: Record<string, "logins" | "failures" | "lockouts" | "registrations"> = {
  LoginSucceeded: "logins",
  LoginFailed: "failures",
  AccountLocked: "lockouts",
  UserRegistered: "registrations",
};

const UPSERT_HEAD = `
INSERT INTO auth_activity_daily AS a (organization_id, user_id, day, logins, failures, lockouts, registrations, last_position)
SELECT organization_id, user_id, day, logins, failures, lockouts, registrations, last_position
FROM jsonb_to_recordset(`;
const UPSERT_TAIL = `::jsonb) AS r(organization_id uuid, user_id uuid, day date, logins integer, failures integer,
  lockouts integer, registrations integer, last_position bigint)
ON CONFLICT ON CONSTRAINT auth_activity_daily_pkey DO UPDATE SET
  logins = a.logins + excluded.logins,
  failures = a.failures + excluded.failures,
  lockouts = a.lockouts + excluded.lockouts,
  registrations = a.registrations + excluded.registrations,
  last_position = excluded.last_position
WHERE a.last_position < excluded.last_position`;

export const authActivityProjection: Projection = {
  name: "auth_activity",
  version: 1,
  handles: Object.keys(COLUMN),
  tables: ["auth_activity_daily"],
  async apply(tx, events: RecordedEvent[]) {
    const rows = new Map<string, Counts>();
    for (const e of events) {
      const d = e.data as { user_id?: string; organization_id?: string; at?: string };
      const organizationId = d.organization_id ?? e.metadata.organization_id;
      if (!d.user_id || !organizationId) continue;
      const day = (d.at ?? e.metadata.occurred_at).slice(0, 10);
      const key = `${organizationId}|${d.user_id}|${day}`;
      let row = rows.get(key);
      if (!row) {
        row = { organization_id: organizationId, user_id: d.user_id, day, logins: 0, failures: 0, lockouts: 0, registrations: 0, last_position: "0" };
        rows.set(key, row);
      }
      row[COLUMN[e.type]]++;
      row.last_position = e.position.toString();
    }
    if (rows.size === 0) return;
    await tx.execute(sql`${sql.raw(UPSERT_HEAD)}${sql.param(JSON.stringify([...rows.values()]))}${sql.raw(UPSERT_TAIL)}`);
  },
};
