/**
 * Domain errors: thrown by `decide` and handlers, mapped centrally to problem+json
 * (src/http/errors.ts). Business code never picks HTTP status codes itself.
 */
export type DomainErrorKind =
  | "validation" // 422: input that is well-formed but breaks a rule
  | "bad_request" // 400
  | "unauthorized" // 401
  | "forbidden" // 403
  | "not_found" // 404
  | "conflict" // 409
  | "gone" // 410
  | "too_many" // 429
  | "unavailable"; // 503

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly extra: { errors?: Array<{ path: string; message: string }>; retryAfterSeconds?: number; /** The permission a 403 lacked (recorded in AccessDenied). */ permission?: string } = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);
export const conflict = (message: string) => new DomainError("conflict", message);
export const invalid = (path: string, message: string) =>
  new DomainError("validation", message, { errors: [{ path, message }] });
export const forbidden = (message = "You do not have permission to perform this action") =>
  new DomainError("forbidden", message);
