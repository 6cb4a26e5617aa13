/**
 * Uniqueness through reservation streams: claim before creating, release after deleting
 * or renaming. A claim appends with an expected revision, so concurrent claimants of one
 * key cannot both win (DESIGN.md "Event store rules").
 */
import type { CommandContext } from "../eventstore/context";
import { handleCommand } from "../eventstore/handle-command";
import type { EventStore } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { reservation } from "../domain/reservation";

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
