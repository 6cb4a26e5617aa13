/**
 * Access review: who held a role, or access to a data source, at a moment, since when
 * and granted by whom. A fold over the event stream up to the moment, nothing else: the
 * answer is what the events say, whatever the read models hold today.
 *
 * What starts a holding, and what ends it:
 * - a role: UserRegistered with the role among its role_ids, or RoleAssigned; ended by
 *   RoleRevoked, by UserDeleted, and for everyone by RoleDeleted.
 * - a data source: AccessGranted (one holding per access_id); ended by AccessRevoked,
 *   AccessExpired, UserDeleted, DataSourceDeleted, and by its own expires_at passing
 *   even when no AccessExpired has been appended yet (that event is recorded lazily, on
 *   the next use of the grant).
 *
 * Cost: one pass over every event of the listed types up to the moment (readAll pages).
 * Fine for audits today; the scalable version is a projection of grant intervals
 * (holder, target, from, to, grant and end event) queried with `from <= at < to`.
 */
import type { EventStore, RecordedEvent } from "../eventstore/port";
import { happenedBy } from "./point-in-time";

export type ReviewTarget = { kind: "role"; roleId: string } | { kind: "data_source"; dataSourceId: string };

/** One holding at the moment. */
export interface Holding {
  userId: string;
  /** The holder's e-mail as it was at the moment; null if its registration was not seen. */
  email: string | null;
  userIsActive: boolean | null;
  heldSince: string;
  grantedBy: string | null;
  grantedByType: string;
  grantEventId: string;
  grantEventType: string;
  grantPosition: bigint;
  /** Data source holdings only. */
  access?: { accessId: string; dataSourceName: string | null; tables: string[] | null; expiresAt: string | null };
}

export interface ReviewResult {
  holdings: Holding[];
  /** The organization the target belongs to, as the events tell it; null: never seen. */
  organizationId: string | null;
  /** Data sources: the name at the moment, from their own events or else their grants, if seen. */
  targetName: string | null;
}

const ROLE_TYPES = ["UserRegistered", "UserProfileUpdated", "UserDeactivated", "UserReactivated", "UserDeleted", "RoleAssigned", "RoleRevoked", "RoleDeleted"] as const;
const DATA_SOURCE_TYPES = [
  "UserRegistered",
  "UserProfileUpdated",
  "UserDeactivated",
  "UserReactivated",
  "UserDeleted",
  "AccessGranted",
  "AccessRevoked",
  "AccessExpired",
  "DataSourceRegistered",
  "DataSourceUpdated",
  "DataSourceDeleted",
] as const;

export function reviewEventTypes(target: ReviewTarget): readonly string[] {
  return target.kind === "role" ? ROLE_TYPES : DATA_SOURCE_TYPES;
}

type Data = Record<string, any>;

interface Person {
  email: string;
  active: boolean;
}

/** The fold itself: pure, fed events in position order that had happened by the moment. */
export class AccessReviewFold {
  private readonly people = new Map<string, Person>();
  /** Role: by user id. Data source: by access id. */
  private readonly open = new Map<string, Holding>();
  private organizationId: string | null = null;
  private targetName: string | null = null;
  private targetDeleted = false;

  constructor(readonly target: ReviewTarget) {}

  apply(e: RecordedEvent): void {
    const d = e.data as Data;
    switch (e.type) {
      case "UserRegistered":
        this.people.set(d.user_id, { email: d.email, active: Boolean(d.is_active) });
        if (this.target.kind === "role" && !this.targetDeleted && Array.isArray(d.role_ids) && d.role_ids.includes(this.target.roleId)) {
          this.open.set(d.user_id, this.grant(e, d.user_id));
        }
        return;
      case "UserProfileUpdated": {
        const p = this.people.get(d.user_id);
        if (p && typeof d.changes?.email === "string") p.email = d.changes.email;
        return;
      }
      case "UserDeactivated":
      case "UserReactivated": {
        const p = this.people.get(d.user_id);
        if (p) p.active = e.type === "UserReactivated";
        return;
      }
      case "UserDeleted":
        this.people.delete(d.user_id);
        for (const [key, h] of this.open) if (h.userId === d.user_id) this.open.delete(key);
        return;
    }
    if (this.target.kind === "role") this.applyRole(e, d, this.target.roleId);
    else this.applyDataSource(e, d, this.target.dataSourceId);
  }

  private applyRole(e: RecordedEvent, d: Data, roleId: string): void {
    if (d.role_id !== roleId) return;
    switch (e.type) {
      case "RoleAssigned":
        // A second assignment of a role already held changes nothing (as in user.evolve).
        if (!this.targetDeleted && !this.open.has(d.user_id)) this.open.set(d.user_id, this.grant(e, d.user_id));
        return;
      case "RoleRevoked":
        this.open.delete(d.user_id);
        return;
      case "RoleDeleted":
        this.targetDeleted = true;
        this.open.clear();
        return;
    }
  }

  private applyDataSource(e: RecordedEvent, d: Data, dataSourceId: string): void {
    if (d.data_source_id !== dataSourceId) return;
    switch (e.type) {
      case "DataSourceRegistered":
        // The registration is the authority on whose data source it is.
        if (typeof d.organization_id === "string") this.organizationId = d.organization_id;
        if (typeof d.name === "string") this.targetName = d.name;
        return;
      case "DataSourceUpdated":
        if (typeof d.changes?.name === "string") this.targetName = d.changes.name;
        return;
      case "DataSourceDeleted":
        this.targetDeleted = true;
        this.open.clear();
        return;
      case "AccessGranted":
        this.organizationId ??= typeof d.organization_id === "string" ? d.organization_id : null;
        if (typeof d.data_source_name === "string") this.targetName ??= d.data_source_name;
        if (this.targetDeleted || typeof d.access_id !== "string") return;
        this.open.set(d.access_id, {
          ...this.grant(e, d.user_id),
          // The grant names its granter; the metadata's actor is the same principal.
          grantedBy: typeof d.granted_by === "string" ? d.granted_by : (e.metadata.actor?.id ?? null),
          access: {
            accessId: d.access_id,
            dataSourceName: typeof d.data_source_name === "string" ? d.data_source_name : null,
            tables: Array.isArray(d.tables) ? [...d.tables] : null,
            expiresAt: typeof d.expires_at === "string" ? d.expires_at : null,
          },
        });
        return;
      case "AccessRevoked":
      case "AccessExpired":
        this.open.delete(d.access_id);
        return;
    }
  }

  private grant(e: RecordedEvent, userId: string): Holding {
    return {
      userId,
      email: null,
      userIsActive: null,
      heldSince: e.metadata.occurred_at,
      grantedBy: e.metadata.actor?.id ?? null,
      grantedByType: e.metadata.actor?.type ?? "system",
      grantEventId: e.id,
      grantEventType: e.type,
      grantPosition: e.position,
    };
  }

  /** The holdings at `atMs`, oldest first: grants past their expires_at are not held. */
  result(atMs: number): ReviewResult {
    const holdings: Holding[] = [];
    for (const h of this.open.values()) {
      const expiresAt = h.access?.expiresAt;
      if (expiresAt && Date.parse(expiresAt) <= atMs) continue;
      const p = this.people.get(h.userId);
      holdings.push({ ...h, email: p?.email ?? null, userIsActive: p?.active ?? null });
    }
    holdings.sort((a, b) => (a.grantPosition < b.grantPosition ? -1 : a.grantPosition > b.grantPosition ? 1 : 0));
    return { holdings, organizationId: this.organizationId, targetName: this.targetName };
  }
}

/**
 * Events are in position order, which follows occurred_at closely but not exactly (a
 * slow request stamps its events when it started). Reading stops this far past the
 * moment: anything stamped before the moment is appended well within it.
 */
const STAMP_SLACK_MS = 5 * 60_000;
const PAGE = 2_000;

/**
 * Folds every event of the target's types that had happened by `at`, reading the store
 * page by page from the beginning and stopping once events are well past the moment.
 */
export async function reviewAccess(store: EventStore, target: ReviewTarget, at: Date): Promise<ReviewResult> {
  const atMs = at.getTime();
  const stopAfterMs = atMs + STAMP_SLACK_MS;
  const types = reviewEventTypes(target);
  const fold = new AccessReviewFold(target);
  let from = 0n;
  for (;;) {
    const page = await store.readAll({ fromPosition: from, limit: PAGE, types });
    let past = false;
    for (const e of page) {
      if (happenedBy(e, atMs)) fold.apply(e);
      else if (Date.parse(e.metadata.occurred_at) > stopAfterMs) {
        past = true;
        break;
      }
    }
    if (past || page.length < PAGE) break;
    from = page[page.length - 1].position;
  }
  return fold.result(atMs);
}
