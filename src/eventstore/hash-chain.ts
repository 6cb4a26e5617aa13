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
  // Written for speed (every append hashes its events): string building instead of
  // map/join, and keys sorted only when they are not in order already. The encoding is
  // fixed: test/unit/hash-chain-encoding.test.ts checks it against the plain definition.
  if (value === null) return "null";
  if (typeof value !== "object") {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (i > 0) out += ",";
      out += v === undefined || typeof v === "function" ? "null" : canonicalJson(v);
    }
    return out + "]";
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) {
      keys.sort();
      break;
    }
  }
  let out = "{";
  let first = true;
  for (const key of keys) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === "function") continue;
    if (!first) out += ",";
    first = false;
    out += JSON.stringify(key) + ":" + canonicalJson(v);
  }
  return out + "}";
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
