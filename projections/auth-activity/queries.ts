/** Authentication activity for GET /auth/admin/stats, scoped by organization (or all) and period. */
import type { Queryable } from "../../src/db/client";

export interface AuthActivityScope {
  /** Every organization when absent (super admin). */
  organizationId?: string;
  userId?: string;
  /** First UTC day included, `YYYY-MM-DD`. */
  fromDay: string;
}

export interface AuthActivityTotals {
  logins: number;
  failures: number;
  lockouts: number;
  registrations: number;
  /** Distinct users with at least one successful login. */
  active_users: number;
}

export interface AuthActivityDay extends AuthActivityTotals {
  date: string;
}

function conditions(scope: AuthActivityScope): { where: string; params: unknown[] } {
  const params: unknown[] = [scope.fromDay];
  const parts = ["day >= $1::date"];
  if (scope.organizationId) {
    params.push(scope.organizationId);
    parts.push(`organization_id = $${params.length}`);
  }
  if (scope.userId) {
    params.push(scope.userId);
    parts.push(`user_id = $${params.length}`);
  }
  return { where: parts.join(" AND "), params };
}

const SUMS = `coalesce(sum(logins), 0)::int AS logins, coalesce(sum(failures), 0)::int AS failures,
  coalesce(sum(lockouts), 0)::int AS lockouts, coalesce(sum(registrations), 0)::int AS registrations,
  (count(DISTINCT user_id) FILTER (WHERE logins > 0))::int AS active_users`;

export async function authActivityTotals(db: Queryable, scope: AuthActivityScope): Promise<AuthActivityTotals> {
  const { where, params } = conditions(scope);
  const [row] = await db.query<AuthActivityTotals>(`SELECT ${SUMS} FROM auth_activity_daily WHERE ${where}`, params);
  return row;
}

export async function authActivityByDay(db: Queryable, scope: AuthActivityScope): Promise<AuthActivityDay[]> {
  const { where, params } = conditions(scope);
  return db.query<AuthActivityDay>(`SELECT day::text AS date, ${SUMS} FROM auth_activity_daily WHERE ${where} GROUP BY day ORDER BY day`, params);
}

/** The caller's own last successful login day and count over the period. */
export async function lastLoginDay(db: Queryable, organizationId: string, userId: string): Promise<string | null> {
  const [row] = await db.query<{ day: string | null }>(
    "SELECT max(day)::text AS day FROM auth_activity_daily WHERE organization_id = $1 AND user_id = $2 AND logins > 0",
    [organizationId, userId],
  );
  return row?.day ?? null;
}
