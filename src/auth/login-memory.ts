/**
 * What a login needs to know before its argon2id verification, kept in memory so the
 * usual login reads nothing from the database: the accounts behind an e-mail (with their
 * sealed password) and the end of each account's login stream (the lockout state).
 *
 * Both are hints, never the decision:
 * - Accounts are fed from the user events by the security state's subscription. A login
 *   that finds nothing here, or whose password matches nothing here, asks the users read
 *   model too (an account registered a moment ago in another process, a password changed
 *   there), so memory can only make a login cheaper, never refuse one the read model
 *   would allow.
 * - A login tail is remembered from the stream read or the append that last touched it,
 *   and extended by the subscription only while it stays contiguous. The attempt is
 *   appended against the revision the tail names, so a tail missing someone else's
 *   attempt makes the append fail and the handler reads the stream again: parallel
 *   guesses still cannot pass the limit.
 */
import type { RecordedEvent } from "../eventstore/port";
import { emailKey } from "../domain/user";

/** An account as a login checks it. */
export interface LoginAccount {
  id: string;
  organizationId: string;
  passwordSealed: string;
  isActive: boolean;
}

/** The newest events of a `login-<userId>` stream, oldest first, and the stream's revision. */
export interface LoginTail {
  events: RecordedEvent[];
  revision: bigint;
}

/** Tails longer than any lockout policy needs are trimmed to this. */
const TAIL_EVENTS = 64;
/** Tails of this many accounts at most; the least recently used are forgotten (re-read on their next login). */
const MAX_TAILS = 50_000;

const LOGIN_STREAM = "login-";
const LOGIN_TYPES = new Set(["LoginSucceeded", "LoginFailed", "AccountLocked"]);

type Data = Record<string, any>;

export class LoginMemory {
  private readonly accounts = new Map<string, LoginAccount & { email: string }>();
  private readonly byEmail = new Map<string, Set<string>>();
  private readonly tails = new Map<string, LoginTail>();

  /** The accounts known for this e-mail (and organization, when given). */
  accountsFor(email: string, organizationId?: string): LoginAccount[] {
    const ids = this.byEmail.get(emailKey(email));
    if (!ids) return [];
    const out: LoginAccount[] = [];
    for (const id of ids) {
      const a = this.accounts.get(id);
      if (a && (!organizationId || a.organizationId === organizationId)) out.push(a);
    }
    return out;
  }

  /**
   * The last `length` events of the user's login stream, when memory holds at least that
   * many (or the whole stream); null when the stream must be read.
   */
  tail(userId: string, length: number): LoginTail | null {
    const t = this.tails.get(userId);
    if (!t || length > TAIL_EVENTS) return null;
    const whole = BigInt(t.events.length) === t.revision + 1n;
    if (t.events.length < length && !whole) return null;
    // Recently used: kept longest.
    this.tails.delete(userId);
    this.tails.set(userId, t);
    return { events: t.events.slice(-length), revision: t.revision };
  }

  /** A tail just read from the stream (oldest first), or "no_stream" when it has no events. */
  rememberTail(userId: string, events: RecordedEvent[]): void {
    if (events.length === 0) {
      this.tails.delete(userId);
      return;
    }
    this.setTail(userId, { events: events.slice(-TAIL_EVENTS), revision: events[events.length - 1].revision });
  }

  /**
   * Events (with their revisions) this process has just appended to the user's login
   * stream. Joined to the remembered tail when they follow it directly; otherwise the
   * tail is forgotten (the next login reads the stream).
   */
  appended(userId: string, events: RecordedEvent[]): void {
    const t = this.tails.get(userId);
    const first = events[0].revision;
    const revision = events[events.length - 1].revision;
    if (t && t.revision === first - 1n) this.setTail(userId, { events: [...t.events, ...events].slice(-TAIL_EVENTS), revision });
    else if (first === 0n) this.setTail(userId, { events: events.slice(-TAIL_EVENTS), revision });
    else this.tails.delete(userId);
  }

  forget(): void {
    this.accounts.clear();
    this.byEmail.clear();
    this.tails.clear();
  }

  /** Tails cannot be followed through a catch-up that skips login events: they are dropped before one. */
  forgetTails(): void {
    this.tails.clear();
  }

  /** Fed every event the security state applies (user events at catch-up, all of them after). */
  apply(e: RecordedEvent): void {
    const d = e.data as Data;
    switch (e.type) {
      case "UserRegistered":
        this.setAccount({ id: d.user_id, organizationId: d.organization_id, email: d.email, passwordSealed: d.password_sealed, isActive: d.is_active });
        return;
      case "UserProfileUpdated": {
        const a = this.accounts.get(d.user_id);
        if (a && d.changes?.email !== undefined) this.setAccount({ ...a, email: d.changes.email });
        return;
      }
      case "UserDeactivated":
      case "UserReactivated": {
        const a = this.accounts.get(d.user_id);
        if (a) a.isActive = e.type === "UserReactivated";
        return;
      }
      case "PasswordChanged": {
        const a = this.accounts.get(d.user_id);
        if (a) a.passwordSealed = d.password_sealed;
        return;
      }
      case "UserDeleted":
        this.dropAccount(d.user_id);
        this.tails.delete(d.user_id);
        return;
    }
    if (LOGIN_TYPES.has(e.type) && e.streamId.startsWith(LOGIN_STREAM)) this.followTail(e.streamId.slice(LOGIN_STREAM.length), e);
  }

  /** A login event read by the subscription: appended to a remembered tail it follows directly. */
  private followTail(userId: string, e: RecordedEvent): void {
    const t = this.tails.get(userId);
    if (!t || e.revision <= t.revision) return; // unknown, or already known (our own append)
    if (e.revision === t.revision + 1n) {
      t.events.push(e);
      if (t.events.length > TAIL_EVENTS) t.events.shift();
      t.revision = e.revision;
    } else {
      this.tails.delete(userId); // a gap: something was missed, read the stream next time
    }
  }

  private setTail(userId: string, tail: LoginTail): void {
    this.tails.delete(userId);
    this.tails.set(userId, tail);
    if (this.tails.size > MAX_TAILS) this.tails.delete(this.tails.keys().next().value!);
  }

  private setAccount(a: LoginAccount & { email: string }): void {
    this.dropAccount(a.id);
    this.accounts.set(a.id, a);
    const key = emailKey(a.email);
    let ids = this.byEmail.get(key);
    if (!ids) this.byEmail.set(key, (ids = new Set()));
    ids.add(a.id);
  }

  private dropAccount(userId: string): void {
    const a = this.accounts.get(userId);
    if (!a) return;
    this.accounts.delete(userId);
    const key = emailKey(a.email);
    const ids = this.byEmail.get(key);
    ids?.delete(userId);
    if (ids?.size === 0) this.byEmail.delete(key);
  }
}
