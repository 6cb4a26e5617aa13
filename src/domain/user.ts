/**
 * User aggregate. Stream `user-<id>`. The password hash never appears in clear in an
 * event: it is sealed with the data encryption key (see crypto/secret-box.ts), bound to
 * the user id. Login attempts and lockout live in their own aggregate (login.ts), so a
 * user's stream does not grow with every login.
 */
import { DomainError } from "./errors";

export interface UserProfile {
  email: string;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
}

/** An e-mail as uniqueness and login compare it: trimmed, any case. */
export const emailKey = (email: string): string => email.trim().toLowerCase();

export type UserSource = "bootstrap" | "register" | "admin" | "onboard";

export type UserEvent =
  | {
      type: "UserRegistered";
      data: UserProfile & {
        user_id: string;
        organization_id: string;
        password_sealed: string;
        is_active: boolean;
        is_verified: boolean;
        role_ids: string[];
        source: UserSource;
      };
    }
  | { type: "UserProfileUpdated"; data: { user_id: string; changes: Partial<UserProfile> & { is_verified?: boolean } } }
  | { type: "UserDeactivated"; data: { user_id: string } }
  | { type: "UserReactivated"; data: { user_id: string } }
  | { type: "UserDeleted"; data: { user_id: string; organization_id: string; email: string } }
  | { type: "PasswordChanged"; data: { user_id: string; password_sealed: string; reason: "change" | "rehash" | "reset" } }
  | { type: "RoleAssigned"; data: { user_id: string; organization_id: string; role_id: string; role_name: string } }
  | { type: "RoleRevoked"; data: { user_id: string; organization_id: string; role_id: string; role_name: string } };

export type UserCommand =
  | {
      type: "RegisterUser";
      userId: string;
      organizationId: string;
      profile: UserProfile;
      passwordSealed: string;
      isActive: boolean;
      isVerified: boolean;
      roleIds: string[];
      source: UserSource;
    }
  | { type: "UpdateProfile"; changes: Partial<UserProfile> & { is_verified?: boolean } }
  | { type: "SetActive"; active: boolean }
  | { type: "DeleteUser" }
  | { type: "ChangePassword"; passwordSealed: string; reason: "change" | "rehash" | "reset" }
  | { type: "AssignRoles"; roles: Array<{ id: string; name: string }> }
  | { type: "RevokeRoles"; roles: Array<{ id: string; name: string }> };

export type UserState =
  | { status: "absent" }
  | {
      status: "active" | "inactive" | "deleted";
      id: string;
      organizationId: string;
      profile: UserProfile;
      isVerified: boolean;
      passwordSealed: string;
      roleIds: string[];
    };

const gone = () => new DomainError("not_found", "User not found");

export const user = {
  initialState: (): UserState => ({ status: "absent" }),

  evolve(state: UserState, event: UserEvent): UserState {
    if (event.type === "UserRegistered") {
      const d = event.data;
      return {
        status: d.is_active ? "active" : "inactive",
        id: d.user_id,
        organizationId: d.organization_id,
        profile: { email: d.email, username: d.username, first_name: d.first_name, last_name: d.last_name },
        isVerified: d.is_verified,
        passwordSealed: d.password_sealed,
        roleIds: d.role_ids,
      };
    }
    if (state.status === "absent") return state;
    switch (event.type) {
      case "UserProfileUpdated": {
        const { is_verified, ...profile } = event.data.changes;
        return { ...state, profile: { ...state.profile, ...profile }, isVerified: is_verified ?? state.isVerified };
      }
      case "UserDeactivated":
        return state.status === "active" ? { ...state, status: "inactive" } : state;
      case "UserReactivated":
        return state.status === "inactive" ? { ...state, status: "active" } : state;
      case "UserDeleted":
        return { ...state, status: "deleted" };
      case "PasswordChanged":
        return { ...state, passwordSealed: event.data.password_sealed };
      case "RoleAssigned":
        return state.roleIds.includes(event.data.role_id) ? state : { ...state, roleIds: [...state.roleIds, event.data.role_id] };
      case "RoleRevoked":
        return { ...state, roleIds: state.roleIds.filter((r) => r !== event.data.role_id) };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: UserCommand, state: UserState): UserEvent[] {
    if (command.type === "RegisterUser") {
      if (state.status !== "absent") throw new DomainError("conflict", "User already exists");
      return [
        {
          type: "UserRegistered",
          data: {
            user_id: command.userId,
            organization_id: command.organizationId,
            ...command.profile,
            password_sealed: command.passwordSealed,
            is_active: command.isActive,
            is_verified: command.isVerified,
            role_ids: [...new Set(command.roleIds)],
            source: command.source,
          },
        },
      ];
    }
    if (state.status === "absent" || state.status === "deleted") throw gone();
    const ids = { user_id: state.id, organization_id: state.organizationId };
    switch (command.type) {
      case "UpdateProfile": {
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) =>
            v !== undefined && (k === "is_verified" ? v !== state.isVerified : state.profile[k as keyof UserProfile] !== v),
          ),
        );
        return Object.keys(changes).length === 0 ? [] : [{ type: "UserProfileUpdated", data: { user_id: state.id, changes } }];
      }
      case "SetActive":
        if (command.active && state.status === "inactive") return [{ type: "UserReactivated", data: { user_id: state.id } }];
        if (!command.active && state.status === "active") return [{ type: "UserDeactivated", data: { user_id: state.id } }];
        return [];
      case "DeleteUser":
        return [{ type: "UserDeleted", data: { ...ids, email: state.profile.email } }];
      case "ChangePassword":
        return [{ type: "PasswordChanged", data: { user_id: state.id, password_sealed: command.passwordSealed, reason: command.reason } }];
      case "AssignRoles":
        return unique(command.roles)
          .filter((r) => !state.roleIds.includes(r.id))
          .map((r) => ({ type: "RoleAssigned" as const, data: { ...ids, role_id: r.id, role_name: r.name } }));
      case "RevokeRoles":
        return unique(command.roles)
          .filter((r) => state.roleIds.includes(r.id))
          .map((r) => ({ type: "RoleRevoked" as const, data: { ...ids, role_id: r.id, role_name: r.name } }));
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};

function unique<T extends { id: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(i.id) ? false : (seen.add(i.id), true)));
}
