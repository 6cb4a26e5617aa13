/** Stream names: `<category>-<id>`, one stream per aggregate (SPEC.md "Events"). */
export const stream = {
  organization: (id: string) => `organization-${id}`,
  user: (id: string) => `user-${id}`,
  session: (id: string) => `session-${id}`,
  role: (id: string) => `role-${id}`,
  permission: (id: string) => `permission-${id}`,
  roleRequest: (id: string) => `role_request-${id}`,
  location: (id: string) => `location-${id}`,
  apiKey: (id: string) => `apikey-${id}`,
  /** Login attempts and lockout of one user. */
  login: (userId: string) => `login-${userId}`,
  /** How many users an organization has, against max_users. */
  seats: (organizationId: string) => `seats-${organizationId}`,
  idempotency: (key: string) => `idempotency-${key}`,
  /** Refused requests (AccessDenied) of one organization, or "anonymous". */
  security: (organizationId: string) => `security-${organizationId}`,
  dataSource: (id: string) => `data_source-${id}`,
  /** One user's database access grants (granted, revoked, expired). */
  databaseAccess: (userId: string) => `database_access-${userId}`,
  /** One query's outcome (QueryExecuted/Rejected/Failed) and its hiding from history. */
  query: (id: string) => `query-${id}`,
  chatSession: (id: string) => `chat_session-${id}`,
  /** An organization's token limits (TokenLimitsSet), each event the whole configuration. */
  tokenLimits: (organizationId: string) => `token_limits-${organizationId}`,
  /** Uniqueness claims: appended with an expected revision, so two writers cannot both win. */
  reservation: (kind: string, key: string) => `reservation-${kind}-${key}`,
} as const;

export function categoryOf(streamId: string): string {
  const dash = streamId.indexOf("-");
  return dash < 0 ? streamId : streamId.slice(0, dash);
}
