/**
 * Role requests on behalf of a caller (the /role-requests routes).
 *
 * - Who sees what: holders of `role_request.approve` (and super admins) see every
 *   request of their organization; everyone else only their own. Anything the caller
 *   may not see answers 404, as does any id of another organization.
 * - One pending request per (user, role): a reservation claim keyed by user and role,
 *   owned by the request and released when it is decided or cancelled. Of concurrent
 *   identical requests exactly one takes the claim; the others get 409. A claim left
 *   behind by a crash (its request decided, or never written) is taken over.
 * - Approval assigns the role through the users' assignment path (assignRolesFor): the
 *   same tenancy and no-escalation rules as POST /users/{id}/roles, so a manager cannot
 *   approve a request for `admin`. The role is assigned first, then the decision is
 *   appended at the revision the approver read; if another decision (a cancel, a
 *   reject) landed in between, the assignment this approval made is revoked again and
 *   the approver gets 409. The requester never keeps a role from a request that was not
 *   approved.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { conflict, invalid, notFound } from "../domain/errors";
import { ROLE_REQUEST_STATUSES, roleRequest, type RoleRequestCommand, type RoleRequestState, type RoleRequestStatus } from "../domain/role-request";
import { getRoleRequest, listRoleRequests } from "../../projections/role-requests/queries";
import type { RoleRequestRow } from "../../projections/role-requests/schema";
import { isUuid } from "../http/pagination";
import { claimOrTakeOver, release, type Claim } from "./reservations";
import { assignRolesFor, revokeRolesFor, type Acting } from "./user-admin";

/** Who may see (and decide) every request of the organization. */
export const ROLE_REQUEST_APPROVER_PERMISSION = "role_request.approve";

const requestNotFound = () => notFound("Role request");

function pendingClaim(userId: string, roleId: string): Claim {
  return { kind: "role_request_pending", key: `${userId}:${roleId}`, label: "A pending request for this role" };
}

function seesOrganization(acting: Acting): boolean {
  return acting.isSuperAdmin || acting.permissions.has(ROLE_REQUEST_APPROVER_PERMISSION);
}

export function parseStatus(status: string | undefined): RoleRequestStatus | undefined {
  if (status === undefined || status === "") return undefined;
  const upper = status.trim().toUpperCase() as RoleRequestStatus;
  if (!ROLE_REQUEST_STATUSES.includes(upper)) throw invalid("/query/status", `status must be one of ${ROLE_REQUEST_STATUSES.join(", ")}`);
  return upper;
}

// ---------------------------------------------------------------------------- reads

export async function listRoleRequestsFor(
  deps: Deps,
  acting: Acting,
  filter: { status?: string; userId?: string; roleId?: string },
  page: { offset: number; limit: number },
): Promise<{ rows: RoleRequestRow[]; total: number }> {
  const status = parseStatus(filter.status);
  const all = seesOrganization(acting);
  // An unknown or malformed id filters down to nothing rather than failing.
  const idFilter = (id: string | undefined) => (id === undefined || id === "" ? undefined : isUuid(id) ? id.toLowerCase() : "00000000-0000-0000-0000-000000000000");
  return listRoleRequests(
    deps.db.drizzle,
    {
      organizationId: acting.isSuperAdmin ? undefined : acting.organizationId,
      userId: all ? idFilter(filter.userId) : acting.userId,
      roleId: idFilter(filter.roleId),
      status,
    },
    page,
  );
}

export async function findRoleRequestFor(deps: Deps, acting: Acting, id: string): Promise<RoleRequestRow> {
  if (!isUuid(id)) throw requestNotFound();
  const row = await getRoleRequest(deps.db.drizzle, id.toLowerCase(), acting.isSuperAdmin ? undefined : acting.organizationId);
  if (!row || (!seesOrganization(acting) && row.userId !== acting.userId)) throw requestNotFound();
  return row;
}

// --------------------------------------------------------------------------- writes

export async function createRoleRequestFor(deps: Deps, ctx: CommandContext, acting: Acting, input: { role_id: string; reason?: string | null }): Promise<RoleRequestRow> {
  const organizationId = acting.organizationId;
  const role = isUuid(input.role_id) ? deps.security.roles.get(input.role_id.toLowerCase()) : undefined;
  // Another organization's role is as unknown as a made-up id.
  if (!role || role.organizationId !== organizationId) throw notFound("Role");
  if (!role.isActive) throw invalid("/body/role_id", "The role is not active");
  const requester = deps.security.users.get(acting.userId);
  if (!requester || requester.organizationId !== organizationId) throw notFound("User");
  if (requester.roleIds.has(role.id)) throw conflict("You already hold this role");

  const requestId = Bun.randomUUIDv7();
  const orgCtx = { ...ctx, organizationId };
  const c = pendingClaim(requester.id, role.id);
  await claimPending(deps, orgCtx, c, requestId);
  let position: bigint;
  try {
    ({ position } = await handleCommand(
      deps.store,
      stream.roleRequest(requestId),
      roleRequest,
      { type: "RequestRole", requestId, organizationId, userId: requester.id, roleId: role.id, roleName: role.name, reason: input.reason?.trim() || null },
      orgCtx,
    ));
  } catch (err) {
    await release(deps.store, orgCtx, c, requestId).catch(() => {});
    throw err;
  }
  await settle(deps, position);
  return (await getRoleRequest(deps.db.drizzle, requestId)) ?? throwGone();
}

export async function approveRoleRequestFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, notes: string | null): Promise<RoleRequestRow> {
  const { state, revision } = await loadForDecision(deps, acting, id);
  const command: RoleRequestCommand = { type: "ApproveRoleRequest", by: acting.userId, notes: notes?.trim() || null };
  // The pure rules first (not your own, still pending): refused before anything changes.
  const events = roleRequest.decide(command, state);
  const organizationId = state.organizationId;
  const orgCtx = { ...ctx, organizationId };

  const heldBefore = deps.security.users.get(state.userId)?.roleIds.has(state.roleId) ?? false;
  // Tenancy, no escalation, the role still existing: the assignment path decides.
  await assignRolesFor(deps, orgCtx, acting, state.userId, [state.roleId]);

  let position: bigint;
  try {
    ({ position } = await deps.store.append(stream.roleRequest(state.id), toNewEvents(events, orgCtx, organizationId), revision));
  } catch (err) {
    if (!(err instanceof WrongExpectedRevisionError)) throw err;
    // Another decision landed after we read the request.
    const now = (await loadState(deps.store, stream.roleRequest(state.id), roleRequest)).state;
    if (!heldBefore && now.status !== "APPROVED") {
      await revokeRolesFor(deps, orgCtx, acting, state.userId, [state.roleId]).catch((e) =>
        deps.logger.error("role request: revoking a role assigned by a losing approval failed", { request_id: state.id, error: String(e) }),
      );
    }
    roleRequest.decide(command, now); // throws the reason (409 decided already)
    throw conflict("The role request was changed concurrently; retry the request");
  }
  await release(deps.store, orgCtx, pendingClaim(state.userId, state.roleId), state.id);
  await settle(deps, position);
  return (await getRoleRequest(deps.db.drizzle, state.id)) ?? throwGone();
}

export async function rejectRoleRequestFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, notes: string | null): Promise<RoleRequestRow> {
  return closeRequest(deps, ctx, acting, id, { type: "RejectRoleRequest", by: acting.userId, notes: notes?.trim() || null });
}

export async function cancelRoleRequestFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<RoleRequestRow> {
  return closeRequest(deps, ctx, acting, id, { type: "CancelRoleRequest", by: acting.userId });
}

async function closeRequest(deps: Deps, ctx: CommandContext, acting: Acting, id: string, command: RoleRequestCommand): Promise<RoleRequestRow> {
  const { state } = await loadForDecision(deps, acting, id);
  const organizationId = state.organizationId;
  const orgCtx = { ...ctx, organizationId };
  // Decided on the stream's current revision: a concurrent decision makes this one 409.
  const { position } = await handleCommand(deps.store, stream.roleRequest(state.id), roleRequest, command, orgCtx, { organizationId });
  await release(deps.store, orgCtx, pendingClaim(state.userId, state.roleId), state.id);
  await settle(deps, position);
  return (await getRoleRequest(deps.db.drizzle, state.id)) ?? throwGone();
}

/** The request as the event store has it, if the caller may see it; 404 otherwise. */
async function loadForDecision(
  deps: Deps,
  acting: Acting,
  id: string,
): Promise<{ state: Exclude<RoleRequestState, { status: "absent" }>; revision: bigint | "no_stream" }> {
  if (!isUuid(id)) throw requestNotFound();
  const { state, revision } = await loadState(deps.store, stream.roleRequest(id.toLowerCase()), roleRequest);
  if (state.status === "absent") throw requestNotFound();
  if (!acting.isSuperAdmin && state.organizationId !== acting.organizationId) throw requestNotFound();
  if (!seesOrganization(acting) && state.userId !== acting.userId) throw requestNotFound();
  return { state, revision };
}

/**
 * Takes the (user, role) pending claim. When another request holds it, that request is
 * looked at: still pending (or just being written) is a 409; decided, or never written
 * long ago, means its release was lost (a crash), so the claim is freed and taken.
 */
async function claimPending(deps: Deps, ctx: CommandContext, c: Claim, requestId: string): Promise<void> {
  await claimOrTakeOver(
    deps.store,
    ctx,
    c,
    requestId,
    async (holder) => {
      const held = (await loadState(deps.store, stream.roleRequest(holder), roleRequest)).state;
      if (held.status === "PENDING") return "in_use";
      return held.status === "absent" ? "unsure" : "released";
    },
    () => conflict("You already have a pending request for this role"),
  );
}

function throwGone(): never {
  throw requestNotFound();
}
