/**
 * API key aggregate: a named, scoped credential of one organization, acting on behalf of
 * the user who created it. Stream `apikey-<id>`.
 *
 * The secret is never part of the aggregate: events carry its SHA-256 (`key_hash`) and
 * its public start (`prefix`) only. A key is `active` until it is rotated (a successor
 * key exists; the old one keeps working until `grace_until`, or stops at once without a
 * grace period) or revoked (stops at once, for good).
 */
import { createHash } from "node:crypto";
import { DomainError, notFound } from "./errors";

/** Every secret starts with this: recognisable in logs, configs and secret scanners. */
export const API_KEY_PREFIX = "llk_";
/** How many leading characters of a secret are shown in lists (`llk_` + the public id). */
export const API_KEY_PREFIX_LENGTH = 12;

export type ApiKeyStatus = "active" | "rotated" | "revoked";

export interface ApiKeyCreatedData {
  api_key_id: string;
  organization_id: string;
  created_by: string;
  name: string;
  prefix: string;
  /** SHA-256 (hex) of the whole secret: enough to recognise it, useless to present it. */
  key_hash: string;
  scopes: string[];
  expires_at: string | null;
  /** Set when this key was issued by rotating another one. */
  rotated_from: string | null;
}

export type ApiKeyEvent =
  | { type: "ApiKeyCreated"; data: ApiKeyCreatedData }
  | { type: "ApiKeyRotated"; data: { api_key_id: string; organization_id: string; rotated_to: string; grace_until: string | null } }
  | { type: "ApiKeyRevoked"; data: { api_key_id: string; organization_id: string } };

export type ApiKeyCommand =
  | {
      type: "CreateApiKey";
      apiKeyId: string;
      organizationId: string;
      createdBy: string;
      name: string;
      prefix: string;
      keyHash: string;
      scopes: string[];
      expiresAt: Date | null;
      rotatedFrom: string | null;
      now: Date;
    }
  | { type: "RotateApiKey"; rotatedTo: string; graceUntil: Date | null; now: Date }
  | { type: "RevokeApiKey" };

export type ApiKeyState =
  | { status: "absent" }
  | {
      status: ApiKeyStatus;
      id: string;
      organizationId: string;
      createdBy: string;
      name: string;
      scopes: string[];
      expiresAt: string | null;
      rotatedTo: string | null;
      graceUntil: string | null;
    };

/** The stored form of a secret. 128+ random bits need no slow hash: nothing to brute-force. */
export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export const apiKey = {
  initialState: (): ApiKeyState => ({ status: "absent" }),

  evolve(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
    switch (event.type) {
      case "ApiKeyCreated": {
        const d = event.data;
        return {
          status: "active",
          id: d.api_key_id,
          organizationId: d.organization_id,
          createdBy: d.created_by,
          name: d.name,
          scopes: d.scopes,
          expiresAt: d.expires_at,
          rotatedTo: null,
          graceUntil: null,
        };
      }
      case "ApiKeyRotated":
        return state.status === "absent" ? state : { ...state, status: "rotated", rotatedTo: event.data.rotated_to, graceUntil: event.data.grace_until };
      case "ApiKeyRevoked":
        return state.status === "absent" ? state : { ...state, status: "revoked", graceUntil: null };
      default: {
        const _exhaustive: never = event;
        return state;
      }
    }
  },

  decide(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
    switch (command.type) {
      case "CreateApiKey": {
        if (state.status !== "absent") throw new DomainError("conflict", "API key already exists");
        if (command.scopes.length === 0) throw new DomainError("validation", "An API key needs at least one scope", { errors: [{ path: "/body/scopes", message: "at least one scope" }] });
        if (command.expiresAt && command.expiresAt.getTime() <= command.now.getTime()) {
          throw new DomainError("validation", "expires_at must be in the future", { errors: [{ path: "/body/expires_at", message: "must be in the future" }] });
        }
        return [
          {
            type: "ApiKeyCreated",
            data: {
              api_key_id: command.apiKeyId,
              organization_id: command.organizationId,
              created_by: command.createdBy,
              name: command.name,
              prefix: command.prefix,
              key_hash: command.keyHash,
              scopes: [...new Set(command.scopes)].sort(),
              expires_at: command.expiresAt ? command.expiresAt.toISOString() : null,
              rotated_from: command.rotatedFrom,
            },
          },
        ];
      }
      case "RotateApiKey": {
        if (state.status === "absent") throw notFound("API key");
        if (state.status === "revoked") throw new DomainError("conflict", "The API key is revoked; create a new one");
        if (state.status === "rotated") throw new DomainError("conflict", "The API key was already rotated; rotate its successor");
        if (state.expiresAt && Date.parse(state.expiresAt) <= command.now.getTime()) {
          throw new DomainError("conflict", "The API key has expired; create a new one");
        }
        const graceUntil = command.graceUntil && command.graceUntil.getTime() > command.now.getTime() ? command.graceUntil.toISOString() : null;
        return [{ type: "ApiKeyRotated", data: { api_key_id: state.id, organization_id: state.organizationId, rotated_to: command.rotatedTo, grace_until: graceUntil } }];
      }
      case "RevokeApiKey":
        if (state.status === "absent") throw notFound("API key");
        // Revoking twice changes nothing; revoking a rotated key ends its grace period.
        if (state.status === "revoked") return [];
        return [{ type: "ApiKeyRevoked", data: { api_key_id: state.id, organization_id: state.organizationId } }];
      default: {
        const _exhaustive: never = command;
        return [];
      }
    }
  },
};
