/**
 * The limiter's periods, all in UTC: a user's token budget runs per day, an
 * organization's per calendar month, request rates per fixed one-minute window.
 */
export const RATE_WINDOW_MS = 60_000;

/** `YYYY-MM-DD` of the UTC day containing `at`. */
export const dayStart = (at: Date): string => at.toISOString().slice(0, 10);

/** `YYYY-MM-01` of the UTC month containing `at`. */
export const monthStart = (at: Date): string => `${at.toISOString().slice(0, 7)}-01`;

export function nextDay(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

export function nextMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}

export function windowStart(at: Date, windowMs = RATE_WINDOW_MS): Date {
  return new Date(Math.floor(at.getTime() / windowMs) * windowMs);
}

/** Whole seconds from `at` until `until`, at least 1 (a Retry-After of 0 invites a busy loop). */
export function secondsUntil(at: Date, until: Date): number {
  return Math.max(1, Math.ceil((until.getTime() - at.getTime()) / 1000));
}
