/**
 * Locations on behalf of a caller (the /locations routes).
 *
 * - Tenancy: a caller addresses its own organization's locations and users; a super
 *   admin any tenant's (naming `organization_id` when creating). Anything else is 404.
 * - Codes are unique per organization ignoring case: a reservation claim per
 *   (organization, lower-cased code), taken before the location is created or its code
 *   changes, released when it is deleted or its code has changed. A claim whose holder
 *   does not use it (lost by a crash) is taken over by the next claimant.
 * - Assignments live on the user's own stream `user_locations-<user id>` (see
 *   domain/location.ts), so "exactly one primary per user" is decided on one stream.
 *   POST /assign adds to the user's assignments; the primary moves to
 *   `primary_location_id` (kept, or the first given, when omitted).
 * - Deleting a location ends its assignments with events: LocationDeleted, then a
 *   UserRemovedFromLocation on each assigned user's stream. An assignment racing the
 *   deletion is caught from both sides: the deleter sweeps the assignments readable
 *   after everything appended before its sweep, and an assigner that finds its location
 *   deleted after appending removes the assignment again.
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { conflict, forbidden, invalid, notFound } from "../domain/errors";
import { location, userLocations, type LocationProfile } from "../domain/location";
import { assignedUserIds, getLocation, listLocations, locationsOfUser, usersOfLocation, type LocationFilter, type UserLocation, type LocationUser } from "../../projections/locations/queries";
import type { LocationRow } from "../../projections/locations/schema";
import { isUuid } from "../http/pagination";
import { claimOrTakeOver, release, type Claim } from "./reservations";
import { creationTarget } from "./tenancy";
import { findUserFor, type Acting } from "./user-admin";

/** One user's location assignments. Kept here rather than in eventstore/streams.ts: only this module writes it. */
export const userLocationsStream = (userId: string) => `user_locations-${userId}`;

const locationNotFound = () => notFound("Location");

export function locationCodeClaim(organizationId: string, code: string): Claim {
  const key = code.trim().toLowerCase();
  return { kind: "location_code", key: `${organizationId}:${key}`, label: `Location code "${code.trim()}"` };
}

const duplicateCode = (code: string) => conflict(`A location with code "${code.trim()}" already exists in this organization`);

/**
 * Takes the code claim for `owner`; true when this call took it (false: `owner` already
 * held it). A claim left behind by a location that is deleted, or that has long carried
 * another code, is freed and taken; a fresh one may belong to a create or an update in
 * flight and is respected (409).
 */
function claimCode(deps: Deps, ctx: CommandContext, organizationId: string, code: string, owner: string): Promise<boolean> {
  const c = locationCodeClaim(organizationId, code);
  return claimOrTakeOver(
    deps.store,
    ctx,
    c,
    owner,
    async (holder) => {
      const held = (await loadState(deps.store, stream.location(holder), location)).state;
      if (held.status === "exists" && locationCodeClaim(held.organizationId, held.profile.code).key === c.key) return "in_use";
      return held.status === "deleted" ? "released" : "unsure";
    },
    () => duplicateCode(code),
  );
}

const scopeOf = (acting: Acting) => (acting.isSuperAdmin ? undefined : acting.organizationId);

// ---------------------------------------------------------------------------- reads

export async function findLocationFor(deps: Deps, acting: Acting, id: string): Promise<LocationRow> {
  if (!isUuid(id)) throw locationNotFound();
  const row = await getLocation(deps.db.drizzle, id.toLowerCase(), scopeOf(acting));
  if (!row) throw locationNotFound();
  return row;
}

export async function listLocationsFor(
  deps: Deps,
  acting: Acting,
  filter: Omit<LocationFilter, "organizationId">,
  page: { offset: number; limit: number },
): Promise<{ rows: LocationRow[]; total: number }> {
  return listLocations(deps.db.drizzle, { ...filter, organizationId: scopeOf(acting) }, page);
}

/** Another user's locations also need user.read; one's own only location.read. */
function assertMayReadUsers(acting: Acting, userId?: string): void {
  if (acting.isSuperAdmin || acting.userId === userId || acting.permissions.has("user.read")) return;
  throw forbidden("Missing permission user.read");
}

export async function userLocationsFor(deps: Deps, acting: Acting, userId: string): Promise<{ userId: string; locations: UserLocation[] }> {
  const target = await findUserFor(deps, acting, userId);
  assertMayReadUsers(acting, target.id);
  return { userId: target.id, locations: await locationsOfUser(deps.db.drizzle, target.organizationId, target.id) };
}

export async function locationUsersFor(
  deps: Deps,
  acting: Acting,
  locationId: string,
  page: { offset: number; limit: number },
): Promise<{ location: LocationRow; rows: LocationUser[]; total: number }> {
  const loc = await findLocationFor(deps, acting, locationId);
  assertMayReadUsers(acting);
  const { rows, total } = await usersOfLocation(deps.db.drizzle, loc.organizationId, loc.id, page);
  return { location: loc, rows, total };
}

// --------------------------------------------------------------------------- writes

export interface LocationInput {
  name: string;
  code: string;
  description?: string | null;
  address?: string | null;
  city?: string | null;
  state?: string | null;
  country?: string | null;
  postal_code?: string | null;
  is_active?: boolean;
  /** A super admin names the organization; anyone else may only name its own. */
  organization_id?: string;
}

export async function createLocationFor(deps: Deps, ctx: CommandContext, acting: Acting, input: LocationInput): Promise<LocationRow> {
  const organizationId = await creationTarget(deps, acting, input.organization_id, "location");
  const locationId = Bun.randomUUIDv7();
  const orgCtx = { ...ctx, organizationId };
  const profile: LocationProfile = {
    name: input.name.trim(),
    code: input.code.trim(),
    description: input.description ?? null,
    address: input.address ?? null,
    city: input.city ?? null,
    state: input.state ?? null,
    country: input.country ?? null,
    postal_code: input.postal_code ?? null,
    is_active: input.is_active ?? true,
  };
  if (!profile.name) throw invalid("/body/name", "name must not be blank");
  if (!profile.code) throw invalid("/body/code", "code must not be blank");
  await claimCode(deps, orgCtx, organizationId, profile.code, locationId);
  let position: bigint;
  try {
    ({ position } = await handleCommand(deps.store, stream.location(locationId), location, { type: "CreateLocation", locationId, organizationId, profile }, orgCtx));
  } catch (err) {
    await release(deps.store, orgCtx, locationCodeClaim(organizationId, profile.code), locationId).catch(() => {});
    throw err;
  }
  await settle(deps, position);
  return (await getLocation(deps.db.drizzle, locationId)) ?? throwGone();
}

/** The location as the event store has it, if the caller may address it; 404 otherwise. */
async function loadLocationFor(deps: Deps, acting: Acting, id: string) {
  if (!isUuid(id)) throw locationNotFound();
  const loaded = await loadState(deps.store, stream.location(id.toLowerCase()), location);
  const state = loaded.state;
  if (state.status !== "exists" || (!acting.isSuperAdmin && state.organizationId !== acting.organizationId)) throw locationNotFound();
  return { state, revision: loaded.revision };
}

export async function updateLocationFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string, input: Partial<LocationProfile>): Promise<LocationRow> {
  const changes: Partial<LocationProfile> = { ...input };
  if (changes.name !== undefined) {
    changes.name = changes.name.trim();
    if (!changes.name) throw invalid("/body/name", "name must not be blank");
  }
  if (changes.code !== undefined) {
    changes.code = changes.code.trim();
    if (!changes.code) throw invalid("/body/code", "code must not be blank");
  }
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadLocationFor(deps, acting, id);
    const organizationId = state.organizationId;
    const orgCtx = { ...ctx, organizationId };
    const events = location.decide({ type: "UpdateLocation", changes }, state);
    if (events.length === 0) return (await getLocation(deps.db.drizzle, state.id)) ?? throwGone();
    const oldCode = state.profile.code;
    const codeMoves = changes.code !== undefined && changes.code.toLowerCase() !== oldCode.toLowerCase();
    const tookCode = codeMoves && (await claimCode(deps, orgCtx, organizationId, changes.code!, state.id));
    let position: bigint;
    try {
      // At the revision decided on: the old code released below is the one replaced.
      ({ position } = await deps.store.append(stream.location(state.id), toNewEvents(events, orgCtx, organizationId), revision));
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) {
        if (tookCode) await release(deps.store, orgCtx, locationCodeClaim(organizationId, changes.code!), state.id).catch(() => {});
        throw err;
      }
      // The new code's claim is kept for the retry; a concurrent update of this location
      // to the same code may be relying on it (both hold it as the location). One left
      // unused when we give up is freed by the next claimant after STALE_CLAIM_MS.
      if (attempt >= 5) throw conflict("The location was changed concurrently; retry the request");
      await Bun.sleep(Math.random() * 5 * attempt);
      continue;
    }
    if (codeMoves) await release(deps.store, orgCtx, locationCodeClaim(organizationId, oldCode), state.id);
    await settle(deps, position);
    return (await getLocation(deps.db.drizzle, state.id)) ?? throwGone();
  }
}

export async function deleteLocationFor(deps: Deps, ctx: CommandContext, acting: Acting, id: string): Promise<void> {
  const { state } = await loadLocationFor(deps, acting, id);
  const organizationId = state.organizationId;
  const orgCtx = { ...ctx, organizationId };
  const { position, events } = await handleCommand(deps.store, stream.location(state.id), location, { type: "DeleteLocation" }, orgCtx);
  const deleted = events.find((e) => e.type === "LocationDeleted");
  if (deleted) await release(deps.store, orgCtx, locationCodeClaim(organizationId, deleted.data.code), state.id);
  // Everything appended before this point (an assignment racing the deletion included)
  // is readable once the projector has passed the head.
  const head = await deps.store.headPosition();
  await deps.projector.waitFor(head > position ? head : position);
  let last = position;
  for (const userId of await assignedUserIds(deps.db.drizzle, state.id)) {
    const p = await removeAssignment(deps, orgCtx, organizationId, userId, state.id, "location_deleted");
    if (p > last) last = p;
  }
  await settle(deps, last);
}

export interface AssignInput {
  user_id: string;
  location_ids: string[];
  primary_location_id?: string | null;
}

export async function assignLocationsFor(deps: Deps, ctx: CommandContext, acting: Acting, input: AssignInput): Promise<{ userId: string; locations: UserLocation[] }> {
  const locationIds = [...new Set(input.location_ids.map((l) => l.toLowerCase()))];
  const primary = input.primary_location_id ? input.primary_location_id.toLowerCase() : null;
  if (primary !== null && !locationIds.includes(primary)) throw invalid("/body/primary_location_id", "primary_location_id must be one of location_ids");
  const target = await findUserFor(deps, acting, input.user_id);
  const organizationId = target.organizationId;
  for (const id of locationIds) await assertLiveLocation(deps, organizationId, id);

  const orgCtx = { ...ctx, organizationId };
  const { position, events } = await handleCommand(
    deps.store,
    userLocationsStream(target.id),
    userLocations,
    { type: "AssignLocations", userId: target.id, organizationId, locationIds, primaryLocationId: primary },
    orgCtx,
  );
  let last = position;
  const added = events.flatMap((e) => (e.type === "UserAssignedToLocations" ? e.data.location_ids : []));
  let raced = false;
  for (const id of added) {
    // Deleted after we checked it: its deleter may have swept before our assignment was readable.
    if ((await loadState(deps.store, stream.location(id), location)).state.status !== "exists") {
      raced = true;
      const p = await removeAssignment(deps, orgCtx, organizationId, target.id, id, "location_deleted");
      if (p > last) last = p;
    }
  }
  await settle(deps, last);
  if (raced) throw conflict("A location was deleted while the user was being assigned to it; retry the request");
  return { userId: target.id, locations: await locationsOfUser(deps.db.drizzle, organizationId, target.id) };
}

export async function removeUserFromLocationFor(deps: Deps, ctx: CommandContext, acting: Acting, userId: string, locationId: string): Promise<void> {
  const target = await findUserFor(deps, acting, userId);
  if (!isUuid(locationId)) throw notFound("Location assignment");
  const organizationId = target.organizationId;
  const position = await removeAssignment(deps, { ...ctx, organizationId }, organizationId, target.id, locationId.toLowerCase(), "unassigned");
  await settle(deps, position);
}

async function assertLiveLocation(deps: Deps, organizationId: string, id: string): Promise<void> {
  if (!isUuid(id)) throw locationNotFound();
  const { state } = await loadState(deps.store, stream.location(id), location);
  // Another organization's location is as unknown as a made-up id.
  if (state.status !== "exists" || state.organizationId !== organizationId) throw locationNotFound();
}

async function removeAssignment(
  deps: Deps,
  ctx: CommandContext,
  organizationId: string,
  userId: string,
  locationId: string,
  reason: "unassigned" | "location_deleted",
): Promise<bigint> {
  const { position } = await handleCommand(deps.store, userLocationsStream(userId), userLocations, { type: "RemoveFromLocation", userId, organizationId, locationId, reason }, ctx);
  return position;
}

function throwGone(): never {
  throw locationNotFound();
}
