/**
 * An organization's token limits as configured: the last TokenLimitsSet of its stream
 * (each event carries the whole configuration), or the defaults. Read from the event
 * store on every use rather than cached: one indexed read, and every API process sees a
 * change the moment it is appended.
 */
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { handleCommand } from "../eventstore/handle-command";
import { stream } from "../eventstore/streams";
import { effectiveLimits, tokenLimits, type TokenLimits, type TokenLimitsEvent } from "../domain/token-limits";

export interface ConfiguredLimits {
  limits: TokenLimits;
  /** False while the defaults apply. */
  configured: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

export async function readLimits(deps: Pick<Deps, "store">, organizationId: string): Promise<ConfiguredLimits> {
  const [last] = await deps.store.readStream(stream.tokenLimits(organizationId), { direction: "backwards", limit: 1 });
  if (!last) return { limits: effectiveLimits(tokenLimits.initialState()), configured: false, updatedAt: null, updatedBy: null };
  const state = tokenLimits.evolve(tokenLimits.initialState(), last as unknown as TokenLimitsEvent);
  return { limits: effectiveLimits(state), configured: true, updatedAt: last.metadata.occurred_at, updatedBy: last.metadata.actor.id };
}

/** Appends TokenLimitsSet when the changes change anything; returns the event's position (0n: nothing changed). */
export async function setLimits(deps: Pick<Deps, "store">, ctx: CommandContext, organizationId: string, changes: Partial<TokenLimits>): Promise<bigint> {
  const { position } = await handleCommand(deps.store, stream.tokenLimits(organizationId), tokenLimits, { type: "SetTokenLimits", organizationId, changes }, { ...ctx, organizationId });
  return position;
}
