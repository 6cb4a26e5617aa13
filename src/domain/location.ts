/**
 * Locations of an organization, and which users work where.
 *
 * Two aggregates:
 * - `location`: one location, stream `location-<id>`. Codes are unique per organization
 *   (case-insensitive) through a reservation claim taken by the handler.
 * - `userLocations`: one user's assignments, stream `user_locations-<user id>`. Every
 *   change of a user's assignments is decided on this one stream at its revision, so the
 *   rule "a user with locations has exactly one primary" holds under concurrency: two
 *   concurrent assignments with different primaries are serialized, the later one moves
 *   the primary. Removing the primary location promotes the earliest remaining one.
 *
 * Deleting a location ends its assignments: the handler appends LocationDeleted, then a
 * UserRemovedFromLocation (reason `location_deleted`) on each assigned user's stream.
 */
import { DomainError, invalid, notFound } from "./errors";

export interface LocationProfile {
  name: string;
  code: string;
  description: string | null;
  address: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  postal_code: string | null;
  is_active: boolean;
}

export type LocationEvent =
  | { type: "LocationCreated"; data: LocationProfile & { location_id: string; organization_id: string } }
  | { type: "LocationUpdated"; data: { location_id: string; organization_id: string; changes: Partial<LocationProfile> } }
  | { type: "LocationDeleted"; data: { location_id: string; organization_id: string; code: string } };

export type LocationCommand =
  | { type: "CreateLocation"; locationId: string; organizationId: string; profile: LocationProfile }
  | { type: "UpdateLocation"; changes: Partial<LocationProfile> }
  | { type: "DeleteLocation" };

export type LocationState =
  | { status: "absent" }
  | { status: "exists" | "deleted"; id: string; organizationId: string; profile: LocationProfile };

export const location = {
  initialState: (): LocationState => ({ status: "absent" }),

  evolve(state: LocationState, event: LocationEvent): LocationState {
    switch (event.type) {
      case "LocationCreated": {
        const { location_id, organization_id, ...profile } = event.data;
        return { status: "exists", id: location_id, organizationId: organization_id, profile };
      }
      case "LocationUpdated":
        return state.status === "absent" ? state : { ...state, profile: { ...state.profile, ...event.data.changes } };
      case "LocationDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: LocationCommand, state: LocationState): LocationEvent[] {
    switch (command.type) {
      case "CreateLocation":
        if (state.status !== "absent") throw new DomainError("conflict", "Location already exists");
        return [{ type: "LocationCreated", data: { location_id: command.locationId, organization_id: command.organizationId, ...command.profile } }];
      case "UpdateLocation": {
        if (state.status !== "exists") throw notFound("Location");
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state.profile[k as keyof LocationProfile] !== v),
        ) as Partial<LocationProfile>;
        if (Object.keys(changes).length === 0) return [];
        return [{ type: "LocationUpdated", data: { location_id: state.id, organization_id: state.organizationId, changes } }];
      }
      case "DeleteLocation":
        if (state.status !== "exists") throw notFound("Location");
        return [{ type: "LocationDeleted", data: { location_id: state.id, organization_id: state.organizationId, code: state.profile.code } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};

// ------------------------------------------------------------------ user locations

export type UserLocationsEvent =
  | {
      type: "UserAssignedToLocations";
      data: {
        user_id: string;
        organization_id: string;
        /** The locations newly assigned by this event (already held ones are not repeated). */
        location_ids: string[];
        /** The user's primary location after this event. */
        primary_location_id: string;
        /** The primary before, when this event moved it; null otherwise. */
        previous_primary_location_id: string | null;
      };
    }
  | {
      type: "UserRemovedFromLocation";
      data: {
        user_id: string;
        organization_id: string;
        location_id: string;
        reason: "unassigned" | "location_deleted";
        was_primary: boolean;
        /** The user's primary location after this event (a promoted one, or null when none is left). */
        primary_location_id: string | null;
      };
    };

export type UserLocationsCommand =
  | { type: "AssignLocations"; userId: string; organizationId: string; locationIds: string[]; primaryLocationId: string | null }
  | { type: "RemoveFromLocation"; userId: string; organizationId: string; locationId: string; reason: "unassigned" | "location_deleted" };

export interface UserLocationsState {
  /** In assignment order: the earliest remaining one is promoted when the primary goes. */
  locationIds: string[];
  primary: string | null;
}

export const userLocations = {
  initialState: (): UserLocationsState => ({ locationIds: [], primary: null }),

  evolve(state: UserLocationsState, event: UserLocationsEvent): UserLocationsState {
    switch (event.type) {
      case "UserAssignedToLocations": {
        const ids = [...state.locationIds];
        for (const id of event.data.location_ids) if (!ids.includes(id)) ids.push(id);
        return { locationIds: ids, primary: event.data.primary_location_id };
      }
      case "UserRemovedFromLocation":
        return { locationIds: state.locationIds.filter((id) => id !== event.data.location_id), primary: event.data.primary_location_id };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: UserLocationsCommand, state: UserLocationsState): UserLocationsEvent[] {
    switch (command.type) {
      case "AssignLocations": {
        const wanted = [...new Set(command.locationIds)];
        if (wanted.length === 0) throw invalid("/body/location_ids", "Give at least one location");
        if (command.primaryLocationId !== null && !wanted.includes(command.primaryLocationId)) {
          throw invalid("/body/primary_location_id", "primary_location_id must be one of location_ids");
        }
        const added = wanted.filter((id) => !state.locationIds.includes(id));
        const primary = command.primaryLocationId ?? state.primary ?? wanted[0];
        if (added.length === 0 && primary === state.primary) return [];
        return [
          {
            type: "UserAssignedToLocations",
            data: {
              user_id: command.userId,
              organization_id: command.organizationId,
              location_ids: added,
              primary_location_id: primary,
              previous_primary_location_id: state.primary !== null && state.primary !== primary ? state.primary : null,
            },
          },
        ];
      }
      case "RemoveFromLocation": {
        if (!state.locationIds.includes(command.locationId)) {
          // A location's deletion sweeps its users; one already gone needs nothing.
          if (command.reason === "location_deleted") return [];
          throw notFound("Location assignment");
        }
        const wasPrimary = state.primary === command.locationId;
        const remaining = state.locationIds.filter((id) => id !== command.locationId);
        return [
          {
            type: "UserRemovedFromLocation",
            data: {
              user_id: command.userId,
              organization_id: command.organizationId,
              location_id: command.locationId,
              reason: command.reason,
              was_primary: wasPrimary,
              primary_location_id: wasPrimary ? (remaining[0] ?? null) : state.primary,
            },
          },
        ];
      }
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
