/**
 * GET /audit/access-review: who held a role or a data source's access at a moment.
 * Organization-scoped like every read: a role or data source of another organization
 * (or of the platform's own) is 404; a super admin may review any tenant's.
 */
import type { Deps } from "../deps";
import { invalid, notFound } from "../domain/errors";
import { isUuid, type PageRequest } from "../http/pagination";
import { reviewAccess, type Holding, type ReviewTarget } from "../audit/access-review";
import { foldAsOf } from "../audit/point-in-time";
import { role, type RoleEvent, type RoleState } from "../domain/role";
import { stream } from "../eventstore/streams";
import { mayAddressOrganization } from "./point-in-time";
import type { Acting } from "./tenancy";

export interface AccessReviewRequest {
  at: Date;
  roleId?: string;
  dataSourceId?: string;
}

export interface AccessReview {
  at: string;
  target: { role_id: string; role_name: string | null } | { data_source_id: string; data_source_name: string | null };
  page: Holding[];
  total: number;
}

/** Exactly one of role_id and data_source_id (422 otherwise). */
export function reviewTargetOf(query: { role_id?: string; data_source_id?: string }): ReviewTarget {
  const role = query.role_id?.trim() || undefined;
  const dataSource = query.data_source_id?.trim() || undefined;
  if (role && dataSource) throw invalid("/query/data_source_id", "Give either role_id or data_source_id, not both");
  if (role) return { kind: "role", roleId: role };
  if (dataSource) return { kind: "data_source", dataSourceId: dataSource };
  throw invalid("/query/role_id", "Give role_id or data_source_id");
}

export async function accessReviewFor(deps: Deps, acting: Acting, target: ReviewTarget, at: Date, page: PageRequest): Promise<AccessReview> {
  const atMs = at.getTime();
  let shown: AccessReview["target"];
  let holdings: Holding[];
  if (target.kind === "role") {
    if (!isUuid(target.roleId)) throw notFound("Role");
    const roleId = target.roleId.toLowerCase();
    // The role's whole history decides whose it is (a role deleted since stays reviewable);
    // its state at the moment gives the name it had then.
    const events = await deps.store.readStream(stream.role(roleId));
    const ever = foldAsOf<RoleState, RoleEvent>(role, events, Number.MAX_SAFE_INTEGER).state;
    if (ever.status === "absent" || !mayAddressOrganization(deps, acting, ever.organizationId)) throw notFound("Role");
    const then = foldAsOf<RoleState, RoleEvent>(role, events, atMs).state;
    shown = { role_id: roleId, role_name: (then.status === "absent" ? ever : then).profile.name };
    // Roles are only ever assigned within their organization, so the holders are its members.
    holdings = (await reviewAccess(deps.store, { kind: "role", roleId }, at)).holdings;
  } else {
    if (!isUuid(target.dataSourceId)) throw notFound("Data source");
    const dataSourceId = target.dataSourceId.toLowerCase();
    const owner = await dataSourceOrganization(deps, dataSourceId);
    if (owner && !mayAddressOrganization(deps, acting, owner)) throw notFound("Data source");
    const review = await reviewAccess(deps.store, { kind: "data_source", dataSourceId }, at);
    // Without a registration in its own stream, the grants tell whose data source it is.
    const organizationId = owner ?? review.organizationId;
    if (!organizationId || !mayAddressOrganization(deps, acting, organizationId)) throw notFound("Data source");
    shown = { data_source_id: dataSourceId, data_source_name: review.targetName };
    holdings = review.holdings;
  }
  return { at: at.toISOString(), target: shown, page: holdings.slice(page.offset, page.offset + page.limit), total: holdings.length };
}

/** The organization a data source was registered in, from its own stream; null if it has none. */
async function dataSourceOrganization(deps: Deps, dataSourceId: string): Promise<string | null> {
  const [first] = await deps.store.readStream(stream.dataSource(dataSourceId), { limit: 1 });
  const organizationId = first?.type === "DataSourceRegistered" ? (first.data as { organization_id?: unknown }).organization_id : undefined;
  return typeof organizationId === "string" ? organizationId : null;
}

export function holdingJson(h: Holding, target: AccessReview["target"]) {
  const common = {
    user_id: h.userId,
    email: h.email,
    user_is_active: h.userIsActive,
    held_since: h.heldSince,
    granted_by: h.grantedBy,
    granted_by_type: h.grantedByType,
    grant_event_id: h.grantEventId,
    grant_event_type: h.grantEventType,
    grant_position: h.grantPosition.toString(),
  };
  if ("role_id" in target) return { ...common, role_id: target.role_id, role_name: target.role_name };
  return {
    ...common,
    data_source_id: target.data_source_id,
    data_source_name: h.access?.dataSourceName ?? target.data_source_name,
    access_id: h.access?.accessId ?? null,
    tables: h.access?.tables ?? null,
    expires_at: h.access?.expiresAt ?? null,
  };
}
