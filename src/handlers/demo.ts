/**
 * Embedded mode's first start (DEMO=1): a demo organization with an admin, so that
 * `npm start` users can log in as a tenant right away. Idempotent: the slug claim
 * decides, and a second start finds it and does nothing.
 */
import { randomBytes } from "node:crypto";
import type { Deps } from "../deps";
import { systemContext } from "../eventstore/context";
import { DomainError } from "../domain/errors";
import { findOrganizationByIdentifier } from "../../projections/organizations/queries";
import { createOrganization } from "./organizations";
import { createUser, settle } from "./users";
import { roleIdByName } from "./roles";
import { createDataSourceFor } from "./data-sources";
import { grantAccessFor } from "./database-access";
import { SYSTEM_ROLES } from "../domain/permissions";

export const DEMO_ORGANIZATION = { name: "Demo Company", slug: "demo", domain: "demo.ledgerline.local" } as const;
export const DEMO_ADMIN_EMAIL = "admin@demo.ledgerline.local";
export const DEMO_DATA_SOURCE_NAME = "Sales demo";

export interface DemoResult {
  organizationSlug: string;
  adminEmail: string;
  /** Present only when created now: print it once. */
  generatedPassword?: string;
}

export async function bootstrapDemo(deps: Deps): Promise<DemoResult> {
  const result = { organizationSlug: DEMO_ORGANIZATION.slug, adminEmail: DEMO_ADMIN_EMAIL };
  if (await findOrganizationByIdentifier(deps.db.drizzle, DEMO_ORGANIZATION.slug)) return result;
  const ctx = systemContext();
  let org;
  try {
    org = await createOrganization(deps, ctx, {
      ...DEMO_ORGANIZATION,
      description: "Created on first start in embedded mode (DEMO=1)",
      registration_policy: "domain",
    });
  } catch (err) {
    // Another process created it first.
    if (err instanceof DomainError && err.kind === "conflict") return result;
    throw err;
  }
  const password = `Demo-${randomBytes(12).toString("base64url")}`;
  const adminRole = await roleIdByName(deps, org.id, "admin");
  const { position, userId } = await createUser(deps, { ...ctx, organizationId: org.id }, {
    organizationId: org.id,
    email: DEMO_ADMIN_EMAIL,
    password,
    firstName: "Demo",
    lastName: "Admin",
    roleIds: adminRole ? [adminRole] : [],
    source: "bootstrap",
    isVerified: true,
  });
  await settle(deps, position);
  // The sample sales database, registered and granted to the demo admin, so the first
  // question a new user asks has something to answer.
  const acting = { type: "user" as const, userId, organizationId: org.id, isSuperAdmin: false, permissions: new Set(SYSTEM_ROLES.admin.permissions) };
  const orgCtx = { ...ctx, organizationId: org.id, actor: { type: "system" as const, id: null } };
  const dataSource = await createDataSourceFor(deps, orgCtx, acting, { name: DEMO_DATA_SOURCE_NAME, type: "embedded-demo" });
  await grantAccessFor(deps, orgCtx, acting, userId, { data_source_id: dataSource.id });
  return { ...result, generatedPassword: password };
}
