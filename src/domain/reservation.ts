/**
 * A uniqueness claim (an organization slug, an e-mail within an organization...).
 * Its stream is appended with an expected revision, so of two concurrent claimants
 * exactly one wins; the loser re-reads, sees the holder and gets 409.
 */
import { conflict } from "./errors";

export type ReservationEvent =
  | { type: "ReservationClaimed"; data: { kind: string; key: string; owner: string } }
  | { type: "ReservationReleased"; data: { kind: string; key: string; owner: string } };

export type ReservationCommand =
  | { type: "Claim"; kind: string; key: string; owner: string; label: string }
  | { type: "Release"; kind: string; key: string; owner: string };

export interface ReservationState {
  holder: string | null;
}

export const reservation = {
  initialState: (): ReservationState => ({ holder: null }),

  evolve(state: ReservationState, event: ReservationEvent): ReservationState {
    switch (event.type) {
      case "ReservationClaimed":
        return { holder: event.data.owner };
      case "ReservationReleased":
        return state.holder === event.data.owner ? { holder: null } : state;
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: ReservationCommand, state: ReservationState): ReservationEvent[] {
    switch (command.type) {
      case "Claim":
        if (state.holder === command.owner) return [];
        if (state.holder !== null) throw conflict(`${command.label} is already taken`);
        return [{ type: "ReservationClaimed", data: { kind: command.kind, key: command.key, owner: command.owner } }];
      case "Release":
        if (state.holder !== command.owner) return [];
        return [{ type: "ReservationReleased", data: { kind: command.kind, key: command.key, owner: command.owner } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
