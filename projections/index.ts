/** Every read model the projector maintains. */
import { organizationsProjection } from "./organizations/projection";
import { usersProjection } from "./users/projection";
import { rolesProjection } from "./roles/projection";
import { sessionsProjection } from "./sessions/projection";
import { permissionsProjection } from "./permissions/projection";
import { apiKeysProjection } from "./api-keys/projection";
import { roleRequestsProjection } from "./role-requests/projection";
import { locationsProjection, userLocationsProjection } from "./locations/projection";
import { dataSourcesProjection } from "./data-sources/projection";
import { databaseAccessProjection } from "./database-access/projection";
import { auditLogProjection } from "./audit-log/projection";
import { queryHistoryProjection } from "./query-history/projection";
import { chatProjection } from "./chat/projection";
import { usageProjection } from "./usage/projection";
import { authActivityProjection } from "./auth-activity/projection";
import type { Projection } from "./runner/projection";

export const allProjections: readonly Projection[] = [organizationsProjection, usersProjection, rolesProjection, sessionsProjection, permissionsProjection, apiKeysProjection, roleRequestsProjection, locationsProjection, userLocationsProjection, dataSourcesProjection, databaseAccessProjection, auditLogProjection, queryHistoryProjection, chatProjection, usageProjection, authActivityProjection];
