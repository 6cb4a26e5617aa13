import type { RecordedEvent } from "../../src/eventstore/port";
import type { OrganizationEvent } from "../../src/domain/organization";
import { entityProjection } from "../runner/entity-projection";
import { organizations, type OrganizationRow } from "./schema";

export const organizationsProjection = entityProjection<OrganizationRow>({
  name: "organizations",
  version: 2,
  table: organizations,
  idColumn: organizations.id,
  idField: "id",
  handles: ["OrganizationCreated", "OrganizationOnboarded", "OrganizationUpdated", "OrganizationDeactivated", "OrganizationReactivated", "OrganizationDeleted"],
  idOf: (e) => (e.data as { organization_id?: string }).organization_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as OrganizationEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "OrganizationCreated": {
        const d = event.data;
        return {
          id: d.organization_id,
          name: d.name,
          slug: d.slug,
          domain: d.domain,
          description: d.description,
          maxUsers: d.max_users,
          registrationPolicy: d.registration_policy,
          isActive: d.is_active,
          isSystem: d.is_system,
          provisioning: d.provisioning ?? false,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "OrganizationUpdated": {
        if (!current) return null;
        const c = event.data.changes;
        return {
          ...current,
          ...(c.name !== undefined && { name: c.name }),
          ...(c.slug !== undefined && { slug: c.slug }),
          ...(c.domain !== undefined && { domain: c.domain }),
          ...(c.description !== undefined && { description: c.description }),
          ...(c.max_users !== undefined && { maxUsers: c.max_users }),
          ...(c.registration_policy !== undefined && { registrationPolicy: c.registration_policy }),
          updatedAt: at,
        };
      }
      case "OrganizationOnboarded":
        return current && { ...current, provisioning: false, updatedAt: at };
      case "OrganizationDeactivated":
        return current && { ...current, isActive: false, updatedAt: at };
      case "OrganizationReactivated":
        return current && { ...current, isActive: true, updatedAt: at };
      case "OrganizationDeleted":
        return null;
      default:
        return current;
    }
  },
});
