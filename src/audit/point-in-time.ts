/**
 * Point-in-time reads: an aggregate's state as it was at a moment, folded from its own
 * events with the same `evolve` the write side uses, so history is never a second
 * implementation of the rules. "At a moment" means every event whose
 * metadata.occurred_at is at or before it (the time the command was decided, stamped by
 * the service that decided it).
 *
 * This module is pure apart from reading streams: no tenancy, no HTTP. The handler
 * (src/handlers/point-in-time.ts) decides who may ask.
 */
import type { EventStore, RecordedEvent } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { invalid } from "../domain/errors";
import { user, type UserEvent, type UserState } from "../domain/user";
import { role, type RoleEvent, type RoleState } from "../domain/role";

// ------------------------------------------------------------------------ instants

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An ISO 8601 instant from a query parameter: `2025-06-21`, `2025-06-21T10:00`,
 * `2025-06-21T10:00:00.123Z`, `2025-06-21T12:00:00+02:00`. Without an offset it is UTC
 * (the API speaks UTC everywhere); a date alone is that day's start. Anything else, an
 * impossible date (Feb 30) included, is a 422 naming the parameter.
 */
export function parseInstant(value: string, path: string): Date {
  const bad = () => invalid(path, `Expected an ISO 8601 time such as 2025-06-21T10:00:00Z, got ${JSON.stringify(value.slice(0, 64))}`);
  const m = INSTANT.exec(value.trim());
  if (!m) throw bad();
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) throw bad();
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls Feb 30 over into March: a round trip catches impossible days.
  if (new Date(local).getUTCDate() !== day) throw bad();
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (oh > 23 || om > 59) throw bad();
    offsetMinutes = sign * (oh * 60 + om);
  }
  const at = new Date(local - offsetMinutes * 60_000);
  if (Number.isNaN(at.getTime())) throw bad();
  return at;
}

/** Whether an event had happened by `atMs` (epoch ms). */
export function happenedBy(event: RecordedEvent, atMs: number): boolean {
  return Date.parse(event.metadata.occurred_at) <= atMs;
}

// ------------------------------------------------------------------------- folding

interface Evolver<State, Event> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
}

export interface Folded<State> {
  state: State;
  /** The events folded, in stream order. */
  events: RecordedEvent[];
}

/** Folds the events of one stream that had happened by `atMs`. */
export function foldAsOf<State, Event extends { type: string; data: unknown }>(
  decider: Evolver<State, Event>,
  events: readonly RecordedEvent[],
  atMs: number,
): Folded<State> {
  const folded = events.filter((e) => happenedBy(e, atMs));
  let state = decider.initialState();
  for (const e of folded) state = decider.evolve(state, { type: e.type, data: e.data } as Event);
  return { state, events: folded };
}

export type RoleAsOf = Extract<RoleState, { status: "exists" | "deleted" }>;

/** A role as it was at `atMs`; null if it had not been created yet (or never was). */
export async function roleAsOf(store: EventStore, roleId: string, atMs: number): Promise<RoleAsOf | null> {
  const { state } = foldAsOf<RoleState, RoleEvent>(role, await store.readStream(stream.role(roleId)), atMs);
  return state.status === "absent" ? null : state;
}

export type UserAsOfState = Extract<UserState, { status: "active" | "inactive" | "deleted" }>;

export interface UserAsOf {
  /** The user at the moment; status "deleted" if it had been deleted by then. */
  state: UserAsOfState;
  /** Occurred_at of its registration and of the last event folded. */
  createdAt: string;
  updatedAt: string;
  /** The roles it held then, as they were then: only roles that existed and were not deleted. */
  roles: RoleAsOf[];
}

/** What a user's stream says of it, now and at `at`. */
export interface UserHistory {
  /** The user's organization: known from its registration, whatever the moment asked. */
  organizationId: string;
  /** Null: the user did not exist yet at `at`. */
  asOf: UserAsOf | null;
}

/**
 * The user at `at`, with its roles resolved at the same moment (a role renamed later
 * shows the name it had then; a role deleted by then is not held). Null if the user's
 * stream has no registration at all.
 */
export async function userHistory(store: EventStore, userId: string, at: Date): Promise<UserHistory | null> {
  const events = await store.readStream(stream.user(userId));
  const registered = events.find((e) => e.type === "UserRegistered");
  if (!registered) return null;
  const organizationId = (registered.data as { organization_id: string }).organization_id;
  const atMs = at.getTime();
  const folded = foldAsOf<UserState, UserEvent>(user, events, atMs);
  if (folded.state.status === "absent") return { organizationId, asOf: null };
  const state = folded.state;
  const roles: RoleAsOf[] = [];
  for (const roleId of state.roleIds) {
    const r = await roleAsOf(store, roleId, atMs);
    if (r && r.status === "exists" && r.organizationId === state.organizationId) roles.push(r);
  }
  return {
    organizationId,
    asOf: {
      state,
      createdAt: registered.metadata.occurred_at,
      updatedAt: folded.events[folded.events.length - 1].metadata.occurred_at,
      roles,
    },
  };
}
