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

export const DEMO_ORGANIZATION = { name: "Demo Company", slug: "demo", domain: "demo.ledgerline.local" } as const;
export const DEMO_ADMIN_EMAIL = "admin@demo.ledgerline.local";

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
  const { position } = await createUser(deps, { ...ctx, organizationId: org.id }, {
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
  return { ...result, generatedPassword: password };
}
