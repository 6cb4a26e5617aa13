/** Every read model the projector maintains. */
import { organizationsProjection } from "./organizations/projection";
import { usersProjection } from "./users/projection";
import type { Projection } from "./runner/projection";

export const allProjections: readonly Projection[] = [organizationsProjection, usersProjection];
