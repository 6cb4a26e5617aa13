/**
 * Organization aggregate: a tenant. Stream `organization-<id>`.
 * Pure: time, ids and the actor arrive in the command (via the handler's context).
 */
import { DomainError, notFound } from "./errors";

export type RegistrationPolicy = "domain" | "open" | "closed";

export interface OrganizationProfile {
  name: string;
  slug: string;
  domain: string | null;
  description: string | null;
  max_users: number | null;
  registration_policy: RegistrationPolicy;
}

export type OrganizationEvent =
  | {
      type: "OrganizationCreated";
      data: OrganizationProfile & { organization_id: string; is_active: boolean; is_system: boolean; provisioning?: boolean };
    }
  | { type: "OrganizationOnboarded"; data: { organization_id: string; role_ids: string[]; user_ids: string[] } }
  | { type: "OrganizationUpdated"; data: { organization_id: string; changes: Partial<OrganizationProfile> } }
  | { type: "OrganizationDeactivated"; data: { organization_id: string } }
  | { type: "OrganizationReactivated"; data: { organization_id: string } }
  | { type: "OrganizationDeleted"; data: { organization_id: string; slug: string; domain: string | null; name: string } };

export type OrganizationCommand =
  | { type: "CreateOrganization"; organizationId: string; profile: OrganizationProfile; isActive: boolean; isSystem: boolean; provisioning?: boolean }
  | { type: "CompleteOnboarding"; roleIds: string[]; userIds: string[] }
  | { type: "UpdateOrganization"; changes: Partial<OrganizationProfile>; isActive?: boolean }
  | { type: "DeleteOrganization" };

export type OrganizationState =
  | { status: "absent" }
  | { status: "active" | "inactive" | "deleted"; id: string; profile: OrganizationProfile; isSystem: boolean; provisioning: boolean };

export const organization = {
  initialState: (): OrganizationState => ({ status: "absent" }),

  evolve(state: OrganizationState, event: OrganizationEvent): OrganizationState {
    switch (event.type) {
      case "OrganizationCreated": {
        const { organization_id, is_active, is_system, provisioning, ...profile } = event.data;
        return { status: is_active ? "active" : "inactive", id: organization_id, profile, isSystem: is_system, provisioning: provisioning ?? false };
      }
      case "OrganizationOnboarded": {
        return state.status === "absent" ? state : { ...state, provisioning: false };
      }
      case "OrganizationUpdated":
        if (state.status === "absent") return state;
        return { ...state, profile: { ...state.profile, ...event.data.changes } };
      case "OrganizationDeactivated":
        return state.status === "active" ? { ...state, status: "inactive" } : state;
      case "OrganizationReactivated":
        return state.status === "inactive" ? { ...state, status: "active" } : state;
      case "OrganizationDeleted":
        return state.status === "absent" ? state : { ...state, status: "deleted" };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: OrganizationCommand, state: OrganizationState): OrganizationEvent[] {
    switch (command.type) {
      case "CreateOrganization":
        if (state.status !== "absent") throw new DomainError("conflict", "Organization already exists");
        return [
          {
            type: "OrganizationCreated",
            data: {
              organization_id: command.organizationId,
              ...command.profile,
              is_active: command.isActive,
              is_system: command.isSystem,
              ...(command.provisioning && { provisioning: true }),
            },
          },
        ];

      case "CompleteOnboarding":
        if (state.status === "absent" || state.status === "deleted") throw notFound("Organization");
        if (!state.provisioning) return [];
        return [{ type: "OrganizationOnboarded", data: { organization_id: state.id, role_ids: command.roleIds, user_ids: command.userIds } }];

      case "UpdateOrganization": {
        if (state.status === "absent" || state.status === "deleted") throw notFound("Organization");
        if (state.isSystem && (command.isActive === false || (command.changes.slug && command.changes.slug !== state.profile.slug))) {
          throw new DomainError("validation", "The system organization cannot be deactivated or re-slugged");
        }
        const events: OrganizationEvent[] = [];
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state.profile[k as keyof OrganizationProfile] !== v),
        ) as Partial<OrganizationProfile>;
        if (Object.keys(changes).length > 0) events.push({ type: "OrganizationUpdated", data: { organization_id: state.id, changes } });
        if (command.isActive === false && state.status === "active") events.push({ type: "OrganizationDeactivated", data: { organization_id: state.id } });
        if (command.isActive === true && state.status === "inactive") events.push({ type: "OrganizationReactivated", data: { organization_id: state.id } });
        return events;
      }

      case "DeleteOrganization":
        if (state.status === "absent" || state.status === "deleted") throw notFound("Organization");
        if (state.isSystem) throw new DomainError("validation", "The system organization cannot be deleted");
        return [
          {
            type: "OrganizationDeleted",
            data: { organization_id: state.id, slug: state.profile.slug, domain: state.profile.domain, name: state.profile.name },
          },
        ];

      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
