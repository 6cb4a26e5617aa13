/**
 * Tamper evidence for the event stream. Each event's content hash is SHA-256 over a
 * canonical JSON encoding of {id, type, data, metadata}; its chain hash is
 * SHA-256(previous chain hash || content hash), the previous hash being 32 zero bytes
 * for the first event of a stream. Changing, removing or reordering any stored event
 * therefore breaks every later hash of its stream.
 *
 * Canonical JSON: object keys sorted by UTF-16 code units at every depth, keys whose value
 * is undefined dropped, everything else exactly as JSON.stringify writes it. The encoding
 * is computed from JavaScript values both when appending and when verifying, so it does
 * not depend on how a store lays out its JSON (jsonb reorders keys).
 */
import { createHash } from "node:crypto";

export const ZERO_HASH = Buffer.alloc(32);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined || typeof v === "function" ? "null" : canonicalJson(v))).join(",")}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  }
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === "function") continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(",")}}`;
}

export interface HashableEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: unknown;
}

export function contentHash(event: HashableEvent): Buffer {
  return createHash("sha256")
    .update(canonicalJson({ id: event.id, type: event.type, data: event.data, metadata: event.metadata }), "utf8")
    .digest();
}

export function chainHash(previous: Buffer | null, content: Buffer): Buffer {
  return createHash("sha256").update(previous ?? ZERO_HASH).update(content).digest();
}
