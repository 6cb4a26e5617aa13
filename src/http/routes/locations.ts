import { Elysia, t } from "elysia";
import type { Deps } from "../../deps";
import { authPlugin } from "../auth";
import { commandContext, requestContext } from "../request-context";
import { pageRequest, pageResponse, paginationQuery } from "../pagination";
import { locationJson, userJson } from "../presenters";
import type { UserLocation } from "../../../projections/locations/queries";
import {
  assignLocationsFor,
  createLocationFor,
  deleteLocationFor,
  findLocationFor,
  listLocationsFor,
  locationUsersFor,
  removeUserFromLocationFor,
  updateLocationFor,
  userLocationsFor,
} from "../../handlers/locations";

const id = t.String({ minLength: 1, maxLength: 100 });
const text = (maxLength: number) => t.Optional(t.Union([t.String({ maxLength }), t.Null()]));
const name = t.String({ minLength: 1, maxLength: 200 });
const code = t.String({ minLength: 1, maxLength: 50 });

const optionalFields = {
  description: text(2000),
  address: text(500),
  city: text(200),
  state: text(200),
  country: text(200),
  postal_code: text(50),
  is_active: t.Optional(t.Boolean()),
};

function userLocationsJson(userId: string, list: UserLocation[]) {
  return {
    user_id: userId,
    primary_location_id: list.find((l) => l.isPrimary)?.location.id ?? null,
    locations: list.map((l) => ({ ...locationJson(l.location), is_primary: l.isPrimary, assigned_at: l.assignedAt.toISOString() })),
    total: list.length,
  };
}

export function locationRoutes(deps: Deps) {
  return new Elysia({ prefix: "/locations", detail: { tags: ["Locations"] } })
    .use(requestContext)
    .use(authPlugin(deps))
    .get(
      "/",
      async ({ query, principal }) => {
        const page = pageRequest(query);
        const { rows, total } = await listLocationsFor(deps, principal, { search: query.search || undefined, isActive: query.is_active }, page);
        return pageResponse("locations", rows.map(locationJson), total, page);
      },
      {
        auth: { permission: "location.read" },
        query: t.Object({ ...paginationQuery, search: t.Optional(t.String({ maxLength: 200 })), is_active: t.Optional(t.BooleanString()) }),
        detail: { summary: "List locations: search (name, code, city, description), is_active" },
      },
    )
    .post(
      "/",
      async ({ body, meta, principal, set }) => {
        const row = await createLocationFor(deps, commandContext(meta, principal), principal, body);
        set.status = 201;
        return locationJson(row);
      },
      {
        auth: { permission: "location.create" },
        body: t.Object({ name, code, ...optionalFields, organization_id: t.Optional(id) }, { additionalProperties: false }),
        detail: { summary: "Create a location; code unique per organization ignoring case (a super admin names organization_id)" },
      },
    )
    .post(
      "/assign",
      async ({ body, meta, principal }) => {
        const { userId, locations } = await assignLocationsFor(deps, commandContext(meta, principal), principal, body);
        return { message: "Locations assigned successfully", ...userLocationsJson(userId, locations) };
      },
      {
        auth: { permission: "location.assign" },
        body: t.Object(
          {
            user_id: id,
            location_ids: t.Array(id, { minItems: 1, maxItems: 100 }),
            primary_location_id: t.Optional(t.Union([id, t.Null()])),
          },
          { additionalProperties: false },
        ),
        detail: {
          summary:
            "Assign a user to locations, in addition to those it has; primary_location_id (one of location_ids) becomes its one primary location (kept, or the first given, when omitted)",
        },
      },
    )
    .get(
      "/user/:user_id",
      async ({ params, principal }) => {
        const { userId, locations } = await userLocationsFor(deps, principal, params.user_id);
        return userLocationsJson(userId, locations);
      },
      { auth: { permission: "location.read" }, detail: { summary: "A user's locations, primary first (another user's also needs user.read)" } },
    )
    .delete(
      "/user/:user_id/location/:location_id",
      async ({ params, meta, principal }) => {
        await removeUserFromLocationFor(deps, commandContext(meta, principal), principal, params.user_id, params.location_id);
        return { message: "User removed from location" };
      },
      { auth: { permission: "location.assign" }, detail: { summary: "Remove a user from a location; removing its primary promotes its earliest remaining one" } },
    )
    .get("/:id", async ({ params, principal }) => locationJson(await findLocationFor(deps, principal, params.id)), {
      auth: { permission: "location.read" },
      detail: { summary: "Get a location" },
    })
    .put("/:id", async ({ params, body, meta, principal }) => locationJson(await updateLocationFor(deps, commandContext(meta, principal), principal, params.id, body)), {
      auth: { permission: "location.update" },
      body: t.Object({ name: t.Optional(name), code: t.Optional(code), ...optionalFields }, { additionalProperties: false }),
      detail: { summary: "Update a location" },
    })
    .delete(
      "/:id",
      async ({ params, meta, principal }) => {
        await deleteLocationFor(deps, commandContext(meta, principal), principal, params.id);
        return { message: "Deleted" };
      },
      { auth: { permission: "location.delete" }, detail: { summary: "Delete a location; its users' assignments end (UserRemovedFromLocation)" } },
    )
    .get(
      "/:id/users",
      async ({ params, query, principal }) => {
        const page = pageRequest(query);
        const { location, rows, total } = await locationUsersFor(deps, principal, params.id, page);
        const users = rows.map((r) => ({ ...userJson(deps, r.user), is_primary: r.isPrimary, assigned_at: r.assignedAt.toISOString() }));
        return { ...pageResponse("users", users, total, page), location_id: location.id };
      },
      {
        auth: { permission: "location.read" },
        query: t.Object(paginationQuery),
        detail: { summary: "The users assigned to a location (also needs user.read)" },
      },
    );
}
