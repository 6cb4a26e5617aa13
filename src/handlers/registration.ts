/**
 * Self-registration: join an existing organization as `user`, as its registration
 * policy allows, or, when the named organization does not exist, create it with the
 * registering user as its `admin`. Ends logged in (a session and tokens).
 */
import type { Deps } from "../deps";
import type { CommandContext } from "../eventstore/context";
import { DomainError } from "../domain/errors";
import { assertAcceptablePassword } from "../auth/password-policy";
import { findOrganizationByIdentifier } from "../../projections/organizations/queries";
import type { OrganizationRow } from "../../projections/organizations/schema";
import { createOrganization, slugify } from "./organizations";
import { createUser } from "./users";
import { roleIdByName } from "./roles";
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
      org = await findOrganizationByIdentifier(deps.db.drizzle, identifier);
      if (!org) throw err;
    }
  }
  if (created === "membership") assertMayJoin(org, input.email);
  const roleId = await roleIdByName(deps, org.id, roleName);
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
