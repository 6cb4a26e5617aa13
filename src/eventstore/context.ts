/**
 * Who is acting and where the request came from: turned into every event's metadata.
 */
import type { ActorType, EventMetadata } from "./port";

export interface CommandContext {
  actor: { type: ActorType; id: string | null };
  organizationId: string | null;
  correlationId: string;
  causationId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** Injected so deciders stay pure and tests control time. */
  now: Date;
}

export const SCHEMA_VERSION = 1;

export function metadataFor(ctx: CommandContext, organizationId = ctx.organizationId): EventMetadata {
  return {
    actor: ctx.actor,
    organization_id: organizationId,
    correlation_id: ctx.correlationId,
    causation_id: ctx.causationId,
    ip: ctx.ip,
    user_agent: ctx.userAgent,
    occurred_at: ctx.now.toISOString(),
    schema_version: SCHEMA_VERSION,
  };
}

export function systemContext(now = new Date()): CommandContext {
  return {
    actor: { type: "system", id: null },
    organizationId: null,
    correlationId: Bun.randomUUIDv7(),
    causationId: null,
    ip: null,
    userAgent: null,
    now,
  };
}
