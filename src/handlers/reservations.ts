/**
 * Uniqueness through reservation streams: claim before creating, release after deleting
 * or renaming. A claim appends with an expected revision, so concurrent claimants of one
 * key cannot both win (DESIGN.md "Event store rules").
 */
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState } from "../eventstore/handle-command";
import type { EventStore } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { reservation } from "../domain/reservation";
import { DomainError } from "../domain/errors";

export interface Claim {
  kind: string;
  key: string;
  /** Shown in the 409: 'Organization slug "acme"'. */
  label: string;
}

/** True when this call took the claim; false when `owner` already held it. */
export async function claim(store: EventStore, ctx: CommandContext, c: Claim, owner: string): Promise<boolean> {
  const { events } = await handleCommand(store, stream.reservation(c.kind, c.key), reservation, { type: "Claim", ...c, owner }, ctx);
  return events.length > 0;
}

export async function release(store: EventStore, ctx: CommandContext, c: Omit<Claim, "label">, owner: string): Promise<void> {
  await handleCommand(store, stream.reservation(c.kind, c.key), reservation, { type: "Release", kind: c.kind, key: c.key, owner }, ctx);
}

/**
 * Claims all or none: on a refusal, the claims this call took are released again.
 * Returns the claims it newly took, so a caller that fails later releases only those
 * (never a claim the same owner already held, e.g. a concurrent bootstrap's).
 */
export async function claimAll(store: EventStore, ctx: CommandContext, claims: Claim[], owner: string): Promise<Claim[]> {
  const taken: Claim[] = [];
  try {
    for (const c of claims) {
      if (await claim(store, ctx, c, owner)) taken.push(c);
    }
    return taken;
  } catch (err) {
    for (const c of taken.reverse()) await release(store, ctx, c, owner).catch(() => {});
    throw err;
  }
}

/** What a claim's holder does with it, as the holder's own stream says. */
export type HolderUse =
  /** It holds the key now: the claim stands. */
  | "in_use"
  /** It is gone or has moved on (deleted, decided): its release was lost; free the claim. */
  | "released"
  /** It exists without the key, or was never written: perhaps a create or update in flight. */
  | "unsure";

/** How long an "unsure" holder keeps its claim before it is taken over. */
export const STALE_CLAIM_MS = 60_000;

/**
 * Claims `c` for `owner` (true when this call took it; false when `owner` already held it).
 * On a conflict the holder is looked at once: a claim whose holder no longer uses it is
 * freed and taken, at once when the holder has let it go, after STALE_CLAIM_MS when it is
 * unsure; otherwise `duplicate()` is thrown. This mends claims whose release was lost (a
 * crash between two appends) without ever taking a key from a live holder.
 */
export async function claimOrTakeOver(
  store: EventStore,
  ctx: CommandContext,
  c: Claim,
  owner: string,
  holderUse: (holderId: string) => Promise<HolderUse>,
  duplicate: () => Error,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await claim(store, ctx, c, owner);
    } catch (err) {
      if (!(err instanceof DomainError && err.kind === "conflict")) throw err;
      if (attempt > 1 || !(await freeUnusedClaim(store, ctx, c, holderUse))) throw duplicate();
    }
  }
}

async function freeUnusedClaim(store: EventStore, ctx: CommandContext, c: Claim, holderUse: (holderId: string) => Promise<HolderUse>): Promise<boolean> {
  const { state, events } = await loadState(store, stream.reservation(c.kind, c.key), reservation);
  const holder = state.holder;
  if (holder === null) return true;
  const use = await holderUse(holder);
  if (use === "in_use") return false;
  if (use === "unsure") {
    const claimedAt = events[events.length - 1]?.recordedAt.getTime() ?? 0;
    if (Date.now() - claimedAt < STALE_CLAIM_MS) return false;
  }
  await release(store, ctx, c, holder);
  return true;
}
