/**
 * Who may do what, right now, held in memory and fed by the event subscription: every
 * API process keeps its own copy. The per-request check (is this session live, is the
 * user active, is the organization active, which permissions do the user's roles give)
 * costs map lookups, not a database round trip. A handler that changes any of it waits
 * for this state to pass its write's position before answering, so the change applies
 * on the very next request; other processes follow within a notification's latency.
 */
import type { EventStore, RecordedEvent } from "../eventstore/port";
import type { Logger } from "../logger";
import { LoginMemory } from "./login-memory";

export interface OrganizationAccess {
  id: string;
  active: boolean;
  /** An onboarding in progress is not visible yet. */
  provisioning: boolean;
  isSystem: boolean;
}

export interface UserAccess {
  id: string;
  organizationId: string;
  email: string;
  username: string | null;
  firstName: string | null;
  lastName: string | null;
  isActive: boolean;
  isVerified: boolean;
  roleIds: Set<string>;
  createdAt: string;
  updatedAt: string;
}

export interface RoleAccess {
  id: string;
  organizationId: string;
  name: string;
  isActive: boolean;
  isSystem: boolean;
  permissions: Set<string>;
}

/** An API key as authentication needs it; the secret itself is known only by its hash. */
export interface ApiKeyAccess {
  id: string;
  organizationId: string;
  createdBy: string;
  keyHash: string;
  scopes: readonly string[];
  status: "active" | "rotated" | "revoked";
  /** Epoch ms; null: no expiry. */
  expiresAt: number | null;
  /** Epoch ms until which a rotated key still works; null: it stopped at rotation. */
  graceUntil: number | null;
}

export interface SessionAccess {
  id: string;
  userId: string;
  organizationId: string;
  /** Refresh expiry: past it the session is over even without a SessionEnded. */
  expiresAt: number;
  /**
   * SHA-256 of the current refresh token and the stream revision that set it: lets a
   * refresh skip reading the session's stream. Only a hint; the append's expected
   * revision is what decides (src/handlers/sessions.ts).
   */
  refreshTokenHash: string;
  revision: bigint;
}

const TYPES = [
  "OrganizationCreated",
  "OrganizationDeactivated",
  "OrganizationReactivated",
  "OrganizationDeleted",
  "OrganizationOnboarded",
  "UserRegistered",
  "UserProfileUpdated",
  "UserDeactivated",
  "UserReactivated",
  "UserDeleted",
  // Not an access change: the login memory keeps each account's sealed password.
  "PasswordChanged",
  "RoleAssigned",
  "RoleRevoked",
  "RoleCreated",
  "RoleUpdated",
  "RolePermissionsChanged",
  "RoleDeleted",
  "SessionStarted",
  "SessionRefreshed",
  "SessionEnded",
  "ApiKeyCreated",
  "ApiKeyRotated",
  "ApiKeyRevoked",
] as const;

type Data = Record<string, any>;

/**
 * Events that can change who someone is or what they may do: users, roles, organizations,
 * API keys. Sessions, logins, queries and the rest (most of the traffic) never do, so
 * caches of permissions and of user objects survive them.
 */
const ACCESS_TYPES = new Set<string>(TYPES.filter((t) => !t.startsWith("Session") && t !== "PasswordChanged"));
export const affectsAccess = (type: string): boolean => ACCESS_TYPES.has(type);

export class SecurityState {
  readonly organizations = new Map<string, OrganizationAccess>();
  readonly users = new Map<string, UserAccess>();
  readonly roles = new Map<string, RoleAccess>();
  readonly sessions = new Map<string, SessionAccess>();
  /** Live (active or rotated) API keys by id; revoked keys are forgotten. */
  readonly apiKeys = new Map<string, ApiKeyAccess>();
  private readonly apiKeysByHash = new Map<string, ApiKeyAccess>();
  /** Accounts by e-mail and lockout tails, for logins (fed from the same events). */
  readonly logins = new LoginMemory();
  private position = 0n;
  private waiters: Array<{ position: bigint; resolve: () => void }> = [];
  private abort?: AbortController;
  private running?: Promise<void>;
  private readonly listeners = new Set<(event: RecordedEvent) => void>();

  constructor(
    private readonly store: EventStore,
    private readonly logger?: Logger,
  ) {}

  /** Catches up from the beginning, then follows. Resolves once caught up. */
  async start(): Promise<void> {
    if (this.running) return;
    // The catch-up below reads only TYPES: login tails remembered before it would go stale.
    this.logins.forgetTails();
    for (;;) {
      const batch = await this.store.readAll({ fromPosition: this.position, limit: 5000, types: TYPES });
      for (const e of batch) this.apply(e);
      if (batch.length < 5000) break;
    }
    // Caught up with everything of our types; positions of other types count as passed.
    const head = await this.store.headPosition();
    if (head > this.position) this.position = head;
    this.abort = new AbortController();
    const signal = this.abort.signal;
    const pruner = setInterval(() => {
      this.pruneExpiredSessions();
      this.pruneDeadApiKeys();
    }, 10 * 60_000);
    signal.addEventListener("abort", () => clearInterval(pruner), { once: true });
    this.running = (async () => {
      while (!signal.aborted) {
        try {
          for await (const e of this.store.subscribeAll({ fromPosition: this.position, signal })) {
            this.apply(e);
            this.resolveWaiters();
          }
        } catch (err) {
          if (signal.aborted) break;
          this.logger?.error("security state subscription failed; resubscribing", { error: String(err) });
          await Bun.sleep(500);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /** Resolves once every event up to `position` is reflected here. */
  async waitFor(position: bigint, timeoutMs = 5000): Promise<void> {
    if (position <= this.position || !this.running) return;
    const reached = new Promise<void>((resolve) => this.waiters.push({ position, resolve }));
    await Promise.race([reached, Bun.sleep(timeoutMs)]);
  }

  get projectedPosition(): bigint {
    return this.position;
  }

  /** Called for every applied event (e.g. to drop cached responses). */
  onEvent(listener: (event: RecordedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** permissionsOf per user: asked on every authenticated request, changed only by events. */
  private readonly permissionCache = new Map<string, Set<string>>();

  /** The user's effective permissions. Shared and cached: do not mutate the result. */
  permissionsOf(user: UserAccess): Set<string> {
    let cached = this.permissionCache.get(user.id);
    if (!cached) {
      cached = this.computePermissions(user);
      this.permissionCache.set(user.id, cached);
    }
    return cached;
  }

  private computePermissions(user: UserAccess): Set<string> {
    const out = new Set<string>();
    for (const roleId of user.roleIds) {
      const r = this.roles.get(roleId);
      if (!r || !r.isActive || r.organizationId !== user.organizationId) continue;
      for (const p of r.permissions) out.add(p);
    }
    return out;
  }

  roleNamesOf(user: UserAccess): string[] {
    const names: string[] = [];
    for (const roleId of user.roleIds) {
      const r = this.roles.get(roleId);
      if (r && r.organizationId === user.organizationId) names.push(r.name);
    }
    return names.sort();
  }

  /**
   * A rotation this process has just appended, or one read from the subscription:
   * whichever arrives second is older or the same and changes nothing. An ended session
   * stays ended (it is absent here).
   */
  sessionRefreshed(sessionId: string, revision: bigint, refreshTokenHash: string, expiresAt: number): void {
    const s = this.sessions.get(sessionId);
    if (!s || revision <= s.revision) return;
    s.revision = revision;
    s.refreshTokenHash = refreshTokenHash;
    s.expiresAt = expiresAt;
  }

  /** Sessions past their refresh expiry can never be used again: forget them. */
  pruneExpiredSessions(now = Date.now()): number {
    let pruned = 0;
    for (const [id, s] of this.sessions) if (s.expiresAt <= now && this.sessions.delete(id)) pruned++;
    return pruned;
  }

  /**
   * The key with this SHA-256, if it may authenticate at `now`: not revoked, not
   * expired, not rotated past its grace period, its organization usable, its creator
   * still an active member of it. Null for every other case alike.
   */
  usableApiKey(keyHash: string, now = Date.now()): { key: ApiKeyAccess; creator: UserAccess } | null {
    const key = this.apiKeysByHash.get(keyHash);
    if (!key) return null;
    if (key.status === "revoked") return null;
    if (key.status === "rotated" && (key.graceUntil === null || key.graceUntil <= now)) return null;
    if (key.expiresAt !== null && key.expiresAt <= now) return null;
    if (!this.organizationUsable(key.organizationId)) return null;
    const creator = this.users.get(key.createdBy);
    if (!creator || !creator.isActive || creator.organizationId !== key.organizationId) return null;
    return { key, creator };
  }

  /** Expired keys and rotated keys past their grace can never be used again: forget them. */
  pruneDeadApiKeys(now = Date.now()): number {
    let pruned = 0;
    for (const [id, k] of this.apiKeys) {
      const dead = (k.expiresAt !== null && k.expiresAt <= now) || (k.status === "rotated" && (k.graceUntil === null || k.graceUntil <= now));
      if (dead && this.apiKeys.delete(id)) {
        this.apiKeysByHash.delete(k.keyHash);
        pruned++;
      }
    }
    return pruned;
  }

  organizationUsable(id: string): boolean {
    const o = this.organizations.get(id);
    return Boolean(o && o.active && !o.provisioning);
  }

  /** Drops nothing that events can rebuild: for /admin/system/cache/clear, re-reads everything. */
  async reload(): Promise<void> {
    await this.stop();
    this.organizations.clear();
    this.users.clear();
    this.roles.clear();
    this.sessions.clear();
    this.apiKeys.clear();
    this.apiKeysByHash.clear();
    this.logins.forget();
    this.position = 0n;
    await this.start();
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) (w.position <= this.position ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private apply(e: RecordedEvent): void {
    if (e.position > this.position) this.position = e.position;
    // Sessions, logins and queries are most of the traffic and never change permissions.
    if (ACCESS_TYPES.has(e.type)) this.permissionCache.clear();
    this.logins.apply(e);
    const d = e.data as Data;
    const at = e.metadata.occurred_at;
    switch (e.type) {
      case "OrganizationCreated":
        this.organizations.set(d.organization_id, {
          id: d.organization_id,
          active: d.is_active,
          provisioning: Boolean(d.provisioning),
          isSystem: d.is_system,
        });
        break;
      case "OrganizationOnboarded":
        this.patch(this.organizations, d.organization_id, { provisioning: false });
        break;
      case "OrganizationDeactivated":
        this.patch(this.organizations, d.organization_id, { active: false });
        break;
      case "OrganizationReactivated":
        this.patch(this.organizations, d.organization_id, { active: true });
        break;
      case "OrganizationDeleted":
        this.organizations.delete(d.organization_id);
        break;
      case "UserRegistered":
        this.users.set(d.user_id, {
          id: d.user_id,
          organizationId: d.organization_id,
          email: d.email,
          username: d.username ?? null,
          firstName: d.first_name ?? null,
          lastName: d.last_name ?? null,
          isActive: d.is_active,
          isVerified: d.is_verified,
          roleIds: new Set(d.role_ids ?? []),
          createdAt: at,
          updatedAt: at,
        });
        break;
      case "UserProfileUpdated": {
        const u = this.users.get(d.user_id);
        if (!u) break;
        const c = d.changes as Data;
        if (c.email !== undefined) u.email = c.email;
        if (c.username !== undefined) u.username = c.username;
        if (c.first_name !== undefined) u.firstName = c.first_name;
        if (c.last_name !== undefined) u.lastName = c.last_name;
        if (c.is_verified !== undefined) u.isVerified = c.is_verified;
        u.updatedAt = at;
        break;
      }
      case "UserDeactivated":
      case "UserReactivated": {
        const u = this.users.get(d.user_id);
        if (u) {
          u.isActive = e.type === "UserReactivated";
          u.updatedAt = at;
        }
        break;
      }
      case "UserDeleted":
        this.users.delete(d.user_id);
        break;
      case "RoleAssigned":
      case "RoleRevoked": {
        const u = this.users.get(d.user_id);
        if (!u) break;
        if (e.type === "RoleAssigned") u.roleIds.add(d.role_id);
        else u.roleIds.delete(d.role_id);
        u.updatedAt = at;
        break;
      }
      case "RoleCreated":
        this.roles.set(d.role_id, {
          id: d.role_id,
          organizationId: d.organization_id,
          name: d.name,
          isActive: d.is_active,
          isSystem: d.is_system,
          permissions: new Set(d.permissions),
        });
        break;
      case "RoleUpdated": {
        const r = this.roles.get(d.role_id);
        if (!r) break;
        if (d.changes.name !== undefined) r.name = d.changes.name;
        if (d.changes.is_active !== undefined) r.isActive = d.changes.is_active;
        break;
      }
      case "RolePermissionsChanged": {
        const r = this.roles.get(d.role_id);
        if (!r) break;
        for (const p of d.removed) r.permissions.delete(p);
        for (const p of d.added) r.permissions.add(p);
        break;
      }
      case "RoleDeleted":
        this.roles.delete(d.role_id);
        for (const u of this.users.values()) u.roleIds.delete(d.role_id);
        break;
      case "SessionStarted":
        this.sessions.set(d.session_id, {
          id: d.session_id,
          userId: d.user_id,
          organizationId: d.organization_id,
          expiresAt: Date.parse(d.expires_at),
          refreshTokenHash: d.refresh_token_hash,
          revision: e.revision,
        });
        break;
      case "SessionRefreshed":
        this.sessionRefreshed(d.session_id, e.revision, d.refresh_token_hash, Date.parse(d.expires_at));
        break;
      case "SessionEnded":
        // Ended sessions are forgotten: an unknown session id is refused like an ended one.
        this.sessions.delete(d.session_id);
        break;
      case "ApiKeyCreated": {
        const key: ApiKeyAccess = {
          id: d.api_key_id,
          organizationId: d.organization_id,
          createdBy: d.created_by,
          keyHash: d.key_hash,
          scopes: [...d.scopes],
          status: "active",
          expiresAt: d.expires_at ? Date.parse(d.expires_at) : null,
          graceUntil: null,
        };
        this.apiKeys.set(key.id, key);
        this.apiKeysByHash.set(key.keyHash, key);
        break;
      }
      case "ApiKeyRotated": {
        const key = this.apiKeys.get(d.api_key_id);
        if (!key) break;
        key.status = "rotated";
        key.graceUntil = d.grace_until ? Date.parse(d.grace_until) : null;
        break;
      }
      case "ApiKeyRevoked": {
        // Revoked keys can never work again: forgotten, refused like an unknown key.
        const key = this.apiKeys.get(d.api_key_id);
        if (!key) break;
        this.apiKeys.delete(key.id);
        this.apiKeysByHash.delete(key.keyHash);
        break;
      }
    }
    for (const l of this.listeners) l(e);
  }

  private patch<T>(map: Map<string, T>, id: string, changes: Partial<T>): void {
    const current = map.get(id);
    if (current) map.set(id, { ...current, ...changes });
  }
}
