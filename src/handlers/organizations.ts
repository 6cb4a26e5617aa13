/**
 * Organization use cases: claim the unique names, run the aggregate, wait until the read
 * model shows the change, answer with it.
 */
import { settle, type Deps } from "../deps";
import { ensureSystemRoles } from "./roles";
import type { CommandContext } from "../eventstore/context";
import { handleCommand, loadState, toNewEvents } from "../eventstore/handle-command";
import { WrongExpectedRevisionError } from "../eventstore/port";
import { stream } from "../eventstore/streams";
import { organization, type OrganizationProfile, type RegistrationPolicy } from "../domain/organization";
import { DomainError, notFound } from "../domain/errors";
import { claimAll, release, type Claim } from "./reservations";
import { getOrganization } from "../../projections/organizations/queries";
import type { OrganizationRow } from "../../projections/organizations/schema";

export const SYSTEM_ORGANIZATION_ID = "00000000-0000-7000-8000-000000000001";

export interface CreateOrganizationInput {
  name: string;
  slug?: string;
  domain?: string | null;
  description?: string | null;
  max_users?: number | null;
  registration_policy?: RegistrationPolicy;
  is_active?: boolean;
}

export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/g, "");
}

const claimsOf = (p: Pick<OrganizationProfile, "name" | "slug" | "domain">): Claim[] => [
  { kind: "organization_slug", key: p.slug, label: `Organization slug "${p.slug}"` },
  { kind: "organization_name", key: p.name.trim().toLowerCase(), label: `Organization name "${p.name}"` },
  ...(p.domain ? [{ kind: "organization_domain", key: p.domain, label: `Organization domain "${p.domain}"` }] : []),
];

export function profileFrom(input: CreateOrganizationInput): OrganizationProfile {
  const slug = input.slug ?? slugify(input.name);
  if (!slug) throw new DomainError("validation", "A slug cannot be derived from this name; give one", { errors: [{ path: "/slug", message: "required" }] });
  const domain = input.domain ? input.domain.trim().toLowerCase() : null;
  return {
    name: input.name.trim(),
    slug,
    domain,
    description: input.description ?? null,
    max_users: input.max_users ?? null,
    registration_policy: input.registration_policy ?? (domain ? "domain" : "open"),
  };
}

export async function createOrganization(
  deps: Deps,
  ctx: CommandContext,
  input: CreateOrganizationInput,
  options: { id?: string; isSystem?: boolean; provisioning?: boolean } = {},
): Promise<OrganizationRow> {
  const id = options.id ?? Bun.randomUUIDv7();
  const profile = profileFrom(input);
  const taken = await claimAll(deps.store, ctx, claimsOf(profile), id);
  let position: bigint;
  try {
    ({ position } = await handleCommand(
      deps.store,
      stream.organization(id),
      organization,
      {
        type: "CreateOrganization",
        organizationId: id,
        profile,
        isActive: input.is_active ?? true,
        isSystem: options.isSystem ?? false,
        provisioning: options.provisioning,
      },
      ctx,
      { organizationId: id },
    ));
  } catch (err) {
    for (const c of taken) await release(deps.store, ctx, c, id).catch(() => {});
    throw err;
  }
  // Every tenant starts with admin, manager and user (the platform's own has none).
  if (!options.isSystem) {
    const roles = await ensureSystemRoles(deps, { ...ctx, organizationId: id }, id);
    if (roles.position > position) position = roles.position;
  }
  await settle(deps, position);
  // A provisioning organization is hidden from every query, except to its own creator.
  return (await getOrganization(deps.db.drizzle, id, { includeProvisioning: options.provisioning }))!;
}

export type UpdateOrganizationInput = Partial<CreateOrganizationInput>;

export async function updateOrganization(deps: Deps, ctx: CommandContext, id: string, input: UpdateOrganizationInput): Promise<OrganizationRow> {
  const { is_active, ...rest } = input;
  const changes: Partial<OrganizationProfile> = { ...rest };
  if (changes.name !== undefined) changes.name = changes.name.trim();
  if (changes.domain) changes.domain = changes.domain.trim().toLowerCase();
  const streamId = stream.organization(id);
  // The claims depend on the state being changed, so they are computed from, and the
  // events appended against, one exact revision; a concurrent change means start over.
  for (let attempt = 1; ; attempt++) {
    const { state, revision } = await loadState(deps.store, streamId, organization);
    if (state.status === "absent" || state.status === "deleted") throw notFound("Organization");
    const events = organization.decide({ type: "UpdateOrganization", changes, isActive: is_active }, state);
    if (events.length === 0) return (await getOrganization(deps.db.drizzle, id))!;
    const before = claimsOf(state.profile);
    const after = claimsOf({ ...state.profile, ...changes });
    const added = after.filter((c) => !before.some((b) => b.kind === c.kind && b.key === c.key));
    const dropped = before.filter((b) => !after.some((c) => c.kind === b.kind && c.key === b.key));
    const taken = await claimAll(deps.store, ctx, added, id);
    try {
      const { position } = await deps.store.append(streamId, toNewEvents(events, { ...ctx }, id), revision);
      for (const c of dropped) await release(deps.store, ctx, c, id);
      await settle(deps, position);
      return (await getOrganization(deps.db.drizzle, id))!;
    } catch (err) {
      for (const c of taken) await release(deps.store, ctx, c, id).catch(() => {});
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      if (attempt >= 5) throw new DomainError("conflict", "The organization was changed concurrently; retry the request");
    }
  }
}

export async function deleteOrganization(deps: Deps, ctx: CommandContext, id: string): Promise<void> {
  const { state, position } = await handleCommand(deps.store, stream.organization(id), organization, { type: "DeleteOrganization" }, ctx, {
    organizationId: id,
  }).then((r) => ({ ...r, state: r.state }));
  if (state.status !== "absent") {
    for (const c of claimsOf(state.profile)) await release(deps.store, ctx, c, id);
  }
  await settle(deps, position);
}
