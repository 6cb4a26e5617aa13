/**
 * The aggregates' deciders, pure: given events (folded with `evolve` from
 * `initialState()`) / when a command (`decide`) / then events or a DomainError.
 * No store, no clock, no ids beyond the fixed ones below.
 */
import { describe, expect, test } from "bun:test";
import { DomainError, type DomainErrorKind } from "../../src/domain/errors";
import { organization, type OrganizationCommand, type OrganizationEvent, type OrganizationProfile } from "../../src/domain/organization";
import { reservation, type ReservationCommand, type ReservationEvent } from "../../src/domain/reservation";
import { user, type UserCommand, type UserEvent } from "../../src/domain/user";
import { session, type SessionCommand, type SessionEvent } from "../../src/domain/session";

interface PureDecider<S, C, E> {
  initialState: () => S;
  evolve: (state: S, event: E) => S;
  decide: (command: C, state: S) => E[];
}

/** given `events` / when `command`: the events decided, or the DomainError thrown. */
function run<S, C, E>(decider: PureDecider<S, C, E>, given: E[], command: C): { events: E[] } | { error: { kind: DomainErrorKind; message: string } } {
  const state = given.reduce(decider.evolve, decider.initialState());
  try {
    return { events: decider.decide(command, state) };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { error: { kind: err.kind, message: err.message } };
  }
}

// ---------------------------------------------------------------- organization

const ORG_ID = "01900000-0000-7000-8000-0000000000aa";
const SYSTEM_ID = "00000000-0000-7000-8000-000000000001";

const acmeProfile: OrganizationProfile = {
  name: "Acme",
  slug: "acme",
  domain: "acme.test",
  description: "Anvils",
  max_users: 50,
  registration_policy: "domain",
};

const acmeCreated = (overrides: { is_active?: boolean } = {}): OrganizationEvent => ({
  type: "OrganizationCreated",
  data: { organization_id: ORG_ID, ...acmeProfile, is_active: overrides.is_active ?? true, is_system: false },
});

const systemCreated: OrganizationEvent = {
  type: "OrganizationCreated",
  data: {
    organization_id: SYSTEM_ID,
    name: "System",
    slug: "system",
    domain: null,
    description: "Platform operators (super admins)",
    max_users: null,
    registration_policy: "closed",
    is_active: true,
    is_system: true,
  },
};

const acmeDeleted: OrganizationEvent = {
  type: "OrganizationDeleted",
  data: { organization_id: ORG_ID, slug: "acme", domain: "acme.test", name: "Acme" },
};

const createAcme: OrganizationCommand = { type: "CreateOrganization", organizationId: ORG_ID, profile: acmeProfile, isActive: true, isSystem: false };

describe("organization decider", () => {
  test("given no events / when CreateOrganization / then OrganizationCreated with the profile and flags", () => {
    expect(run(organization, [], createAcme)).toStrictEqual({ events: [acmeCreated()] });
  });

  test("given OrganizationCreated / when CreateOrganization again / then conflict", () => {
    expect(run(organization, [acmeCreated()], createAcme)).toStrictEqual({ error: { kind: "conflict", message: "Organization already exists" } });
  });

  test("given OrganizationDeleted / when CreateOrganization with the same id / then conflict (a deleted stream is not reused)", () => {
    expect(run(organization, [acmeCreated(), acmeDeleted], createAcme)).toStrictEqual({ error: { kind: "conflict", message: "Organization already exists" } });
  });

  test("given no events / when UpdateOrganization / then not_found", () => {
    expect(run(organization, [], { type: "UpdateOrganization", changes: { name: "Acme 2" } })).toStrictEqual({
      error: { kind: "not_found", message: "Organization not found" },
    });
  });

  test("given a deleted organization / when UpdateOrganization / then not_found", () => {
    expect(run(organization, [acmeCreated(), acmeDeleted], { type: "UpdateOrganization", changes: { name: "Acme 2" } })).toStrictEqual({
      error: { kind: "not_found", message: "Organization not found" },
    });
  });

  test("given an organization / when UpdateOrganization with only unchanged values / then no events", () => {
    const cmd: OrganizationCommand = {
      type: "UpdateOrganization",
      changes: { name: "Acme", slug: "acme", domain: "acme.test", description: "Anvils", max_users: 50, registration_policy: "domain" },
      isActive: true,
    };
    expect(run(organization, [acmeCreated()], cmd)).toStrictEqual({ events: [] });
  });

  test("given an organization / when UpdateOrganization mixes changed, unchanged and undefined values / then OrganizationUpdated carries only the changed ones", () => {
    const cmd: OrganizationCommand = { type: "UpdateOrganization", changes: { name: "Acme Corp", slug: "acme", domain: null, description: undefined } };
    expect(run(organization, [acmeCreated()], cmd)).toStrictEqual({
      events: [{ type: "OrganizationUpdated", data: { organization_id: ORG_ID, changes: { name: "Acme Corp", domain: null } } }],
    });
  });

  test("given an updated organization / when the same update again / then no events (evolve applied the first one)", () => {
    const updated: OrganizationEvent = { type: "OrganizationUpdated", data: { organization_id: ORG_ID, changes: { name: "Acme Corp" } } };
    expect(run(organization, [acmeCreated(), updated], { type: "UpdateOrganization", changes: { name: "Acme Corp" } })).toStrictEqual({ events: [] });
  });

  test("given an active organization / when UpdateOrganization is_active false / then OrganizationDeactivated", () => {
    expect(run(organization, [acmeCreated()], { type: "UpdateOrganization", changes: {}, isActive: false })).toStrictEqual({
      events: [{ type: "OrganizationDeactivated", data: { organization_id: ORG_ID } }],
    });
  });

  test("given a deactivated organization / when UpdateOrganization is_active true / then OrganizationReactivated", () => {
    const deactivated: OrganizationEvent = { type: "OrganizationDeactivated", data: { organization_id: ORG_ID } };
    expect(run(organization, [acmeCreated(), deactivated], { type: "UpdateOrganization", changes: {}, isActive: true })).toStrictEqual({
      events: [{ type: "OrganizationReactivated", data: { organization_id: ORG_ID } }],
    });
  });

  test("given an organization created inactive / when is_active false / then no events; when is_active true / then OrganizationReactivated", () => {
    const given = [acmeCreated({ is_active: false })];
    expect(run(organization, given, { type: "UpdateOrganization", changes: {}, isActive: false })).toStrictEqual({ events: [] });
    expect(run(organization, given, { type: "UpdateOrganization", changes: {}, isActive: true })).toStrictEqual({
      events: [{ type: "OrganizationReactivated", data: { organization_id: ORG_ID } }],
    });
  });

  test("given an active organization / when a rename and is_active false together / then OrganizationUpdated then OrganizationDeactivated", () => {
    expect(run(organization, [acmeCreated()], { type: "UpdateOrganization", changes: { name: "Acme Old" }, isActive: false })).toStrictEqual({
      events: [
        { type: "OrganizationUpdated", data: { organization_id: ORG_ID, changes: { name: "Acme Old" } } },
        { type: "OrganizationDeactivated", data: { organization_id: ORG_ID } },
      ],
    });
  });

  test("given the system organization / when is_active false / then validation error", () => {
    expect(run(organization, [systemCreated], { type: "UpdateOrganization", changes: {}, isActive: false })).toStrictEqual({
      error: { kind: "validation", message: "The system organization cannot be deactivated or re-slugged" },
    });
  });

  test("given the system organization / when a new slug / then validation error", () => {
    expect(run(organization, [systemCreated], { type: "UpdateOrganization", changes: { slug: "platform" } })).toStrictEqual({
      error: { kind: "validation", message: "The system organization cannot be deactivated or re-slugged" },
    });
  });

  test("given the system organization / when its own slug and a new description / then only the description changes", () => {
    expect(run(organization, [systemCreated], { type: "UpdateOrganization", changes: { slug: "system", description: "Operators" }, isActive: true })).toStrictEqual({
      events: [{ type: "OrganizationUpdated", data: { organization_id: SYSTEM_ID, changes: { description: "Operators" } } }],
    });
  });

  test("given the system organization / when DeleteOrganization / then validation error", () => {
    expect(run(organization, [systemCreated], { type: "DeleteOrganization" })).toStrictEqual({
      error: { kind: "validation", message: "The system organization cannot be deleted" },
    });
  });

  test("given a renamed organization / when DeleteOrganization / then OrganizationDeleted carries the current slug, domain and name", () => {
    const renamed: OrganizationEvent = {
      type: "OrganizationUpdated",
      data: { organization_id: ORG_ID, changes: { name: "Acme Corp", slug: "acme-corp", domain: "corp.acme.test" } },
    };
    expect(run(organization, [acmeCreated(), renamed], { type: "DeleteOrganization" })).toStrictEqual({
      events: [{ type: "OrganizationDeleted", data: { organization_id: ORG_ID, slug: "acme-corp", domain: "corp.acme.test", name: "Acme Corp" } }],
    });
  });

  test("given an organization / when DeleteOrganization / then OrganizationDeleted with its slug, domain and name", () => {
    expect(run(organization, [acmeCreated()], { type: "DeleteOrganization" })).toStrictEqual({ events: [acmeDeleted] });
  });

  test("given no events, or a deleted organization / when DeleteOrganization / then not_found", () => {
    const notFound = { error: { kind: "not_found" as const, message: "Organization not found" } };
    expect(run(organization, [], { type: "DeleteOrganization" })).toStrictEqual(notFound);
    expect(run(organization, [acmeCreated(), acmeDeleted], { type: "DeleteOrganization" })).toStrictEqual(notFound);
  });
});

// ---------------------------------------------------------------- reservation

const OWNER_A = "01900000-0000-7000-8000-00000000000a";
const OWNER_B = "01900000-0000-7000-8000-00000000000b";
const slugKey = { kind: "organization_slug", key: "acme" };
const claimBy = (owner: string): ReservationCommand => ({ type: "Claim", ...slugKey, owner, label: 'Organization slug "acme"' });
const releaseBy = (owner: string): ReservationCommand => ({ type: "Release", ...slugKey, owner });
const claimed = (owner: string): ReservationEvent => ({ type: "ReservationClaimed", data: { ...slugKey, owner } });
const released = (owner: string): ReservationEvent => ({ type: "ReservationReleased", data: { ...slugKey, owner } });

describe("reservation decider", () => {
  test("given no events / when Claim / then ReservationClaimed for the owner", () => {
    expect(run(reservation, [], claimBy(OWNER_A))).toStrictEqual({ events: [claimed(OWNER_A)] });
  });

  test("given a claim by A / when B claims / then conflict naming the label", () => {
    expect(run(reservation, [claimed(OWNER_A)], claimBy(OWNER_B))).toStrictEqual({
      error: { kind: "conflict", message: 'Organization slug "acme" is already taken' },
    });
  });

  test("given a claim by A / when A claims again / then no events (idempotent)", () => {
    expect(run(reservation, [claimed(OWNER_A)], claimBy(OWNER_A))).toStrictEqual({ events: [] });
  });

  test("given a claim by A / when B releases / then no events (only the holder releases)", () => {
    expect(run(reservation, [claimed(OWNER_A)], releaseBy(OWNER_B))).toStrictEqual({ events: [] });
  });

  test("given a claim by A and a stray release by B / when B claims / then still conflict", () => {
    expect(run(reservation, [claimed(OWNER_A), released(OWNER_B)], claimBy(OWNER_B))).toStrictEqual({
      error: { kind: "conflict", message: 'Organization slug "acme" is already taken' },
    });
  });

  test("given no events / when Release / then no events", () => {
    expect(run(reservation, [], releaseBy(OWNER_A))).toStrictEqual({ events: [] });
  });

  test("given a claim by A / when A releases / then ReservationReleased", () => {
    expect(run(reservation, [claimed(OWNER_A)], releaseBy(OWNER_A))).toStrictEqual({ events: [released(OWNER_A)] });
  });

  test("given a claim by A then its release / when B claims / then ReservationClaimed for B", () => {
    expect(run(reservation, [claimed(OWNER_A), released(OWNER_A)], claimBy(OWNER_B))).toStrictEqual({ events: [claimed(OWNER_B)] });
  });

  test("given a claim by A then its release / when A releases again / then no events", () => {
    expect(run(reservation, [claimed(OWNER_A), released(OWNER_A)], releaseBy(OWNER_A))).toStrictEqual({ events: [] });
  });
});

// ---------------------------------------------------------------- user

const USER_ID = "01900000-0000-7000-8000-0000000000c1";
const register: UserCommand = {
  type: "RegisterUser",
  userId: USER_ID,
  organizationId: ORG_ID,
  profile: { email: "ada@acme.test", username: "ada", first_name: "Ada", last_name: "Lovelace" },
  passwordSealed: "sealed-1",
  isActive: true,
  isVerified: false,
  roleIds: ["r1"],
  source: "admin",
};
const registered: UserEvent = {
  type: "UserRegistered",
  data: {
    user_id: USER_ID,
    organization_id: ORG_ID,
    email: "ada@acme.test",
    username: "ada",
    first_name: "Ada",
    last_name: "Lovelace",
    password_sealed: "sealed-1",
    is_active: true,
    is_verified: false,
    role_ids: ["r1"],
    source: "admin",
  },
};

describe("user decider", () => {
  test("given no events / when RegisterUser / then UserRegistered with the profile and the sealed password", () => {
    expect(run(user, [], register)).toStrictEqual({ events: [registered] });
  });

  test("given UserRegistered / when RegisterUser again / then conflict", () => {
    expect(run(user, [registered], register)).toStrictEqual({ error: { kind: "conflict", message: "User already exists" } });
  });

  test("given no events / when ChangePassword / then not_found", () => {
    expect(run(user, [], { type: "ChangePassword", passwordSealed: "sealed-2", reason: "change" })).toStrictEqual({
      error: { kind: "not_found", message: "User not found" },
    });
  });

  test("given a registered user / when ChangePassword / then PasswordChanged with the user's id and reason", () => {
    expect(run(user, [registered], { type: "ChangePassword", passwordSealed: "sealed-2", reason: "reset" })).toStrictEqual({
      events: [{ type: "PasswordChanged", data: { user_id: USER_ID, password_sealed: "sealed-2", reason: "reset" } }],
    });
  });

  test("given a registered user whose password changed / then the state holds the newest sealed password", () => {
    const changed: UserEvent = { type: "PasswordChanged", data: { user_id: USER_ID, password_sealed: "sealed-2", reason: "change" } };
    const state = [registered, changed].reduce(user.evolve, user.initialState());
    expect(state).toMatchObject({ status: "active", id: USER_ID, passwordSealed: "sealed-2" });
  });
});

// ---------------------------------------------------------------- session

const SESSION_ID = "01900000-0000-7000-8000-0000000000d1";
const startSession: SessionCommand = {
  type: "StartSession",
  sessionId: SESSION_ID,
  userId: USER_ID,
  organizationId: ORG_ID,
  refreshTokenHash: "hash-1",
  expiresAt: new Date("2030-01-02T03:04:05.000Z"),
};
const started: SessionEvent = {
  type: "SessionStarted",
  data: { session_id: SESSION_ID, user_id: USER_ID, organization_id: ORG_ID, refresh_token_hash: "hash-1", expires_at: "2030-01-02T03:04:05.000Z" },
};

describe("session decider", () => {
  test("given no events / when StartSession / then SessionStarted with the expiry as ISO text", () => {
    expect(run(session, [], startSession)).toStrictEqual({ events: [started] });
  });

  test("given SessionStarted / when StartSession again / then conflict", () => {
    expect(run(session, [started], startSession)).toStrictEqual({ error: { kind: "conflict", message: "Session already exists" } });
  });
});
