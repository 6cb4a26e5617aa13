/**
 * Two read models: `locations` (one row per live location) and `user_locations` (one
 * row per assignment, id `<user id>:<location id>`).
 *
 * An assignment event can touch several rows (new locations, the old primary losing
 * the flag, a promoted primary), while the entity projection folds one row per event.
 * So each event is first spread into one row change per touched row, all at the
 * event's position, and those are folded as usual: idempotent per row by position.
 */
import type { RecordedEvent } from "../../src/eventstore/port";
import type { LocationEvent, UserLocationsEvent } from "../../src/domain/location";
import type { Projection } from "../runner/projection";
import { entityProjection } from "../runner/entity-projection";
import { locations, userLocations, type LocationRow, type UserLocationRow } from "./schema";

export const locationsProjection = entityProjection<LocationRow>({
  name: "locations",
  version: 1,
  table: locations,
  idColumn: locations.id,
  idField: "id",
  handles: ["LocationCreated", "LocationUpdated", "LocationDeleted"],
  idOf: (e) => (e.data as { location_id?: string }).location_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as LocationEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "LocationCreated": {
        const d = event.data;
        return {
          id: d.location_id,
          organizationId: d.organization_id,
          name: d.name,
          code: d.code,
          description: d.description,
          address: d.address,
          city: d.city,
          state: d.state,
          country: d.country,
          postalCode: d.postal_code,
          isActive: d.is_active,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "LocationUpdated": {
        if (!current) return null;
        const c = event.data.changes;
        return {
          ...current,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.code !== undefined && { code: c.code }),
          ...(c.description !== undefined && { description: c.description }),
          ...(c.address !== undefined && { address: c.address }),
          ...(c.city !== undefined && { city: c.city }),
          ...(c.state !== undefined && { state: c.state }),
          ...(c.country !== undefined && { country: c.country }),
          ...(c.postal_code !== undefined && { postalCode: c.postal_code }),
          ...(c.is_active !== undefined && { isActive: c.is_active }),
          updatedAt: at,
        };
      }
      case "LocationDeleted":
        return null;
      default:
        return current;
    }
  },
});

/** One row change spread from an assignment event. */
interface RowChange {
  row_id: string;
  organization_id: string;
  user_id: string;
  location_id: string;
  op: "assign" | "primary" | "secondary" | "remove";
}

const rowId = (userId: string, locationId: string) => `${userId}:${locationId}`;

function spread(recorded: RecordedEvent): RecordedEvent[] {
  const event = recorded as unknown as UserLocationsEvent;
  const d = event.data;
  const changes: RowChange[] = [];
  const change = (locationId: string, op: RowChange["op"]) =>
    changes.push({ row_id: rowId(d.user_id, locationId), organization_id: d.organization_id, user_id: d.user_id, location_id: locationId, op });
  switch (event.type) {
    case "UserAssignedToLocations":
      if (event.data.previous_primary_location_id) change(event.data.previous_primary_location_id, "secondary");
      for (const id of event.data.location_ids) change(id, "assign");
      if (!event.data.location_ids.includes(event.data.primary_location_id)) change(event.data.primary_location_id, "primary");
      break;
    case "UserRemovedFromLocation":
      change(event.data.location_id, "remove");
      if (event.data.was_primary && event.data.primary_location_id) change(event.data.primary_location_id, "primary");
      break;
  }
  return changes.map((c) => ({ ...recorded, data: { ...c, primary_location_id: (d as { primary_location_id: string | null }).primary_location_id } }));
}

const userLocationRows = entityProjection<UserLocationRow>({
  name: "user_locations",
  version: 1,
  table: userLocations,
  idColumn: userLocations.id,
  idField: "id",
  handles: ["UserAssignedToLocations", "UserRemovedFromLocation"],
  idOf: (e) => (e.data as unknown as RowChange).row_id,
  evolve(current, recorded) {
    const c = recorded.data as unknown as RowChange & { primary_location_id: string | null };
    switch (c.op) {
      case "assign":
        return {
          id: c.row_id,
          organizationId: c.organization_id,
          userId: c.user_id,
          locationId: c.location_id,
          isPrimary: c.primary_location_id === c.location_id,
          assignedAt: new Date(recorded.metadata.occurred_at),
          lastPosition: recorded.position,
        };
      case "primary":
        return current ? { ...current, isPrimary: true } : null;
      case "secondary":
        return current ? { ...current, isPrimary: false } : null;
      case "remove":
        return null;
    }
  },
});

export const userLocationsProjection: Projection = {
  ...userLocationRows,
  apply: (tx, events) => userLocationRows.apply(tx, events.flatMap(spread)),
};
