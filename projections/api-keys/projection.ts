import type { RecordedEvent } from "../../src/eventstore/port";
import type { ApiKeyEvent } from "../../src/domain/api-key";
import { entityProjection } from "../runner/entity-projection";
import { apiKeys, type ApiKeyRow } from "./schema";

export const apiKeysProjection = entityProjection<ApiKeyRow>({
  name: "api_keys",
  version: 1,
  table: apiKeys,
  idColumn: apiKeys.id,
  idField: "id",
  handles: ["ApiKeyCreated", "ApiKeyRotated", "ApiKeyRevoked"],
  idOf: (e) => (e.data as { api_key_id?: string }).api_key_id ?? null,
  evolve(current, recorded: RecordedEvent) {
    const event = recorded as unknown as ApiKeyEvent;
    const at = new Date(recorded.metadata.occurred_at);
    switch (event.type) {
      case "ApiKeyCreated": {
        const d = event.data;
        return {
          id: d.api_key_id,
          organizationId: d.organization_id,
          createdBy: d.created_by,
          name: d.name,
          prefix: d.prefix,
          keyHash: d.key_hash,
          scopes: d.scopes,
          status: "active",
          expiresAt: d.expires_at ? new Date(d.expires_at) : null,
          graceUntil: null,
          rotatedTo: null,
          revokedAt: null,
          createdAt: at,
          updatedAt: at,
          lastPosition: recorded.position,
        };
      }
      case "ApiKeyRotated":
        if (!current) return null;
        return {
          ...current,
          status: "rotated",
          rotatedTo: event.data.rotated_to,
          graceUntil: event.data.grace_until ? new Date(event.data.grace_until) : null,
          updatedAt: at,
        };
      case "ApiKeyRevoked":
        if (!current) return null;
        return { ...current, status: "revoked", graceUntil: null, revokedAt: at, updatedAt: at };
      default:
        return current;
    }
  },
});
