/** Every read model the projector maintains. */
import { organizationsProjection } from "./organizations/projection";
import { usersProjection } from "./users/projection";
import { rolesProjection } from "./roles/projection";
import { sessionsProjection } from "./sessions/projection";
import { permissionsProjection } from "./permissions/projection";
import { apiKeysProjection } from "./api-keys/projection";
import { roleRequestsProjection } from "./role-requests/projection";
import { locationsProjection, userLocationsProjection } from "./locations/projection";
import type { Projection } from "./runner/projection";

export const allProjections: readonly Projection[] = [organizationsProjection, usersProjection, rolesProjection, sessionsProjection, permissionsProjection, apiKeysProjection, roleRequestsProjection, locationsProjection, userLocationsProjection];
