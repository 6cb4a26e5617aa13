/**
 * User aggregate. Stream `user-<id>`. The password hash never appears in clear in an
 * event: it is sealed with the data encryption key (see crypto/secret-box.ts), bound to
 * the user id. Identity features (profile, lockout, deactivation...) extend this file.
 */
import { DomainError } from "./errors";

export interface UserProfile {
  email: string;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
}

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
        source: "bootstrap" | "register" | "admin" | "onboard";
      };
    }
  | { type: "PasswordChanged"; data: { user_id: string; password_sealed: string; reason: "change" | "rehash" | "reset" } };

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
      source: "bootstrap" | "register" | "admin" | "onboard";
    }
  | { type: "ChangePassword"; passwordSealed: string; reason: "change" | "rehash" | "reset" };

export type UserState =
  | { status: "absent" }
  | { status: "active" | "inactive" | "deleted"; id: string; organizationId: string; profile: UserProfile; passwordSealed: string; roleIds: string[] };

export const user = {
  initialState: (): UserState => ({ status: "absent" }),

  evolve(state: UserState, event: UserEvent): UserState {
    switch (event.type) {
      case "UserRegistered": {
        const d = event.data;
        return {
          status: d.is_active ? "active" : "inactive",
          id: d.user_id,
          organizationId: d.organization_id,
          profile: { email: d.email, username: d.username, first_name: d.first_name, last_name: d.last_name },
          passwordSealed: d.password_sealed,
          roleIds: d.role_ids,
        };
      }
      case "PasswordChanged":
        return state.status === "absent" ? state : { ...state, passwordSealed: event.data.password_sealed };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: UserCommand, state: UserState): UserEvent[] {
    switch (command.type) {
      case "RegisterUser":
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
              role_ids: command.roleIds,
              source: command.source,
            },
          },
        ];
      case "ChangePassword":
        if (state.status === "absent" || state.status === "deleted") throw new DomainError("not_found", "User not found");
        return [{ type: "PasswordChanged", data: { user_id: state.id, password_sealed: command.passwordSealed, reason: command.reason } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
