/**
 * Realistic organization events (the shapes of src/domain/organization.ts) with the
 * metadata a command handler stamps (src/eventstore/context.ts metadataFor).
 * Deterministic per seed, so PostgreSQL and PGlite get the same rows.
 */
import { metadataFor, type CommandContext } from "../src/eventstore/context";
import type { NewEvent } from "../src/eventstore/port";
import type { OrganizationEvent, OrganizationProfile, RegistrationPolicy } from "../src/domain/organization";

/** Small deterministic PRNG (mulberry32): same data on every backend and every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["acme", "globex", "initech", "umbrella", "stark", "wayne", "tyrell", "cyberdyne", "soylent", "hooli", "vandelay", "wonka", "oscorp", "aperture", "massive", "dynamic"];
const SUFFIXES = ["labs", "systems", "group", "holdings", "analytics", "partners", "logistics", "health", "energy", "retail"];
const POLICIES: RegistrationPolicy[] = ["domain", "open", "closed"];
const AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "ledgerline-cli/0.1.0",
];

export const BASE_TIME = Date.parse("2025-01-01T00:00:00Z");

/** A super admin acting over HTTP: what the organization routes stamp on their events. */
export function adminContext(random: () => number, at: Date, actorId: string): CommandContext {
  const ip = `10.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${1 + Math.floor(random() * 250)}`;
  return {
    actor: { type: "user", id: actorId },
    organizationId: null,
    correlationId: Bun.randomUUIDv7(),
    causationId: null,
    ip,
    userAgent: AGENTS[Math.floor(random() * AGENTS.length)],
    now: at,
  };
}

export function profileFor(n: number, random: () => number): OrganizationProfile {
  const word = WORDS[n % WORDS.length];
  const suffix = SUFFIXES[Math.floor(random() * SUFFIXES.length)];
  const slug = `${word}-${suffix}-${n.toString(36)}`;
  const hasDomain = random() < 0.7;
  return {
    name: `${word[0].toUpperCase()}${word.slice(1)} ${suffix[0].toUpperCase()}${suffix.slice(1)} ${n}`,
    slug,
    domain: hasDomain ? `${slug}.example.com` : null,
    description: random() < 0.5 ? `The ${word} ${suffix} tenant, onboarded in batch ${Math.floor(n / 1000)}.` : null,
    max_users: random() < 0.6 ? [10, 25, 50, 100, 500][Math.floor(random() * 5)] : null,
    registration_policy: POLICIES[Math.floor(random() * POLICIES.length)],
  };
}

export function created(orgId: string, n: number, random: () => number, ctx: CommandContext): NewEvent {
  const event: OrganizationEvent = {
    type: "OrganizationCreated",
    data: { organization_id: orgId, ...profileFor(n, random), is_active: true, is_system: false },
  };
  return { id: Bun.randomUUIDv7(), type: event.type, data: event.data as unknown as Record<string, unknown>, metadata: metadataFor(ctx, orgId) };
}

export function updated(orgId: string, n: number, random: () => number, ctx: CommandContext): NewEvent {
  const r = random();
  const changes: Partial<OrganizationProfile> =
    r < 0.4
      ? { name: `Renamed Organization ${n}` }
      : r < 0.7
        ? { description: `Updated description ${n}: ${WORDS[n % WORDS.length]} now serves ${Math.floor(random() * 900) + 100} people.` }
        : r < 0.9
          ? { max_users: [50, 100, 250, 1000][Math.floor(random() * 4)] }
          : { registration_policy: POLICIES[Math.floor(random() * POLICIES.length)], domain: `org-${n}.example.org` };
  const event: OrganizationEvent = { type: "OrganizationUpdated", data: { organization_id: orgId, changes } };
  return { id: Bun.randomUUIDv7(), type: event.type, data: event.data as unknown as Record<string, unknown>, metadata: metadataFor(ctx, orgId) };
}
