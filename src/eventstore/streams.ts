/** Stream names: `<category>-<id>`, one stream per aggregate (SPEC.md "Events"). */
export const stream = {
  organization: (id: string) => `organization-${id}`,
  user: (id: string) => `user-${id}`,
  session: (id: string) => `session-${id}`,
  /** Uniqueness claims: appended with an expected revision, so two writers cannot both win. */
  reservation: (kind: string, key: string) => `reservation-${kind}-${key}`,
} as const;

export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash < 0 ? streamId : streamId.slice(0, dash);
}
