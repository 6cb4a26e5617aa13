/**
 * Both pagination styles of the seeds: `?page&size` and `?skip&limit`.
 * Response: `{ <plural>: [...], total, page, size, pages }`.
 */
import { t } from "elysia";

export const MAX_PAGE_SIZE = 1000;

/** Bounded so the offset stays an ordinary integer: 1e20 would fail in SQL as a 500. */
export const MAX_OFFSET = 1_000_000_000;

export const paginationQuery = {
  page: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_OFFSET / MAX_PAGE_SIZE })),
  size: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_PAGE_SIZE })),
  skip: t.Optional(t.Numeric({ minimum: 0, maximum: MAX_OFFSET })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_PAGE_SIZE })),
};

export interface PageRequest {
  offset: number;
  limit: number;
  page: number;
  size: number;
}

export function pageRequest(q: { page?: number; size?: number; skip?: number; limit?: number }, defaultSize = 20): PageRequest {
  if (q.skip !== undefined || (q.limit !== undefined && q.page === undefined && q.size === undefined)) {
    const limit = Math.floor(q.limit ?? defaultSize);
    const offset = Math.floor(q.skip ?? 0);
    return { offset, limit, page: Math.floor(offset / limit) + 1, size: limit };
  }
  const size = Math.floor(q.size ?? q.limit ?? defaultSize);
  const page = Math.floor(q.page ?? 1);
  return { offset: (page - 1) * size, limit: size, page, size };
}

export function pageResponse<K extends string, T>(key: K, items: T[], total: number, req: PageRequest) {
  return { [key]: items, total, page: req.page, size: req.size, pages: Math.max(1, Math.ceil(total / req.size)) } as { [P in K]: T[] } & {
    total: number;
    page: number;
    size: number;
    pages: number;
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: string) => UUID.test(s);
