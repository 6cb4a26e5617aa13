/**
 * The seats of one organization: how many users it has, against its `max_users`.
 * Stream `seats-<organizationId>`; every join appends with an expected revision, so
 * concurrent registrations cannot overshoot the limit.
 */
import { DomainError } from "./errors";

export type SeatEvent =
  | { type: "SeatTaken"; data: { organization_id: string; user_id: string } }
  | { type: "SeatReleased"; data: { organization_id: string; user_id: string } };

export type SeatCommand =
  | { type: "TakeSeat"; organizationId: string; userId: string; maxUsers: number | null }
  | { type: "ReleaseSeat"; organizationId: string; userId: string };

export interface SeatState {
  taken: number;
}

export const seats = {
  initialState: (): SeatState => ({ taken: 0 }),

  evolve(state: SeatState, event: SeatEvent): SeatState {
    switch (event.type) {
      case "SeatTaken":
        return { taken: state.taken + 1 };
      case "SeatReleased":
        return { taken: Math.max(0, state.taken - 1) };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: SeatCommand, state: SeatState): SeatEvent[] {
    switch (command.type) {
      case "TakeSeat":
        if (command.maxUsers !== null && state.taken >= command.maxUsers) {
          throw new DomainError("conflict", `The organization has reached its maximum of ${command.maxUsers} users`);
        }
        return [{ type: "SeatTaken", data: { organization_id: command.organizationId, user_id: command.userId } }];
      case "ReleaseSeat":
        return [{ type: "SeatReleased", data: { organization_id: command.organizationId, user_id: command.userId } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
