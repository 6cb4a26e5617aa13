/**
 * Self-registration: join an existing organization as `user`, as its registration
 * policy allows, or, when the named organization does not exist, create it with the
 * registering user as its `admin`. Ends logged in (a session and tokens).
 */
import { settle, type Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { DomainError } from "../domain/errors";
import { assertAcceptablePassword } from "../auth/password-policy";
import { findOrganizationByIdentifier } from "../../projections/organizations/queries";
import type { OrganizationRow } from "../../projections/organizations/schema";
import { createOrganization, slugify } from "./organizations";
import { createUser } from "./users";
import { ensureSystemRoles, roleIdByName } from "./roles";
import { stream } from "../eventstore/streams";
import { loadState } from "../eventstore/handle-command";
import { reservation } from "../domain/reservation";
import { startSession, type IssuedTokens } from "./sessions";
import { isUuid } from "../http/pagination";

export interface RegistrationInput {
  email: string;
  password: string;
  username?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  /** Slug, domain, name or id of the organization to join or create. */
  organization: string;
}

const DOMAIN = /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export async function register(deps: Deps, ctx: CommandContext, input: RegistrationInput): Promise<IssuedTokens & { created: "organization" | "membership" }> {
  assertAcceptablePassword(input.password, "/body/password", { email: input.email });
  const identifier = input.organization.trim();
  let org = await findOrganizationByIdentifier(deps.db.drizzle, identifier);
  let created: "organization" | "membership" = "membership";
  let roleName: "admin" | "user" = "user";
  if (!org) {
    if (isUuid(identifier)) throw new DomainError("not_found", "Organization not found");
    try {
      org = await createOrganizationFor(deps, ctx, identifier);
      created = "organization";
      roleName = "admin";
    } catch (err) {
      // Someone created it in the meantime: join it like any existing organization.
      if (!(err instanceof DomainError && err.kind === "conflict")) throw err;
      org = await organizationBeingCreated(deps, identifier);
      if (!org) throw err;
    }
  }
  if (created === "membership") assertMayJoin(org, input.email);
  const roleId = created === "organization" ? await roleIdByName(deps, org.id, roleName) : await systemRoleOf(deps, ctx, org.id, roleName);
  const { userId } = await createUser(deps, { ...ctx, organizationId: org.id }, {
    organizationId: org.id,
    email: input.email,
    password: input.password,
    username: input.username,
    firstName: input.first_name,
    lastName: input.last_name,
    roleIds: roleId ? [roleId] : [],
    source: "register",
  });
  const tokens = await startSession(deps, { ...ctx, organizationId: org.id, actor: { type: "user", id: userId } }, { userId, organizationId: org.id });
  return { ...tokens, created };
}

/**
 * The organization a concurrent registration is creating under this identifier: its
 * claims (slug, name, domain) are taken before its events are written and projected, so
 * wait (bounded) while a holder's organization does not exist yet. Null when nothing is
 * being created (the conflict was with another, existing organization's slug or domain).
 */
async function organizationBeingCreated(deps: Deps, identifier: string): Promise<OrganizationRow | null> {
  // The claims createOrganization takes for createOrganizationFor(identifier).
  const name = identifier.trim();
  const lower = name.toLowerCase();
  const claims: Array<[string, string]> = [
    ["organization_slug", slugify(name)],
    ["organization_name", lower],
    ...(DOMAIN.test(lower) ? [["organization_domain", lower] as [string, string]] : []),
  ];
  for (let attempt = 0; attempt < 100; attempt++) {
    const found = await findOrganizationByIdentifier(deps.db.drizzle, identifier);
    if (found) return found;
    const holders = new Set<string>();
    for (const [kind, key] of claims) {
      const { state } = await loadState(deps.store, stream.reservation(kind, key), reservation);
      if (state.holder) holders.add(state.holder);
    }
    let pending = false;
    for (const holder of holders) {
      const [last] = await deps.store.readStream(stream.organization(holder), { direction: "backwards", limit: 1 });
      if (last) await settle(deps, last.position);
      else pending = true;
    }
    if (!pending) return findOrganizationByIdentifier(deps.db.drizzle, identifier);
    await Bun.sleep(50);
  }
  return null;
}

/**
 * A registration racing the one that creates the organization can find it in the read
 * model before its system roles exist: wait (bounded) for the role to be created rather
 * than join with no role at all. An organization whose creator died before making its
 * roles gets them now.
 */
async function systemRoleOf(deps: Deps, ctx: CommandContext, organizationId: string, name: "admin" | "user"): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = await roleIdByName(deps, organizationId, name);
    if (id && (await deps.store.readStream(stream.role(id), { limit: 1 })).length > 0) return id;
    await Bun.sleep(50);
  }
  const { ids } = await ensureSystemRoles(deps, { ...ctx, organizationId }, organizationId);
  return ids[name];
}

function createOrganizationFor(deps: Deps, ctx: CommandContext, identifier: string): Promise<OrganizationRow> {
  const lower = identifier.toLowerCase();
  const isDomain = DOMAIN.test(lower);
  return createOrganization(deps, ctx, {
    name: identifier,
    slug: slugify(identifier) || undefined,
    domain: isDomain ? lower : null,
  });
}

function assertMayJoin(org: OrganizationRow, email: string): void {
  if (!org.isActive || org.provisioning || org.isSystem) throw new DomainError("forbidden", "This organization does not accept registrations");
  switch (org.registrationPolicy) {
    case "open":
      return;
    case "closed":
      throw new DomainError("forbidden", "This organization does not accept registrations");
    case "domain": {
      const domain = email.split("@").pop()?.toLowerCase();
      if (!org.domain || domain !== org.domain) {
        throw new DomainError("forbidden", `Registration in this organization needs an e-mail address at its domain`);
      }
      return;
    }
    default:
      throw new DomainError("forbidden", "This organization does not accept registrations");
  }
}
