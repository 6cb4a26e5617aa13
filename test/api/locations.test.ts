/**
 * Locations over HTTP: seed 002's "Location Management" examples as written under /api
 * and /api/v1; CRUD rules (code unique per organization ignoring case, also under
 * concurrency), listing (search, is_active, both pagination styles); assignments (added
 * to what a user has, exactly one primary also under concurrency, removing the primary
 * promotes another, deleting a location ends its assignments with events); permissions;
 * tenancy: every id of another organization is 404 and changes nothing; and that the
 * read models rebuilt from zero equal the live ones.
 */
import { describe, expect, test as bunTest } from "bun:test";
import { serviceKinds, type TestService } from "../support/app";
import { Projector } from "../../projections/runner/projector";
import { allProjections } from "../../projections";
import { handleCommand } from "../../src/eventstore/handle-command";
import { systemContext } from "../../src/eventstore/context";
import { location } from "../../src/domain/location";
import { settle } from "../../src/deps";
import { ISO_UTC, TEST_TIMEOUT_MS, uniq, UUID_V7 } from "./_helpers";
import { apiSuite, type Tenant } from "./_tenant";

const test = (name: string, fn: () => unknown, timeoutMs = TEST_TIMEOUT_MS) => bunTest(name, fn as () => Promise<void>, timeoutMs);

const V1 = "/api/v1";

const SEED_CREATE = {
  name: "Main Office",
  code: "MAIN-001",
  description: "Main office location",
  address: "123 Business Street",
  city: "New York",
  state: "NY",
  country: "USA",
  postal_code: "10001",
};

const SEED_UPDATE = {
  name: "Updated Main Office",
  description: "Updated main office location",
  address: "456 Updated Business Street",
  city: "New York",
  state: "NY",
  country: "USA",
  postal_code: "10002",
  is_active: true,
};

const idsOf = (items: Array<{ id: string }>) => items.map((i) => i.id);

describe.each(serviceKinds())("locations (%s)", (kind) => {
  let s: TestService;
  let root: string;
  const { call, ok, problem, tenant, addMember } = apiSuite(kind, (started) => ({ s, root } = started));

  const create = async (org: Tenant, extra: Record<string, unknown> = {}) => {
    const tag = uniq("L");
    return ok(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: `Site ${tag}`, code: tag.toUpperCase(), ...extra } }), 201);
  };

  const list = (token: string, query = "", base = V1) => call("GET", `${base}/locations${query ? `?${query}` : ""}`, { token });
  const get = (token: string, id: string, base = V1) => call("GET", `${base}/locations/${id}`, { token });
  const assign = (token: string, body: Record<string, unknown>, base = V1) => call("POST", `${base}/locations/assign`, { token, body });
  const userLocations = (token: string, userId: string, base = V1) => call("GET", `${base}/locations/user/${userId}`, { token });
  const unassign = (token: string, userId: string, locationId: string, base = V1) => call("DELETE", `${base}/locations/user/${userId}/location/${locationId}`, { token });
  const locationUsers = (token: string, id: string, query = "", base = V1) => call("GET", `${base}/locations/${id}/users${query ? `?${query}` : ""}`, { token });
  /** `[location id, is_primary]` of a user, primary first. */
  const placements = async (org: Tenant, userId: string) =>
    (ok(await userLocations(org.adminToken, userId)).locations as any[]).map((l) => [l.id, l.is_primary] as [string, boolean]);
  const streamTypes = async (id: string) => (await s.deps.store.readStream(id)).map((e) => e.type);

  describe.each(["/api/v1", "/api"])("seed 002 examples under %s", (prefix) => {
    test("given seed 002, when every location call is made as written, then each succeeds as documented", async () => {
      const org = await tenant();
      const user = await addMember(org);

      const created = ok(await call("POST", `${prefix}/locations`, { token: org.adminToken, body: SEED_CREATE }), 201);
      expect(created).toMatchObject({ ...SEED_CREATE, organization_id: org.id, is_active: true });
      expect(created.id).toMatch(UUID_V7);
      expect(created.created_at).toMatch(ISO_UTC);
      const id = created.id;

      const listed = ok(await list(org.adminToken, "skip=0&limit=100&search=&is_active=true", prefix));
      expect(listed).toMatchObject({ total: 1, page: 1, size: 100, pages: 1 });
      expect(listed.locations).toEqual([created]);

      expect(ok(await get(org.adminToken, id, prefix))).toEqual(created);

      const updated = ok(await call("PUT", `${prefix}/locations/${id}`, { token: org.adminToken, body: SEED_UPDATE }));
      expect(updated).toMatchObject({ ...SEED_UPDATE, id, code: "MAIN-001" });

      const second = await create(org);
      const assigned = ok(await assign(org.adminToken, { user_id: user.id, location_ids: [id, second.id], primary_location_id: id }, prefix));
      expect(assigned).toMatchObject({ message: "Locations assigned successfully", user_id: user.id, primary_location_id: id, total: 2 });
      expect(assigned.locations.map((l: any) => [l.id, l.is_primary])).toEqual([
        [id, true],
        [second.id, false],
      ]);

      const mine = ok(await userLocations(org.adminToken, user.id, prefix));
      expect(mine).toMatchObject({ user_id: user.id, primary_location_id: id, total: 2 });
      expect(mine.locations[0]).toMatchObject({ ...SEED_UPDATE, id, is_primary: true });
      expect(mine.locations[0].assigned_at).toMatch(ISO_UTC);

      const users = ok(await locationUsers(org.adminToken, id, "skip=0&limit=100", prefix));
      expect(users).toMatchObject({ total: 1, page: 1, size: 100, location_id: id });
      expect(users.users[0]).toMatchObject({ id: user.id, is_primary: true });

      expect(ok(await unassign(org.adminToken, user.id, second.id, prefix))).toEqual({ message: "User removed from location" });
      expect(await placements(org, user.id)).toEqual([[id, true]]);

      expect(ok(await call("DELETE", `${prefix}/locations/${id}`, { token: org.adminToken }))).toEqual({ message: "Deleted" });
      problem(await get(org.adminToken, id, prefix), 404);
      expect(ok(await userLocations(org.adminToken, user.id, prefix))).toMatchObject({ locations: [], primary_location_id: null, total: 0 });
      expect(await streamTypes(`location-${id}`)).toEqual(["LocationCreated", "LocationUpdated", "LocationDeleted"]);
      expect(await streamTypes(`user_locations-${user.id}`)).toEqual(["UserAssignedToLocations", "UserRemovedFromLocation", "UserRemovedFromLocation"]);
    });
  });

  describe("locations", () => {
    test("given a location, when another is created or updated with its code in another case, then 409 and nothing changes; another organization may use it", async () => {
      const org = await tenant();
      const a = await create(org, { code: "HQ-1" });
      const b = await create(org);
      problem(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: "Dup", code: "hq-1" } }), 409);
      problem(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: "Dup", code: " HQ-1 " } }), 409);
      problem(await call("PUT", `${V1}/locations/${b.id}`, { token: org.adminToken, body: { code: "Hq-1", name: "Renamed" } }), 409);
      expect(ok(await get(org.adminToken, b.id))).toEqual(b);
      expect(ok(await list(org.adminToken)).total).toBe(2);

      const other = await tenant();
      expect(ok(await call("POST", `${V1}/locations`, { token: other.adminToken, body: { name: "Theirs", code: "HQ-1" } }), 201).code).toBe("HQ-1");

      // A code change in case only keeps the claim; a real change frees the old code.
      expect(ok(await call("PUT", `${V1}/locations/${a.id}`, { token: org.adminToken, body: { code: "hq-1" } })).code).toBe("hq-1");
      ok(await call("PUT", `${V1}/locations/${a.id}`, { token: org.adminToken, body: { code: "HQ-2" } }));
      expect(ok(await call("PUT", `${V1}/locations/${b.id}`, { token: org.adminToken, body: { code: "HQ-1" } })).code).toBe("HQ-1");
      // Deleting frees the code too.
      ok(await call("DELETE", `${V1}/locations/${a.id}`, { token: org.adminToken }));
      ok(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: "Again", code: "hq-2" } }), 201);
    });

    test("given a location deleted without its code claim being released (a crash), when its code is used again, then it is accepted", async () => {
      const org = await tenant();
      const loc = await create(org);
      // The delete's event lands, the release after it never happens.
      const { position } = await handleCommand(s.deps.store, `location-${loc.id}`, location, { type: "DeleteLocation" }, { ...systemContext(), organizationId: org.id });
      await settle(s.deps, position);
      const again = ok(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: "Reborn", code: loc.code.toLowerCase() } }), 201);
      expect(again.id).not.toBe(loc.id);
      problem(await call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: "Dup", code: loc.code } }), 409);
    });

    test("given ten creations with the same code at the same time, then exactly one is created", async () => {
      const org = await tenant();
      const code = uniq("C");
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => call("POST", `${V1}/locations`, { token: org.adminToken, body: { name: `N${i}`, code } })));
      expect(replies.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(409)]);
      expect(ok(await list(org.adminToken)).total).toBe(1);
    });

    test("given locations, when listed with search, is_active and both pagination styles, then the right slices", async () => {
      const org = await tenant();
      const word = uniq("w");
      const a = await create(org, { name: `North ${word}` });
      const b = await create(org, { city: word.toUpperCase() });
      const c = await create(org, { is_active: false, description: `old ${word}` });
      const d = await create(org);
      const e = await create(org);
      expect(idsOf(ok(await list(org.adminToken, `search=${word.toUpperCase()}`)).locations)).toEqual([a.id, b.id, c.id]);
      expect(idsOf(ok(await list(org.adminToken, `search=${encodeURIComponent(d.code.toLowerCase())}`)).locations)).toEqual([d.id]);
      expect(ok(await list(org.adminToken, `search=${encodeURIComponent("%")}`)).total).toBe(0);
      expect(idsOf(ok(await list(org.adminToken, "is_active=false")).locations)).toEqual([c.id]);
      expect(ok(await list(org.adminToken, "is_active=true")).total).toBe(4);
      const p2 = ok(await list(org.adminToken, "page=2&size=2"));
      expect(p2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(p2.locations)).toEqual([c.id, d.id]);
      const s2 = ok(await list(org.adminToken, "skip=2&limit=2"));
      expect(s2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(s2.locations)).toEqual([c.id, d.id]);
      expect(idsOf(ok(await list(org.adminToken, "skip=4&limit=2")).locations)).toEqual([e.id]);
      problem(await list(org.adminToken, "is_active=maybe"), 422);
      problem(await list(org.adminToken, "limit=0"), 422);
    });

    test("given invalid bodies, when creating or updating, then 422 and nothing changes", async () => {
      const org = await tenant();
      const loc = await create(org);
      for (const body of [{ code: "X1" }, { name: "No code" }, { name: "", code: "X2" }, { name: "  ", code: "X3" }, { name: "X", code: "X4", is_admin: true }, { name: "X", code: "X5", is_active: "yes" }]) {
        problem(await call("POST", `${V1}/locations`, { token: org.adminToken, body }), 422);
      }
      for (const body of [{ code: "" }, { name: " " }, { organization_id: org.id }, { bogus: 1 }]) {
        problem(await call("PUT", `${V1}/locations/${loc.id}`, { token: org.adminToken, body }), 422);
      }
      expect(ok(await list(org.adminToken)).locations).toEqual([loc]);
      expect(await streamTypes(`location-${loc.id}`)).toEqual(["LocationCreated"]);
    });

    test("given a member without the permissions, when creating, updating, deleting or assigning, then 403 and nothing changes; reading is allowed", async () => {
      const org = await tenant();
      const loc = await create(org);
      const m = await addMember(org);
      problem(await call("POST", `${V1}/locations`, { token: m.token, body: { name: "Mine", code: "MINE" } }), 403);
      problem(await call("PUT", `${V1}/locations/${loc.id}`, { token: m.token, body: { name: "Mine" } }), 403);
      problem(await call("DELETE", `${V1}/locations/${loc.id}`, { token: m.token }), 403);
      problem(await assign(m.token, { user_id: m.id, location_ids: [loc.id] }), 403);
      expect(ok(await list(m.token)).locations).toEqual([loc]);
      expect(ok(await get(m.token, loc.id))).toEqual(loc);
      // A manager may create and update but not delete.
      const mgr = await addMember(org, { role: "manager" });
      const made = ok(await call("POST", `${V1}/locations`, { token: mgr.token, body: { name: "Mgr", code: uniq("M") } }), 201);
      ok(await call("PUT", `${V1}/locations/${made.id}`, { token: mgr.token, body: { city: "Oslo" } }));
      problem(await call("DELETE", `${V1}/locations/${made.id}`, { token: mgr.token }), 403);
      ok(await get(org.adminToken, made.id));
      problem(await call("GET", `${V1}/locations`), 401);
    });

    test("given unknown and malformed ids, when read, updated, deleted or listing users, then 404", async () => {
      const org = await tenant();
      for (const id of [Bun.randomUUIDv7(), "not-a-uuid", "00000000-0000-0000-0000-000000000000"]) {
        problem(await get(org.adminToken, id), 404);
        problem(await call("PUT", `${V1}/locations/${id}`, { token: org.adminToken, body: { name: "x" } }), 404);
        problem(await call("DELETE", `${V1}/locations/${id}`, { token: org.adminToken }), 404);
        problem(await locationUsers(org.adminToken, id), 404);
      }
    });

    test("given the super admin, when creating without and with organization_id, then 422 or the location lands in that organization", async () => {
      const org = await tenant();
      problem(await call("POST", `${V1}/locations`, { token: root, body: { name: "X", code: uniq("S") } }), 422);
      problem(await call("POST", `${V1}/locations`, { token: root, body: { name: "X", code: uniq("S"), organization_id: Bun.randomUUIDv7() } }), 404);
      const made = ok(await call("POST", `${V1}/locations`, { token: root, body: { name: "X", code: uniq("S"), organization_id: org.id } }), 201);
      expect(made.organization_id).toBe(org.id);
      expect(idsOf(ok(await list(org.adminToken)).locations)).toEqual([made.id]);
    });
  });

  describe("assignments", () => {
    test("given assignments, when more are assigned, then they add up with exactly one primary; omitting the primary keeps it", async () => {
      const org = await tenant();
      const u = await addMember(org);
      const [l1, l2, l3, l4] = await Promise.all([1, 2, 3, 4].map(() => create(org)));
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id], primary_location_id: l1.id }));
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l2.id, l3.id], primary_location_id: l3.id }));
      expect(await placements(org, u.id)).toEqual([
        [l3.id, true],
        [l1.id, false],
        [l2.id, false],
      ]);
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l4.id] }));
      expect((await placements(org, u.id)).filter(([, p]) => p)).toEqual([[l3.id, true]]);
      // Re-assigning what it has with the same primary records nothing; a new primary moves it.
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id, l3.id], primary_location_id: l3.id }));
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id], primary_location_id: l1.id }));
      expect((await placements(org, u.id)).filter(([, p]) => p)).toEqual([[l1.id, true]]);
      expect(await streamTypes(`user_locations-${u.id}`)).toEqual(["UserAssignedToLocations", "UserAssignedToLocations", "UserAssignedToLocations", "UserAssignedToLocations"]);
      // A first assignment without a primary makes the first given one primary.
      const v = await addMember(org);
      ok(await assign(org.adminToken, { user_id: v.id, location_ids: [l2.id, l1.id] }));
      expect(await placements(org, v.id)).toEqual([
        [l2.id, true],
        [l1.id, false],
      ]);
    });

    test("given a primary that is not among location_ids, or bad bodies, when assigning, then 422 and nothing changes", async () => {
      const org = await tenant();
      const u = await addMember(org);
      const [l1, l2] = await Promise.all([create(org), create(org)]);
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id] }));
      for (const body of [
        { user_id: u.id, location_ids: [l2.id], primary_location_id: l1.id },
        { user_id: u.id, location_ids: [] },
        { user_id: u.id },
        { location_ids: [l2.id] },
        { user_id: u.id, location_ids: [l2.id], role: "x" },
      ]) {
        problem(await assign(org.adminToken, body), 422);
      }
      expect(await placements(org, u.id)).toEqual([[l1.id, true]]);
      expect(await streamTypes(`user_locations-${u.id}`)).toEqual(["UserAssignedToLocations"]);
    });

    test("given unknown users or locations, when assigning or removing, then 404 and nothing changes", async () => {
      const org = await tenant();
      const u = await addMember(org);
      const l1 = await create(org);
      const gone = await create(org);
      ok(await call("DELETE", `${V1}/locations/${gone.id}`, { token: org.adminToken }));
      for (const location_ids of [[Bun.randomUUIDv7()], ["not-a-uuid"], [l1.id, gone.id]]) {
        problem(await assign(org.adminToken, { user_id: u.id, location_ids }), 404);
      }
      for (const user_id of [Bun.randomUUIDv7(), "not-a-uuid"]) problem(await assign(org.adminToken, { user_id, location_ids: [l1.id] }), 404);
      problem(await unassign(org.adminToken, u.id, l1.id), 404);
      problem(await unassign(org.adminToken, u.id, "not-a-uuid"), 404);
      problem(await unassign(org.adminToken, Bun.randomUUIDv7(), l1.id), 404);
      problem(await userLocations(org.adminToken, Bun.randomUUIDv7()), 404);
      expect(await placements(org, u.id)).toEqual([]);
      expect(await streamTypes(`user_locations-${u.id}`)).toEqual([]);
    });

    test("given a user's primary location, when the user is removed from it, then its earliest remaining location becomes primary", async () => {
      const org = await tenant();
      const u = await addMember(org);
      const [l1, l2, l3] = await Promise.all([1, 2, 3].map(() => create(org)));
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id, l2.id, l3.id], primary_location_id: l2.id }));
      ok(await unassign(org.adminToken, u.id, l2.id));
      expect(await placements(org, u.id)).toEqual([
        [l1.id, true],
        [l3.id, false],
      ]);
      ok(await unassign(org.adminToken, u.id, l3.id));
      expect(await placements(org, u.id)).toEqual([[l1.id, true]]);
      ok(await unassign(org.adminToken, u.id, l1.id));
      expect(ok(await userLocations(org.adminToken, u.id))).toMatchObject({ locations: [], primary_location_id: null });
      problem(await unassign(org.adminToken, u.id, l1.id), 404);
    });

    test("given a location with users, when it is deleted, then each user's assignment ends with an event and a primary is promoted", async () => {
      const org = await tenant();
      const [u, v] = [await addMember(org), await addMember(org)];
      const [doomed, other] = await Promise.all([create(org), create(org)]);
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [doomed.id, other.id], primary_location_id: doomed.id }));
      ok(await assign(org.adminToken, { user_id: v.id, location_ids: [doomed.id] }));
      expect(ok(await locationUsers(org.adminToken, doomed.id)).total).toBe(2);
      ok(await call("DELETE", `${V1}/locations/${doomed.id}`, { token: org.adminToken }));
      expect(await placements(org, u.id)).toEqual([[other.id, true]]);
      expect(await placements(org, v.id)).toEqual([]);
      for (const id of [u.id, v.id]) {
        const last = (await s.deps.store.readStream(`user_locations-${id}`)).at(-1)!;
        expect(last.type).toBe("UserRemovedFromLocation");
        expect(last.data).toMatchObject({ location_id: doomed.id, reason: "location_deleted" });
      }
      const [{ n }] = await s.deps.db.query<{ n: number }>("select count(*)::int as n from user_locations where location_id = $1", [doomed.id]);
      expect(n).toBe(0);
    });

    test("given two assignments with different primaries at the same time, then the user ends with exactly one primary", async () => {
      for (let round = 0; round < 3; round++) {
        const org = await tenant();
        const u = await addMember(org);
        const [l1, l2, l3] = await Promise.all([1, 2, 3].map(() => create(org)));
        const replies = await Promise.all([
          assign(org.adminToken, { user_id: u.id, location_ids: [l1.id, l2.id], primary_location_id: l1.id }),
          assign(org.adminToken, { user_id: u.id, location_ids: [l2.id, l3.id], primary_location_id: l3.id }),
        ]);
        for (const r of replies) ok(r);
        const placed = await placements(org, u.id);
        expect(placed.map(([id]) => id).sort()).toEqual([l1.id, l2.id, l3.id].sort());
        expect(placed.filter(([, p]) => p).length).toBe(1);
        expect([l1.id, l3.id]).toContain(placed[0][0]);
      }
    });

    test("given a plain member, when it reads its own, another's or a location's users, then only its own is allowed", async () => {
      const org = await tenant({ members: [{}, {}] });
      const [m, other] = org.members;
      const loc = await create(org);
      ok(await assign(org.adminToken, { user_id: m.id, location_ids: [loc.id] }));
      expect(ok(await userLocations(m.token, m.id)).locations.map((l: any) => l.id)).toEqual([loc.id]);
      problem(await userLocations(m.token, other.id), 403);
      problem(await locationUsers(m.token, loc.id), 403);
      problem(await unassign(m.token, m.id, loc.id), 403);
      const mgr = await addMember(org, { role: "manager" });
      expect(ok(await locationUsers(mgr.token, loc.id)).users.map((u: any) => u.id)).toEqual([m.id]);
    });

    test("given five users at a location, when its users are paged both ways, then the same slices", async () => {
      const org = await tenant();
      const loc = await create(org);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const u = await addMember(org);
        ok(await assign(org.adminToken, { user_id: u.id, location_ids: [loc.id] }));
        ids.push(u.id);
      }
      const p2 = ok(await locationUsers(org.adminToken, loc.id, "page=2&size=2"));
      expect(p2).toMatchObject({ total: 5, page: 2, size: 2, pages: 3 });
      expect(idsOf(p2.users)).toEqual(ids.slice(2, 4));
      const s2 = ok(await locationUsers(org.adminToken, loc.id, "skip=2&limit=2"));
      expect(idsOf(s2.users)).toEqual(ids.slice(2, 4));
      for (const u of s2.users) expect(u.is_primary).toBe(true);
    });
  });

  describe("tenancy", () => {
    test("given organizations A and B, when B's admin addresses A's locations and users, then 404 everywhere and nothing changes", async () => {
      const a = await tenant();
      const b = await tenant();
      const aUser = await addMember(a);
      const bUser = await addMember(b);
      const aLoc = await create(a);
      const bLoc = await create(b);
      ok(await assign(a.adminToken, { user_id: aUser.id, location_ids: [aLoc.id] }));

      problem(await get(b.adminToken, aLoc.id), 404);
      problem(await call("PUT", `${V1}/locations/${aLoc.id}`, { token: b.adminToken, body: { name: "Stolen" } }), 404);
      problem(await call("DELETE", `${V1}/locations/${aLoc.id}`, { token: b.adminToken }), 404);
      problem(await locationUsers(b.adminToken, aLoc.id), 404);
      problem(await userLocations(b.adminToken, aUser.id), 404);
      problem(await unassign(b.adminToken, aUser.id, aLoc.id), 404);
      // A's user to B's location, B's user to A's location, A's user with a mix.
      problem(await assign(b.adminToken, { user_id: aUser.id, location_ids: [bLoc.id] }), 404);
      problem(await assign(b.adminToken, { user_id: bUser.id, location_ids: [aLoc.id] }), 404);
      problem(await assign(a.adminToken, { user_id: aUser.id, location_ids: [aLoc.id, bLoc.id], primary_location_id: bLoc.id }), 404);
      problem(await assign(a.adminToken, { user_id: bUser.id, location_ids: [aLoc.id] }), 404);
      problem(await unassign(a.adminToken, aUser.id, bLoc.id), 404);
      problem(await call("POST", `${V1}/locations`, { token: b.adminToken, body: { name: "Theirs", code: uniq("T"), organization_id: a.id } }), 404);
      expect(idsOf(ok(await list(b.adminToken, "size=1000")).locations)).toEqual([bLoc.id]);
      expect(ok(await list(b.adminToken, `search=${encodeURIComponent(aLoc.code)}`)).total).toBe(0);

      expect(ok(await get(a.adminToken, aLoc.id))).toEqual(aLoc);
      expect(await placements(a, aUser.id)).toEqual([[aLoc.id, true]]);
      expect(ok(await userLocations(b.adminToken, bUser.id)).locations).toEqual([]);
      expect(await streamTypes(`location-${aLoc.id}`)).toEqual(["LocationCreated"]);
      expect(await streamTypes(`user_locations-${aUser.id}`)).toEqual(["UserAssignedToLocations"]);
      expect(await streamTypes(`user_locations-${bUser.id}`)).toEqual([]);
      ok(await call("POST", `${V1}/locations`, { token: a.adminToken, body: { name: "Own", code: uniq("T"), organization_id: a.id } }), 201);
    });
  });

  describe("rebuild", () => {
    // Last in the suite: it stops the live projector.
    test("given everything this suite recorded, when the read models are rebuilt from zero, then they equal the live ones", async () => {
      const rows = async () => {
        const out: unknown[] = [];
        for (const table of ["locations", "user_locations"]) {
          out.push(await s.deps.db.query(`select * from ${table} order by id`));
        }
        return out;
      };
      // Some of each kind of row even when this test runs alone.
      const org = await tenant();
      const u = await addMember(org);
      const [l1, l2, l3] = await Promise.all([1, 2, 3].map(() => create(org)));
      ok(await assign(org.adminToken, { user_id: u.id, location_ids: [l1.id, l2.id, l3.id], primary_location_id: l2.id }));
      ok(await unassign(org.adminToken, u.id, l2.id));
      ok(await call("PUT", `${V1}/locations/${l3.id}`, { token: org.adminToken, body: { city: "Lima" } }));
      ok(await call("DELETE", `${V1}/locations/${l1.id}`, { token: org.adminToken }));
      await s.deps.projector.waitFor(await s.deps.store.headPosition());
      const live = await rows();
      expect((live[1] as unknown[]).length).toBeGreaterThan(0);
      await s.deps.projector.stop();
      const names = ["locations", "user_locations"];
      await new Projector(s.deps.store, s.deps.db, allProjections.filter((p) => names.includes(p.name))).rebuild(names);
      expect(await rows()).toEqual(live);
    });
  });
});
